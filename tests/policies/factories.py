import factory
from django.conf import settings
from django.utils import timezone

from apps.policies.models import PolicyText, PolicyVersion
from apps.policies.selectors import implicit_acceptance_deadline, text_sha256


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    """A draft version; use `published=True` for a published one (rows as publishing leaves them)."""

    class Meta:
        model = PolicyVersion

    class Params:
        published = factory.Trait(
            status=PolicyVersion.Status.PUBLISHED,
            published_at=factory.LazyFunction(timezone.now),
            implicit_acceptance_at=factory.LazyAttribute(
                lambda o: implicit_acceptance_deadline(
                    published_at=o.published_at, days=settings.IMPLICIT_ACCEPTANCE_DAYS
                )
            ),
        )

    number = factory.Sequence(lambda n: n + 1)

    @factory.post_generation
    def texts(obj, create, extracted, **kwargs):
        if not create:
            return
        languages = extracted if extracted is not None else ["kk", "ru", "en"]
        for language in languages:
            body = f"1. {language.upper()} general provisions of version {obj.number}.\n\n1.1. Text."
            PolicyText.objects.create(
                version=obj,
                language=language,
                title=f"Privacy policy {obj.number}",
                summary=f"Summary {obj.number} ({language})",
                body=body,
                body_sha256=text_sha256(body),
            )

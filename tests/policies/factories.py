import factory
from django.conf import settings
from django.utils import timezone

from apps.policies.models import PolicyText, PolicyVersion
from apps.policies.selectors import implicit_acceptance_deadline
from apps.policies.text import text_sha256


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    """A draft version; use `published=True` for a published one (rows as publishing leaves them)."""

    class Meta:
        model = PolicyVersion
        skip_postgeneration_save = True

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

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Texts cannot be added to a published version (a database trigger refuses it), so the row is
        # written as a draft and published once its texts exist, as publishing does.
        publish = {
            key: kwargs.pop(key)
            for key in ("status", "published_at", "implicit_acceptance_at", "published_by")
            if key in kwargs
        }
        obj = super()._create(model_class, *args, **kwargs)
        obj._publish_after_texts = publish
        return obj

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
        publish = getattr(obj, "_publish_after_texts", None)
        if publish and publish.get("status") == PolicyVersion.Status.PUBLISHED:
            PolicyVersion.objects.filter(pk=obj.pk).update(**publish)
            for key, value in publish.items():
                setattr(obj, key, value)

from datetime import UTC, datetime

import factory
from django.contrib.auth import get_user_model

# Accounts confirmed their address long before anything a test does; `unverified=True`: one that never did.
VERIFIED_AT = datetime(2024, 1, 1, tzinfo=UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.kz")
    full_name = factory.Faker("name")
    language = "kk"
    email_verified_at = VERIFIED_AT
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    class Params:
        unverified = factory.Trait(email_verified_at=None)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True

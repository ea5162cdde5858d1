import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

DEMO_EMAIL = "staff@alilo.example"


class Command(BaseCommand):
    help = "Prepare a local portal: load the shipped policy once and (with DEBUG) reset the demo staff login."

    def handle(self, *args, **options):
        call_command("load_shipped_policy", verbosity=options["verbosity"])
        if not settings.DEBUG:
            return
        User = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _created = User.objects.get_or_create(
            email=DEMO_EMAIL,
            defaults={
                "full_name": "Demo Staff",
                "is_staff": True,
                "is_superuser": True,
                "email_verified_at": timezone.now(),
            },
        )
        user.set_password(password)
        user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"Demo staff login: {DEMO_EMAIL} / {password}"))

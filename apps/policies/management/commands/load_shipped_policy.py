from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext

from apps.policies.models import PolicyVersion
from apps.policies.services import policy_import

SHIPPED_POLICY = Path(__file__).resolve().parent.parent.parent / "data" / "privacy_policy_kk.txt"


class Command(BaseCommand):
    help = "Load the shipped Alilo policy (Kazakh) as version 1, published, unless a version exists already."

    def handle(self, *args, **options):
        if PolicyVersion.objects.exists():
            if options["verbosity"]:
                self.stdout.write("A policy version exists already; nothing to load.")
            return
        with translation.override("kk"):
            summary = gettext("The first published version of the privacy policy.")
        text = SHIPPED_POLICY.read_bytes().decode("utf-8")
        version = policy_import(text=text, language="kk", summary=summary, number=1, publish=True)
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Loaded the shipped policy as version {version.number}."))

import json

from django.core.management.base import BaseCommand

from apps.records import keys


class Command(BaseCommand):
    help = (
        "Print a new consent signing key: the private JWK for CONSENT_SIGNING_KEY and, to keep publishing "
        "the key in use now after a rotation, the JWKS for CONSENT_RETIRED_PUBLIC_KEYS."
    )

    def handle(self, *args, **options):
        key = keys.key_generate()
        retired = keys.published_jwks()["keys"]
        self.stdout.write("# New key (keep it secret):")
        self.stdout.write(f"CONSENT_SIGNING_KEY={keys.key_private_json(key)}")
        self.stdout.write("# Every key published until now, still to be published after the rotation:")
        self.stdout.write(
            f"CONSENT_RETIRED_PUBLIC_KEYS={json.dumps({'keys': retired}, separators=(',', ':'))}"
        )

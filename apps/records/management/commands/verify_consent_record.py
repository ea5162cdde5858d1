from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.forms import ValidationError

from apps.records.forms import record_file_read
from apps.records.signing import record_verify
from apps.records.views import verification_message


class Command(BaseCommand):
    help = "Say whether a consent record file (one record or a list) is genuine and unchanged."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .json file downloaded from the portal.")

    def handle(self, *args, file: str, **options):
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        try:
            document = record_file_read(data)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        records = document if isinstance(document, list) else [document]
        failed = 0
        for number, item in enumerate(records, start=1):
            result = record_verify(item)
            if result.valid:
                record = result.record
                self.stdout.write(
                    f"{number}: genuine and unchanged: {record.get('dct:identifier')} "
                    f"{record.get('dpv:hasConsentStatus')} {record.get('dct:created')} (key {result.kid})"
                )
            else:
                failed += 1
                self.stdout.write(
                    f"{number}: NOT VALID ({result.reason}): {verification_message(result.reason)}"
                )
        if failed or not records:
            raise CommandError(f"{failed} of {len(records)} records did not verify.")

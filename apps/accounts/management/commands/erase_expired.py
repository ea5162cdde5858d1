from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from apps.accounts import selectors, services


class Command(BaseCommand):
    help = "Erase the personal data of users whose agreement ended more than RETENTION_YEARS ago."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list who would be erased, change nothing")

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            due = selectors.users_due_for_erasure().order_by("agreement_ended_at")
            for user in due.iterator():
                self.stdout.write(f"{user.pk}\t{user.email}\t{user.agreement_ended_at:%Y-%m-%d}")
            self.stdout.write(_("%(count)d user(s) would be erased.") % {"count": due.count()})
            return
        count = services.retention_erase_expired()
        self.stdout.write(_("%(count)d user(s) erased.") % {"count": count})

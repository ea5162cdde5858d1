from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.policies.services import LANGUAGE_CODES, policy_import


def read_policy_file(path: str) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise CommandError(f"No such file: {path}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not UTF-8 text.") from exc
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc


class Command(BaseCommand):
    help = (
        "Create a policy version from a UTF-8 text file (first line: title), or add a language to a draft. "
        "Clauses are separated by blank lines and numbered like '1.', '2.6.'."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version N` names a draft here, replacing Django's own --version flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--language", required=True, choices=LANGUAGE_CODES)
        parser.add_argument("--summary", default="", help="Summary of changes, in the same language.")
        parser.add_argument("--title", default="", help="Title (default: the first line of the file).")
        parser.add_argument("--publish", action="store_true", help="Publish the version at once.")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--number", type=int, help="Number of the new version (default: the next one).")
        group.add_argument("--version", type=int, dest="add_to", help="Add this language to draft N.")

    def handle(self, *args, **options):
        if options["number"] is not None and options["number"] < 1:
            raise CommandError("--number must be 1 or more.")
        text = read_policy_file(options["file"])
        try:
            version = policy_import(
                text=text,
                language=options["language"],
                summary=options["summary"],
                title=options["title"],
                number=options["number"],
                add_to_version=options["add_to"],
                publish=options["publish"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        state = "published" if version.is_published else "draft"
        language = options["language"]
        self.stdout.write(
            self.style.SUCCESS(f"Policy version {version.number} ({state}): {language} imported.")
        )

import hashlib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

import apps.policies
from apps.policies.models import PolicyVersion

pytestmark = pytest.mark.django_db

SHIPPED = Path(apps.policies.__file__).parent / "data" / "privacy_policy_kk.txt"


@pytest.fixture(autouse=True)
def _english():
    """The commands speak the active language (kk by default); their messages are checked in English."""
    with translation.override("en"):
        yield


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_shipped_text_is_the_customers_file_byte_for_byte():
    # The SHA-256 of the text the customer supplied.
    assert (
        hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
        == "eb33c984b59965617079a20c4f1beebe9211f6c8ecd7fcf8bf6d5ae40421e9f7"
    )


def test_load_shipped_policy_publishes_version_one_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        out = run("load_shipped_policy")
    assert "version 1" in out
    version = PolicyVersion.objects.get()
    assert version.number == 1 and version.is_published
    text = version.texts.get(language="kk")
    assert text.title == "Құпиялылық саясаты"
    assert "2.6. Пайдаланушы" in text.body
    assert text.body == SHIPPED.read_text().split("\n", 1)[1].strip()
    assert "nothing to load" in run("load_shipped_policy")
    assert PolicyVersion.objects.count() == 1


def test_portal_setup_loads_the_shipped_policy():
    run("portal_setup")
    assert PolicyVersion.objects.filter(number=1, status="published").exists()


def test_import_creates_a_draft_then_adds_languages_then_publishes(tmp_path):
    kk = tmp_path / "kk.txt"
    kk.write_text("Саясат\n\n1. Бөлім\n\n1.1. Мәтін.\n", encoding="utf-8")
    ru = tmp_path / "ru.txt"
    ru.write_text("Политика\r\n\r\n1. Раздел\r\n\r\n1.1. Текст.\r\n", encoding="utf-8")
    run("import_policy", str(kk), "--language", "kk", "--summary", "Бірінші")
    version = PolicyVersion.objects.get()
    assert version.number == 1 and not version.is_published
    run("import_policy", str(ru), "--language", "ru", "--version", "1", "--summary", "Первая")
    ru_text = version.texts.get(language="ru")
    assert (ru_text.title, ru_text.body, ru_text.summary) == (
        "Политика",
        "1. Раздел\n\n1.1. Текст.",
        "Первая",
    )
    run("import_policy", str(kk), "--language", "kk", "--publish", "--number", "5")
    assert PolicyVersion.objects.get(number=5).is_published


@pytest.mark.parametrize(
    "args,message",
    [
        (["--language", "xx"], "invalid choice"),
        (["--language", "kk", "--number", "0"], "--number"),
        (["--language", "kk", "--version", "9"], "no version 9"),
    ],
)
def test_import_rejects_bad_arguments(tmp_path, args, message):
    path = tmp_path / "p.txt"
    path.write_text("T\n\n1. A", encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        run("import_policy", str(path), *args)
    assert not PolicyVersion.objects.exists()


def test_import_rejects_missing_binary_and_empty_files(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_policy", str(tmp_path / "none.txt"), "--language", "kk")
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CommandError, match="UTF-8"):
        run("import_policy", str(binary), "--language", "kk")
    empty = tmp_path / "e.txt"
    empty.write_text("\ufeff\n  \n", encoding="utf-8")
    with pytest.raises(CommandError, match="empty"):
        run("import_policy", str(empty), "--language", "kk")
    assert not PolicyVersion.objects.exists()


def test_import_refuses_adding_a_language_to_a_published_version_and_an_existing_number(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("T\n\n1. A", encoding="utf-8")
    run("import_policy", str(path), "--language", "kk", "--publish")
    with pytest.raises(CommandError, match="published"):
        run("import_policy", str(path), "--language", "en", "--version", "1")
    with pytest.raises(CommandError, match="exists already"):
        run("import_policy", str(path), "--language", "kk", "--number", "1")
    assert PolicyVersion.objects.get().texts.count() == 1


def test_import_without_kazakh_cannot_publish(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("T\n\n1. A", encoding="utf-8")
    with pytest.raises(CommandError, match="Kazakh"):
        run("import_policy", str(path), "--language", "en", "--publish")
    assert not PolicyVersion.objects.exists()

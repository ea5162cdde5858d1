"""The kk and ru catalogues translate every string the code and templates use."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import axes
import django
import django_otp
import polib
import pytest

from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parent.parent.parent
IGNORE = [".venv", "var", "tests", "bench", "scripts", "deploy", "node_modules"]


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory):
    require_tool("xgettext", "apt-get install gettext")
    # makemessages writes every string of the tree it runs in to that tree's ./locale, whatever LOCALE_PATHS
    # says, so it runs on a copy: the committed catalogues stay as they are.
    tree = tmp_path_factory.mktemp("tree") / "portal"
    skipped = shutil.ignore_patterns(*IGNORE, ".git", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, tree, ignore=skipped)
    args = [sys.executable, "manage.py", "makemessages", "--no-location", "--no-wrap", "-l", "kk", "-l", "ru"]
    for pattern in IGNORE:
        args += ["-i", pattern]
    locale = tree / "locale"
    env = {**os.environ, "LOCALE_PATH": str(locale), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    subprocess.run(args, cwd=tree, env=env, check=True, capture_output=True)
    return locale


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_catalogue_translates_every_string(fresh_catalogues, language):
    catalogue = polib.pofile(str(fresh_catalogues / language / "LC_MESSAGES" / "django.po"))
    missing = [entry.msgid for entry in catalogue if not entry.obsolete and not entry.translated()]
    assert missing == [], f"{len(missing)} strings untranslated in {language}: {missing[:20]}"


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_committed_catalogue_has_no_fuzzy_or_empty_entries(language):
    catalogue = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    assert catalogue.fuzzy_entries() == []
    assert catalogue.untranslated_entries() == []


PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sd]|\{\w*\}|</?[a-z]+[^>]*>")
KEPT_AS_IS = ["Alilo", "info@alilo.kz"]


def _forms(entry):
    if entry.msgid_plural:
        return [
            (entry.msgid if index == 0 else entry.msgid_plural, text)
            for index, text in entry.msgstr_plural.items()
        ]
    return [(entry.msgid, entry.msgstr)]


@pytest.mark.parametrize(("language", "nplurals"), [("kk", 2), ("ru", 4)])
def test_translations_keep_placeholders_markup_names_and_plural_forms(language, nplurals):
    catalogue = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    assert f"nplurals={nplurals};" in catalogue.metadata["Plural-Forms"]
    problems = []
    for entry in catalogue:
        if entry.msgid_plural and len(entry.msgstr_plural) != nplurals:
            problems.append((entry.msgid, f"{len(entry.msgstr_plural)} plural forms"))
        for source, text in _forms(entry):
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                problems.append((source, text))
            problems.extend((source, text) for name in KEPT_AS_IS if name in source and name not in text)
    assert problems == []


def test_compiled_catalogues_match_the_po_files():
    """A missing or stale .mo shows English or old text; `make messages` / `make test` compile them."""
    for po_path in sorted(ROOT.glob("locale/*/LC_MESSAGES/django.po")):
        mo_path = po_path.with_suffix(".mo")
        assert mo_path.exists(), f"{mo_path} is missing: run scripts/compile_messages.py"
        assert mo_path.read_bytes() == polib.pofile(str(po_path)).to_binary(), (
            f"{mo_path} is older than its .po: run scripts/compile_messages.py"
        )


def _override_msgids():
    tree = ast.parse((ROOT / "apps" / "core" / "locale_overrides.py").read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"gettext_noop", "ngettext_lazy"}
    ]


def test_locale_overrides_are_still_upstream_msgids_and_translated_in_kk():
    """The overrides must list Django's, django-axes' and django-otp's msgids verbatim, or kk never
    applies."""
    django_root = Path(django.__file__).parent
    catalogues = [
        django_root / domain / "locale/en/LC_MESSAGES/django.po"
        for domain in ["conf", "contrib/auth", "contrib/admin"]
    ]
    catalogues.append(Path(axes.__file__).parent / "locale/ru/LC_MESSAGES/django.po")
    upstream = {entry.msgid for path in catalogues for entry in polib.pofile(str(path))}
    # django-otp marks none of its names for translation (apps/core/upstream_labels.py makes them lazy):
    # its overrides must be string literals of its own source, verbatim.
    for source in Path(django_otp.__file__).parent.rglob("*.py"):
        upstream |= {
            node.value
            for node in ast.walk(ast.parse(source.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
    # ... and the plural name Django makes of a model's name.
    from django.utils import translation
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with translation.override("en"):
        upstream.add(str(TOTPDevice._meta.verbose_name_plural))
    overrides = _override_msgids()
    assert len(overrides) > 100
    assert [msgid for msgid in overrides if msgid not in upstream] == []
    kk = {e.msgid: e for e in polib.pofile(str(ROOT / "locale" / "kk" / "LC_MESSAGES" / "django.po"))}
    assert [msgid for msgid in overrides if msgid not in kk or not kk[msgid].translated()] == []

"""The kk and ru catalogues translate every string the code and templates use."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
IGNORE = [".venv", "var", "tests", "bench", "scripts", "deploy", "node_modules"]


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory):
    if not shutil.which("xgettext"):
        if os.environ.get("CI"):
            pytest.fail("xgettext is missing; scripts/test-services.sh installs gettext")
        pytest.skip("xgettext is missing (apt-get install gettext)")
    locale = tmp_path_factory.mktemp("locale")
    shutil.copytree(ROOT / "locale", locale, dirs_exist_ok=True)
    args = [sys.executable, "manage.py", "makemessages", "--no-location", "--no-wrap", "-l", "kk", "-l", "ru"]
    for pattern in IGNORE:
        args += ["-i", pattern]
    env = {**os.environ, "LOCALE_PATH": str(locale), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True)
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

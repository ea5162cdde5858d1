"""The operator guide and .env.example name every setting a deployer can set, and every beat task."""

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent
GUIDE = (ROOT / "docs" / "operations.md").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
SETTINGS_SOURCE = "\n".join(path.read_text() for path in (ROOT / "config" / "settings").glob("*.py"))
VARIABLES = sorted(set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", SETTINGS_SOURCE)))


def test_settings_read_variables():
    assert "SECRET_KEY" in VARIABLES and "TRUSTED_PROXIES" in VARIABLES


@pytest.mark.parametrize("name", VARIABLES)
def test_every_environment_variable_is_documented(name):
    assert f"`{name}`" in GUIDE, f"docs/operations.md does not explain {name}"
    assert re.search(rf"^#?\s*{name}=", ENV_EXAMPLE, re.M), f".env.example does not list {name}"


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_task_is_in_the_guide_with_a_way_to_run_it(entry):
    task = settings.CELERY_BEAT_SCHEDULE[entry]["task"]
    row = next((line for line in GUIDE.splitlines() if line.startswith(f"| `{entry}` |")), None)
    assert row, f"docs/operations.md has no row for beat entry {entry}"
    assert f"`{task}`" in row and "celery -A config call" in row

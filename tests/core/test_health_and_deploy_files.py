import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_broker_is_unreachable(client, settings):
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")


def test_compose_file_defines_the_whole_stack():
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        subprocess.run(["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"], check=True)
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"migrate", "web", "worker", "beat", "postgres", "redis", "proxy"}
    assert "celery -A config worker" in services["worker"]["command"]
    assert "celery -A config beat" in services["beat"]["command"]
    # Migrations run once, before the nodes; `--scale web=N` needs web without a fixed host port.
    assert "migrate" in services["migrate"]["command"] and "migrate" not in services["web"]["command"]
    for node in ("web", "worker", "beat"):
        assert services[node]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "ports" not in services["web"]


def test_dockerfile_runs_gunicorn_as_non_root_with_compiled_messages():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER app" in dockerfile
    assert "gunicorn" in dockerfile and "compile_messages.py" in dockerfile and "collectstatic" in dockerfile


def test_dockerfile_installs_the_pinned_dependencies_then_the_portal_alone():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = dockerfile.index("pip install -r requirements/lock.txt")
    assert pinned < dockerfile.index("pip install --no-deps .")


def _names(requirements: list[str]) -> set[str]:
    """Normalised project names (PEP 503) of requirement strings, without extras, versions or markers."""
    names = (re.match(r"[A-Za-z0-9._-]+", line).group() for line in requirements)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def _pinned(lock: str) -> set[str]:
    lines = (ROOT / "requirements" / lock).read_text().splitlines()
    return _names([line for line in lines if re.match(r"[A-Za-z0-9._-]+==", line)])


@pytest.mark.parametrize(("lock", "groups"), [("lock.txt", ["runtime"]), ("dev.txt", ["runtime", "dev"])])
def test_lock_file_pins_every_declared_dependency(lock, groups):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}
    missing = set().union(*(_names(declared[group]) for group in groups)) - _pinned(lock)
    assert missing == set(), f"requirements/{lock} lacks {sorted(missing)}: run `make lock`"


def test_env_example_lists_every_deployer_setting():
    text = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.M))
    required = {
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "SITE_URL",
        "DEFAULT_FROM_EMAIL",
        "PRIVACY_MAILBOX",
        "EMAIL_BACKEND",
        "IMPLICIT_ACCEPTANCE_DAYS",
        "RETENTION_YEARS",
        "WITHDRAWAL_DUE_WORKING_DAYS",
    }
    assert required <= names

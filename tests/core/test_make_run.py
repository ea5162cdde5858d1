"""`make run`'s launcher on the embedded defaults: SQLite, a file broker, emails in a folder."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def test_run_starts_web_worker_and_beat_on_embedded_defaults_and_ctrl_c_stops_all(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_BACKEND", "DJANGO_SETTINGS_MODULE"}
    }
    env.update({"VAR_DIR": str(tmp_path), "PORT": str(port), "SECRET_KEY": "run-test"})
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "scripts/run.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.5)
        assert health == {
            "status": "ok",
            "checks": {"database": "ok", "broker": "ok"},
            "version": health["version"],
        }
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/privacy_policy/", timeout=5) as response:
            assert "Құпиялылық саясаты" in response.read().decode()
        assert (tmp_path / "db.sqlite3").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert "Demo staff login: staff@alilo.example / " in text, text[-2000:]
    assert "celery@" in text and "beat: Starting" in text, text[-2000:]
    time.sleep(1)
    leftovers = subprocess.run(["pgrep", "-f", f"runserver 127.0.0.1:{port}"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
    assert process.returncode == 0


@pytest.mark.parametrize("target", ["run", "test"])
def test_readme_opens_with_the_two_commands(target):
    readme = (ROOT / "README.md").read_text()
    head = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert f"make {target}" in head

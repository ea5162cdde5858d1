"""The portal's processes that the tests and the benchmarks start: gunicorn and Celery workers on loopback.

Each process runs in a session of its own with its output in a log file. `start()` returns once it serves;
`stop()` asks it to finish and kills it, with every process it started, when it does not.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent.parent
VAR = ROOT / "var"

# Variables of this process that would configure a child behind its starter's back: every ANYMAIL_* becomes a
# setting of the portal, and Django's and pytest's own describe this process, not the child.
NOT_INHERITED = ("ANYMAIL_", "DJANGO_", "PYTEST_")


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(
    predicate: Callable, timeout: float = 30, interval: float = 0.2, message: str = "condition not met"
):
    """Poll until predicate() is truthy and return its value; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{message} (waited {timeout:g} s)")


def database_url(alias: str = "default") -> str:
    """Return the PostgreSQL database Django is connected to (in a test, the test database) as a URL."""
    from django.db import connections

    db = connections[alias].settings_dict
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{auth}{'@' if auth else ''}{host}/{db['NAME']}"


def child_env(settings_module: str, **values: str) -> dict[str, str]:
    """Return the environment of a portal process started from this one: ours without NOT_INHERITED, with
    `settings_module` and `values`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)}
    env.update({"DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT)})
    env.update({key: str(value) for key, value in values.items()})
    return env


class Process:
    """A child process run from the project's root with `env`, its output written to `log_path`."""

    label = "process"
    # Seconds stop() gives the process to finish after SIGTERM.
    grace = 15

    def __init__(self, env: dict[str, str], *, log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def log_tail(self, size: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]

    def start(self, timeout: float = 60):
        """Start the process and return self once it is ready; stop it and raise when it is not."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def started() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited early:\n{self.log_tail()}")
            return self.ready()

        try:
            wait_for(started, timeout=timeout, interval=0.2)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{self.label} did not start in {timeout:g} s:\n{self.log_tail()}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Send SIGTERM; after `grace` seconds, kill the process and every process it started."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(self.grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the process and every process it started, as when the machine runs out of memory."""
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class Gunicorn(Process):
    """gunicorn serving config.wsgi on a free loopback port; ready once a page answers without a 5xx."""

    label = "gunicorn"

    def __init__(
        self,
        env: dict[str, str],
        *,
        log_path: Path,
        workers: int = 2,
        threads: int = 8,
        options: Iterable[str] = (),
    ) -> None:
        super().__init__(env, log_path=log_path)
        self.port = free_port()
        self.workers, self.threads, self.options = workers, threads, list(options)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            *(
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
            ),
            *("--workers", str(self.workers), "--threads", str(self.threads), *self.options),
        ]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/privacy_policy/archive/", timeout=5) as response:
                return response.status < 500
        except urllib.error.HTTPError as error:
            return error.code < 500
        except OSError:
            return False


class Worker(Process):
    """A Celery worker of config's app, named `name`: the solo pool for one process, prefork for more."""

    label = "celery worker"
    grace = 20

    def __init__(self, env: dict[str, str], *, log_path: Path, name: str, concurrency: int = 1) -> None:
        super().__init__(env, log_path=log_path)
        self.name, self.concurrency = name, concurrency

    def command(self) -> list[str]:
        pool = ["-P", "prefork", "-c", str(self.concurrency)] if self.concurrency > 1 else ["-P", "solo"]
        return [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "INFO", *pool),
            *("--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{self.name}@%h"),
        ]

    def ready(self) -> bool:
        return "ready." in self.log_path.read_text(errors="replace")


class Beat(Process):
    """Celery beat of config's app; ready once it starts (a second one then waits for the schedule's lock)."""

    label = "celery beat"

    def command(self) -> list[str]:
        schedule = self.log_path.with_suffix(".schedule")
        return [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO", "-s", str(schedule)]

    def ready(self) -> bool:
        return "beat: Starting..." in self.log_path.read_text(errors="replace")

    def holds_lock(self) -> bool:
        """Whether it took the schedule's lock (RedBeat), so it is the one that sends."""
        return "beat: Acquired lock" in self.log_path.read_text(errors="replace")

    def sent(self) -> list[str]:
        """The beat entries it sent, in order, from its log."""
        return re.findall(r"Sending due task (\S+)", self.log_path.read_text(errors="replace"))

"""Throwaway servers and clients for the fault and load scenarios.

Every scenario runs the portal as it runs in production (gunicorn, a Celery worker, Redis, PostgreSQL) but
on loopback ports of its own: a private Redis it may stop, a private PostgreSQL cluster it may restart. The
shared services of the machine are never stopped, restarted or flushed.
"""

import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from django.conf import settings

from tests.support.servers import ROOT, Gunicorn, Process, Worker, child_env, free_port, port_open, wait_for

VAR = ROOT / "var" / "reliability"
CACHE_PREFIX = "reliability-scenario"


# --- Redis ----------------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server on a free loopback port, in memory only."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.dir = tempfile.mkdtemp(prefix="alilo-redis-")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                self.dir,
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port), timeout=10, message="redis-server did not start")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        wait_for(lambda: not port_open(self.port), timeout=10, message="redis-server did not stop")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")


class PostgresCluster:
    """A private PostgreSQL cluster in a temporary directory, run as the `postgres` user when we are root."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="alilo-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def _as_owner(self, command: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return command

    def _run(self, command: list[str]) -> None:
        subprocess.run(self._as_owner(command), check=True, capture_output=True, timeout=120)

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> "PostgresCluster":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        return self

    def _options(self) -> str:
        # fsync off is safe here: the server is killed, not the machine, so what was written to the OS is
        # kept. synchronous_commit stays on: with it off, a commit answered just before the kill may be lost.
        return (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=100"
        )

    def start(self) -> None:
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                self._options(),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def cleanup(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- The portal's processes -----------------------------------------------------------------------


def app_env(*, database_url: str, redis_url: str, site_url: str = "", **extra: str) -> dict[str, str]:
    """Environment of a portal process (web or worker) pointed at the given services."""
    values = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_KEY_PREFIX": CACHE_PREFIX,
        "SITE_URL": site_url or settings.SITE_URL,
        # One proxy in front, as in compose.yaml: each client is known by its X-Forwarded-For address.
        "TRUSTED_PROXIES": "1",
        "LOG_LEVEL": "WARNING",
        "AXES_ENABLED": "false",
    }
    return child_env("config.settings.test", **{**values, **extra})


def start_web(env: dict[str, str], *, workers: int = 2, threads: int = 8, name: str = "web") -> Gunicorn:
    """gunicorn with threads on a free loopback port, as production runs it."""
    options = ("--timeout", "60", "--graceful-timeout", "5", "--max-requests", "0")
    log_path = VAR / f"{name}-{os.getpid()}.log"
    return Gunicorn(env, log_path=log_path, workers=workers, threads=threads, options=options).start()


def start_worker(env: dict[str, str], *, name: str, concurrency: int = 1) -> Worker:
    log_path = VAR / f"worker-{name}-{os.getpid()}.log"
    return Worker(env, log_path=log_path, name=f"test-{os.getpid()}", concurrency=concurrency).start()


class Proxy(Process):
    """nginx with deploy/'s site configuration, filled in as compose fills it, in front of `upstreams`
    (host:port of each web node), on loopback: HTTPS on `port` with a throwaway certificate."""

    label = "nginx"

    def __init__(self, upstreams: list[str], *, port: int, nginx: str, openssl: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="alilo-nginx-"))
        super().__init__({**os.environ}, log_path=self.dir / "nginx.out")
        self.upstreams, self.port, self.nginx = upstreams, port, nginx
        self.certificate = self.dir / "cert.pem"
        subprocess.run(
            [
                *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-nodes", "-keyout", str(self.dir / "key.pem"), "-out", str(self.certificate)),
                *("-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"),
            ],
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        values = {
            "SERVER_NAME": "localhost 127.0.0.1",
            # Several nodes, as the template's header says: "a:8000; server b:8000".
            "APP_UPSTREAM": "; server ".join(self.upstreams),
            "TLS_CERTIFICATE": str(self.certificate),
            "TLS_CERTIFICATE_KEY": str(self.dir / "key.pem"),
            "HTTP_PORT": f"127.0.0.1:{free_port()}",
            "HTTPS_PORT": f"127.0.0.1:{self.port}",
        }
        template = (ROOT / "deploy" / "nginx" / "portal.conf.template").read_text()
        site = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)
        # The access log goes to a file rather than the terminal.
        (self.dir / "portal.conf").write_text(site.replace("/dev/stdout", str(self.dir / "access.log")))
        temp_paths = "".join(
            f"{name}_temp_path {self.dir / name};\n"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (self.dir / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {self.dir / 'nginx.pid'};\n"
            f"error_log {self.dir / 'error.log'} warn;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp_paths}include {self.dir / 'portal.conf'};\n}}\n"
        )
        return [
            self.nginx,
            "-p",
            str(self.dir),
            "-c",
            str(self.dir / "nginx.conf"),
            "-e",
            str(self.dir / "error.log"),
        ]

    def ready(self) -> bool:
        return port_open(self.port)

    def cleanup(self) -> None:
        self.stop()
        error_log = self.dir / "error.log"
        if error_log.exists():
            VAR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(error_log, VAR / "nginx-error.log")
        shutil.rmtree(self.dir, ignore_errors=True)


def run_in_portal(env: dict[str, str], code: str, timeout: float = 120) -> str:
    """Run Python in a fresh portal process (settings from `env`), e.g. a beat task by hand; return stdout."""
    script = "import django\ndjango.setup()\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"portal process failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


# --- Clients --------------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class WebClient:
    """One visitor: a cookie jar, an address of its own (X-Forwarded-For) and a CSRF token."""

    def __init__(
        self, base_url: str, ip: str, timeout: float = 30, *, verify: bool | str = True, headers: dict = ()
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"X-Forwarded-For": ip, "User-Agent": "reliability-client", **dict(headers)},
            timeout=timeout,
            follow_redirects=False,
            verify=verify,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def csrf(self, path: str = "/privacy/withdraw/") -> str:
        token = self.http.cookies.get("csrftoken")
        if not token:
            self.http.get(path)
            token = self.http.cookies.get("csrftoken")
        return token or ""

    def post(self, path: str, data: dict, **kwargs) -> httpx.Response:
        return self.http.post(path, data={**data, "csrfmiddlewaretoken": self.csrf()}, **kwargs)

    def login(self, email: str, password: str) -> httpx.Response:
        self.csrf("/accounts/login/")
        return self.post("/accounts/login/", {"username": email, "password": password})


def client_ip(index: int) -> str:
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


class Tally:
    """Thread-safe counts of what the clients saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.errors: list[str] = []
        self.latencies: list[float] = []

    def add(self, label: str, response: httpx.Response | None, started: float, error: str = "") -> None:
        with self.lock:
            self.latencies.append(time.monotonic() - started)
            if response is None:
                self.statuses[f"{label}:error"] += 1
                self.errors.append(f"{label}: {error}")
            else:
                self.statuses[f"{label}:{response.status_code}"] += 1
                if response.status_code >= 500:
                    self.errors.append(f"{label}: {response.status_code} {response.text[:300]}")

    @property
    def server_errors(self) -> int:
        return sum(n for key, n in self.statuses.items() if key.rsplit(":", 1)[1].startswith("5"))

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


# --- Delivered mail -------------------------------------------------------------------------------


def message_outbox_id(message: dict) -> int | None:
    """Return the outbox row id from the Message-ID header the outbox sets on every email."""
    for header in message.get("Headers") or []:
        if header.get("Name", "").lower() == "message-id":
            match = re.match(r"<outbox-(\d+)@", header.get("Value", ""))
            if match:
                return int(match.group(1))
    return None


def delivery_counts(received: list[dict]) -> Counter:
    """How many times the fake provider accepted each outbox row."""
    return Counter(message_outbox_id(message) for message in received)


# --- The report -----------------------------------------------------------------------------------


def record(scenario: str, *, done: str, **counts) -> None:
    """Keep a scenario's counts for `make reliability`'s table (python -m tests.reliability.report)."""
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / f"{scenario}.json").write_text(
        json.dumps(
            {
                "scenario": scenario,
                "done": done,
                "counts": counts,
                "at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            },
            ensure_ascii=False,
            indent=2,
        )
    )

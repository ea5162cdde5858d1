"""Start the whole portal (web, Celery worker and beat) and stop all of it on Ctrl-C."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def main() -> int:
    os.chdir(ROOT)
    env = {**os.environ}
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Links in emails and records name the port the portal listens on.
    env.setdefault("SITE_URL", f"http://127.0.0.1:{env.get('PORT', '8000')}")
    var = Path(env.get("VAR_DIR", ROOT / "var"))
    for folder in ("", "mail", "broker", "broker-control", "cache"):
        (var / folder).mkdir(parents=True, exist_ok=True)

    def manage(*args: str) -> None:
        subprocess.run([PY, "manage.py", *args], env=env, check=True)

    subprocess.run([PY, "scripts/compile_messages.py"], check=True)
    manage("migrate", "--no-input", "-v", "0")
    manage("portal_setup")

    port = env.get("PORT", "8000")
    embedded = not env.get("REDIS_URL") and not env.get("CELERY_BROKER_URL")
    pool = ["-P", "solo"] if embedded else ["-c", "2"]
    commands = {
        "worker": [PY, "-m", "celery", "-A", "config", "worker", "-l", "INFO", *pool],
        "beat": [PY, "-m", "celery", "-A", "config", "beat", "-l", "INFO"],
        "web": [PY, "manage.py", "runserver", f"127.0.0.1:{port}"],
    }
    processes = {
        name: subprocess.Popen(cmd, env=env, start_new_session=True, preexec_fn=_die_with_parent)
        for name, cmd in commands.items()
    }
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_args: stopping.append(True))

    print(f"\nAlilo Privacy Portal: http://127.0.0.1:{port}/  (admin: http://127.0.0.1:{port}/admin/)")
    print(
        f"Emails are written to {var / 'mail'} unless EMAIL_BACKEND is set. Ctrl-C stops it all.\n",
        flush=True,
    )
    try:
        while not stopping:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                print(f"Stopped because {', '.join(exited)} exited.", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return 0
    finally:
        _stop(list(processes.values()))


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _stop(processes: list[subprocess.Popen]) -> None:
    """Ask every process group to stop, then kill what is still there after ten seconds."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        _signal_group(process, signal.SIGKILL)
    for process in processes:
        process.wait()


def _die_with_parent() -> None:
    """Have the kernel stop a child if this launcher dies without cleaning up (Linux only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())

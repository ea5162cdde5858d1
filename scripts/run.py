"""Start the whole portal (web, Celery worker and beat) and stop all of it on Ctrl-C."""

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
        name: subprocess.Popen(cmd, env=env, start_new_session=True) for name, cmd in commands.items()
    }

    def stop(*_args) -> None:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    print(f"\nAlilo Privacy Portal: http://127.0.0.1:{port}/  (admin: http://127.0.0.1:{port}/admin/)")
    print(f"Emails are written to {var / 'mail'} unless EMAIL_BACKEND is set. Ctrl-C stops it all.\n")
    try:
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
        failed = [name for name, process in processes.items() if process.poll() is not None]
        print(f"Stopped because {', '.join(failed)} exited.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())

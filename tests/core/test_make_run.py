"""`make run`'s launcher on the embedded defaults: SQLite, a file broker, emails in a folder."""

import email
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from tests.flows.support import PASSWORD, form_in
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
REFERENCE = re.compile(r"WR-\d{4}-\d{6}")


class Browser:
    """A person's browser on the running portal: cookies, the forms' CSRF tokens, redirects followed."""

    def __init__(self, base: str):
        self.http = httpx.Client(base_url=base, follow_redirects=True, timeout=30)

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 500:
            # Django's debug page names the exception in its title and shows its message.
            title = re.search(r"<title>(.*?)</title>", response.text, re.S)
            value = re.search(r'<pre class="exception_value">(.*?)</pre>', response.text, re.S)
            found = " — ".join(" ".join(match[1].split()) for match in (title, value) if match)
            pytest.fail(f"{response.status_code} on {response.url}: {found or response.text[:2000]}")
        return response

    def get(self, path: str) -> httpx.Response:
        return self._checked(self.http.get(path))

    def submit(self, page: httpx.Response, *, action=None, has=None, button=None, **data) -> httpx.Response:
        """Send the form of `page` picked by `action` / `has`, filled in with `data`."""
        form = form_in(page.text, action=action, has=has, where=str(page.url))
        values = form.data(data)
        values.update(dict([button] if button else form.buttons[:1]))
        target = urljoin(str(page.url), form.action) if form.action else str(page.url)
        return self._checked(self.http.post(target, data=values, headers={"referer": str(page.url)}))


def mail_texts(folder: Path) -> list[str]:
    """The text parts of every email the file backend wrote to `folder`."""
    texts = []
    for path in sorted(folder.glob("*")):
        for raw in path.read_text(errors="replace").split("\n" + "-" * 79 + "\n"):
            message = email.message_from_string(raw.strip())
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    texts.append(part.get_payload(decode=True).decode(errors="replace"))
    return texts


def _verify_links(folder: Path) -> list[str]:
    """The paths of the confirm-your-address links in the emails written to `folder`."""
    return [link for text in mail_texts(folder) for link in re.findall(r"/accounts/verify/[^\s\"<>]+", text)]


def walk_sign_up_accept_and_withdraw(base: str, log: Path, mail: Path) -> None:
    """Over HTTP: a visitor signs up (and is signed in), confirms the address from the email, staff publish
    version 2 in the admin, the member presses Accept on the banner, then withdraws consent signed in; the
    worker announces version 2 by email."""
    member = Browser(base)
    page = member.get("/accounts/signup/")
    page = member.submit(
        page,
        has='name="accept_policy"',
        full_name="Aigerim Nurlanova",
        email="aigerim@example.kz",
        language="en",
        password1=PASSWORD,
        password2=PASSWORD,
        accept_policy="on",
    )
    assert page.url.path == "/accounts/", page.text[:2000]
    assert 'class="card email-unverified"' in page.text  # the link was sent; a button sends it again
    deadline = time.monotonic() + 90
    while not (links := _verify_links(mail)) and time.monotonic() < deadline:
        time.sleep(1)
    assert links, f"the worker did not deliver the confirm-your-address email:\n{log.read_text()[-3000:]}"
    # The link names the port the portal listens on, not a default one.
    assert f"{base}/accounts/verify/" in "\n".join(mail_texts(mail))
    page = member.get(links[-1])
    page = member.submit(page, has='class="verify-email"')
    assert page.url.path == "/accounts/" and "Your email address is confirmed." in page.text, page.text[:2000]

    login = re.search(r"Demo staff login: (\S+) / (\S+)", log.read_text())
    assert login, log.read_text()[-2000:]
    staff = Browser(base)
    page = staff.get("/admin/login/")
    page = staff.submit(page, has='name="password"', username=login[1], password=login[2])
    assert page.url.path == "/admin/", page.text[:2000]
    page = staff.get("/admin/policies/policyversion/add/")
    page = staff.submit(
        page,
        has='name="number"',
        button=("_continue", "1"),
        number="2",
        **{
            "texts-TOTAL_FORMS": "1",
            "texts-0-language": "kk",
            "texts-0-title": "Құпиялылық саясаты",
            "texts-0-summary": "2.1-тармақ өзгерді.",
            "texts-0-body": "1. Жалпы ережелер.\r\n\r\n2.1. Жеткізу үшін деректер.",
        },
    )
    change = re.fullmatch(r"/admin/policies/policyversion/(\d+)/change/", page.url.path)
    assert change, f"{page.url}\n{page.text[:2000]}"
    page = staff.get(f"/admin/policies/policyversion/{change[1]}/publish/")
    page = staff.submit(page, has='name="confirm"')
    assert page.url.path == change[0], page.text[:2000]

    deadline = time.monotonic() + 30
    while "/privacy/accept/2/" not in (home := member.get("/")).text and time.monotonic() < deadline:
        time.sleep(0.5)
    page = member.submit(home, action="/privacy/accept/2/")
    assert page.url.path == "/", page.text[:2000]
    assert "/privacy/accept/2/" not in page.text  # the banner is gone
    receipts = set(re.findall(r"/privacy/me/receipt/\d+/", member.get("/privacy/me/").text))
    assert len(receipts) == 2, receipts  # version 1 at sign-up, version 2 by the button

    page = member.get("/privacy/withdraw/")
    page = member.submit(
        page, has='name="submission_token"', scope="all", acknowledgement="on", reason="Flows on SQLite."
    )
    assert page.url.path.startswith("/privacy/withdraw/status/"), page.text[:2000]
    reference = REFERENCE.search(page.text)
    assert reference, page.text[:2000]

    def delivered() -> bool:
        texts = mail_texts(mail)
        announced = any("/privacy/accept/2/" in text and "Aigerim" in text for text in texts)
        return announced and any(reference[0] in text for text in texts)

    deadline = time.monotonic() + 90
    while not delivered() and time.monotonic() < deadline:
        time.sleep(1)
    assert delivered(), (
        f"the worker did not deliver the announcement and the receipt:\n{log.read_text()[-3000:]}"
    )


def test_run_serves_the_main_flows_on_embedded_defaults_and_ctrl_c_stops_all(tmp_path):
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
        walk_sign_up_accept_and_withdraw(f"http://127.0.0.1:{port}", log, tmp_path / "mail")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert "Traceback" not in text and "Internal Server Error" not in text, text[-5000:]
    assert not re.search(r'" 5\d\d ', text), text[-5000:]  # runserver's access log
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

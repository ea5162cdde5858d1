"""CPU time of the portal's own process per request and per email, for the capacity note in
docs/operations.md: `python -m bench.capacity` (on the bench database, which it makes anew).

In one process, calling the WSGI application as gunicorn does (no network; not Django's test client, whose
recording of every rendered template costs more than some pages): each request after a warm-up, best of RUNS
rounds of REQUESTS; `time.process_time`, so PostgreSQL's and Redis's own work is not counted (the
benchmarks' req/s measure the whole machine). The production password hasher is timed apart: a log-in costs
one hash, and the tests' settings use a fast one.
"""

import io
import os
import sys
import time
import uuid
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from bench.common import make_users, policy_publish, purge_broker, reset_tables, sessions_create, setup_django

REQUESTS = int(os.environ.get("CAPACITY_REQUESTS", "200"))
RUNS = int(os.environ.get("CAPACITY_RUNS", "5"))
USERS = 200


def cpu_ms(function, count: int = REQUESTS) -> float:
    """Best of RUNS: CPU milliseconds of this process per call of function(i)."""
    best = float("inf")
    for _run in range(RUNS):
        start = time.process_time()
        for i in range(count):
            function(i)
        best = min(best, (time.process_time() - start) * 1000 / count)
    return best


def main() -> int:
    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.core.wsgi import get_wsgi_application

    from apps.notifications.models import OutboxEmail
    from apps.notifications.services import outbox_emails_deliver, outbox_fanout
    from apps.policies.models import PolicyVersion
    from apps.policies.selectors import ANNOUNCEMENT_TEMPLATE
    from apps.policies.services import policy_email_contexts

    reset_tables()
    policy_publish()
    make_users(USERS)
    users = list(get_user_model().objects.order_by("pk"))
    sessions = sessions_create([user.pk for user in users])
    application = get_wsgi_application()

    class Visitor:
        """Requests straight to the WSGI application, with a session cookie and a CSRF secret or none."""

        def __init__(self, session: str = "", csrf: str = "") -> None:
            cookies = {settings.SESSION_COOKIE_NAME: session, settings.CSRF_COOKIE_NAME: csrf}
            self.cookie = "; ".join(f"{name}={value}" for name, value in cookies.items() if value)
            self.csrf = csrf

        def request(self, method: str, path: str, body: bytes = b"") -> int:
            environ = {
                "REQUEST_METHOD": method,
                "PATH_INFO": path,
                "HTTP_COOKIE": self.cookie,
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }
            setup_testing_defaults(environ)
            status = []
            response = application(environ, lambda code, headers, exc_info=None: status.append(code))
            for _chunk in response:
                pass
            response.close()
            return int(status[0].split()[0])

        def get(self, path: str) -> int:
            return self.request("GET", path)

        def post(self, path: str, data: dict) -> int:
            return self.request(
                "POST", path, urlencode({**data, "csrfmiddlewaretoken": self.csrf}, True).encode()
            )

    anonymous = Visitor()
    signed_in = [Visitor(key, csrf) for key, csrf in sessions]

    def check(answered: int, status: int) -> None:
        if answered != status:
            raise SystemExit(f"answered {answered}, expected {status}")

    # The first view of each user records the use and the pending acceptance: warm everyone up first.
    for client in signed_in:
        check(client.get("/"), 200)
    for path in ("/", "/privacy_policy/", "/privacy/withdraw/"):
        check(anonymous.get(path), 200)

    rows = []

    def page(label: str, path: str, clients) -> None:
        rows.append((label, cpu_ms(lambda i: check(clients[i % len(clients)].get(path), 200))))

    page("home page, anonymous", "/", [anonymous])
    page("policy page, anonymous", "/privacy_policy/", [anonymous])
    page("home page, signed in (200 users in turn)", "/", signed_in)
    page("My privacy page, signed in", "/privacy/me/", signed_in)
    page("withdrawal form, signed in", "/privacy/withdraw/", signed_in)

    def withdraw(i: int) -> None:
        data = {
            "scope": "partial",
            "purposes": ["marketing"],
            "reason": "Capacity",
            "full_name": f"Bench User {i}",
            "submission_token": str(uuid.uuid4()),
        }
        check(signed_in[i % len(signed_in)].post("/privacy/withdraw/", data), 302)

    rows.append(("withdrawal POST, signed in (request, timeline, audit, 2 emails)", cpu_ms(withdraw, 100)))

    # Emails: render and hand to the backend (anymail's test backend: no network), as a worker does.
    version = PolicyVersion.objects.get()
    batches = []

    def email_batch(_i: int) -> None:
        outbox_emails_deliver(email_ids=batches.pop())

    contexts = policy_email_contexts(version=version)
    for run in range(RUNS):
        ids = outbox_fanout(
            recipients=get_user_model().objects.all(),
            template=ANNOUNCEMENT_TEMPLATE,
            topic="capacity",
            object_id=version.pk,
            dedup_prefix=f"capacity:{run}:",
            contexts=contexts,
        )
        batches.append(ids)
    purge_broker()
    rows.append(("email: claim, render and send one outbox row", cpu_ms(email_batch, 1) / len(users)))
    assert not OutboxEmail.objects.exclude(status=OutboxEmail.Status.SENT).filter(topic="capacity").exists()

    hasher = PBKDF2PasswordHasher()
    encoded = hasher.encode("bench-password", hasher.salt())
    rows.append(
        (
            f"log-in password check (PBKDF2, {hasher.iterations:,} iterations)",
            cpu_ms(lambda _i: hasher.verify("bench-password", encoded), 5),
        )
    )

    load = os.getloadavg()
    print(f"CPU ms of the portal's process, best of {RUNS}; load average {load[0]:.1f} {load[1]:.1f}")
    for label, value in rows:
        print(f"  {label:<70} {value:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Page views under load: gunicorn on loopback and wrk, ours and the baseline alternating in one run.

Signed-in page view: the home page as signed-in users taken in turn (each request the next user's session
cookie), with the acceptance check and use tracking (PolicyAcceptanceMiddleware) on, vs a second gunicorn
whose settings (bench/settings_plain.py) leave that middleware out. Before the load every user is seen once,
so the measured state is the steady one; then the queries per request are counted in-process, on vs off.

Public policy page: /privacy_policy/ anonymous vs a bare template view putting out as many bytes.
"""

from bench.common import (
    Row,
    gunicorn,
    policy_publish,
    queries_recorded,
    reset_tables,
    signed_in_users,
    warm_up,
    wrk_checked,
)

PAGE_TARGET = 0.95
POLICY_TARGET = 0.9


def _alternate(size: dict, ours, baseline) -> tuple[dict, dict]:
    """Run ours and the baseline in turn (ours first, then the baseline first, ...); keep each one's best."""
    ours_runs, baseline_runs = [], []
    for turn in range(size["rounds"]):
        if turn % 2 == 0:
            ours_runs.append(ours())
            baseline_runs.append(baseline())
        else:
            baseline_runs.append(baseline())
            ours_runs.append(ours())
    return max(ours_runs, key=lambda r: r["rps"]), max(baseline_runs, key=lambda r: r["rps"])


def _settle() -> None:
    """Vacuum and analyse what the set-up wrote, so that autovacuum does not run during a measured load
    (it took the first runs down by up to 15 %, whichever server they measured)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("accounts_user", "django_session", "acceptances_acceptance"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _queries_per_request(sessions: list[tuple[str, str]], *, middleware_on: bool, repeat: int = 3) -> float:
    """Queries per signed-in request of the home page, in-process, for users already seen (steady state)."""
    from django.conf import settings
    from django.test import Client, override_settings
    from django.urls import reverse

    logout = reverse("accounts:logout").encode()

    middleware = list(settings.MIDDLEWARE)
    if not middleware_on:
        middleware.remove("apps.acceptances.middleware.PolicyAcceptanceMiddleware")
    requests = 0
    with override_settings(MIDDLEWARE=middleware), queries_recorded() as captured:
        for _ in range(repeat):
            for key, _csrf in sessions:
                client = Client()
                client.cookies["sessionid"] = key
                response = client.get("/")
                if response.status_code != 200 or logout not in response.content:
                    raise RuntimeError(f"home page as a signed-in user: status {response.status_code}")
                requests += 1
    return len(captured) / requests


def _signed_in_page(size: dict) -> Row:

    users = size["sessions"]
    sessions, path = signed_in_users(users)
    env = {"BENCH_PATH": "/", "BENCH_SESSIONS": str(path), "BENCH_EXPECT": "200"}
    duration = size["duration"]
    with gunicorn("bench.settings") as on, gunicorn("bench.settings_plain") as off:
        warm_up(on, "/", sessions)
        warm_up(off, "/", sessions)
        _settle()
        for base in (on, off):  # a first, unmeasured load: each server's processes reach their steady state
            wrk_checked(f"{base}/", script="load.lua", duration=1, env=env)
        ours, baseline = _alternate(
            size,
            lambda: wrk_checked(f"{on}/", script="load.lua", duration=duration, env=env),
            lambda: wrk_checked(f"{off}/", script="load.lua", duration=duration, env=env),
        )
    sample = sessions[:50]
    queries_on = _queries_per_request(sample, middleware_on=True)
    queries_off = _queries_per_request(sample, middleware_on=False)
    extra = queries_on - queries_off
    ratio = ours["rps"] / baseline["rps"]
    return Row(
        f"signed-in page view, {users:,} users rotating",
        ours["rps"],
        baseline["rps"],
        "req/s",
        ratio,
        f">= {PAGE_TARGET}, 0 extra queries",
        ratio >= PAGE_TARGET and extra == 0,
        note=f"{queries_on:g} vs {queries_off:g} queries/request; p99 {ours['p99_ms']:.1f} vs "
        f"{baseline['p99_ms']:.1f} ms",
    )


def _policy_page(size: dict) -> Row:
    from django.test import Client

    reset_tables()
    policy_publish()
    response = Client().get("/privacy_policy/")
    if response.status_code != 200:
        raise RuntimeError(f"/privacy_policy/: status {response.status_code}")
    page_bytes = len(response.content)
    # The bare page's text is sized so that the whole page, with the site's header and footer, is as large.
    from bench import views

    chrome = len(Client().get("/bench/bare-page/").content) - len(views.BODY.encode())
    duration = size["duration"]
    with gunicorn("bench.settings", BENCH_PAGE_BYTES=str(page_bytes - chrome)) as base:
        for path in ("/privacy_policy/", "/bench/bare-page/"):
            wrk_checked(f"{base}{path}", script="load.lua", duration=1, env={"BENCH_PATH": path})
        ours, baseline = _alternate(
            size,
            lambda: wrk_checked(
                f"{base}/privacy_policy/",
                script="load.lua",
                duration=duration,
                env={"BENCH_PATH": "/privacy_policy/"},
            ),
            lambda: wrk_checked(
                f"{base}/bench/bare-page/",
                script="load.lua",
                duration=duration,
                env={"BENCH_PATH": "/bench/bare-page/"},
            ),
        )
    ratio = ours["rps"] / baseline["rps"]
    return Row(
        "public policy page, anonymous",
        ours["rps"],
        baseline["rps"],
        "req/s",
        ratio,
        f">= {POLICY_TARGET}",
        ratio >= POLICY_TARGET,
        note=f"{page_bytes:,} bytes; p99 {ours['p99_ms']:.1f} vs {baseline['p99_ms']:.1f} ms",
    )


def run(size: dict) -> list[Row]:
    return [_signed_in_page(size), _policy_page(size)]


if __name__ == "__main__":
    import sys

    from bench.run import main

    raise SystemExit(main(["--only", "pages", *sys.argv[1:]]))

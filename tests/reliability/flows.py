"""What the scenarios' clients do over HTTP, each step counted in a Tally.

Each function returns whether the person saw success; exceptions (a refused connection, a timeout) count as a
failed request in the tally, never as a crash of the scenario.
"""

import time
import uuid

import httpx

from .support import Tally, WebClient

PASSWORD = "reliable-horse-battery"


def _step(tally: Tally, label: str, call) -> httpx.Response | None:
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError as exc:
        tally.add(label, None, started, repr(exc))
        return None
    tally.add(label, response, started)
    return response


def withdrawal_form(i: int, *, email: str = "", token: str = "", scope: str = "all") -> dict:
    """A new request of client `i`. Its reason differs from every other form's: the same words from the same
    person while an earlier request is pending are that request sent again, not a new one."""
    token = token or str(uuid.uuid4())
    data = {
        "full_name": f"Requester {i}",
        "email": email,
        "scope": scope,
        "reason": f"Request {i}, form {token[:8]}",
        "submission_token": token,
    }
    if scope == "all":
        data["acknowledgement"] = "on"
    else:
        data["purposes"] = ["marketing"]
    return data


def file_withdrawal(client: WebClient, tally: Tally, data: dict, *, signed_in: bool) -> bool:
    """Post the form; a visitor lands on "check your email", a member on the request's status page."""
    response = _step(tally, "withdraw", lambda: client.post("/privacy/withdraw/", data))
    expected = "/privacy/withdraw/status/" if signed_in else "/privacy/withdraw/sent/"
    if response is None or response.status_code != 302:
        return False
    location = response.headers.get("location", "")
    if not location.startswith(expected):
        return False
    page = _step(tally, "withdraw-result", lambda: client.get(location))
    return page is not None and page.status_code == 200


def log_in(client: WebClient, tally: Tally, email: str) -> bool:
    response = _step(tally, "login", lambda: client.login(email, PASSWORD))
    return response is not None and response.status_code == 302


def accept_policy(client: WebClient, tally: Tally, number: int) -> bool:
    path = f"/privacy/accept/{number}/"
    page = _step(tally, "accept-page", lambda: client.get(path))
    if page is None or page.status_code != 200:
        return False
    response = _step(tally, "accept", lambda: client.post(path, {}))
    return response is not None and response.status_code == 302


def sign_up(client: WebClient, tally: Tally, email: str, number: int) -> bool:
    client.csrf("/accounts/signup/")
    data = {
        "full_name": f"New Member {email}",
        "email": email,
        "language": "ru",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "policy_version": str(number),
        "accept_policy": "on",
    }
    response = _step(tally, "signup", lambda: client.post("/accounts/signup/", data))
    # A new address is signed in and sent to the account page; a taken one to the log-in page.
    return (
        response is not None
        and response.status_code == 302
        and response.headers.get("location") == "/accounts/"
    )


def request_password_reset(client: WebClient, tally: Tally, email: str) -> bool:
    client.csrf("/accounts/reset/")
    response = _step(tally, "reset", lambda: client.post("/accounts/reset/", {"email": email}))
    return response is not None and response.status_code == 302


def browse(client: WebClient, tally: Tally, *, signed_in: bool) -> bool:
    paths = ["/", "/privacy_policy/", "/privacy/withdraw/"]
    if signed_in:
        paths += ["/privacy/me/", "/accounts/"]
    ok = True
    for path in paths:
        response = _step(tally, "browse", lambda path=path: client.get(path))
        ok = ok and response is not None and response.status_code == 200
    return ok

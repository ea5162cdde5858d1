"""What a person does in a flow: open pages, fill in the forms they show, read the emails they are sent.

A `Visitor` is a browser without JavaScript: it keeps cookies, sends the CSRF token the page gave it, follows
redirects, and fails the test on any server error. Forms are read from the page's HTML, so a field the page
does not offer cannot be posted by accident.
"""

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

from apps.notifications.models import OutboxEmail
from apps.notifications.tasks import outbox_deliver_batch
from apps.policies.services import policy_draft_create, policy_text_save, policy_version_publish
from tests.accounts.factories import UserFactory

PASSWORD = "Steppe-Lake-9142"


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    html: str = ""

    def data(self, overrides: dict) -> dict:
        """What a browser sends (hidden, text, checked boxes, selected options), with `overrides`."""
        values: dict[str, list[str]] = {}
        for name, value in self.fields:
            values.setdefault(name, []).append(value)
        for name, value in overrides.items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = (
                    [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]
                )
        return {name: items if len(items) > 1 else items[0] for name, items in values.items()}


class _FormParser(HTMLParser):
    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._start = 0
        self._textarea: tuple[str, list[str]] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.splitlines(keepends=True)
        return sum(len(text) for text in lines[: line - 1]) + column

    def handle_starttag(self, tag, attrs):
        attributes = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self._form = Form(
                action=attributes.get("action", ""), method=attributes.get("method", "get").lower()
            )
            self._start = self._offset()
            return
        form = self._form
        if form is None or "disabled" in attributes:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    form.fields.append((name, attributes.get("value", "on")))
            elif kind in ("submit", "image", "button"):
                form.buttons.append((name, attributes.get("value", "")))
            elif kind != "file":
                form.fields.append((name, attributes.get("value", "")))
        elif tag == "button" and name:
            form.buttons.append((name, attributes.get("value", "")))
        elif tag == "textarea" and name:
            self._textarea = (name, [])
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((attributes.get("value", ""), "selected" in attributes))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        form = self._form
        if form is None:
            return
        if tag == "textarea" and self._textarea is not None:
            form.fields.append((self._textarea[0], "".join(self._textarea[1]).lstrip("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._options if selected] or [
                value for value, _selected in self._options[:1]
            ]
            form.fields.extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "form":
            form.html = self.source[self._start : self._offset()]
            self.forms.append(form)
            self._form = None


def form_in(source: str, *, action: str | None = None, has: str | None = None, where: str = "") -> Form:
    """The one form of the HTML `source` whose action contains `action` and whose HTML contains `has`."""
    parser = _FormParser(source)
    parser.feed(source)
    found = [
        form
        for form in parser.forms
        if (action is None or action in form.action) and (has is None or has in form.html)
    ]
    assert len(found) == 1, f"{len(found)} forms match action={action!r} has={has!r} on {where}"
    return found[0]


class Page:
    """A page as the visitor ended up on it, after every redirect."""

    def __init__(self, response, path: str):
        self.response = response
        self.status = response.status_code
        self.path = path
        self.redirects = [urlsplit(url).path for url, _status in getattr(response, "redirect_chain", [])]
        self.html = response.content.decode("utf-8", "replace")
        self.text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.html)))

    def __contains__(self, text: str) -> bool:
        return text in self.text or text in self.html

    def form(self, *, action: str | None = None, has: str | None = None) -> Form:
        """The one form whose action contains `action` and whose HTML contains `has` (a field or a label)."""
        return form_in(self.html, action=action, has=has, where=self.path)

    def links(self, prefix: str) -> list[str]:
        return sorted(
            {match for match in re.findall(r'href="([^"]+)"', self.html) if match.startswith(prefix)}
        )


class Visitor:
    """One person with one browser (cookie jar)."""

    def __init__(self, *, language: str = "en", user_agent: str = "Mozilla/5.0 (flows)"):
        self.client = Client(enforce_csrf_checks=True, headers={"accept-language": language})
        self.user_agent = user_agent

    def _page(self, response, path: str) -> Page:
        final = response.request.get("PATH_INFO", path)
        page = Page(response, final)
        assert page.status < 500, f"{page.status} on {final}:\n{page.text[:2000]}"
        return page

    def get(self, path: str, **extra) -> Page:
        path = local(path)
        response = self.client.get(path, follow=True, headers={"user-agent": self.user_agent}, **extra)
        return self._page(response, path)

    def post(self, path: str, data: dict) -> Page:
        path = local(path)
        response = self.client.post(path, data, follow=True, headers={"user-agent": self.user_agent})
        return self._page(response, path)

    def submit(self, page: Page, *, action: str | None = None, has: str | None = None, button=None, **data):
        """Fill in the form of `page` with `data` (None removes a field) and send it, as a browser would."""
        form = page.form(action=action, has=has)
        values = form.data(data)
        if button is not None:
            values.update(dict([button]))
        elif form.buttons:
            values.update(dict(form.buttons[:1]))
        target = urljoin(page.path, form.action) if form.action else page.path
        assert form.method == "post", f"the form to {target} is not a POST form"
        return self.post(target, values)

    def log_in(self, email: str, password: str = PASSWORD, *, path: str = "/accounts/login/") -> Page:
        page = self.get(path)
        return self.submit(page, has='name="password"', username=email, password=password)


def local(url: str) -> str:
    """The path (and query) of a link to this site, as a link in an email gives it."""
    parts = urlsplit(url)
    if parts.scheme:
        assert url.startswith(settings.SITE_URL), f"{url} does not point to {settings.SITE_URL}"
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- Email ---------------------------------------------------------------------------------------


def deliver_emails() -> list:
    """Run the delivery task on every pending outbox email, as the worker does; return what was sent."""
    sent_before = len(mail.outbox)
    pending = list(OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).values_list("pk", flat=True))
    if pending:
        outbox_deliver_batch(pending)
    assert not OutboxEmail.objects.filter(pk__in=pending).exclude(status=OutboxEmail.Status.SENT).exists()
    return mail.outbox[sent_before:]


def emails_to(address: str, messages: list | None = None) -> list:
    return [message for message in (mail.outbox if messages is None else messages) if address in message.to]


def the_email(address: str, messages: list, *, subject: str) -> object:
    """The one message to `address` whose subject contains `subject`."""
    found = [message for message in emails_to(address, messages) if subject in message.subject]
    subjects = [message.subject for message in emails_to(address, messages)]
    assert len(found) == 1, f"{len(found)} emails to {address} about {subject!r}; got {subjects}"
    return found[0]


def link_in(message, path_prefix: str) -> str:
    """The link in the text of `message` to a path starting with `path_prefix`; it must be in the HTML too."""
    pattern = re.escape(settings.SITE_URL + path_prefix) + r"[^\s\"<>]*"
    links = re.findall(pattern, message.body)
    assert links, f"no link to {path_prefix} in:\n{message.body}"
    html_part = message.alternatives[0][0] if message.alternatives else ""
    assert links[0] in html_part, f"the HTML part lacks {links[0]}"
    return links[0]


# --- Set-ups through the real services -------------------------------------------------------------


def sign_up(
    email: str, *, full_name: str, language: str = "en", confirm: bool = True
) -> tuple[Visitor, object]:
    """A visitor signs up on the form, accepting the version in force, and is signed in; unless `confirm` is
    false, they then confirm the address from the email. Return the signed-in visitor and the account."""
    visitor = Visitor(language=language)
    page = visitor.get("/accounts/signup/")
    page = visitor.submit(
        page,
        has='name="accept_policy"',
        full_name=full_name,
        email=email,
        language=language,
        password1=PASSWORD,
        password2=PASSWORD,
        accept_policy="on",
    )
    assert page.path == "/accounts/", f"sign-up of {email} ended on {page.path}:\n{page.text[:1500]}"
    if confirm:
        page = confirm_address(visitor, email)
        assert page.path == "/accounts/", f"confirming {email} ended on {page.path}:\n{page.text[:1500]}"
    return visitor, get_user_model().objects.get(email=email.lower())


def confirm_address(visitor: Visitor, email: str) -> Page:
    """Open the newest confirm-your-address link sent to `email` and press its button."""
    deliver_emails()
    sent = [message for message in emails_to(email.lower()) if "/accounts/verify/" in message.body]
    assert sent, f"no confirm-your-address email to {email}"
    page = visitor.get(link_in(sent[-1], "/accounts/verify/"))
    return visitor.submit(page, has='class="verify-email"')


def publish_version(number: int, *, summary: str, actor=None):
    """Write a version in Kazakh and English and publish it, as the admin's buttons do."""
    version = policy_draft_create(number=number, actor=actor)
    for language, title in (("kk", "Құпиялылық саясаты"), ("en", "Privacy policy")):
        body = f"1. {title} {number}.\n\n1.1. {language}: what changed in version {number}."
        policy_text_save(
            version=version, language=language, title=title, summary=f"{summary} ({language})", body=body
        )
    return policy_version_publish(version=version, actor=actor)


@contextmanager
def travel(moment: datetime) -> Iterator[None]:
    """Move the clock to `moment` (and let it run on) until the block ends. The cache's own expiry runs on
    its server's clock, so what would have expired by then (use throttles, rate counters) is dropped."""
    with time_machine.travel(moment, tick=True):
        cache.clear()
        yield


def log_in_member(email: str, *, full_name: str, language: str = "en") -> tuple[Visitor, object]:
    """A member with an account logs in on the form; return the signed-in visitor and the account."""
    user = UserFactory(email=email, full_name=full_name, language=language, password=PASSWORD)
    visitor = Visitor(language=language)
    page = visitor.log_in(email)
    assert page.path == "/accounts/", f"log-in of {email} ended on {page.path}:\n{page.text[:1500]}"
    return visitor, user

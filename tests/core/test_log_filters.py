"""Application logs carry no emails, phone numbers or IP addresses."""

import io
import logging

import pytest

from apps.core.log_filters import RedactPersonalDataFilter, redact


@pytest.fixture
def root_output():
    """Capture what the root handler configured by settings.LOGGING writes."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactPersonalDataFilter) for f in handler.filters)
    ]
    assert handlers, "settings.LOGGING installs the personal-data filter on the root handler"
    handler = handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_root_handler_redacts_message_and_arguments(root_output):
    logging.getLogger("apps.accounts").warning(
        "Sign-up of %s (%s) from %s, phone %s",
        "Aigul.S+kz@Example.kz",
        "Айгүл",
        "203.0.113.7",
        "+7 701 234 5678",
    )
    logging.getLogger("celery.task").error("Outbox email 42 to %(to)s failed", {"to": "a@example.kz"})
    output = root_output.getvalue()
    assert "Example.kz" not in output and "a@example.kz" not in output
    assert "203.0.113.7" not in output
    assert "701 234 5678" not in output
    assert "Sign-up of [email] (Айгүл) from [ip], phone [phone]" in output
    assert "Outbox email 42 to [email] failed" in output


def test_tracebacks_are_redacted(root_output):
    try:
        raise ValueError("Key (email)=(someone@example.kz) already exists; client 2001:db8::7")
    except ValueError:
        logging.getLogger("django.request").exception("Internal error for 8 701 234 56 78")
    output = root_output.getvalue()
    assert "someone@example.kz" not in output and "2001:db8::7" not in output
    assert "Key (email)=([email]) already exists; client [ip]" in output
    assert "Internal error for [phone]" in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to +77012345678 and 87012345678", "to [phone] and [phone]"),
        ("(701) 234-56-78", "[phone]"),
        ("from ::1 and 10.0.0.1", "from [ip] and [ip]"),
        # Not personal data: ids, dates, times, versions, UUIDs stay readable.
        ("row 1234567 at 2026-11-26 21:05:38", "row 1234567 at 2026-11-26 21:05:38"),
        ("version 1.2.3", "version 1.2.3"),
        ("id 123e4567-e89b-12d3-a456-426614174000", "id 123e4567-e89b-12d3-a456-426614174000"),
    ],
)
def test_redaction_keeps_what_is_not_personal(text, expected):
    assert redact(text) == expected


def test_celery_workers_log_through_the_filtered_handler():
    from django.conf import settings

    from config.celery import app

    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False
    assert app.conf.worker_hijack_root_logger is False

"""Keep personal data out of application logs (policy clause 3.2): redact emails, phones and addresses."""

import ipaddress
import logging
import re

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators phone numbers use; it counts as a phone when it has 10-15 digits.
PHONE = re.compile(r"(?<![\w./:-])\+?\(?\d[\d\s().-]{7,20}\d(?![\w/-])")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]\d)")
IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(char.isdigit() for char in text)
    if 10 <= digits <= 15 and not ISO_DATE.match(text):
        return "[phone]"
    return text


def _ipv6(match: re.Match) -> str:
    try:
        ipaddress.IPv6Address(match.group(0).split("%")[0])
    except ValueError:
        return match.group(0)
    return "[ip]"


def redact(text: str) -> str:
    """Return the text with emails, phone numbers and IP addresses replaced by placeholders."""
    text = EMAIL.sub("[email]", text)
    text = IPV4.sub("[ip]", text)
    text = IPV6.sub(_ipv6, text)
    return PHONE.sub(_phone, text)


def record_message(record: logging.LogRecord) -> str:
    """Return the record's message with its arguments, or its template alone when they do not fit it."""
    try:
        return record.getMessage()
    except Exception:  # a malformed record
        return str(record.msg)


class RedactPersonalDataFilter(logging.Filter):
    """Rewrite each record's message (with its arguments) and traceback without personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record_message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

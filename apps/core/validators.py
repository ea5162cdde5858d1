"""Validators of what people type, shared by every app's forms and the API.

Text that is shown again (in the admin, in emails, in the written application) must read as it is stored: a
direction override (U+202E) turns "txt.exe" into "exe.txt", a zero-width space hides a word from a search,
and a control character breaks the line it is printed on. Email addresses must name a domain: an address at an
IP literal (`user@[127.0.0.1]`) points the portal's mail at a machine instead of a mailbox.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .http import is_ip_address

# The joiners belong to the spelling of some scripts and to emoji; every other invisible character is refused.
ALLOWED_FORMAT_CHARACTERS = frozenset({"\u200c", "\u200d"})
# Controls, formatting (direction marks, zero-width spaces, BOM), surrogates, private use, unassigned, and the
# Unicode line and paragraph separators.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# What a textarea legitimately sends: browsers submit line breaks as CR LF.
LINE_CONTROLS = frozenset({"\n", "\r", "\t"})
# Embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069) reorder the text that follows them.
DIRECTION_CONTROLS = frozenset({*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))})
REPLACEMENT_CHARACTER = "\ufffd"

INVISIBLE_MESSAGE = _("Remove the invisible or unreadable characters from this field.")


def _is_invisible(character: str) -> bool:
    return character == REPLACEMENT_CHARACTER or (
        unicodedata.category(character) in INVISIBLE_CATEGORIES and character not in ALLOWED_FORMAT_CHARACTERS
    )


def validate_visible_text(value: str) -> None:
    """Refuse control characters, invisible formatting and undecodable bytes in a one-line value (a name)."""
    if any(_is_invisible(character) for character in value or ""):
        raise ValidationError(INVISIBLE_MESSAGE, code="invisible")


def validate_visible_multiline_text(value: str) -> None:
    """As validate_visible_text, but keep line breaks and tabs: for reasons, answers, messages and notes."""
    if any(_is_invisible(character) and character not in LINE_CONTROLS for character in value or ""):
        raise ValidationError(INVISIBLE_MESSAGE, code="invisible")


def validate_formatted_text(value: str) -> None:
    """Refuse direction overrides and control characters in a long formatted text (a policy's body).

    Such a text may use invisible formatting (soft hyphens, zero-width spaces, direction marks) where it reads
    better with it, but never a character that reorders what follows or that no editor shows.
    """
    for character in value or "":
        if character in DIRECTION_CONTROLS:
            raise ValidationError(
                _("Remove the text direction controls (U+202A to U+202E, U+2066 to U+2069) from this text."),
                code="direction_control",
            )
        if unicodedata.category(character) == "Cc" and character not in LINE_CONTROLS:
            raise ValidationError(INVISIBLE_MESSAGE, code="invisible")


def validate_email_domain(value: str) -> None:
    """Refuse an email address whose domain is an IP address (`user@[127.0.0.1]`, `user@[IPv6:::1]`)."""
    domain = (value or "").rpartition("@")[2].strip().rstrip(".")
    if domain.startswith("[") or is_ip_address(domain):
        raise ValidationError(
            _("Enter an email address at a domain name, not at an IP address."), code="ip_literal"
        )

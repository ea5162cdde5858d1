import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The joiners belong to the spelling of some scripts; every other invisible character is refused.
ALLOWED_FORMAT_CHARACTERS = {"\u200c", "\u200d"}
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def validate_visible_text(value: str) -> None:
    """Refuse control characters, invisible formatting (e.g. direction overrides) and undecodable bytes.

    For one-line values such as names: a right-to-left override or a control character would make the name
    read differently in the admin, in emails and in the written application than what was stored.
    """
    for character in value or "":
        if character == "\ufffd" or (
            unicodedata.category(character) in INVISIBLE_CATEGORIES
            and character not in ALLOWED_FORMAT_CHARACTERS
        ):
            raise ValidationError(
                _("Remove the invisible or unreadable characters from this field."), code="invisible"
            )

"""Filters for the text of emails."""

from django import template

register = template.Library()

# Long enough for a full name with a patronymic; too short for a sentence that would pass for Alilo's words.
NAME_IN_EMAIL_MAX = 50


@register.filter
def short_name(value) -> str:
    """Return a person's name on one line, cut to NAME_IN_EMAIL_MAX characters (with an ellipsis)."""
    name = " ".join(str(value or "").split())
    if len(name) <= NAME_IN_EMAIL_MAX:
        return name
    return name[: NAME_IN_EMAIL_MAX - 1].rstrip() + "…"

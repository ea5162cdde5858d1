"""Helpers for the GOV.UK error pattern: a summary whose links lead to the fields in error."""

from django import template

register = template.Library()


@register.filter
def error_anchor(bound_field) -> str:
    """Return the id of the control a summary link should focus: the first option of a group of choices."""
    if bound_field.is_hidden or not bound_field.auto_id:
        return ""
    if bound_field.use_fieldset:
        return f"{bound_field.auto_id}_0"
    return bound_field.id_for_label or bound_field.auto_id

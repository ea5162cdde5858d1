from django import template

from ..text import policy_clauses

register = template.Library()


@register.inclusion_tag("policies/_body.html")
def policy_body(text, heading_level: int = 2):
    """Render a PolicyText (or a body string) as numbered headings and paragraphs with anchors."""
    body = getattr(text, "body", text) or ""
    return {"clauses": policy_clauses(body=body), "heading_level": heading_level}

"""What each type of request asks of the person, and the one set of rules every way of filing it follows: the
web forms, the API for connected services, and staff registering a letter.

`WithdrawalRequest.details` holds, per type:

- withdrawal: nothing (the scope and purposes have columns of their own);
- access: ``{"question": str}``, what the person most wants to know; may be empty, the answer covers
  everything Alilo and its connected services hold;
- correction: ``{"corrections": [{"field": CorrectableField, "current": str, "correct": str}, ...]}``, one to
  CORRECTIONS_MAX rows, each kind of data once (``other`` any number of times); ``current`` is what is wrong
  (empty when the data is missing and is to be completed; required for ``other``, where it says which data),
  ``correct`` what it should be (an email address in lower case, a phone number as +7...);
- blocking: ``{"grounds": BlockingGrounds}``, the explanation in `reason` (required for ``other``);
- destruction: ``{"grounds": DestructionGrounds}``, the explanation in `reason` (required for ``other``) and
  `acknowledgement` true: the person understands destruction ends the user agreement and that Alilo keeps
  what the law requires;
- objection: ``{"decision": str}``, which automated decision or processing, and why in `reason` (required).
"""

from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from apps.core.validators import (
    validate_email_domain,
    validate_visible_multiline_text,
    validate_visible_text,
)

from .models import BlockingGrounds, CorrectableField, DestructionGrounds, RequestType

CORRECTIONS_MAX = 5
QUESTION_MAX = 2000
DECISION_MAX = 1000
REASON_MAX = 2000
VALUE_MAX = 500

DETAIL_KEYS = {
    RequestType.WITHDRAWAL: (),
    RequestType.ACCESS: ("question",),
    RequestType.CORRECTION: ("corrections",),
    RequestType.BLOCKING: ("grounds",),
    RequestType.DESTRUCTION: ("grounds",),
    RequestType.OBJECTION: ("decision",),
}
CORRECTION_KEYS = ("field", "current", "correct")
GROUNDS = {RequestType.BLOCKING: BlockingGrounds, RequestType.DESTRUCTION: DestructionGrounds}

# The article of the Law on Personal Data (No. 94-V) that gives each right and its term, as the written
# application names it. For the operator's counsel to confirm (docs/operations.md, section 16).
ARTICLES = {
    RequestType.WITHDRAWAL: _("Law on Personal Data, Art. 8(7)"),
    RequestType.ACCESS: _("Law on Personal Data, Art. 24"),
    RequestType.CORRECTION: _("Law on Personal Data, Art. 24 and 25(2)(8)"),
    RequestType.BLOCKING: _("Law on Personal Data, Art. 24 and 25(2)(8)"),
    RequestType.DESTRUCTION: _("Law on Personal Data, Art. 24 and 25(2)(8)"),
    RequestType.OBJECTION: _("Law on Personal Data, Art. 19-1(3)"),
}

# The slug of each type's form under /privacy/requests/ (a withdrawal keeps its own form).
FORM_TYPES = (
    RequestType.ACCESS,
    RequestType.CORRECTION,
    RequestType.BLOCKING,
    RequestType.DESTRUCTION,
    RequestType.OBJECTION,
)

REASON_REQUIRED = _("Say why you ask for this.")
MESSAGES = {
    "not_a_dict": _("The details must be a set of named values."),
    "unknown": _("This type of request takes no detail called %(names)s."),
    "text": _("This must be text."),
    "corrections_required": _("Say which data is wrong or missing, and what it should be."),
    "corrections_max": _("List at most %(max)s corrections in one request."),
    "row": _("Each correction must name the data, what is wrong and what it should be."),
    "field_required": _("Choose which data this is."),
    "field_invalid": _("Choose which data this is from the list."),
    "field_twice": _("Each kind of data may be listed once; put everything about it in one correction."),
    "correct_required": _("Write what it should be."),
    "other_current": _("For other data, say which data it is and what is wrong with it."),
    "email": _("Enter the correct email address, for example name@example.kz."),
    "phone": _("Enter the correct phone number, for example +7 701 234 5678."),
    "name": _("Enter the correct full name."),
    "grounds_required": _("Choose why you ask for this."),
    "grounds_invalid": _("Choose one of the reasons in the list."),
    "acknowledgement": _(
        "To ask for destruction, confirm that you understand it ends your user agreement and that we keep "
        "what the law requires."
    ),
    "decision_required": _("Say which automated decision or processing you object to."),
    "objection_reason": _("Say why you object to it."),
    "scope": _("Scope and purposes are only for a withdrawal of consent."),
}


class _Errors:
    def __init__(self) -> None:
        self.by_path: dict[str, list] = {}

    def add(self, path: str, message, **params) -> None:
        self.by_path.setdefault(path, []).append(
            ValidationError(message, code=path.rsplit(".", 1)[-1], params=params or None)
        )

    def raise_any(self) -> None:
        if self.by_path:
            raise ValidationError(self.by_path)


def _text(errors: _Errors, path: str, value: Any, *, max_length: int, multiline: bool) -> str:
    """Return `value` as stored text (trimmed; one line, or lines without trailing spaces); note what is
    wrong with it under `path`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(path, MESSAGES["text"])
        return ""
    if multiline:
        value = "\n".join(line.rstrip() for line in value.strip().splitlines())
    else:
        value = " ".join(value.split())
    try:
        (validate_visible_multiline_text if multiline else validate_visible_text)(value)
        MaxLengthValidator(max_length)(value)
    except ValidationError as error:
        for message in error.messages:
            errors.add(path, message)
    return value


def _correct_value(errors: _Errors, path: str, field: str, value: str) -> str:
    """Check and normalise what the data should be, for the kinds of data with a known form."""
    if not value:
        return value
    if field == CorrectableField.EMAIL:
        value = value.lower()
        try:
            EmailValidator()(value)
            validate_email_domain(value)
        except ValidationError:
            errors.add(path, MESSAGES["email"])
    elif field == CorrectableField.PHONE:
        try:
            number = phonenumbers.parse(value, "KZ")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            errors.add(path, MESSAGES["phone"])
        else:
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return value


def _corrections(errors: _Errors, rows: Any) -> list[dict[str, str]]:
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        errors.add("details.corrections", MESSAGES["corrections_required"])
        return []
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        path = f"details.corrections.{index}"
        if not isinstance(row, dict) or set(row) - set(CORRECTION_KEYS):
            errors.add(path, MESSAGES["row"])
            continue
        field = row.get("field") or ""
        current = _text(errors, f"{path}.current", row.get("current"), max_length=VALUE_MAX, multiline=False)
        correct = _text(errors, f"{path}.correct", row.get("correct"), max_length=VALUE_MAX, multiline=False)
        if not field and not current and not correct:
            continue  # a line of the form left empty
        if not isinstance(field, str) or field not in CorrectableField.values:
            errors.add(f"{path}.field", MESSAGES["field_invalid" if field else "field_required"])
            field = ""
        elif field != CorrectableField.OTHER:
            if field in seen:
                errors.add(f"{path}.field", MESSAGES["field_twice"])
            seen.add(field)
        if field == CorrectableField.OTHER and not current:
            errors.add(f"{path}.current", MESSAGES["other_current"])
        if not correct:
            errors.add(f"{path}.correct", MESSAGES["correct_required"])
        correct = _correct_value(errors, f"{path}.correct", field, correct)
        cleaned.append({"field": field, "current": current, "correct": correct})
    if not cleaned and not any(path.startswith("details.corrections.") for path in errors.by_path):
        errors.add("details.corrections", MESSAGES["corrections_required"])
    if len(cleaned) > CORRECTIONS_MAX:
        errors.add("details.corrections", MESSAGES["corrections_max"], max=CORRECTIONS_MAX)
    return cleaned


def request_details_clean(
    *,
    request_type: str,
    details: Any,
    reason: Any = "",
    acknowledgement: bool = False,
    scope: str = "",
    purposes: Any = (),
) -> tuple[dict[str, Any], str]:
    """Return the request's details and reason as they are stored, once they follow the type's rules.

    Raise ValidationError with a list of messages per path ("reason", "acknowledgement", "scope",
    "details.grounds", "details.corrections.0.correct", ...), so a form puts each message next to its
    field and the API names where the problem is. A withdrawal's scope and purposes are checked by the
    caller; any other type must have neither.
    """
    errors = _Errors()
    details = {} if details is None else details
    if not isinstance(details, dict):
        errors.add("details", MESSAGES["not_a_dict"])
        errors.raise_any()
    allowed = DETAIL_KEYS[request_type]
    unknown = sorted(str(key) for key in details if key not in allowed)
    if unknown:
        errors.add("details", MESSAGES["unknown"], names=", ".join(unknown))
    reason = _text(errors, "reason", reason, max_length=REASON_MAX, multiline=True)
    if request_type != RequestType.WITHDRAWAL and (scope or purposes):
        errors.add("scope", MESSAGES["scope"])
    cleaned: dict[str, Any] = {}
    if request_type == RequestType.ACCESS:
        question = _text(
            errors, "details.question", details.get("question"), max_length=QUESTION_MAX, multiline=True
        )
        cleaned = {"question": question}
    elif request_type == RequestType.CORRECTION:
        cleaned = {"corrections": _corrections(errors, details.get("corrections"))}
    elif request_type in GROUNDS:
        grounds = details.get("grounds") or ""
        if not grounds:
            errors.add("details.grounds", MESSAGES["grounds_required"])
        elif not isinstance(grounds, str) or grounds not in GROUNDS[request_type].values:
            errors.add("details.grounds", MESSAGES["grounds_invalid"])
        elif grounds == "other" and not reason:
            errors.add("reason", REASON_REQUIRED)
        cleaned = {"grounds": grounds if isinstance(grounds, str) else ""}
        if request_type == RequestType.DESTRUCTION and acknowledgement is not True:
            errors.add("acknowledgement", MESSAGES["acknowledgement"])
    elif request_type == RequestType.OBJECTION:
        decision = _text(
            errors, "details.decision", details.get("decision"), max_length=DECISION_MAX, multiline=True
        )
        if not decision:
            errors.add("details.decision", MESSAGES["decision_required"])
        if not reason:
            errors.add("reason", MESSAGES["objection_reason"])
        cleaned = {"decision": decision}
    errors.raise_any()
    return cleaned, reason


def grounds_label(request_type: str, grounds: str) -> str:
    """Return the label of a blocking or destruction request's grounds in the active language."""
    choices = GROUNDS.get(request_type)
    if not choices or grounds not in choices.values:
        return grounds
    return str(choices(grounds).label)


def details_for_display(request_type: str, details: dict) -> dict[str, Any]:
    """Return the details as text in the active language: for the status page, the confirm page, emails."""
    details = details or {}
    shown: dict[str, Any] = {}
    if request_type == RequestType.ACCESS:
        shown["question"] = details.get("question", "")
    elif request_type == RequestType.CORRECTION:
        labels = dict(CorrectableField.choices)
        shown["corrections"] = [
            {
                "field": row.get("field", ""),
                "field_label": str(labels.get(row.get("field", ""), row.get("field", ""))),
                "current": row.get("current", ""),
                "correct": row.get("correct", ""),
            }
            for row in details.get("corrections", [])
        ]
    elif request_type in GROUNDS:
        shown["grounds"] = details.get("grounds", "")
        shown["grounds_label"] = grounds_label(request_type, details.get("grounds", ""))
    elif request_type == RequestType.OBJECTION:
        shown["decision"] = details.get("decision", "")
    return shown

"""What a request's `details` say, read for staff: the corrections a correction request asks for, and any
other answer of a type's form as label and text. The public form and the API write `details`; nothing here
writes it."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from apps.connectors.models import Field

from .models import RequestType, WithdrawalRequest

# The data a correction may change: the portal's account holds the first three (apps.accounts.services.
# CORRECTABLE_FIELDS), and each is passed to the connected services that hold it.
CORRECTION_FIELDS = (
    Field.FULL_NAME,
    Field.EMAIL,
    Field.PHONE,
    Field.POSTAL_ADDRESS,
    Field.DELIVERY_ADDRESSES,
)
OTHER = "other"
TEXT_MAX = 1000


def correction_field_label(field: str) -> str:
    if field == OTHER:
        return str(_("Something else"))
    return str(Field(field).label) if field in Field.values else field


@dataclass(frozen=True)
class CorrectionItem:
    """One thing the person says is wrong: the field, what it says now (if they wrote it), what it should
    be."""

    field: str
    current: str
    wanted: str

    @property
    def label(self) -> str:
        return correction_field_label(self.field)

    @property
    def correctable(self) -> bool:
        return self.field in CORRECTION_FIELDS


def _text(value: Any) -> str:
    return str(value if value is not None else "").strip()[:TEXT_MAX]


def correction_items(withdrawal: WithdrawalRequest) -> list[CorrectionItem]:
    """Return the corrections the request asks for (details["corrections"]), in the order written; rows
    that are not what the form writes are skipped."""
    if withdrawal.request_type != RequestType.CORRECTION:
        return []
    rows = (withdrawal.details or {}).get("corrections") if isinstance(withdrawal.details, dict) else None
    items = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        field = row.get("field")
        field = field if field in CORRECTION_FIELDS else OTHER
        wanted = _text(row.get("wanted") or row.get("value"))
        if wanted or _text(row.get("current")):
            items.append(CorrectionItem(field=field, current=_text(row.get("current")), wanted=wanted))
    return items


def details_rows(withdrawal: WithdrawalRequest) -> list[tuple[str, str]]:
    """Return the type's other answers as (key, text) pairs for the change page: any value a form stored,
    shown as text, the corrections left out (they have their own table)."""
    details = withdrawal.details if isinstance(withdrawal.details, dict) else {}
    rows = []
    for key, value in details.items():
        if key == "corrections" and withdrawal.request_type == RequestType.CORRECTION:
            continue
        if isinstance(value, (list, tuple)):
            text = "; ".join(_text(item) for item in value)
        elif isinstance(value, dict):
            text = "; ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items())
        elif isinstance(value, bool):
            text = str(_("yes") if value else _("no"))
        else:
            text = _text(value)
        rows.append((str(key), text[:TEXT_MAX]))
    return rows

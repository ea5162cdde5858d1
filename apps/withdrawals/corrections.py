"""The corrections a correction request asks for, as staff apply them. The public form and the API write them
to `details["corrections"]` as [{"field", "current", "correct"}] (apps.withdrawals.details); nothing here
writes them. Staff may also correct delivery addresses, which connected services hold and the form files under
"other"."""

from dataclasses import dataclass
from typing import Any

from apps.connectors.models import Field

from .models import CorrectableField, RequestType, WithdrawalRequest

# The data a correction may change: the portal's account holds the first three (apps.accounts.services.
# CORRECTABLE_FIELDS), and each is passed to the connected services that hold it.
CORRECTION_FIELDS = (
    Field.FULL_NAME,
    Field.EMAIL,
    Field.PHONE,
    Field.POSTAL_ADDRESS,
    Field.DELIVERY_ADDRESSES,
)
OTHER = CorrectableField.OTHER
TEXT_MAX = 1000


def correction_field_label(field: str) -> str:
    if field == OTHER:
        return str(CorrectableField.OTHER.label)
    return str(Field(field).label) if field in Field.values else field


@dataclass(frozen=True)
class CorrectionItem:
    """One thing the person says is wrong: the field, what it says now (if they wrote it), what it should
    be."""

    field: str
    current: str
    correct: str

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
        correct = _text(row.get("correct"))
        if correct or _text(row.get("current")):
            items.append(CorrectionItem(field=field, current=_text(row.get("current")), correct=correct))
    return items

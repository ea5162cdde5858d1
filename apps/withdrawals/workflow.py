"""Which step of the workflow a request allows in each status: the one rule the services and the admin's
buttons both follow."""

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from .models import WithdrawalRequest

Status = WithdrawalRequest.Status


class Step(StrEnum):
    ASSIGN = "assign"
    REVIEW_START = "review_start"
    INFORMATION_ASK = "information_ask"
    INFORMATION_PROVIDE = "information_provide"
    GRANT = "grant"
    REFUSE = "refuse"
    CANCEL = "cancel"
    NOTE = "note"


_OPEN = (Status.SUBMITTED, Status.IN_REVIEW, Status.AWAITING_INFORMATION)
_DECIDABLE = (Status.IN_REVIEW, Status.AWAITING_INFORMATION)
_REGISTERED = (*_OPEN, Status.GRANTED, Status.REFUSED, Status.CANCELLED)

# Each step: the statuses that allow it, and why it is refused in any other.
STEPS: dict[str, tuple[tuple[str, ...], Any]] = {
    Step.ASSIGN: (_OPEN, _("Only an open request can be assigned.")),
    Step.REVIEW_START: ((Status.SUBMITTED,), _("Only a submitted request can be taken into review.")),
    Step.INFORMATION_ASK: (
        (Status.IN_REVIEW,),
        _("Information can be asked for only while the request is in review."),
    ),
    Step.INFORMATION_PROVIDE: (
        (Status.AWAITING_INFORMATION,),
        _("Nobody asked for more information on this request, or it has been answered already."),
    ),
    Step.GRANT: (_DECIDABLE, _("Only a request in review can be granted.")),
    Step.REFUSE: (_DECIDABLE, _("Only a request in review can be refused.")),
    Step.CANCEL: (_OPEN, _("Only a request not yet decided can be cancelled.")),
    Step.NOTE: (_REGISTERED, _("The requester has not confirmed this request yet.")),
}


class TransitionNotAllowed(Exception):
    """The request is not in a state that allows this step; the message says why, translated."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


def withdrawal_steps_allowed(status: str) -> set[str]:
    """Return the steps a request in `status` allows."""
    return {step for step, (statuses, _message) in STEPS.items() if status in statuses}


def withdrawal_step_check(withdrawal: WithdrawalRequest, step: str) -> None:
    """Raise TransitionNotAllowed unless the request's status allows `step`."""
    statuses, message = STEPS[step]
    if withdrawal.status not in statuses:
        raise TransitionNotAllowed(message)

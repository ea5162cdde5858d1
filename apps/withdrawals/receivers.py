"""What requests do when a connected service's call reaches a final state (settings.SERVICE_CALL_RECEIVERS;
connectors calls each receiver in the transaction of the call's answer)."""

from typing import Any

from apps.connectors.models import Action

from . import services


def service_call_finished(*, call: Any) -> None:
    """Note the answer on the request's timeline; build an access request's package once every export is
    answered; add a destroy call's answer to the closing letter of a granted destruction, which is sent once
    every service has answered."""
    request = call.request
    services.withdrawal_service_answer_record(withdrawal=request, call=call)
    services.access_package_service_call_finished(call=call)
    if call.action == Action.DESTROY:
        services.destruction_service_answer_add(withdrawal=request, call=call)

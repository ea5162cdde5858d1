"""What requests do when a connected service gives its final answer (settings.SERVICE_CALL_RECEIVERS)."""

from apps.connectors.models import Action

from . import services


def service_call_finished(*, call) -> None:
    """Note the answer on the request's timeline; add a destroy call's answer to the closing letter of a
    granted destruction, which is sent once every service has answered. Called in the transaction that
    records the answer."""
    request = call.request
    services.withdrawal_service_answer_record(withdrawal=request, call=call)
    if call.action == Action.DESTROY:
        services.destruction_service_answer_add(withdrawal=request, call=call)

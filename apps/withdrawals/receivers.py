"""What withdrawals does when a connected service's call reaches a final state (settings
SERVICE_CALL_RECEIVERS; connectors calls each receiver in the transaction of the call's answer)."""

from typing import Any

from . import services


def service_call_finished(*, call: Any) -> None:
    """A call to a connected service is final (done, failed or done by hand)."""
    services.access_package_service_call_finished(call=call)

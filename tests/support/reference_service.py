"""The reference connected service (apps/connectors/reference_service.py) in a thread, registered as a
ConnectedService: what the `reference_service` and `reference_services` fixtures start."""

from urllib.parse import urlsplit

from apps.connectors.models import Action, ConnectedService, Field
from apps.connectors.reference_service import ReferenceService

REFERENCE_FIELDS = [
    Field.FULL_NAME,
    Field.EMAIL,
    Field.PHONE,
    Field.POSTAL_ADDRESS,
    Field.ORDERS,
    Field.LOCATION,
    Field.SEARCH_HISTORY,
]


class RunningReferenceService(ReferenceService):
    """A reference service serving in a thread, with the ConnectedService that points at it (`.service`)."""

    service: ConnectedService

    def deliver_callbacks(self, client) -> list[int]:
        """Post the callbacks it owes through a Django test client (no server needed); return the statuses."""
        statuses = []
        for callback in self.take_callbacks():
            response = client.post(
                urlsplit(callback.url).path,
                data=callback.body,
                content_type="application/json",
                headers={"X-Alilo-Signature": callback.signature},
            )
            statuses.append(response.status_code)
        return statuses


def reference_service_start(
    *,
    name: str = "Reference shop",
    mode: str = "now",
    actions: list[str] | None = None,
    fields: list[str] | None = None,
    timeout_seconds: int = 1,
    callback_delay: float = 0.5,
    auto_callback: bool = False,
    callback_base: str = "",
    **texts: str,
) -> RunningReferenceService:
    """Start a reference service in `mode` and register it (active) under `name`.

    In "later" mode it owes callbacks: with `auto_callback` it POSTs them itself after `callback_delay`
    seconds to `callback_base` (a live server's URL), else a test posts them with deliver_callbacks(client).
    In "timeout" mode it answers a second after the registered timeout.
    """
    secret = ConnectedService.generate_secret()
    running = RunningReferenceService(
        secret=secret,
        mode=mode,
        callback_delay=callback_delay,
        auto_callback=auto_callback,
        callback_base=callback_base,
        timeout_sleep=timeout_seconds + 1,
    ).start()
    defaults = {
        "data_held_kk": "Тапсырыстар, жеткізу мекенжайлары, орналасу, іздеу тарихы",
        "data_held_ru": "Заказы, адреса доставки, геолокация, история поиска",
        "data_held_en": "Orders, delivery addresses, locations, search history",
        "purposes_en": "Selling and delivering goods; personalised services",
        "sources_en": "The person, when ordering and searching",
        "recipients_en": "Delivery partners",
        "retention_en": "Three years after the user agreement ends",
    }
    running.service = ConnectedService.objects.create(
        name=name,
        fields=list(REFERENCE_FIELDS if fields is None else fields),
        actions=list(Action.values if actions is None else actions),
        endpoint_url=running.url,
        signing_secret=secret,
        timeout_seconds=timeout_seconds,
        active=True,
        **{**defaults, **texts},
    )
    return running

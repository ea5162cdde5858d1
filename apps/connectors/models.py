"""Alilo's other services that hold personal data, and the signed calls the portal makes to them for a
person's request (docs/connected-services.md)."""

import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from apps.core.http import outbound_host_allowed


class Field(models.TextChoices):
    """The kinds of personal data a service may hold; a correction reaches the services holding its field."""

    FULL_NAME = "full_name", _("Full name")
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    POSTAL_ADDRESS = "postal_address", _("Postal address")
    DELIVERY_ADDRESSES = "delivery_addresses", _("Delivery addresses")
    ORDERS = "orders", _("Orders and purchases")
    PAYMENTS = "payments", _("Payments")
    LOCATION = "location", _("Geolocation")
    SEARCH_HISTORY = "search_history", _("Search history")
    DEVICE = "device", _("Device and browser data")


class Action(models.TextChoices):
    """What the portal asks a service to do for a request."""

    EXPORT = "export", _("Export the person's data")
    CORRECT = "correct", _("Correct the person's data")
    BLOCK = "block", _("Block the person's data")
    UNBLOCK = "unblock", _("Unblock the person's data")
    DESTROY = "destroy", _("Destroy the person's data")


# The texts an access answer shows about each service, per language (kk is the fallback).
DESCRIPTION_PARTS = ("data_held", "purposes", "sources", "recipients", "retention")
LANGUAGES = ("kk", "ru", "en")


# What staff may set on a service (its secret apart: written, never read back).
SERVICE_FIELDS = (
    "name",
    "fields",
    "actions",
    "endpoint_url",
    "timeout_seconds",
    "active",
    *(f"{part}_{code}" for part in DESCRIPTION_PARTS for code in LANGUAGES),
)


def _texts(label, help_text=""):
    """Return the three text fields (kk, ru, en) of one part of the service's description."""
    return tuple(
        models.TextField(
            format_lazy("{} ({})", label, code), blank=True, help_text=help_text if code == "kk" else ""
        )
        for code in LANGUAGES
    )


class ConnectedService(models.Model):
    """One of Alilo's services that holds personal data, and how the portal reaches it.

    The portal POSTs signed calls to `endpoint_url` (export, correct, block, unblock, destroy) for each
    request, and the service answers at once or later by a signed callback. The signing secret is written
    once and never shown again.
    """

    SECRET_PREFIX = "cssec_"  # noqa: S105 (the prefix of a generated secret, not a secret)

    name = models.CharField(_("name"), max_length=200, unique=True)
    fields = models.JSONField(
        _("personal data it holds"),
        default=list,
        blank=True,
        help_text=_("A correction is passed to every service that holds the field corrected."),
    )
    actions = models.JSONField(
        _("what it can do"),
        default=list,
        blank=True,
        help_text=_("The portal calls the service only for what it can do."),
    )
    endpoint_url = models.URLField(
        _("endpoint URL"),
        max_length=500,
        help_text=_("The address the service receives the portal's calls at; https:// in production."),
    )
    signing_secret = models.CharField(_("signing secret"), max_length=200)
    timeout_seconds = models.PositiveSmallIntegerField(
        _("timeout (seconds)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("How long the portal waits for an answer before it tries again later."),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active services are called for new requests.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # What an access answer says about the service (texts()): Kazakh, and Russian and English where written.
    data_held_kk, data_held_ru, data_held_en = _texts(
        _("What data it holds"),
        _("Shown to the person in access answers; Russian and English fall back to it."),
    )
    purposes_kk, purposes_ru, purposes_en = _texts(_("Why it holds the data"))
    sources_kk, sources_ru, sources_en = _texts(_("Where the data comes from"))
    recipients_kk, recipients_ru, recipients_en = _texts(_("To whom the data goes"))
    retention_kk, retention_ru, retention_en = _texts(_("How long the data is kept"))

    class Meta:
        verbose_name = _("connected service")
        verbose_name_plural = _("connected services")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def texts(self, language: str) -> dict[str, str]:
        """Return what an access answer says about the service in `language`, each part falling back to
        Kazakh where it is not written in that language."""
        language = language if language in LANGUAGES else "kk"
        return {
            part: getattr(self, f"{part}_{language}") or getattr(self, f"{part}_kk")
            for part in DESCRIPTION_PARTS
        }

    def supports(self, action: str) -> bool:
        return action in (self.actions or [])

    def holds_any(self, fields) -> bool:
        return bool(set(self.fields or []) & set(fields))

    @classmethod
    def generate_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    def clean(self):
        super().clean()
        errors = {}
        if not isinstance(self.fields, list) or not set(self.fields) <= set(Field.values):
            errors["fields"] = _("Choose the personal data from the list.")
        if not isinstance(self.actions, list) or not set(self.actions) <= set(Action.values):
            errors["actions"] = _("Choose what the service can do from the list.")
        message = endpoint_url_error(self.endpoint_url)
        if message:
            errors["endpoint_url"] = ValidationError(message, code="endpoint_url")
        if errors:
            raise ValidationError(errors)


def endpoint_url_error(url: str):
    """Return why the portal may not call `url`, or None when it may."""
    if not url:
        return None
    scheme = url.split(":", 1)[0].lower()
    if settings.WEBHOOK_REQUIRE_HTTPS and scheme != "https":
        return _("The endpoint URL must start with https:// (the calls carry personal data).")
    if scheme not in ("http", "https"):
        return _("The endpoint URL must start with https:// or http://.")
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    if not outbound_host_allowed(host):
        return _(
            "The endpoint URL must name a public address, or one in the networks the operator allowed "
            "(WEBHOOK_ALLOWED_NETWORKS); this one is the portal's own, internal or does not resolve."
        )
    return None


class ServiceCall(models.Model):
    """One signed call to one service for one request (export, correct, block, unblock, destroy).

    Written in the transaction of the decision that needs it, posted after commit and retried with a growing
    wait until the service gives a final answer; it is never posted again after one.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        WAITING = "waiting", _("Accepted, answer to come")
        DONE = "done", _("Done")
        FAILED = "failed", _("The service could not do it")
        DONE_BY_HAND = "done_by_hand", _("Done by hand")
        CANCELLED = "cancelled", _("Not needed: the request was closed first")

    FINAL_STATES = (State.DONE, State.FAILED, State.DONE_BY_HAND, State.CANCELLED)

    request = models.ForeignKey(
        "withdrawals.WithdrawalRequest",
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="service_calls",
    )
    service = models.ForeignKey(
        ConnectedService, verbose_name=_("service"), on_delete=models.PROTECT, related_name="calls"
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    call_id = models.UUIDField(_("call id"), default=uuid.uuid4, unique=True, editable=False)
    changes = models.JSONField(_("changes"), default=list, blank=True)
    # The exact JSON posted (and signed) at every attempt; personal, erased with the request.
    body = models.TextField(_("body"), blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("posting since"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.JSONField(_("answer"), default=dict, blank=True)
    message = models.TextField(_("message from the service"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Set when the request's personal data was erased while the call was still owed an answer: what the call
    # carries is erased as soon as it is final.
    erase_when_final = models.BooleanField(_("erase when answered"), default=False)
    personal_data_erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service call")
        verbose_name_plural = _("service calls")
        ordering = ["-id"]
        permissions = [("mark_done_servicecall", _("Can mark a service call done by hand"))]
        constraints = [
            models.UniqueConstraint(fields=["request", "service", "action"], name="service_call_once"),
            models.CheckConstraint(
                condition=models.Q(state__in=["done", "failed", "done_by_hand"], answered_at__isnull=False)
                | (
                    ~models.Q(state__in=["done", "failed", "done_by_hand"])
                    & models.Q(answered_at__isnull=True)
                ),
                name="service_call_answered_at_matches_state",
            ),
        ]
        indexes = [
            models.Index(
                fields=["state", "next_attempt_at"],
                name="service_call_unanswered",
                condition=models.Q(state__in=["queued", "waiting"]),
            ),
            models.Index(fields=["request", "action"], name="service_call_request_action"),
        ]

    def __str__(self) -> str:
        return f"{self.service} · {self.get_action_display()} · {self.call_id}"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class ServiceCallAttempt(models.Model):
    """One POST of a call and how the service answered, or one callback the service made."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call to the service")
        CALLBACK = "callback", _("Callback from the service")

    call = models.ForeignKey(
        ServiceCall, verbose_name=_("call"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.CALL)
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    # The start of what the service answered (or sent): personal, erased with the request.
    response_body = models.TextField(_("answer"), blank=True)

    class Meta:
        verbose_name = _("service call attempt")
        verbose_name_plural = _("service call attempts")
        ordering = ["call", "started_at", "id"]
        indexes = [models.Index(fields=["call", "number"], name="service_call_attempt_call")]

    def __str__(self) -> str:
        return f"{self.call_id} #{self.number}: {self.status_code or self.error}"

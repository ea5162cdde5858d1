from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxEmail(models.Model):
    """An email the portal owes someone. Written with the change that caused it, delivered after commit."""

    class Status(models.TextChoices):
        HELD = "held", _("Held until its contents are complete")
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Tracking(models.TextChoices):
        NONE = "", _("No report")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")
        REJECTED = "rejected", _("Rejected")

    dedup_key = models.CharField(_("de-duplication key"), max_length=200, unique=True)
    # What the email is about: a topic (e.g. "withdrawal", "policy.announcement") and the id of that object.
    topic = models.CharField(_("topic"), max_length=40, blank=True, default="")
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    template = models.CharField(_("template"), max_length=100)
    to = models.EmailField(_("recipient"), max_length=254)
    reply_to = models.EmailField(_("reply-to"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    context = models.JSONField(_("context"), default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_emails",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=200, blank=True)
    tracking_status = models.CharField(
        _("delivery report"), max_length=12, choices=Tracking.choices, blank=True, default=""
    )
    tracking_detail = models.CharField(_("delivery report detail"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    erase_when_sent = models.BooleanField(
        _("erase once sent"),
        default=False,
        db_default=False,
        help_text=_(
            "The address and contents are erased as soon as the email is sent: the last letter to a person "
            "whose data is destroyed."
        ),
    )

    class Meta:
        verbose_name = _("outbox email")
        verbose_name_plural = _("outbox emails")
        ordering = ["-id"]
        permissions = [("resend_outboxemail", _("Can send failed emails again"))]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="outbox_unsent",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["provider_message_id"], name="outbox_provider_id"),
            models.Index(fields=["template", "status"], name="outbox_template_status"),
            # The emails of one request or one announcement, counted by status (index-only on PostgreSQL).
            models.Index(fields=["topic", "object_id", "status"], name="outbox_topic_object"),
        ]

    def __str__(self) -> str:
        from .labels import template_label

        return f"{template_label(self.template)} → {self.to}"


class WebhookDelivery(models.Model):
    """A signed POST the portal owes one receiver about one event. Written with the change that caused it,
    delivered after commit; a 2xx answer marks it delivered and it is never posted again."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event_id = models.UUIDField(_("event id"))
    event_type = models.CharField(_("event"), max_length=60)
    # The receiver, as the app that registered it numbers it (acceptances' webhook endpoints).
    endpoint_id = models.PositiveBigIntegerField(_("endpoint id"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100)
    # The exact bytes posted (and signed) at every attempt.
    body = models.TextField(_("body"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        permissions = [("retry_webhookdelivery", _("Can post failed webhook deliveries again"))]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "endpoint_id"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=models.Q(status="delivered", delivered_at__isnull=False)
                | (~models.Q(status="delivered") & models.Q(delivered_at__isnull=True)),
                name="webhook_delivered_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="webhook_undelivered",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["endpoint_id", "status"], name="webhook_endpoint_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and how the receiver answered."""

    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery", "number", "id"]
        indexes = [models.Index(fields=["delivery", "number"], name="webhook_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.status_code or self.error}"

import hashlib
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.http import outbound_host_allowed


class Channel(models.TextChoices):
    WEB = "web", _("Web portal")
    APP = "app", _("Mobile or desktop app")
    API = "api", _("Other service (API)")


class Acceptance(models.Model):
    """Evidence that a user accepted one policy version (clause 1.2). Append-only."""

    class Method(models.TextChoices):
        SIGNUP = "signup", _("At sign-up")
        EXPLICIT = "explicit", _("Accept button")
        IMPLICIT = "implicit", _("Continued use after the deadline")
        API = "api", _("Accepted in an app (reported through the API)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="acceptances"
    )
    version = models.ForeignKey(
        "policies.PolicyVersion", verbose_name=_("version"), on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    accepted_at = models.DateTimeField(_("accepted at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=500, blank=True)
    language = models.CharField(_("language of the text"), max_length=8, choices=settings.LANGUAGES)
    text_sha256 = models.CharField(_("SHA-256 of the text shown"), max_length=64, blank=True)
    email_verified = models.BooleanField(
        _("email address confirmed"),
        default=False,
        db_default=False,
        help_text=_(
            "Whether the user had confirmed their email address when the acceptance was recorded; "
            "acceptances recorded before addresses were confirmed say no."
        ),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    used_at = models.DateTimeField(
        _("use that counted as acceptance"),
        null=True,
        blank=True,
        help_text=_("For continued use: the recorded use after the deadline that triggered the acceptance."),
    )
    use_source = models.CharField(_("source of the use"), max_length=120, blank=True)
    use_report = models.ForeignKey(
        "UseReport",
        verbose_name=_("reported use"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("acceptance")
        verbose_name_plural = _("acceptances")
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="acceptances_one_per_user_version"),
            models.CheckConstraint(
                condition=~models.Q(method="implicit") | models.Q(used_at__isnull=False),
                name="acceptances_implicit_has_use",
            ),
        ]
        indexes = [
            models.Index(fields=["version", "method"], name="acceptances_version_method"),
            models.Index(fields=["accepted_at"], name="acceptances_accepted_at"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} / {self.version_id} / {self.method}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Acceptances are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Acceptances are append-only.")


class ServiceToken(models.Model):
    """A bearer token for one of the company's other services; only its SHA-256 is stored."""

    PREFIX = "alp_"

    name = models.CharField(_("service name"), max_length=100, unique=True)
    token_sha256 = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(_("token starts with"), max_length=16, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("service token")
        verbose_name_plural = _("service tokens")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class WebhookEndpoint(models.Model):
    """Where one service (its token) is told, by a signed POST, that a person's consent or agreement changed.

    The signing secret is shown once, when it is made; the portal keeps it to sign each delivery.
    """

    SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix every secret starts with, not a secret)

    token = models.OneToOneField(
        ServiceToken, verbose_name=_("service"), on_delete=models.PROTECT, related_name="webhook"
    )
    url = models.URLField(
        _("webhook URL"),
        max_length=500,
        help_text=_("The address the service receives events at; https:// in production."),
    )
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    secret_prefix = models.CharField(_("secret starts with"), max_length=16, editable=False)
    active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Only active endpoints of services with a valid token are sent events."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    secret_rotated_at = models.DateTimeField(_("secret made at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["token__name"]
        permissions = [("rotate_webhookendpoint", _("Can make a new signing secret for a webhook"))]

    def __str__(self) -> str:
        return f"{self.token} → {self.url}"

    def clean(self):
        super().clean()
        scheme = (self.url or "").split(":", 1)[0].lower()
        if self.token_id and ServiceToken.objects.filter(pk=self.token_id, revoked_at__isnull=False).exists():
            raise ValidationError({"token": _("This service's token is revoked; it is sent no events.")})
        if not self.url:
            return
        if settings.WEBHOOK_REQUIRE_HTTPS and scheme != "https":
            message = _("The webhook URL must start with https:// (the events carry consent status).")
        elif scheme not in ("http", "https"):
            message = _("The webhook URL must start with https:// or http://.")
        elif not outbound_host_allowed(urlsplit(self.url).hostname or ""):
            message = _(
                "The webhook URL must name a public address, or one in the networks the operator allowed "
                "(WEBHOOK_ALLOWED_NETWORKS); this one is the portal's own, internal or does not resolve."
            )
        else:
            return
        raise ValidationError({"url": ValidationError(message, code="scheme")})

    @classmethod
    def generate_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)


class UseReport(models.Model):
    """One use of the company's services reported through the API; evidence for continued use."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    used_at = models.DateTimeField(_("used at"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    token = models.ForeignKey(
        ServiceToken, verbose_name=_("reported by"), on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reported use")
        verbose_name_plural = _("reported uses")
        ordering = ["-used_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "used_at", "channel", "token"], name="acceptances_usereport_once"
            ),
        ]
        indexes = [models.Index(fields=["used_at"], name="acceptances_usereport_used_at")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.used_at:%Y-%m-%d %H:%M} {self.channel}"

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyVersion(models.Model):
    """One version of the privacy policy. Once published it never changes (policy clause 1.2)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    number = models.PositiveIntegerField(_("version number"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    implicit_acceptance_at = models.DateTimeField(
        _("continued use counts as acceptance from"),
        null=True,
        blank=True,
        help_text=_("Empty when implicit acceptance is turned off."),
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    announcement_cursor = models.BigIntegerField(
        _("announcement written up to user id"),
        default=0,
        editable=False,
        help_text=_("The announcement fan-out resumes after this user id."),
    )
    announcement_written = models.PositiveIntegerField(
        _("announcement emails written"), default=0, editable=False
    )
    announced_at = models.DateTimeField(
        _("announcement written at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When every announcement email of this version was in the outbox."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-number"]
        permissions = [("publish_policyversion", _("Can publish policy versions"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft", published_at__isnull=True)
                | models.Q(status="published", published_at__isnull=False),
                name="policies_version_published_at_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="policies_version_number_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-number"], name="policies_version_status"),
            models.Index(
                fields=["published_at"],
                name="policies_version_unannounced",
                condition=models.Q(status="published", announced_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return _("Version %(number)s") % {"number": self.number}

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class PolicyText(models.Model):
    """The text of one version in one language, with the summary of changes and the SHA-256 of the body."""

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("version"), on_delete=models.CASCADE, related_name="texts"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary of changes"), blank=True)
    body = models.TextField(_("text"))
    body_sha256 = models.CharField(_("SHA-256 of the text"), max_length=64, editable=False)

    class Meta:
        verbose_name = _("policy text")
        verbose_name_plural = _("policy texts")
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="policies_text_one_per_language"),
            models.CheckConstraint(condition=~models.Q(body=""), name="policies_text_body_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.language})"

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One thing that happened, by whom, to what. Append-only: never updated or deleted, except that its
    personal part (IP address, target label, personal details) may be cleared by retention erasure, through
    apps.audit.services.audit_personal_data_erase only; the database enforces both rules."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the system itself."),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # The personal part: a person's IP address, a label that may name them (an email address), and details
    # that may (what staff searched for). Retention erasure clears these three and stamps personal_erased_at.
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    personal = models.JSONField(
        _("personal details"),
        default=dict,
        blank=True,
        help_text=_("Details that may name a person, such as what a staff member searched for."),
    )
    personal_erased_at = models.DateTimeField(
        _("personal data erased at"),
        null=True,
        blank=True,
        help_text=_(
            "Set when retention erasure cleared the IP address, the target label and the personal details."
        ),
    )

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        from django.utils import timezone
        from django.utils.formats import date_format

        from .labels import action_label

        moment = ""
        if self.created_at:
            moment = date_format(timezone.localtime(self.created_at), "SHORT_DATETIME_FORMAT")
        return f"{moment} {action_label(self.action)} {self.target_label}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")

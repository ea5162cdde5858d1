from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Breach(models.Model):
    """A breach of personal data security (Law 94-V Art. 25(2)(8)): the authorised body is told within one
    working day of its discovery. Written only through apps.breaches.services; closed rows change only by an
    audited amendment."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open: authority not yet notified")
        NOTIFIED = "notified", _("Authority notified")
        CLOSED = "closed", _("Closed")

    class Method(models.TextChoices):
        PORTAL = "portal", _("The authority's online service")
        EMAIL = "email", _("Email")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("Delivered in person")

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    discovered_at = models.DateTimeField(_("discovered at"))
    description = models.TextField(_("what happened"))
    data_categories = models.TextField(_("personal data concerned"))
    people_affected = models.PositiveIntegerField(_("number of people affected"))
    measures = models.TextField(_("measures taken"), blank=True)
    notify_due_at = models.DateTimeField(_("authority to be notified by"), editable=False)
    authority_notified_at = models.DateTimeField(_("authority notified at"), null=True, blank=True)
    authority_method = models.CharField(
        _("how the authority was notified"), max_length=10, choices=Method.choices, blank=True
    )
    authority_reference = models.CharField(_("authority's reference"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        ordering = ["-discovered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open") | models.Q(authority_notified_at__isnull=False),
                name="breaches_notified_has_time",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="breaches_closed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "notify_due_at"], name="breaches_status_due")]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class BreachLetter(models.Model):
    """The letter sent to the authority, kept with the breach (in the database, as on both engines)."""

    breach = models.OneToOneField(
        Breach, verbose_name=_("breach"), on_delete=models.PROTECT, related_name="letter"
    )
    file_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    data = models.BinaryField(_("content"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("letter to the authority")
        verbose_name_plural = _("letters to the authority")

    def __str__(self) -> str:
        return self.file_name


class BreachAmendment(models.Model):
    """A change to a closed breach: what changed, from what, to what, why and by whom. Append-only."""

    breach = models.ForeignKey(
        Breach, verbose_name=_("breach"), on_delete=models.PROTECT, related_name="amendments"
    )
    field = models.CharField(_("field"), max_length=40)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.breach_id} {self.field}"


class BreachNotice(models.Model):
    """A message to the people affected by a breach, in Kazakh and Russian, sent once to each through the
    outbox in ranges of user ids; `cursor` is the last id written, so a stopped fan-out resumes after it."""

    class Audience(models.TextChoices):
        ALL = "all", _("Everyone with an active agreement")
        IDS = "ids", _("A list of user ids")
        JOINED = "joined", _("Those who signed up in a period")

    breach = models.ForeignKey(
        Breach, verbose_name=_("breach"), on_delete=models.PROTECT, related_name="notices"
    )
    audience = models.CharField(_("recipients"), max_length=8, choices=Audience.choices)
    user_ids = models.JSONField(_("user ids"), default=list, blank=True)
    joined_from = models.DateField(_("signed up from"), null=True, blank=True)
    joined_to = models.DateField(_("signed up until"), null=True, blank=True)
    subject_kk = models.CharField(_("subject (Kazakh)"), max_length=200)
    body_kk = models.TextField(_("message (Kazakh)"))
    subject_ru = models.CharField(_("subject (Russian)"), max_length=200)
    body_ru = models.TextField(_("message (Russian)"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    cursor = models.BigIntegerField(_("written up to user id"), default=0)
    written = models.PositiveIntegerField(_("emails written"), default=0)
    finished_at = models.DateTimeField(_("all emails written at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice to the people affected")
        verbose_name_plural = _("notices to the people affected")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.breach} · {self.subject_ru}"

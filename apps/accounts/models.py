from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("The email must be set")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        # An operator creates superusers on the server; their address needs no link to prove it.
        extra_fields.setdefault("email_verified_at", timezone.now())
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    class AgreementStatus(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    email = models.EmailField(_("email address"), unique=True)
    email_verified_at = models.DateTimeField(
        _("email address confirmed at"),
        null=True,
        blank=True,
        help_text=_(
            "Empty until the user opens the confirmation link sent to the address; until then the account "
            "is unverified."
        ),
    )
    full_name = models.CharField(_("full name"), max_length=200)
    phone = PhoneNumberField(_("phone number"), blank=True)
    language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    agreement_status = models.CharField(
        _("user agreement"), max_length=8, choices=AgreementStatus.choices, default=AgreementStatus.ACTIVE
    )
    agreement_ended_at = models.DateTimeField(_("agreement ended at"), null=True, blank=True)
    consent_withdrawn_at = models.DateTimeField(
        _("consent withdrawn at"),
        null=True,
        blank=True,
        help_text=_(
            "Set when a full withdrawal of consent is granted; implicit acceptance no longer applies."
        ),
    )
    blocked_at = models.DateTimeField(
        _("processing blocked since"),
        null=True,
        blank=True,
        help_text=_(
            "Set when a request to block the person's data is granted: nothing is collected, used, shared, "
            "changed or erased until the blocking is lifted (Law on Personal Data, Art. 1)."
        ),
    )
    blocked_reference = models.CharField(
        _("blocking request"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("The reference of the granted request that blocked the data."),
    )
    automated_processing_objected_at = models.DateTimeField(
        _("objected to automated processing at"),
        null=True,
        blank=True,
        help_text=_(
            "Set when the person's objection to decisions made solely by automated processing is granted "
            "(Law on Personal Data, Art. 19-1)."
        ),
    )
    automated_processing_objection_reference = models.CharField(
        _("objection request"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("The reference of the granted request that recorded the objection."),
    )
    last_used_at = models.DateTimeField(_("last use of the service"), null=True, blank=True)
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(agreement_status="active", agreement_ended_at__isnull=True)
                | models.Q(agreement_status="ended", agreement_ended_at__isnull=False),
                name="accounts_user_agreement_end_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(blocked_at__isnull=True, blocked_reference="")
                | (models.Q(blocked_at__isnull=False) & ~models.Q(blocked_reference="")),
                name="accounts_user_blocked_by_a_request",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    automated_processing_objected_at__isnull=True, automated_processing_objection_reference=""
                )
                | (
                    models.Q(automated_processing_objected_at__isnull=False)
                    & ~models.Q(automated_processing_objection_reference="")
                ),
                name="accounts_user_objection_by_a_request",
            ),
        ]
        indexes = [
            models.Index(fields=["agreement_status", "agreement_ended_at"], name="accounts_user_agreement")
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class PurposeWithdrawal(models.Model):
    """That a person withdrew consent to one purpose of processing (policy clause 2.1), or to all of them.

    Append-only: the first withdrawal of a purpose stays the record, and each one is audited. Retention
    erasure deletes a person's rows with the rest of their data (accounts.services.retention_erase_expired).
    """

    # A full withdrawal: every purpose, those named in clause 2.1 and any other.
    ALL = "all"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="purpose_withdrawals",
    )
    purpose = models.CharField(
        _("purpose"),
        max_length=40,
        help_text=_("A purpose of processing from clause 2.1 of the policy; “all” for a full withdrawal."),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"))
    reference = models.CharField(
        _("withdrawal request"),
        max_length=20,
        blank=True,
        help_text=_("The reference of the granted request that withdrew it."),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("withdrawn purpose")
        verbose_name_plural = _("withdrawn purposes")
        ordering = ["withdrawn_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "purpose"], name="accounts_purpose_withdrawn_once"),
            models.CheckConstraint(condition=~models.Q(purpose=""), name="accounts_purpose_withdrawn_named"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} / {self.purpose}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Withdrawn purposes are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Withdrawn purposes are append-only; retention erasure removes them.")

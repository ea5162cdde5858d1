import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Purpose(models.TextChoices):
    """The purposes of processing in clause 2.1 of the policy that a user may withdraw consent for."""

    MARKETING = "marketing", _("Marketing activities")
    ADVERTISING = "advertising", _("Advertising campaigns and targeted advertising materials and content")
    MARKET_RESEARCH = "market_research", _("Marketing research")
    PERSONALISED_SERVICES = "personalised_services", _("Personalised services")
    CONTESTS = "contests", _("Taking part in contests")
    NOTIFICATIONS = "notifications", _("Messages about goods and about changes to the user agreement")
    QUALITY_IMPROVEMENT = "quality_improvement", _("Improving the quality of the goods sold")
    NEW_PRODUCTS = "new_products", _("Developing and offering new products")


class RequestType(models.TextChoices):
    """The rights of the data subject a request exercises (Law on Personal Data, Arts. 8, 19-1, 24, 25)."""

    WITHDRAWAL = "withdrawal", _("Withdrawal of consent")
    ACCESS = "access", _("Access to my data")
    CORRECTION = "correction", _("Correction of my data")
    BLOCKING = "blocking", _("Blocking of my data")
    DESTRUCTION = "destruction", _("Destruction of my data")
    OBJECTION = "objection", _("Objection to automated processing")


class CorrectableField(models.TextChoices):
    """The data a person may ask to have corrected or completed (policy clause 2.3); the names match the
    fields connected services declare they hold."""

    FULL_NAME = "full_name", _("Full name")
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    POSTAL_ADDRESS = "postal_address", _("Postal address")
    OTHER = "other", _("Other data")


class BlockingGrounds(models.TextChoices):
    """Why a person asks to block their data (Law on Personal Data, Art. 24, 25)."""

    INACCURATE = "inaccurate", _("My data is inaccurate")
    UNLAWFUL = "unlawful", _("My data is processed unlawfully")
    OTHER = "other", _("Another reason")


class DestructionGrounds(models.TextChoices):
    """Why a person asks to destroy their data (Law on Personal Data, Art. 24, 25)."""

    NOT_NEEDED = "not_needed", _("I no longer use Alilo, or my data is no longer needed")
    UNLAWFUL = "unlawful", _("My data was collected or is processed unlawfully")
    OTHER = "other", _("Another reason")


# The letter that starts a request's reference: WR-2026-000001 is a withdrawal, AR-2026-000001 an access
# request. Each type has its own series.
REFERENCE_PREFIXES = {
    RequestType.WITHDRAWAL: "WR",
    RequestType.ACCESS: "AR",
    RequestType.CORRECTION: "CR",
    RequestType.BLOCKING: "BR",
    RequestType.DESTRUCTION: "DR",
    RequestType.OBJECTION: "OR",
}


class WithdrawalRequest(models.Model):
    """A written application of a data subject (policy clause 2.6, Law on Personal Data Arts. 8, 19-1, 24,
    25): a withdrawal of consent, or a request for access, correction, blocking, destruction or an
    objection. Every type shares the confirmation, reference, term, workflow and emails; `details` holds
    what only one type asks for."""

    class Scope(models.TextChoices):
        ALL = "all", _("All processing")
        PARTIAL = "partial", _("Selected purposes")

    class Channel(models.TextChoices):
        WEB = "web", _("Web form")
        API = "api", _("A connected service, on the person's behalf")
        EMAIL = "email", _("Email")
        POST = "post", _("Post")
        IN_PERSON = "in_person", _("In person")

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("Email not confirmed")
        SUBMITTED = "submitted", _("Submitted")
        IN_REVIEW = "in_review", _("In review")
        AWAITING_INFORMATION = "awaiting_information", _("Waiting for information")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW, Status.AWAITING_INFORMATION)
    DECIDED_STATUSES = (Status.GRANTED, Status.REFUSED)

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        _("reference"), max_length=20, unique=True, null=True, blank=True, editable=False
    )
    submission_token = models.UUIDField(
        _("submission token"),
        unique=True,
        editable=False,
        help_text=_("Identifies one filled-in form, so that sending it twice creates one request."),
    )
    request_type = models.CharField(
        _("type"),
        max_length=16,
        choices=RequestType.choices,
        default=RequestType.WITHDRAWAL,
        db_default="withdrawal",
    )
    channel = models.CharField(
        _("received by"), max_length=16, choices=Channel.choices, default=Channel.WEB, db_default="web"
    )
    filed_by_service = models.ForeignKey(
        "acceptances.ServiceToken",
        verbose_name=_("filed by the service"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a request received through the API: the service token that filed it."),
    )
    received_at = models.DateTimeField(
        _("received at"),
        default=timezone.now,
        help_text=_(
            "When the application reached Alilo: the web form's submission, or the date and time on the "
            "letter, email or visit. The statutory term counts from this day."
        ),
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="withdrawal_requests",
    )
    requester_email_verified = models.BooleanField(
        _("requester's address confirmed"),
        default=False,
        db_default=False,
        help_text=_(
            "Whether the requester proved the address: from the emailed link, or by filing signed in to an "
            "account that had confirmed it. An application received by email, post or in person is not."
        ),
    )
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(
        _("email"),
        max_length=254,
        blank=True,
        help_text=_("Where we write to the requester; an application by post may come without one."),
    )
    postal_address = models.TextField(_("postal address"), blank=True)
    phone = PhoneNumberField(_("phone number"), blank=True)
    scope = models.CharField(
        _("scope"), max_length=8, choices=Scope.choices, blank=True, help_text=_("For a withdrawal only.")
    )
    purposes = models.JSONField(
        _("purposes"), default=list, blank=True, help_text=_("For a partial withdrawal: the purposes.")
    )
    reason = models.TextField(_("reason given by the requester"), blank=True)
    details = models.JSONField(
        _("details of the request"),
        default=dict,
        blank=True,
        help_text=_("What only this type of request asks for, such as the corrections wanted."),
    )
    acknowledgement = models.BooleanField(_("acknowledged that the user agreement may end"), default=False)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.UNVERIFIED, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_withdrawal_requests",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due by"), null=True, blank=True, db_index=True)
    pause_started_at = models.DateTimeField(
        _("waiting for information since"),
        null=True,
        blank=True,
        help_text=_("The statutory term keeps running while we wait (Law on Personal Data, Art. 8(7))."),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(
        _("reason for the decision"),
        blank=True,
        help_text=_("Required for a refusal; the requester sees it."),
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-created_at", "-id"]
        permissions = [("decide_withdrawalrequest", _("Can grant or refuse requests"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(request_type="withdrawal", scope="all", acknowledgement=True, purposes=[])
                | (models.Q(request_type="withdrawal", scope="partial") & ~models.Q(purposes=[]))
                | (~models.Q(request_type="withdrawal") & models.Q(scope="", purposes=[])),
                name="withdrawals_request_scope_consistent",
                violation_error_message=_(
                    "A full withdrawal needs the acknowledgement; a partial one needs purposes."
                ),
            ),
            models.CheckConstraint(
                # A request filed from an account gets its reference before it is confirmed, to be quoted.
                condition=models.Q(status="unverified", verified_at__isnull=True)
                | (
                    ~models.Q(status="unverified")
                    & models.Q(reference__isnull=False, verified_at__isnull=False, due_at__isnull=False)
                ),
                name="withdrawals_request_verified_has_reference",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="refused") | ~models.Q(decision_reason=""),
                name="withdrawals_request_refusal_has_reason",
                violation_error_message=_("A refusal needs a written reason."),
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["granted", "refused"], decided_at__isnull=False)
                | (~models.Q(status__in=["granted", "refused"]) & models.Q(decided_at__isnull=True)),
                name="withdrawals_request_decided_at_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(status="awaiting_information", pause_started_at__isnull=False)
                | (~models.Q(status="awaiting_information") & models.Q(pause_started_at__isnull=True)),
                name="withdrawals_request_pause_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(status="cancelled", cancelled_at__isnull=False)
                | (~models.Q(status="cancelled") & models.Q(cancelled_at__isnull=True)),
                name="withdrawals_request_cancelled_at_matches_status",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=["web", "api"]) | ~models.Q(status="unverified"),
                name="withdrawals_request_other_channels_registered",
            ),
            models.CheckConstraint(
                condition=~models.Q(channel__in=["web", "api"]) | ~models.Q(email=""),
                name="withdrawals_request_web_has_email",
            ),
            models.CheckConstraint(
                condition=models.Q(channel="api", filed_by_service__isnull=False)
                | (~models.Q(channel="api") & models.Q(filed_by_service__isnull=True)),
                name="withdrawals_request_api_has_service",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="withdrawals_request_due"),
            models.Index(fields=["request_type", "status"], name="withdrawals_request_type"),
            models.Index(fields=["email"], name="withdrawals_request_email"),
            models.Index(
                fields=["decided_at"],
                name="withdrawals_request_decided",
                condition=models.Q(decided_at__isnull=False),
            ),
            # The admin list's order: its first page is read from the index, not sorted from the table.
            models.Index(fields=["-created_at", "-id"], name="withdrawals_request_newest"),
        ]

    def __str__(self) -> str:
        return self.reference or str(_("Unconfirmed request from %(email)s") % {"email": self.email})

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def purpose_labels(self) -> list[str]:
        labels = dict(Purpose.choices)
        return [str(labels.get(value, value)) for value in self.purposes]


class WithdrawalRequestStatus(WithdrawalRequest):
    """The requests as support sees them: reference, name, status, due date and the requester's timeline."""

    class Meta:
        proxy = True
        verbose_name = _("request status")
        verbose_name_plural = _("request statuses")
        default_permissions = ("view",)


class TimelineEntry(models.Model):
    """One step in a request's history. Entries not visible to the requester are internal notes and events."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Request submitted")
        VERIFIED = "verified", _("Request registered")
        ASSIGNED = "assigned", _("Assigned")
        REVIEW_STARTED = "review_started", _("Review started")
        INFORMATION_REQUESTED = "information_requested", _("More information requested")
        INFORMATION_PROVIDED = "information_provided", _("Information provided")
        GRANTED = "granted", _("Request granted")
        REFUSED = "refused", _("Request refused")
        CANCELLED = "cancelled", _("Request cancelled")
        THIRD_PARTIES_NOTIFIED = "third_parties_notified", _("Third parties told to stop processing")
        THIRD_PARTY_CONFIRMED = "third_party_confirmed", _("A third party confirmed it stopped")
        NOTE = "note", _("Internal note")
        SUPPORT_ACCESS_GRANTED = "support_access_granted", _("Contact details shown to Support")
        SUPPORT_ACCESS_REVOKED = "support_access_revoked", _("Contact details hidden from Support")
        SERVICE_ANSWERED = "service_answered", _("A connected service answered")
        UNBLOCKED = "unblocked", _("Blocking lifted")
        CLOSING_LETTER = "closing_letter", _("Closing letter sent")
        PACKAGE_BUILT = "package_built", _("Data package prepared")
        PACKAGE_RELEASED = "package_released", _("Data package ready to download")
        PACKAGE_DOWNLOADED = "package_downloaded", _("Data package downloaded")
        PACKAGE_ERASED = "package_erased", _("Data package erased")

    request = models.ForeignKey(
        WithdrawalRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="timeline"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    visible_to_requester = models.BooleanField(_("visible to the requester"), default=False)
    text = models.TextField(_("text"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="note") | models.Q(visible_to_requester=False),
                name="withdrawals_timeline_note_is_internal",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["support_access_granted", "support_access_revoked"])
                | models.Q(visible_to_requester=False),
                name="withdrawals_timeline_support_access_is_internal",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="service_answered") | models.Q(visible_to_requester=False),
                name="withdrawals_timeline_service_answer_is_internal",
            ),
        ]
        indexes = [models.Index(fields=["request", "created_at"], name="withdrawals_timeline_request")]

    def __str__(self) -> str:
        return str(self.get_kind_display())


class SupportAccess(models.Model):
    """A Privacy officer's leave for one Support member to see one request's email, phone, reason and IP."""

    request = models.ForeignKey(
        WithdrawalRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="support_access",
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("Support member"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Support access")
        verbose_name_plural = _("Support access")
        ordering = ["granted_at", "id"]
        default_permissions = ()
        permissions = [("grant_supportaccess", _("Can show a request's contact details to Support"))]
        constraints = [
            models.UniqueConstraint(fields=["request", "member"], name="withdrawals_support_access_unique")
        ]

    def __str__(self) -> str:
        return f"{self.request} → {self.member}"


class ThirdParty(models.Model):
    """A partner Alilo shares personal data with; told to stop processing when a withdrawal is granted."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    contact_email = models.EmailField(_("contact email"), max_length=254)
    language = models.CharField(
        _("language of correspondence"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Only active partners are told about granted withdrawals.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("third party")
        verbose_name_plural = _("third parties")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ThirdPartyNotice(models.Model):
    """The notice to one third party to stop processing for a granted request, and its confirmation."""

    request = models.ForeignKey(
        WithdrawalRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="third_party_notices",
    )
    third_party = models.ForeignKey(
        ThirdParty, verbose_name=_("third party"), on_delete=models.PROTECT, related_name="notices"
    )
    sent_at = models.DateTimeField(_("told at"))
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmation recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmation_note = models.TextField(
        _("how they confirmed"), blank=True, help_text=_("For example: their reply of 3 June, ref. 12/45.")
    )

    class Meta:
        verbose_name = _("third-party notice")
        verbose_name_plural = _("third-party notices")
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "third_party"], name="withdrawals_notice_unique"),
            models.CheckConstraint(
                condition=models.Q(confirmed_at__isnull=True, confirmed_by__isnull=True)
                | models.Q(confirmed_at__isnull=False, confirmed_by__isnull=False),
                name="withdrawals_notice_confirmed_by_someone",
            ),
        ]
        indexes = [
            models.Index(
                fields=["sent_at"],
                name="withdrawals_notice_unconfirmed",
                condition=models.Q(confirmed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.request} → {self.third_party}"


class ApplicationScan(models.Model):
    """A scan of an application received on paper or by email, kept in the database with its request, so
    every web node sees it and erasure removes it with the request."""

    request = models.OneToOneField(
        WithdrawalRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="scan"
    )
    file_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    data = models.BinaryField(_("content"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("scan of the application")
        verbose_name_plural = _("scans of applications")

    def __str__(self) -> str:
        return self.file_name


class ReferenceCounter(models.Model):
    """The last reference number given out in a year, in one type's series."""

    series = models.CharField(_("series"), max_length=4, default="WR")
    year = models.PositiveSmallIntegerField(_("year"))
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("reference counter")
        verbose_name_plural = _("reference counters")
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="withdrawals_reference_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last}"


class AccessPackage(models.Model):
    """The answer to an access request (Law on Personal Data, Art. 24): what the portal and each connected
    service hold about the person, as a JSON document and a readable page in their language.

    It is personal data: its content is erased ACCESS_PACKAGE_KEEP_DAYS after it was built (never while its
    download is open), or with the request. The person downloads it from the status page for
    ACCESS_PACKAGE_DOWNLOAD_DAYS after it is released, once they confirm their address again."""

    request = models.OneToOneField(
        WithdrawalRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="access_package"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    document = models.JSONField(_("document (JSON)"), default=dict, blank=True)
    html = models.TextField(_("document (HTML)"), blank=True)
    built_at = models.DateTimeField(_("built at"))
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("built by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The staff member who built it again; empty when the portal built it."),
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("download possible until"), null=True, blank=True)
    erased_at = models.DateTimeField(_("content erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("access package")
        verbose_name_plural = _("access packages")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(released_at__isnull=True, expires_at__isnull=True)
                | models.Q(released_at__isnull=False, expires_at__isnull=False),
                name="withdrawals_package_release_has_expiry",
            ),
            models.CheckConstraint(
                condition=models.Q(erased_at__isnull=True) | models.Q(document={}, html=""),
                name="withdrawals_package_erased_is_empty",
            ),
        ]
        indexes = [
            models.Index(
                fields=["built_at"],
                name="withdrawals_package_kept",
                condition=models.Q(erased_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return str(_("Data package of %(reference)s") % {"reference": self.request.reference})


class AccessPackageLink(models.Model):
    """A one-time link to download an access package, emailed to the request's address when the person
    asks for it: following it proves again that they hold the address. It works once, for
    ACCESS_PACKAGE_LINK_MINUTES."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(
        AccessPackage, verbose_name=_("access package"), on_delete=models.CASCADE, related_name="links"
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("download link")
        verbose_name_plural = _("download links")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return str(self.pk)

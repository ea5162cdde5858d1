from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.html import escape
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin as BaseTOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.acceptances.selectors import users_pending_acceptance
from apps.audit.services import audit_view_record
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.http import client_ip
from apps.notifications.models import OutboxEmail
from apps.policies.selectors import policy_version_current

from .forms import UserChangeAdminForm, UserCreationAdminForm
from .models import PurposeWithdrawal, User
from .roles import ROLE_LABELS
from .services import user_view_record


class UndeliveredEmailInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Emails to this user that the provider reported as bounced, complained of or rejected."""

    model = OutboxEmail
    fk_name = "user"
    verbose_name = _("undelivered email")
    verbose_name_plural = _("undelivered emails (bounces and complaints)")
    fields = ["template", "to", "sent_at", "tracking_status", "tracking_detail"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(
                tracking_status__in=[
                    OutboxEmail.Tracking.BOUNCED,
                    OutboxEmail.Tracking.COMPLAINED,
                    OutboxEmail.Tracking.REJECTED,
                ]
            )
            .order_by("-id")
        )

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("notifications.view_outboxemail")


class PurposeWithdrawalInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The purposes of processing the user withdrew consent for (granted withdrawals); `all` for every one."""

    model = PurposeWithdrawal
    fields = ["purpose", "withdrawn_at", "reference"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class PendingAcceptanceFilter(admin.SimpleListFilter):
    """Users who still have to accept the version in force (the dashboard's "pending" figure)."""

    title = _("acceptance of the current policy")
    parameter_name = "pending_version"

    def lookups(self, request, model_admin):
        version = policy_version_current()
        if version is None:
            return []
        return [(str(version.pk), _("Not yet accepted version %(number)s") % {"number": version.number})]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(pk__in=users_pending_acceptance(version_id=int(self.value())))
        return queryset


class BlockedFilter(admin.SimpleListFilter):
    title = _("processing blocked")
    parameter_name = "blocked"

    def lookups(self, request, model_admin):
        return [("yes", _("Blocked")), ("no", _("Not blocked"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(blocked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(blocked_at__isnull=True)
        return queryset


@admin.register(User)
class UserAdmin(PersonalDataAdminMixin, BaseUserAdmin):
    audit_view = staticmethod(audit_view_record)
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ["-date_joined"]
    list_display = ["email", "full_name", "phone", "language", "agreement_status", "last_used_at", "is_staff"]
    list_filter = [
        PendingAcceptanceFilter,
        "agreement_status",
        BlockedFilter,
        "language",
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
    ]
    search_fields = ["email", "full_name", "phone"]
    show_full_result_count = False
    inlines = [PurposeWithdrawalInline, UndeliveredEmailInline]
    readonly_fields = [
        "agreement_status",
        "agreement_ended_at",
        "consent_withdrawn_at",
        "blocked_at",
        "blocked_reference",
        "automated_processing_objected_at",
        "automated_processing_objection_reference",
        "last_used_at",
        "erased_at",
        "last_login",
        "date_joined",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal details"), {"fields": ["full_name", "phone", "language"]}),
        (
            _("Agreement and consent"),
            {
                "fields": [
                    "agreement_status",
                    "agreement_ended_at",
                    "consent_withdrawn_at",
                    "blocked_at",
                    "blocked_reference",
                    "automated_processing_objected_at",
                    "automated_processing_objection_reference",
                    "last_used_at",
                    "erased_at",
                ]
            },
        ),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]

    def audit_object_view(self, request, obj) -> None:
        user_view_record(user=obj, actor=request.user, ip=client_ip(request))

    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "language", "usable_password", "password1", "password2"],
            },
        ),
    ]


# django-otp's TOTP device admin, with its section titles and QR code link translated.
TOTP_FIELDSET_NAMES = {
    "Identity": _("Identity"),
    "Timestamps": _("Timestamps"),
    "Configuration": _("Configuration"),
    "State": _("State"),
    "Throttling": _("Throttling"),
}


class TOTPDeviceAdmin(BaseTOTPDeviceAdmin):
    def get_fieldsets(self, request, obj=None):
        return [
            (TOTP_FIELDSET_NAMES.get(name, name), options)
            for name, options in super().get_fieldsets(request, obj)
        ]

    @admin.display(description=_("QR code"))
    def qrcode_link(self, device):
        link = super().qrcode_link(device)
        return link.replace(">qrcode<", f">{escape(gettext('Show the QR code'))}<") if link else link


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPDeviceAdmin)


# The role groups are stored under their English names (apps.accounts.roles); staff see them translated.
def _group_str(group: Group) -> str:
    label = ROLE_LABELS.get(group.name)
    return str(label) if label is not None else group.name


Group.__str__ = _group_str

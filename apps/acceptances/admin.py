from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.audit.services import audit_view_record
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.exports import csv_export_response
from apps.core.http import client_ip
from apps.core.pagination import LargeTablePaginator

from .models import Acceptance, ServiceToken, UseReport, WebhookEndpoint
from .selectors import acceptance_summary
from .services import (
    acceptance_view_record,
    service_token_create,
    service_token_revoke,
    webhook_endpoint_create,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_update,
)

CSV_COLUMNS = [
    "id",
    "user_id",
    "user_email",
    "version",
    "method",
    "channel",
    "accepted_at",
    "recorded_at",
    "ip",
    "user_agent",
    "language",
    "text_sha256",
    "used_at",
    "use_source",
]


def _csv_columns():
    """(header, getter) pairs for the export; the headers are the field names."""
    fields = {
        "id": lambda a: a.pk,
        "user_id": lambda a: a.user_id,
        "user_email": lambda a: a.user.email,
        "version": lambda a: a.version.number,
        "method": lambda a: a.method,
        "channel": lambda a: a.channel,
        "accepted_at": lambda a: a.accepted_at,
        "recorded_at": lambda a: a.recorded_at,
        "ip": lambda a: a.ip,
        "user_agent": lambda a: a.user_agent,
        "language": lambda a: a.language,
        "text_sha256": lambda a: a.text_sha256,
        "used_at": lambda a: a.used_at,
        "use_source": lambda a: a.use_source,
    }
    return [(name, fields[name]) for name in CSV_COLUMNS]


@admin.register(Acceptance)
class AcceptanceAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    audit_view = staticmethod(audit_view_record)
    list_display = ["accepted_at", "user", "version", "method", "channel", "ip", "used_at"]
    list_display_fields = {"user": ("user__email",)}
    list_filter = ["method", "channel", "version", "language", ("accepted_at", admin.DateFieldListFilter)]
    search_fields = ["user__email"]
    list_select_related = ["user", "version"]
    readonly_fields = [field.name for field in Acceptance._meta.fields]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["export_csv"]
    change_list_template = "admin/acceptances/acceptance/change_list.html"

    def audit_object_view(self, request, obj) -> None:
        acceptance_view_record(acceptance=obj, actor=request.user, ip=client_ip(request))

    def get_urls(self):
        extra = [
            path(
                "summary/",
                self.admin_site.admin_view(self.summary_view),
                name="acceptances_acceptance_summary",
            )
        ]
        return extra + super().get_urls()

    def summary_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Acceptances per version"),
            "rows": acceptance_summary(),
        }
        return TemplateResponse(request, "admin/acceptances/acceptance/summary.html", context)

    @admin.action(description=_("Export the selected acceptances as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        rows = queryset.select_related("user", "version").order_by("pk").iterator(chunk_size=2000)
        self.audit_export(request, rows=queryset.count(), name="acceptances")
        return csv_export_response(rows=rows, columns=_csv_columns(), name="acceptances")


@admin.register(UseReport)
class UseReportAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    audit_view = staticmethod(audit_view_record)
    list_display = ["used_at", "user", "channel", "token", "received_at"]
    list_display_fields = {"user": ("user__email",)}
    list_filter = ["channel", "token"]
    search_fields = ["user__email"]
    list_select_related = ["user", "token"]
    readonly_fields = [field.name for field in UseReport._meta.fields]
    show_full_result_count = False
    paginator = LargeTablePaginator


@admin.register(ServiceToken)
class ServiceTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "token_prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["token_prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Only creation: a token's name and value never change, revoking is an action.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, raw = service_token_create(name=form.cleaned_data["name"], actor=request.user)
        obj.pk = token.pk
        obj.token_prefix = token.token_prefix
        messages.warning(
            request,
            _("The token for %(name)s is shown only now; copy it into the service's settings: %(token)s")
            % {"name": token.name, "token": raw},
        )

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            service_token_revoke(token=token, actor=request.user)
        self.message_user(request, _("The selected tokens were revoked."), messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Each service's webhook: where changes of consent are posted, signed with a secret shown once."""

    list_display = ["token", "url", "active", "secret_prefix", "secret_rotated_at", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["secret_prefix", "secret_rotated_at", "created_at", "created_by"]
    actions = ["rotate_secret"]

    def get_fields(self, request, obj=None):
        return (
            ["token", "url", "active"] if obj is None else ["token", "url", "active", *self.readonly_fields]
        )

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else ["token", *self.readonly_fields]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "token":
            kwargs["queryset"] = ServiceToken.objects.filter(revoked_at__isnull=True, webhook__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_rotate_permission(self, request) -> bool:
        return request.user.has_perm("acceptances.rotate_webhookendpoint")

    def save_model(self, request, obj, form, change):
        if change:
            webhook_endpoint_update(
                endpoint=obj,
                url=form.cleaned_data["url"],
                active=form.cleaned_data["active"],
                actor=request.user,
            )
            return
        endpoint, secret = webhook_endpoint_create(
            token=form.cleaned_data["token"],
            url=form.cleaned_data["url"],
            active=form.cleaned_data["active"],
            actor=request.user,
        )
        obj.pk = endpoint.pk
        self._show_secret(request, endpoint, secret)

    def _show_secret(self, request, endpoint: WebhookEndpoint, secret: str) -> None:
        messages.warning(
            request,
            _(
                "The signing secret for %(name)s is shown only now; copy it into the service's settings: "
                "%(secret)s"
            )
            % {"name": endpoint.token.name, "secret": secret},
        )

    @admin.action(
        description=_("Make a new signing secret for the selected webhooks"), permissions=["rotate"]
    )
    def rotate_secret(self, request, queryset):
        for endpoint in queryset.select_related("token"):
            self._show_secret(
                request, endpoint, webhook_endpoint_secret_rotate(endpoint=endpoint, actor=request.user)
            )

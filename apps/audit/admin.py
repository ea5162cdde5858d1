import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.exports import csv_export_response
from apps.core.pagination import LargeTablePaginator

from .labels import ACTION_LABELS, action_label, target_type_label
from .models import AuditEvent
from .services import audit_view_record


class ActorFilter(admin.SimpleListFilter):
    title = _("actor")
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("email").values_list("pk", "email")
        return [("system", _("System")), *[(str(pk), email) for pk, email in staff]]

    def queryset(self, request, queryset):
        if self.value() == "system":
            return queryset.filter(actor__isnull=True)
        if self.value() and self.value().isdigit():
            return queryset.filter(actor_id=int(self.value()))
        return queryset


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(((code, label) for code, label in ACTION_LABELS.items()), key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class TargetTypeFilter(admin.SimpleListFilter):
    title = _("target type")
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        types = model_admin.get_queryset(request).order_by().values_list("target_type", flat=True).distinct()
        return sorted(((code, target_type_label(code)) for code in types if code), key=lambda item: item[1])

    def queryset(self, request, queryset):
        return queryset.filter(target_type=self.value()) if self.value() else queryset


def _details_json(event) -> str:
    return json.dumps(event.details, ensure_ascii=False, sort_keys=True, default=str)


def _local_time(value):
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@admin.register(AuditEvent)
class AuditEventAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    audit_view = staticmethod(audit_view_record)
    list_display = [
        "created_at",
        "actor",
        "action_display",
        "target_type_display",
        "target_link",
        "target_label",
        "ip",
    ]
    list_display_fields = {
        "actor": ("actor__email",),
        "action_display": ("action",),
        "target_type_display": ("target_type",),
        "target_link": ("target_id",),
    }
    list_filter = [ActorFilter, ActionFilter, TargetTypeFilter, ("created_at", admin.DateFieldListFilter)]
    fields = [
        "created_at",
        "actor",
        "action_display",
        "target_type_display",
        "target_id",
        "target_label",
        "details_display",
        "ip",
    ]
    readonly_fields = fields
    search_fields = ["action", "target_id", "target_label", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["export_csv"]

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, obj):
        return action_label(obj.action)

    @admin.display(description=_("target type"), ordering="target_type")
    def target_type_display(self, obj):
        return target_type_label(obj.target_type)

    @admin.display(description=_("details"))
    def details_display(self, obj):
        return format_html(
            '<pre class="audit-details">{}</pre>',
            json.dumps(obj.details, ensure_ascii=False, indent=2, sort_keys=True, default=str),
        )

    @admin.display(description=_("target id"), ordering="target_id")
    def target_link(self, obj):
        """The target's id, linked to every event about the same target."""
        if not obj.target_id:
            return "—"
        query = urlencode({"target_type": obj.target_type, "target_id": obj.target_id})
        return format_html('<a href="?{}">{}</a>', query, obj.target_id)

    @admin.action(description=_("Export the selected events as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        columns = [
            (_("time (Almaty)"), lambda e: _local_time(e.created_at)),
            (_("actor"), lambda e: e.actor.email if e.actor else _("System")),
            (_("action"), lambda e: action_label(e.action)),
            (_("action code"), lambda e: e.action),
            (_("target type"), lambda e: e.target_type),
            (_("target id"), lambda e: e.target_id),
            (_("target"), lambda e: e.target_label),
            (_("details"), _details_json),
            (_("IP address"), lambda e: e.ip),
            (_("personal details"), lambda e: e.personal),
            (_("personal data erased at"), lambda e: e.personal_erased_at),
        ]
        self.audit_export(request, rows=queryset.count(), name="audit-events")
        rows = queryset.select_related("actor").order_by("created_at", "id").iterator(chunk_size=2000)
        return csv_export_response(rows=rows, columns=columns, name="audit-events")

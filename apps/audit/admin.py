from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.exports import csv_export_response
from apps.core.pagination import LargeTablePaginator

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


@admin.register(AuditEvent)
class AuditEventAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    audit_view = staticmethod(audit_view_record)
    list_display = ["created_at", "actor", "action", "target_type", "target_link", "target_label", "ip"]
    list_display_fields = {"actor": ("actor__email",), "target_link": ("target_id",)}
    list_filter = [ActorFilter, "action", "target_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["action", "target_id", "target_label", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["export_csv"]

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
            (_("time"), lambda e: e.created_at),
            (_("actor"), lambda e: e.actor.email if e.actor else _("System")),
            (_("action"), lambda e: e.action),
            (_("target type"), lambda e: e.target_type),
            (_("target id"), lambda e: e.target_id),
            (_("target"), lambda e: e.target_label),
            (_("details"), lambda e: e.details),
            (_("IP address"), lambda e: e.ip),
            (_("personal details"), lambda e: e.personal),
            (_("personal data erased at"), lambda e: e.personal_erased_at),
        ]
        self.audit_export(request, rows=queryset.count(), name="audit-events")
        rows = queryset.select_related("actor").order_by("created_at", "id").iterator(chunk_size=2000)
        return csv_export_response(rows=rows, columns=columns, name="audit-events")

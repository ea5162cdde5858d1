import json

from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _

from apps.audit.services import audit_view_record
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin

from .models import ConsentRecord
from .selectors import consent_records_of_acceptances


def _stream(records):
    yield "[\n"
    for number, record in enumerate(records):
        yield ("," if number else "") + json.dumps(record, ensure_ascii=False) + "\n"
    yield "]\n"


@admin.register(ConsentRecord)
class ConsentRecordAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Signed records for the authority: select a person's or a version's acceptances (or all matching) and
    download their records, with the withdrawals granted after them; every export is audited."""

    audit_view = staticmethod(audit_view_record)
    list_display = ("accepted_at", "person", "version", "method", "channel")
    list_display_fields = {"person": ("user__email",)}
    list_filter = ("version", "method", "channel")
    search_fields = ("user__email",)
    date_hierarchy = "accepted_at"
    actions = ["export_records"]
    list_select_related = ("version", "user")

    @admin.display(description=_("person"), ordering="user__email")
    def person(self, obj):
        return obj.user.email

    def has_export_permission(self, request):
        return request.user.has_perm("records.export_consentrecord")

    @admin.action(description=_("Download the signed records (JSON)"), permissions=["export"])
    def export_records(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        self.audit_export(request, rows=len(ids), ids=ids, name="consent-records")
        records = consent_records_of_acceptances(
            ConsentRecord.objects.filter(pk__in=ids), with_withdrawals=True
        )
        response = StreamingHttpResponse(_stream(records), content_type="application/ld+json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="consent-records.json"'
        return response

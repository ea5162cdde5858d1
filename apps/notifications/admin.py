from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.audit.services import audit_view_record
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.pagination import LargeTablePaginator

from .labels import TEMPLATE_LABELS, template_label
from .models import OutboxEmail, WebhookAttempt, WebhookDelivery
from .services import outbox_email_resend, webhook_delivery_retry


class TemplateFilter(admin.SimpleListFilter):
    title = _("template")
    parameter_name = "template"

    def lookups(self, request, model_admin):
        return sorted(TEMPLATE_LABELS.items(), key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(template=self.value()) if self.value() else queryset


@admin.register(OutboxEmail)
class OutboxEmailAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    audit_view = staticmethod(audit_view_record)
    list_display = [
        "id",
        "template_display",
        "to",
        "language",
        "status",
        "attempts",
        "tracking_status",
        "created_at",
        "sent_at",
    ]
    list_display_fields = {"template_display": ("template",)}
    list_filter = ["status", "tracking_status", TemplateFilter, "language"]
    search_fields = ["to"]
    fields = [
        "template_display" if f.name == "template" else f.name
        for f in OutboxEmail._meta.fields
        if f.name != "id"
    ]
    readonly_fields = fields
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["resend"]

    @admin.display(description=_("template"), ordering="template")
    def template_display(self, obj):
        return template_label(obj.template)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("notifications.view_outboxemail")

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("notifications.resend_outboxemail")

    @admin.action(description=_("Send the selected failed emails again"), permissions=["resend"])
    def resend(self, request, queryset):
        count = 0
        for email in queryset.filter(status=OutboxEmail.Status.FAILED):
            outbox_email_resend(email=email, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d email queued again.", "%(count)d emails queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """What was posted to the services' webhooks, and each attempt; the signing secret is never shown."""

    audit_view = staticmethod(audit_view_record)
    list_display = [
        "id",
        "event_type",
        "event_id",
        "url",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["=event_id"]
    fields = [
        "event_id",
        "event_type",
        "endpoint_id",
        "user",
        "url",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
        "body",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    show_full_result_count = False
    paginator = LargeTablePaginator
    actions = ["retry"]

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("notifications.retry_webhookdelivery")

    @admin.action(description=_("Post the selected failed deliveries again"), permissions=["retry"])
    def retry(self, request, queryset):
        count = sum(
            webhook_delivery_retry(delivery=delivery, actor=request.user)
            for delivery in queryset.filter(status=WebhookDelivery.Status.FAILED)
        )
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.audit.services import audit_view_record
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.http import client_ip
from apps.core.pagination import LargeTablePaginator

from . import services
from .forms import ConnectedServiceForm, MarkDoneForm
from .models import (
    DESCRIPTION_PARTS,
    ConnectedService,
    ServiceCall,
    ServiceCallAttempt,
)


@admin.register(ConnectedService)
class ConnectedServiceAdmin(admin.ModelAdmin):
    """Alilo's services that hold personal data: where the portal calls them, what they hold and do, and
    what access answers say about them. The signing secret is written, never shown."""

    form = ConnectedServiceForm
    list_display = ["name", "active", "endpoint_url", "timeout_seconds", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "active", "endpoint_url", "new_secret", "timeout_seconds"]}),
        (_("What it holds and does"), {"fields": ["fields", "actions"]}),
        *[
            (title, {"fields": [f"{part}_{code}" for part in DESCRIPTION_PARTS]})
            for code, title in (
                ("kk", _("Shown in access answers, in Kazakh")),
                ("ru", _("Shown in access answers, in Russian")),
                ("en", _("Shown in access answers, in English")),
            )
        ],
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "endpoint_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        return [*self.fieldsets, (_("Record"), {"fields": self.readonly_fields})]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in services.SERVICE_FIELDS if name in form.cleaned_data
        }
        secret = form.cleaned_data.get("new_secret", "")
        if change:
            services.connected_service_update(
                service=obj, actor=request.user, secret=secret, ip=client_ip(request), **values
            )
            return
        service, made = services.connected_service_create(
            actor=request.user, secret=secret, ip=client_ip(request), **values
        )
        obj.pk = service.pk
        if not secret:
            messages.warning(
                request,
                gettext(
                    "The signing secret for %(name)s is shown only now; copy it into the service's settings: "
                    "%(secret)s"
                )
                % {"name": service.name, "secret": made},
            )

    def log_addition(self, request, obj, message):
        """The audit event of connected_service_create is the log."""

    def log_change(self, request, obj, message):
        """The audit event of connected_service_update is the log."""


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ServiceCallAttempt
    fields = ["number", "kind", "started_at", "duration_ms", "status_code", "error", "response_body"]
    readonly_fields = fields
    extra = 0


@admin.register(ServiceCall)
class ServiceCallAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every call to a service for a request, with each attempt; read-only, but staff may record that a
    service's part was done by hand. Answers hold personal data: every page is audited."""

    audit_view = staticmethod(audit_view_record)
    change_form_template = "connectors/admin/servicecall_change_form.html"
    list_display = ["request", "service", "action", "state", "attempts", "next_attempt_at", "answered_at"]
    list_display_fields = {"request": ("request__reference",), "service": ("service__name",)}
    list_filter = ["state", "action", "service"]
    list_select_related = ["request", "service"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    search_fields = ["request__reference"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    fields = [
        "request",
        "service",
        "action",
        "state",
        "call_id",
        "created_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "accepted_at",
        "answered_at",
        "message",
        "result_shown",
        "changes_shown",
        "note",
        "marked_by",
        "personal_data_erased_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("answer"))
    def result_shown(self, call):
        return format_html("<pre>{}</pre>", json.dumps(call.result, ensure_ascii=False, indent=2))

    @admin.display(description=_("changes"))
    def changes_shown(self, call):
        return format_html("<pre>{}</pre>", json.dumps(call.changes, ensure_ascii=False, indent=2))

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/mark-done/",
                self.admin_site.admin_view(self.mark_done_view),
                name="{}_{}_mark_done".format(*info),
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["can_mark_done"] = not obj.is_final and request.user.has_perm(
                "connectors.mark_done_servicecall"
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def mark_done_view(self, request, object_id):
        call = self.get_object(request, object_id)
        if call is None or not self.has_view_permission(request, call):
            raise Http404
        if not request.user.has_perm("connectors.mark_done_servicecall"):
            raise PermissionDenied
        change_url = reverse("admin:connectors_servicecall_change", args=[call.pk])
        if call.is_final:
            self.message_user(request, gettext("This call has its answer already."), messages.ERROR)
            return redirect(change_url)
        form = MarkDoneForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.service_call_mark_done(
                    call=call, actor=request.user, note=form.cleaned_data["note"], ip=client_ip(request)
                )
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(request, message, messages.ERROR)
                return redirect(change_url)
            self.message_user(request, gettext("The call is recorded as done by hand."), messages.SUCCESS)
            return redirect(change_url)
        if request.method == "GET":
            self.audit_object_view(request, call)
        return TemplateResponse(
            request,
            "connectors/admin/mark_done.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Mark done by hand"),
                "opts": self.opts,
                "original": call,
                "form": form,
            },
        )

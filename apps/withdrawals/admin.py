"""Staff processing of withdrawal requests. Every step calls a service; the admin form saves nothing."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import SUPPORT
from apps.audit.services import audit_view_record
from apps.calendars import working_days
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin, ShownFieldsOnlyMixin
from apps.core.dates import COMPANY_TZ
from apps.core.exports import csv_export_response
from apps.core.http import attachment_response, client_ip
from apps.core.pagination import LargeTablePaginator

from . import selectors, services
from .access_package import access_package_file
from .corrections import correction_items
from .details import details_for_display
from .forms import (
    AssignForm,
    ConfirmGrantForm,
    CorrectionGrantForm,
    DestructionGrantForm,
    GrantForm,
    MessageForm,
    NoteForm,
    ReceivedApplicationForm,
    RefuseForm,
    ThirdPartyConfirmForm,
    ThirdPartyForm,
    UnblockForm,
)
from .models import (
    AccessPackage,
    RequestType,
    SupportAccess,
    ThirdParty,
    TimelineEntry,
    WithdrawalRequest,
    WithdrawalRequestStatus,
)
from .workflow import Step, withdrawal_steps_allowed

Status = WithdrawalRequest.Status
DECIDE_PERMISSION = "withdrawals.decide_withdrawalrequest"
SUPPORT_ACCESS_PERMISSION = "withdrawals.grant_supportaccess"
# What Support sees of a request only once a Privacy officer has shown it to them.
SUPPORT_CONTACT_FIELDS = ["email", "phone", "postal_address", "reason", "ip"]
REGISTER_PERMISSION = "withdrawals.add_withdrawalrequest"
CONFIRM_THIRD_PARTY_PERMISSION = "withdrawals.change_thirdpartynotice"
SCAN_PERMISSION = "withdrawals.view_applicationscan"
MARK_DONE_PERMISSION = "connectors.mark_done_servicecall"


class SupportMemberForm(forms.Form):
    """The Support member whose access to a request's contact details is granted or revoked."""

    member = forms.ModelChoiceField(label=_("Support member"), queryset=get_user_model().objects.none())

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members


def support_members():
    """The active staff members in the Support group, who may be shown a request's contact details."""
    return (
        get_user_model()
        .objects.filter(groups__name=SUPPORT, is_active=True, is_staff=True)
        .distinct()
        .order_by("email")
    )


def support_access_granted(request, obj) -> bool:
    """Whether a Privacy officer has shown this request's contact details to the staff member asking (asked
    once per request and object)."""
    known = request.__dict__.setdefault("_support_access", {})
    if obj.pk not in known:
        known[obj.pk] = SupportAccess.objects.filter(request=obj, member=request.user).exists()
    return known[obj.pk]


@admin.register(ThirdParty)
class ThirdPartyAdmin(ShownFieldsOnlyMixin, admin.ModelAdmin):
    form = ThirdPartyForm
    list_display = ["name", "contact_email", "language", "active", "created_at"]
    list_filter = ["active", "language"]
    search_fields = ["name", "contact_email"]


class DueFilter(admin.SimpleListFilter):
    title = _("due date")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            (
                "soon",
                _("Due within %(days)s working days") % {"days": settings.WITHDRAWAL_DUE_SOON_WORKING_DAYS},
            ),
            ("waiting_near_due", _("Waiting for the requester with the term nearly over")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(pk__in=selectors.withdrawal_requests_overdue(now=now).values("pk"))
        if self.value() == "soon":
            return queryset.filter(pk__in=selectors.withdrawal_requests_due_soon(now=now).values("pk"))
        if self.value() == "waiting_near_due":
            near = selectors.withdrawal_requests_waiting_near_due(now=now)
            return queryset.filter(pk__in=near.values("pk"))
        return queryset


class ServicesFilter(admin.SimpleListFilter):
    title = _("connected services")
    parameter_name = "services"

    def lookups(self, request, model_admin):
        return [("unanswered", _("A connected service has not answered, with the term nearly over"))]

    def queryset(self, request, queryset):
        if self.value() == "unanswered":
            return queryset.filter(pk__in=selectors.withdrawal_requests_services_unanswered())
        return queryset


class ThirdPartiesFilter(admin.SimpleListFilter):
    title = _("third parties")
    parameter_name = "third_parties"

    def lookups(self, request, model_admin):
        return [("unconfirmed", _("A third party has not confirmed it stopped"))]

    def queryset(self, request, queryset):
        if self.value() == "unconfirmed":
            notices = selectors.third_party_notices_unconfirmed()
            return queryset.filter(pk__in=notices.values("request_id"))
        return queryset


class TimelineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TimelineEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "visible_to_requester", "actor", "text"]
    readonly_fields = fields
    verbose_name_plural = _("Timeline (everything, including internal notes)")


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(PersonalDataAdminMixin, admin.ModelAdmin):
    audit_view = staticmethod(audit_view_record)
    change_form_template = "withdrawals/admin/change_form.html"
    list_display = [
        "reference_or_unconfirmed",
        "request_type",
        "requester_display",
        "scope",
        "status",
        "assignee",
        "due_date",
        "days_left",
    ]
    list_display_links = ["reference_or_unconfirmed"]
    list_display_fields = {
        "reference_or_unconfirmed": ("reference",),
        "requester_display": ("full_name", "email"),
        "due_date": ("due_at",),
    }
    list_filter = [
        "request_type",
        "status",
        DueFilter,
        ServicesFilter,
        ThirdPartiesFilter,
        ("assignee", admin.RelatedOnlyFieldListFilter),
        "scope",
        ("decided_at", admin.DateFieldListFilter),
    ]
    search_fields = ["reference", "email", "full_name"]
    list_select_related = ["assignee", "requester"]
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ["-created_at"]
    actions = ["assign_selected", "start_review_selected", "export_csv"]
    inlines = [TimelineInline]
    fieldsets = [
        (
            _("Request"),
            {
                "fields": [
                    "reference",
                    "request_type",
                    "status",
                    "scope",
                    "purposes_display",
                    "details_display",
                    "reason",
                    "acknowledgement",
                    "language",
                ]
            },
        ),
        (_("Requester"), {"fields": ["full_name", "email", "phone", "postal_address", "requester"]}),
        (
            _("Processing"),
            {
                "fields": [
                    "assignee",
                    "channel",
                    "received_at",
                    "created_at",
                    "verified_at",
                    "due_date",
                    "days_left",
                    "pause_started_at",
                    "decided_at",
                    "decision_reason",
                    "cancelled_at",
                ]
            },
        ),
        (_("Evidence"), {"fields": ["public_id", "ip", "user_agent"]}),
    ]

    class Media:
        css = {"all": ["css/withdrawals-admin.css"]}

    # --- read-only model form -----------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        """A withdrawal's scope and purposes mean nothing on another type of request; the acknowledgement
        is asked only of a withdrawal and a destruction (both may end the user agreement)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.request_type == RequestType.WITHDRAWAL:
            return fieldsets
        hidden = {"scope", "purposes_display"}
        if obj.request_type != RequestType.DESTRUCTION:
            hidden.add("acknowledgement")
        return [
            (name, {**options, "fields": [field for field in options["fields"] if field not in hidden]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        names = [field.name for field in WithdrawalRequest._meta.fields]
        return [*names, "purposes_display", "details_display", "due_date", "days_left"]

    def has_add_permission(self, request):
        return request.user.has_perm(REGISTER_PERMISSION)

    def add_view(self, request, form_url="", extra_context=None):
        """Register an application received by email, post or in person (never the model form)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        # The dates staff type are Almaty's, whatever the browser's zone.
        with timezone.override(COMPANY_TZ):
            form = ReceivedApplicationForm(
                request.POST or None,
                request.FILES or None,
                initial={"language": settings.PRIVACY_MAILBOX_LANGUAGE, "channel": "email"},
            )
            if request.method == "POST" and form.is_valid():
                data = form.cleaned_data
                try:
                    withdrawal = services.withdrawal_request_register_received(
                        actor=request.user,
                        channel=data["channel"],
                        received_at=data["received_at"],
                        full_name=data["full_name"],
                        email=data["email"],
                        phone=data["phone"],
                        postal_address=data["postal_address"],
                        scope=data["scope"],
                        purposes=data["purposes"],
                        reason=data["reason"],
                        acknowledgement=data["acknowledgement"],
                        language=data["language"],
                        account=data["account"],
                        scan=data["scan"],
                        ip=client_ip(request),
                    )
                except ValidationError as error:
                    form.add_error(None, error)
                else:
                    self.message_user(
                        request,
                        gettext("Application registered as %(reference)s; due by the end of %(day)s.")
                        % {
                            "reference": withdrawal.reference,
                            "day": date_format(selectors.withdrawal_last_day(withdrawal), "DATE_FORMAT"),
                        },
                        messages.SUCCESS,
                    )
                    return redirect("admin:withdrawals_withdrawalrequest_change", withdrawal.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Register an application received by email, post or in person"),
            "form": form,
            "has_view_permission": self.has_view_permission(request),
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request, "withdrawals/admin/register.html", context, status=400 if form.errors else 200
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Never save from the form: every change goes through a workflow step."""

    def save_related(self, request, form, formsets, change):
        """Nothing to save."""

    # --- columns -------------------------------------------------------------------------------

    @admin.display(description=_("reference"), ordering="reference")
    def reference_or_unconfirmed(self, obj):
        return obj.reference or gettext("(email not confirmed)")

    @admin.display(description=_("requester"), ordering="full_name")
    def requester_display(self, obj):
        return format_html("{}<br><small>{}</small>", obj.full_name, obj.email)

    @admin.display(description=_("purposes"))
    def purposes_display(self, obj):
        return ", ".join(obj.purpose_labels()) or "—"

    @admin.display(description=_("what the person asks"))
    def details_display(self, obj):
        """The type's own answers: the corrections wanted as a table, the grounds, question or decision as
        text (as the person's status page shows them)."""
        corrections = correction_items(obj)
        table = ""
        if corrections:
            table = format_html(
                '<table class="wd-corrections"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
                '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
                gettext("Data"),
                gettext("What is wrong"),
                gettext("What it should be"),
                format_html_join(
                    "",
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    ((item.label, item.current or "—", item.correct or "—") for item in corrections),
                ),
            )
        shown = details_for_display(obj.request_type, obj.details if isinstance(obj.details, dict) else {})
        rows = []
        if obj.request_type == RequestType.ACCESS:
            rows.append(
                (
                    gettext("What they most want to know"),
                    shown.get("question") or gettext("everything Alilo holds about them"),
                )
            )
        elif shown.get("grounds"):
            rows.append((gettext("Why"), shown["grounds_label"]))
        elif obj.request_type == RequestType.OBJECTION and shown.get("decision"):
            rows.append((gettext("Decision or processing"), shown["decision"]))
        listed = format_html_join("", "<p><strong>{}</strong>: {}</p>", rows) if rows else ""
        return format_html("{}{}", table, listed) if table or listed else "—"

    @admin.display(description=_("due by (24:00 Almaty)"), ordering="due_at")
    def due_date(self, obj):
        last_day = selectors.withdrawal_last_day(obj)
        # Formatted here: the change page shows what a method returns as text, not as a localised date.
        return date_format(last_day, "DATE_FORMAT") if last_day else "—"

    @admin.display(description=_("working days left"))
    def days_left(self, obj):
        state = selectors.withdrawal_due_state(obj)
        if state.days_left is None:
            return "—"
        if state.overdue:
            return format_html('<span class="wd-due wd-overdue">⚠ {}</span>', gettext("overdue"))
        if state.due_soon:
            return format_html('<span class="wd-due wd-soon">⏰ {}</span>', state.days_left)
        return state.days_left

    # --- the change page -----------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/scan/",
                self.admin_site.admin_view(self.scan_view),
                name="{}_{}_scan".format(*info),
            ),
            path(
                "<path:object_id>/package/<slug:file_format>/",
                self.admin_site.admin_view(self.package_view),
                name="{}_{}_package".format(*info),
            ),
            path(
                "<path:object_id>/workflow/<slug:step>/",
                self.admin_site.admin_view(self.workflow_view),
                name="{}_{}_workflow".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            # The form is read-only; changes go through the workflow steps.
            self.message_user(
                request, gettext("Use the workflow buttons to change a request."), messages.WARNING
            )
            return redirect(request.path)
        obj = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), **self._workflow_context(request, obj)}
        extra_context.update(
            show_save=False, show_save_and_continue=False, show_save_and_add_another=False, show_delete=False
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def audit_object_view(self, request, obj) -> None:
        services.withdrawal_request_view_record(withdrawal=obj, actor=request.user, ip=client_ip(request))

    def _workflow_context(self, request, obj) -> dict:
        if obj is None:
            return {}
        can_change = self.has_change_permission(request, obj)
        can_decide = can_change and request.user.has_perm(DECIDE_PERMISSION)
        allowed = withdrawal_steps_allowed(obj.status) if can_change else set()
        # The admin's buttons, each shown when the status allows its step (workflow.STEPS).
        buttons = {
            "assign": Step.ASSIGN,
            "review": Step.REVIEW_START,
            "ask": Step.INFORMATION_ASK,
            "note": Step.NOTE,
            **({"grant": Step.GRANT, "refuse": Step.REFUSE} if can_decide else {}),
        }
        steps = {button for button, step in buttons.items() if step in allowed}
        grant_form = self._grant_form(obj)
        if grant_form is None:
            steps.discard("grant")
        if can_decide and selectors.withdrawal_unblock_allowed(obj):
            steps.add("unblock")
        if "assign" in steps and obj.assignee_id != request.user.pk:
            steps.add("assign_me")
        can_show_support = (
            can_change
            and obj.status != Status.UNVERIFIED
            and request.user.has_perm(SUPPORT_ACCESS_PERMISSION)
        )
        support_access = list(obj.support_access.select_related("member")) if can_show_support else []
        return {
            "workflow_steps": steps,
            "workflow_urls": {
                step: reverse("admin:withdrawals_withdrawalrequest_workflow", args=[obj.pk, step])
                for step in (
                    "assign",
                    "assign_me",
                    "review",
                    "ask",
                    "grant",
                    "refuse",
                    "note",
                    "support_grant",
                    "support_revoke",
                    "third_party_confirm",
                    "unblock",
                    "package_rebuild",
                )
            },
            "assign_form": AssignForm(initial={"assignee": obj.assignee_id or request.user.pk}),
            "message_form": MessageForm(),
            "grant_form": grant_form,
            "unblock_form": UnblockForm(),
            "refuse_form": RefuseForm(),
            "service_calls": self._service_call_rows(request, obj),
            "account": selectors.withdrawal_account(obj),
            "note_form": NoteForm(),
            "due_state": selectors.withdrawal_due_state(obj),
            "third_party_notices": selectors.withdrawal_third_party_notices(obj),
            "can_confirm_third_parties": can_change and request.user.has_perm(CONFIRM_THIRD_PARTY_PERMISSION),
            "third_party_confirm_form": ThirdPartyConfirmForm(
                initial={"confirmed_on": working_days.local_date(timezone.now())}
            ),
            "scan": selectors.withdrawal_scan(obj) if request.user.has_perm(SCAN_PERMISSION) else None,
            "scan_url": reverse("admin:withdrawals_withdrawalrequest_scan", args=[obj.pk]),
            "last_day": selectors.withdrawal_last_day(obj),
            "outbox_emails": selectors.withdrawal_request_emails(obj),
            "can_decide": can_decide,
            "can_show_support": can_show_support,
            "support_access": support_access,
            "support_form": SupportMemberForm(
                members=support_members().exclude(pk__in=[access.member_id for access in support_access])
            ),
            **self._package_context(request, obj, can_change=can_change),
        }

    @staticmethod
    def _grant_form(obj, data=None):
        """The form that grants a request of this type, or None where this page has no grant for it."""
        request_type = obj.request_type
        if request_type == RequestType.WITHDRAWAL:
            return GrantForm(data)
        if request_type == RequestType.CORRECTION:
            return CorrectionGrantForm(data, withdrawal=obj)
        if request_type == RequestType.DESTRUCTION:
            return DestructionGrantForm(data, withdrawal=obj)
        if request_type in (RequestType.ACCESS, RequestType.BLOCKING, RequestType.OBJECTION):
            return ConfirmGrantForm(data, request_type=request_type)
        return None

    def _grant(self, request, obj, *, actor, ip):
        form = self._grant_form(obj, request.POST)
        if form is None:
            raise Http404
        if not form.is_valid():
            return self._form_errors(request, form)
        request_type = obj.request_type
        if request_type == RequestType.WITHDRAWAL:
            services.withdrawal_request_grant(withdrawal=obj, actor=actor, ip=ip)
            return gettext("Withdrawal granted. The requester and the third parties are being emailed.")
        if request_type == RequestType.ACCESS:
            services.withdrawal_request_grant(withdrawal=obj, actor=actor, ip=ip)
            return gettext("Access granted. The data package is released and the requester is being emailed.")
        if request_type == RequestType.CORRECTION:
            services.correction_request_grant(
                withdrawal=obj,
                actor=actor,
                changes=form.cleaned_data["changes"],
                note=form.cleaned_data["note"],
                ip=ip,
            )
            return gettext(
                "Correction granted. The changes are applied, passed to the connected services that hold "
                "the data, and the requester is being emailed."
            )
        if request_type == RequestType.BLOCKING:
            services.blocking_request_grant(withdrawal=obj, actor=actor, ip=ip)
            return gettext(
                "Blocking granted. The account is blocked, the connected services are being told, and the "
                "requester is being emailed."
            )
        if request_type == RequestType.OBJECTION:
            services.objection_request_grant(withdrawal=obj, actor=actor, ip=ip)
            return gettext("Objection granted and recorded. The requester is being emailed.")
        services.destruction_request_grant(withdrawal=obj, actor=actor, ip=ip)
        return gettext(
            "Destruction granted. The portal's data is erased and the connected services are asked to "
            "destroy theirs; the closing letter goes once each has answered."
        )

    def _service_call_rows(self, request, obj) -> list[dict]:
        """Each connected service's call for the request, with a link to mark it done by hand where the
        staff member may and it has no answer yet."""
        can_mark = request.user.has_perm(MARK_DONE_PERMISSION)
        rows = []
        for call in selectors.withdrawal_service_calls(obj):
            url = ""
            if can_mark and not call.is_final:
                try:
                    url = reverse("admin:connectors_servicecall_mark_done", args=[call.pk])
                except NoReverseMatch:
                    url = ""
            rows.append({"call": call, "mark_done_url": url})
        return rows

    def _package_context(self, request, obj, *, can_change: bool) -> dict:
        """The access package's state, preview and rebuild, on an access request's page."""
        if obj.request_type != RequestType.ACCESS:
            return {}
        return {
            "package_state": selectors.access_package_state(obj),
            "package_urls": {
                file_format: reverse(
                    "admin:withdrawals_withdrawalrequest_package", args=[obj.pk, file_format]
                )
                for file_format in ("html", "json")
            },
            "can_rebuild_package": can_change and obj.is_open,
        }

    def package_view(self, request, object_id, file_format):
        """Show the access package as the person will get it (HTML), or send its JSON; each is a view of
        the person's data, audited."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj) or file_format not in ("html", "json"):
            raise Http404
        package = AccessPackage.objects.filter(request=obj, erased_at__isnull=True).first()
        if package is None:
            raise Http404
        services.access_package_view_record(
            withdrawal=obj, actor=request.user, ip=client_ip(request), file_format=file_format
        )
        if file_format == "json":
            data, content_type, file_name = access_package_file(package, "json")
            return attachment_response(data, content_type=content_type, file_name=file_name)
        response = HttpResponse(package.html, content_type="text/html; charset=utf-8")
        # The page's own styles only: no script, no request anywhere, no form.
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'; sandbox"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def scan_view(self, request, object_id):
        """Send the scan of a paper or emailed application; opening it is a view of personal data."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        if not request.user.has_perm(SCAN_PERMISSION):
            raise PermissionDenied
        scan = selectors.withdrawal_scan(obj)
        if scan is None:
            raise Http404
        services.withdrawal_request_view_record(
            withdrawal=obj, actor=request.user, ip=client_ip(request), view="scan"
        )
        return attachment_response(scan.data, content_type=scan.content_type, file_name=scan.file_name)

    def workflow_view(self, request, object_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        if step in ("grant", "refuse", "unblock") and not request.user.has_perm(DECIDE_PERMISSION):
            raise PermissionDenied
        if step in ("support_grant", "support_revoke") and not request.user.has_perm(
            SUPPORT_ACCESS_PERMISSION
        ):
            raise PermissionDenied
        if step == "third_party_confirm" and not request.user.has_perm(CONFIRM_THIRD_PARTY_PERMISSION):
            raise PermissionDenied
        change_url = reverse("admin:withdrawals_withdrawalrequest_change", args=[obj.pk])
        ip = client_ip(request)
        actor = request.user
        try:
            done = self._run_step(request, obj, step, actor=actor, ip=ip)
        except services.TransitionNotAllowed as error:
            self.message_user(request, error.message, messages.ERROR)
        except ValidationError as error:
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
        else:
            if done:
                self.message_user(request, done, messages.SUCCESS)
        return redirect(change_url)

    def _run_step(self, request, obj, step, *, actor, ip):
        if step == "assign_me":
            changed = services.withdrawal_request_assign(withdrawal=obj, assignee=actor, actor=actor, ip=ip)
            return gettext("Assigned to you.") if changed else gettext("It was assigned to you already.")
        if step == "assign":
            form = AssignForm(request.POST)
            if not form.is_valid():
                return self._form_errors(request, form)
            assignee = form.cleaned_data["assignee"]
            changed = services.withdrawal_request_assign(
                withdrawal=obj, assignee=assignee, actor=actor, ip=ip
            )
            if not changed:
                return gettext("It was assigned to %(email)s already.") % {"email": assignee.email}
            return gettext("Assigned to %(email)s.") % {"email": assignee.email}
        if step == "review":
            services.withdrawal_request_review_start(withdrawal=obj, actor=actor, ip=ip)
            return gettext("Review started.")
        if step == "ask":
            form = MessageForm(request.POST)
            if not form.is_valid():
                return self._form_errors(request, form)
            services.withdrawal_request_information_ask(
                withdrawal=obj, actor=actor, message=form.cleaned_data["message"], ip=ip
            )
            return gettext("The requester was asked for information. The term keeps running while you wait.")
        if step == "grant":
            return self._grant(request, obj, actor=actor, ip=ip)
        if step == "unblock":
            form = UnblockForm(request.POST)
            if not form.is_valid():
                return self._form_errors(request, form)
            services.blocking_request_unblock(
                withdrawal=obj, actor=actor, note=form.cleaned_data["note"], ip=ip
            )
            return gettext(
                "Blocking lifted. The account is unblocked, the connected services are being told, and the "
                "requester is being emailed."
            )
        if step == "refuse":
            form = RefuseForm(request.POST)
            if not form.is_valid():
                return self._form_errors(request, form)
            services.withdrawal_request_refuse(
                withdrawal=obj, actor=actor, reason=form.cleaned_data["reason"], ip=ip
            )
            if obj.request_type == RequestType.WITHDRAWAL:
                return gettext("Withdrawal refused. The requester is being emailed the reason.")
            return gettext("Request refused. The requester is being emailed the reason.")
        if step == "note":
            form = NoteForm(request.POST)
            if not form.is_valid():
                return self._form_errors(request, form)
            services.withdrawal_request_note_add(
                withdrawal=obj, actor=actor, text=form.cleaned_data["text"], ip=ip
            )
            return gettext("Note added.")
        if step == "third_party_confirm":
            with timezone.override(COMPANY_TZ):
                form = ThirdPartyConfirmForm(request.POST)
                if not form.is_valid():
                    return self._form_errors(request, form)
            notice = obj.third_party_notices.filter(pk=form.cleaned_data["notice"]).first()
            if notice is None:
                raise Http404
            services.withdrawal_third_party_confirm(
                notice=notice,
                actor=actor,
                confirmed_on=form.cleaned_data["confirmed_on"],
                note=form.cleaned_data["note"],
                ip=ip,
            )
            return gettext("Confirmation from %(name)s recorded.") % {"name": notice.third_party.name}
        if step in ("support_grant", "support_revoke"):
            return self._support_access(request, obj, grant=step == "support_grant", actor=actor, ip=ip)
        if step == "package_rebuild":
            services.access_package_rebuild(withdrawal=obj, actor=actor, ip=ip)
            return gettext("The data package was built again from what the portal and the services hold now.")
        raise Http404

    def _support_access(self, request, obj, *, grant: bool, actor, ip):
        members = (
            support_members()
            if grant
            else get_user_model().objects.filter(pk__in=obj.support_access.values("member"))
        )
        form = SupportMemberForm(request.POST, members=members)
        if not form.is_valid():
            return self._form_errors(request, form)
        member = form.cleaned_data["member"]
        if grant:
            services.withdrawal_support_access_grant(withdrawal=obj, member=member, actor=actor, ip=ip)
            return gettext("%(email)s can now see the contact details and reason of this request.") % {
                "email": member.email
            }
        services.withdrawal_support_access_revoke(withdrawal=obj, member=member, actor=actor, ip=ip)
        return gettext("%(email)s no longer sees the contact details and reason of this request.") % {
            "email": member.email
        }

    def _form_errors(self, request, form) -> None:
        for errors in form.errors.values():
            for error in errors:
                self.message_user(request, error, messages.ERROR)
        return None

    # --- actions -------------------------------------------------------------------------------

    @admin.action(description=_("Assign the selected requests to…"), permissions=["change"])
    def assign_selected(self, request, queryset):
        if "apply" in request.POST:
            form = AssignForm(request.POST)
            if form.is_valid():
                assignee = form.cleaned_data["assignee"]
                done = self._bulk(
                    request,
                    queryset,
                    lambda obj: services.withdrawal_request_assign(
                        withdrawal=obj, assignee=assignee, actor=request.user, ip=client_ip(request)
                    ),
                )
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d request assigned to %(email)s.",
                        "%(count)d requests assigned to %(email)s.",
                        done,
                    )
                    % {"count": done, "email": assignee.email},
                    messages.SUCCESS,
                )
                return None
        else:
            form = AssignForm(initial={"assignee": request.user.pk})
        return TemplateResponse(
            request,
            "withdrawals/admin/bulk_assign.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Assign requests"),
                "opts": self.opts,
                "queryset": queryset,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "action": "assign_selected",
            },
        )

    @admin.action(description=_("Start review of the selected requests"), permissions=["change"])
    def start_review_selected(self, request, queryset):
        done = self._bulk(
            request,
            queryset,
            lambda obj: services.withdrawal_request_review_start(
                withdrawal=obj, actor=request.user, ip=client_ip(request)
            ),
        )
        self.message_user(
            request,
            ngettext("Review started for %(count)d request.", "Review started for %(count)d requests.", done)
            % {"count": done},
            messages.SUCCESS,
        )

    def _bulk(self, request, queryset, step) -> int:
        done = 0
        for obj in queryset.order_by("pk"):
            try:
                result = step(obj)
            except services.TransitionNotAllowed as error:
                self.message_user(request, f"{obj}: {error.message}", messages.WARNING)
            else:
                done += 1 if result is not False else 0
        return done

    @admin.action(description=_("Export the selected requests as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        rows = list(queryset.select_related("assignee").order_by("created_at", "pk"))

        def moment(value):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""

        def last_day(obj):
            day = selectors.withdrawal_last_day(obj)
            return day.isoformat() if day else ""

        columns = [
            (_("reference"), lambda obj: obj.reference or ""),
            (_("type"), lambda obj: obj.get_request_type_display()),
            (_("status"), lambda obj: obj.get_status_display()),
            (_("scope"), lambda obj: obj.get_scope_display()),
            (_("purposes"), lambda obj: "; ".join(obj.purpose_labels())),
            (_("full name"), lambda obj: obj.full_name),
            (_("email"), lambda obj: obj.email),
            (_("phone number"), lambda obj: obj.phone or ""),
            (_("language"), lambda obj: obj.language),
            (_("assignee"), lambda obj: obj.assignee.email if obj.assignee else ""),
            (_("received by"), lambda obj: obj.get_channel_display()),
            (_("received at"), lambda obj: moment(obj.received_at)),
            (_("created at"), lambda obj: moment(obj.created_at)),
            (_("verified at"), lambda obj: moment(obj.verified_at)),
            (_("due by (24:00 Almaty)"), last_day),
            (_("decided at"), lambda obj: moment(obj.decided_at)),
            (_("cancelled at"), lambda obj: moment(obj.cancelled_at)),
            (_("reason for the decision"), lambda obj: obj.decision_reason),
        ]
        self.audit_export(request, rows=len(rows), ids=[obj.pk for obj in rows], name="withdrawal-requests")
        return csv_export_response(rows=rows, columns=columns, name="withdrawal-requests")


@admin.register(WithdrawalRequestStatus)
class WithdrawalRequestStatusAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only status of registered requests for support: no address, phone, reason or evidence, unless a
    Privacy officer has shown one request's contact details to the member asking (SupportAccess)."""

    audit_view = staticmethod(audit_view_record)
    list_display = ["reference", "request_type", "full_name", "status", "due_date", "days_left"]
    list_display_fields = {"due_date": ("due_at",)}
    list_filter = ["request_type", "status", DueFilter]
    search_fields = ["reference", "full_name"]
    show_full_result_count = False
    ordering = ["-verified_at", "-id"]
    actions = None
    fields = [
        "reference",
        "request_type",
        "full_name",
        "status",
        "due_date",
        "days_left",
        "requester_timeline",
    ]
    readonly_fields = fields

    due_date = WithdrawalRequestAdmin.due_date
    days_left = WithdrawalRequestAdmin.days_left

    class Media:
        css = {"all": ["css/withdrawals-admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(status=Status.UNVERIFIED)

    def get_fields(self, request, obj=None):
        if obj is not None and support_access_granted(request, obj):
            return [*self.fields[:3], *SUPPORT_CONTACT_FIELDS, *self.fields[3:]]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("timeline (as the requester sees it)"))
    def requester_timeline(self, obj):
        entries = selectors.withdrawal_timeline_for_requester(obj)
        return format_html(
            '<ol class="wd-status-timeline">{}</ol>',
            format_html_join(
                "",
                "<li><time>{}</time> — {}{}</li>",
                (
                    (
                        date_format(timezone.localtime(entry.created_at), "DATETIME_FORMAT"),
                        entry.get_kind_display(),
                        # The requester's own words may hold personal data; support sees only that they wrote.
                        format_html("<br>{}", entry.text)
                        if entry.text and entry.kind not in services.REQUESTER_TEXT_KINDS
                        else "",
                    )
                    for entry in entries
                ),
            ),
        )

    def audit_object_view(self, request, obj) -> None:
        granted = support_access_granted(request, obj)
        services.withdrawal_request_view_record(
            withdrawal=obj,
            actor=request.user,
            ip=client_ip(request),
            view="status+contact" if granted else "status",
        )

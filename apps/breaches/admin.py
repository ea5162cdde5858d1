from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.audit.services import audit_view_record
from apps.core.admin import PersonalDataAdminMixin, ReadOnlyAdminMixin
from apps.core.http import attachment_response, client_ip

from . import services
from .forms import AmendForm, AuthorityNoticeForm, BreachForm, NoticeForm
from .models import Breach, BreachAmendment, BreachNotice
from .selectors import breach_notice_progress, breach_time_left


class AmendmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BreachAmendment
    fields = ["created_at", "field", "old_value", "new_value", "reason", "actor"]
    readonly_fields = fields
    extra = 0


@admin.register(Breach)
class BreachAdmin(PersonalDataAdminMixin, admin.ModelAdmin):
    """The breach register: record, then notify the authority, tell the people affected, close; a closed
    breach changes only by an amendment. Every page and step is audited."""

    audit_view = staticmethod(audit_view_record)
    form = BreachForm
    change_form_template = "breaches/admin/change_form.html"
    list_display = [
        "reference",
        "status",
        "discovered_at",
        "notify_due_at",
        "people_affected",
        "authority_notified_at",
    ]
    list_filter = ["status"]
    search_fields = ["reference"]
    date_hierarchy = "discovered_at"
    inlines = [AmendmentInline]
    readonly_fields = [
        "reference",
        "status",
        "notify_due_at",
        "authority_notified_at",
        "authority_method",
        "authority_reference",
        "recorded_by",
        "created_at",
        "closed_at",
    ]

    def get_fields(self, request, obj=None):
        facts = ["discovered_at", "description", "data_categories", "people_affected", "measures"]
        return facts if obj is None else ["reference", "status", *facts, *self.readonly_fields[2:]]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_closed:
            return self.get_fields(request, obj)
        return self.readonly_fields if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_closed:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.EDITABLE if name in form.cleaned_data}
        if change:
            services.breach_update(breach=obj, actor=request.user, changes=data, ip=client_ip(request))
        else:
            breach = services.breach_record(actor=request.user, ip=client_ip(request), **data)
            obj.pk, obj.reference = breach.pk, breach.reference

    def save_related(self, request, form, formsets, change):
        """Amendments are read-only; nothing else is related."""

    def construct_change_message(self, request, form, formsets, add=False):
        """The audit events of the services are the log; the unsaved read-only inlines have nothing to say."""
        return []

    def log_addition(self, request, obj, message):
        """The audit event of breach_record is the log."""

    def log_change(self, request, obj, message):
        """The audit event of breach_update is the log."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (services.BreachError, ValidationError) as error:
            for message in getattr(error, "messages", [str(error)]):
                self.message_user(request, message, messages.ERROR)
            return redirect(request.path)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                {
                    "breach": obj,
                    "countdown": breach_time_left(obj) if obj.status == Breach.Status.OPEN else None,
                    "notices": [
                        {"notice": notice, "progress": breach_notice_progress(notice)}
                        for notice in obj.notices.all()
                    ],
                    "letter": getattr(obj, "letter", None) if hasattr(obj, "letter") else None,
                    "can_change": request.user.has_perm("breaches.change_breach"),
                    "can_notify_people": request.user.has_perm("breaches.add_breachnotice"),
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- The steps --------------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/step/<slug:step>/",
                self.admin_site.admin_view(self.step_view),
                name="{}_{}_step".format(*info),
            ),
            path(
                "<path:object_id>/letter/",
                self.admin_site.admin_view(self.letter_view),
                name="{}_{}_letter".format(*info),
            ),
            *super().get_urls(),
        ]

    STEPS = {
        "authority": (AuthorityNoticeForm, _("Record the notice to the authority")),
        "close": (None, _("Close the breach")),
        "amend": (AmendForm, _("Amend a closed breach")),
        "notice": (NoticeForm, _("Tell the people affected")),
    }

    def step_view(self, request, object_id, step):
        breach = self.get_object(request, object_id)
        if breach is None or step not in self.STEPS:
            raise Http404
        permission = "breaches.add_breachnotice" if step == "notice" else "breaches.change_breach"
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form_class, title = self.STEPS[step]
        form = None
        if form_class is not None:
            form = (
                form_class(request.POST or None, request.FILES or None)
                if request.method == "POST"
                else form_class()
            )
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                done = self._run(request, breach, step, form.cleaned_data if form else {})
            except services.BreachError as error:
                self.message_user(request, str(error), messages.ERROR)
                return redirect(reverse("admin:breaches_breach_change", args=[breach.pk]))
            except ValidationError as error:
                if form is None:
                    raise
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(request, done, messages.SUCCESS)
                return redirect(reverse("admin:breaches_breach_change", args=[breach.pk]))
        return TemplateResponse(
            request,
            "breaches/admin/step.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.opts,
                "original": breach,
                "form": form,
                "step": step,
            },
        )

    def _run(self, request, breach, step, data) -> str:
        actor, ip = request.user, client_ip(request)
        if step == "authority":
            services.breach_authority_notify(
                breach=breach,
                actor=actor,
                notified_at=data["notified_at"],
                method=data["method"],
                reference=data["reference"],
                letter=data.get("letter"),
                ip=ip,
            )
            return gettext("The notice to the authority is recorded.")
        if step == "close":
            services.breach_close(breach=breach, actor=actor, ip=ip)
            return gettext("The breach is closed.")
        if step == "amend":
            services.breach_amend(
                breach=breach,
                actor=actor,
                field=data["field"],
                value=data["value"],
                reason=data["reason"],
                ip=ip,
            )
            return gettext("The amendment is recorded.")
        notice = services.breach_notice_create(
            breach=breach,
            actor=actor,
            audience=data["audience"],
            user_ids=data.get("user_ids_text") or [],
            joined_from=data.get("joined_from"),
            joined_to=data.get("joined_to"),
            subject_kk=data["subject_kk"],
            body_kk=data["body_kk"],
            subject_ru=data["subject_ru"],
            body_ru=data["body_ru"],
            ip=ip,
        )
        return gettext("The notice is being sent (number %(number)s).") % {"number": notice.pk}

    def letter_view(self, request, object_id):
        breach = self.get_object(request, object_id)
        if breach is None or not self.has_view_permission(request, breach):
            raise Http404
        letter = getattr(breach, "letter", None) if hasattr(breach, "letter") else None
        if letter is None:
            raise Http404
        self._audit(request, action="admin.view", target=breach, details={"letter": letter.sha256})
        return attachment_response(letter.data, content_type=letter.content_type)


@admin.register(BreachNotice)
class BreachNoticeAdmin(PersonalDataAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The notices to the people affected and their delivery report."""

    audit_view = staticmethod(audit_view_record)
    list_display = ["breach", "audience", "created_at", "written", "finished_at"]
    list_display_fields = {"breach": ("breach__reference",)}
    list_filter = ["audience"]
    search_fields = ["breach__reference"]
    fields = [
        "breach",
        "audience",
        "joined_from",
        "joined_to",
        "subject_kk",
        "body_kk",
        "subject_ru",
        "body_ru",
        "created_by",
        "created_at",
        "written",
        "finished_at",
        "delivery",
    ]
    readonly_fields = fields

    @admin.display(description=_("delivery report"))
    def delivery(self, obj):
        progress = breach_notice_progress(obj)
        return gettext("%(sent)s sent, %(queued)s waiting, %(failed)s failed, of %(total)s") % {
            "sent": progress.sent,
            "queued": progress.queued,
            "failed": progress.failed,
            "total": progress.total,
        }

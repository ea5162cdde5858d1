from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from apps.accounts.selectors import users_in_agreement
from apps.core.admin import ShownFieldsOnlyMixin
from apps.notifications.selectors import outbox_progress

from .forms import PolicyTextForm
from .models import PolicyText, PolicyVersion
from .selectors import (
    ANNOUNCEMENT_TOPIC,
    format_moment,
    implicit_acceptance_deadline,
    policy_publish_problems,
    policy_texts_for_diff,
    policy_version_current,
)
from .services import (
    policy_draft_delete,
    policy_draft_save,
    policy_text_delete,
    policy_text_save,
    policy_version_publish,
)
from .text import policy_clause_diff
from .views import version_page_context

PUBLISH_PERMISSION = "policies.publish_policyversion"


class PolicyTextInline(admin.StackedInline):
    model = PolicyText
    form = PolicyTextForm
    fields = ["language", "title", "summary", "body", "body_sha256"]
    readonly_fields = ["body_sha256"]
    extra = 0
    max_num = len(settings.LANGUAGES)

    def get_extra(self, request, obj=None, **kwargs):
        if obj is not None and (obj.is_published or obj.texts.exists()):
            return 0
        if obj is None:
            return max(1, len(_texts_in_force()))
        return 1

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not (obj and obj.is_published)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_published)


def _texts_in_force() -> list[dict]:
    """The texts of the version in force, as the initial data of a new version's forms (no summary)."""
    from .selectors import policy_version_current

    current = policy_version_current()
    if current is None:
        return []
    return [
        {"language": text.language, "title": text.title, "summary": "", "body": text.body}
        for text in current.texts.order_by("language")
    ]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ShownFieldsOnlyMixin, admin.ModelAdmin):
    list_display = ["number", "status", "published_at", "implicit_acceptance_at", "published_by"]
    list_display_fields = {"published_by": ("published_by__email",)}
    list_filter = ["status"]
    ordering = ["-number"]
    inlines = [PolicyTextInline]
    fields = [
        "number",
        "status",
        "published_at",
        "implicit_acceptance_at",
        "published_by",
        "announcement_progress",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "status",
        "published_at",
        "implicit_acceptance_at",
        "published_by",
        "announcement_progress",
        "created_at",
        "updated_at",
    ]

    # --- Read-only once published ----------------------------------------------------------------

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return [*self.fields]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_published)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_published)

    def has_publish_permission(self, request) -> bool:
        """Publishing needs its own permission on top of editing drafts."""
        return self.has_change_permission(request, None) and request.user.has_perm(PUBLISH_PERMISSION)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_publish"] = self.has_publish_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, PolicyTextInline) and obj is not None and obj.pk is None:
            kwargs["initial"] = _texts_in_force()
        return kwargs

    def get_changeform_initial_data(self, request):
        from .selectors import policy_version_next_number

        return {"number": policy_version_next_number(), **super().get_changeform_initial_data(request)}

    @admin.display(description=_("announcement (queued / sent / failed of total)"))
    def announcement_progress(self, obj):
        if obj is None or not obj.is_published:
            return "—"
        progress = outbox_progress(topic=ANNOUNCEMENT_TOPIC, object_id=obj.pk)
        state = _("finished writing") if obj.announced_at else _("writing in progress")
        return format_html(
            '<span class="policy-progress">{} / {} / {} — {} {} ({})</span>',
            progress.queued,
            progress.sent,
            progress.failed,
            _("of"),
            progress.total,
            state,
        )

    # --- Writes go through the services ----------------------------------------------------------

    def save_model(self, request, obj, form, change):
        policy_draft_save(version=obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        version = form.instance
        formset.save(commit=False)  # fills the lists the admin's change message reads; writes nothing
        for deleted in formset.deleted_forms:
            if deleted.instance.pk:
                policy_text_delete(text=deleted.instance, actor=request.user)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            if not data:
                continue
            if inline_form.instance.pk and "language" in inline_form.changed_data:
                old = PolicyText.objects.get(pk=inline_form.instance.pk)
                policy_text_delete(text=old, actor=request.user)
            policy_text_save(
                version=version,
                language=data["language"],
                title=data["title"],
                summary=data.get("summary", ""),
                body=data["body"],
                actor=request.user,
            )

    def delete_model(self, request, obj):
        policy_draft_delete(version=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for version in queryset.filter(status=PolicyVersion.Status.DRAFT):
            policy_draft_delete(version=version, actor=request.user)

    # --- Preview, diff, publish ------------------------------------------------------------------

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name=f"{prefix}_preview",
            ),
            path("<int:pk>/diff/", self.admin_site.admin_view(self.diff_view), name=f"{prefix}_diff"),
            path(
                "<int:pk>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name=f"{prefix}_publish",
            ),
            *super().get_urls(),
        ]

    def _version(self, request, pk: int) -> PolicyVersion:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(PolicyVersion.objects.prefetch_related("texts"), pk=pk)

    def _language(self, request) -> str:
        codes = [code for code, _name in settings.LANGUAGES]
        language = request.GET.get("language", "")
        return language if language in codes else get_language()

    def preview_view(self, request, pk: int):
        version = self._version(request, pk)
        language = self._language(request)
        with translation.override(language):
            response = TemplateResponse(
                request,
                "policies/version.html",
                version_page_context(version=version, language=language, preview=True),
            )
            response.render()
        return response

    def diff_view(self, request, pk: int):
        new = self._version(request, pk)
        old = policy_version_current()
        if old is not None and old.pk == new.pk:
            old = None
        language = self._language(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Diff against the current version"),
            "new": new,
            "old": old,
            "language": language,
            "languages": settings.LANGUAGES,
        }
        if old is not None:
            old_text, new_text, fell_back = policy_texts_for_diff(old=old, new=new, language=language)
            blocks = policy_clause_diff(
                old=old_text.body if old_text else "", new=new_text.body if new_text else ""
            )
            context.update(
                blocks=blocks, changed=any(b.status != "unchanged" for b in blocks), fell_back=fell_back
            )
        return TemplateResponse(request, "admin/policies/policyversion/diff.html", context)

    def publish_view(self, request, pk: int):
        version = self._version(request, pk)
        change_url = reverse("admin:policies_policyversion_change", args=[version.pk])
        if not self.has_publish_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            try:
                policy_version_publish(version=version, actor=request.user)
            except ValidationError as exc:
                for message in exc.messages:
                    self.message_user(request, message, messages.ERROR)
                return redirect(change_url)
            self.message_user(
                request,
                _("Version %(number)s is published; the announcement is on its way.")
                % {"number": version.number},
                messages.SUCCESS,
            )
            return redirect(change_url)
        problems = [problem.message for problem in policy_publish_problems(version=version)]
        languages = {text.language for text in version.texts.all()}
        names = dict(settings.LANGUAGES)
        deadline = implicit_acceptance_deadline(
            published_at=timezone.now(), days=settings.IMPLICIT_ACCEPTANCE_DAYS
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Publish version %(number)s") % {"number": version.number},
            "version": version,
            "problems": problems,
            "languages": ", ".join(str(names[c]) for c, _n in settings.LANGUAGES if c in languages),
            "missing": ", ".join(str(names[c]) for c, _n in settings.LANGUAGES if c not in languages),
            "deadline": format_moment(moment=deadline, language=get_language()),
            "recipients": users_in_agreement().count() if not problems else 0,
        }
        return TemplateResponse(request, "admin/policies/policyversion/publish_confirm.html", context)

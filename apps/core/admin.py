"""Admin pieces every app's admin uses."""

from collections.abc import Callable
from typing import Any

from django.contrib.admin import SimpleListFilter
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, SEARCH_VAR
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db.models.constants import LOOKUP_SEP

from .http import client_ip


class ReadOnlyAdminMixin:
    """Let staff see rows in the admin but never add, change or delete them (evidence, logs, outbox).

    Works for a ModelAdmin and for an inline; the view permission still decides who sees them.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def field_path(model, lookup: str) -> str:
    """Return the path of the field a lookup or search field reads: "assignee" for `assignee__id__exact`,
    "user__email" for `user__email__istartswith`, "" when its first part names no field.

    A relation's own key (`assignee__id`, `assignee__pk`) is the relation itself; "pk" is the primary key.
    """
    opts = model._meta
    path: list[str] = []
    relation = None
    for part in lookup.lstrip("^=@").split(LOOKUP_SEP):
        if part == "pk":
            if relation is not None:
                break
            part = opts.pk.name
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            break
        if relation is not None and (field.primary_key or field.name in getattr(relation, "to_fields", ())):
            break
        path.append(field.name)
        if not getattr(field, "path_infos", None):
            break
        relation = field
        opts = field.path_infos[-1].to_opts
    return LOOKUP_SEP.join(path)


class ShownFieldsOnlyMixin:
    """Filter and search a list only by the fields it shows to the staff member asking.

    The admin accepts a filter on any field in the query string (`?email__startswith=a`): on a field the list
    does not show, each answer would tell one character of a value the role may not see. Here a lookup is
    allowed only on a field of a shown column, a list filter or the date hierarchy, or as the parameter of a
    list filter class; anything else is refused (Django answers 400) before any query, whatever its value.
    Search fields not shown are dropped.
    """

    # The fields each computed column shows, e.g. {"requester_display": ("full_name", "email")}. A relation in
    # list_display shows its text, not its key: list the related fields its text is made of.
    list_display_fields: dict[str, tuple[str, ...]] = {}

    def get_shown_fields(self, request) -> set[str]:
        """Return the paths of the fields this user's list shows: columns, list filters, date hierarchy."""
        shown: set[str] = set()
        for name in self.get_list_display(request):
            if not isinstance(name, str):
                continue
            if name in self.list_display_fields:
                shown.update(field_path(self.model, path) for path in self.list_display_fields[name])
                continue
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if not field.is_relation:
                shown.add(field.name)
        for item in self.get_list_filter(request):
            if isinstance(item, (list, tuple)):
                shown.add(field_path(self.model, item[0]))
            elif isinstance(item, str):
                shown.add(field_path(self.model, item))
        if self.date_hierarchy:
            shown.add(field_path(self.model, self.date_hierarchy))
        shown.discard("")
        return shown

    def _filter_parameters(self, request) -> set[str]:
        return {
            item.parameter_name
            for item in self.get_list_filter(request)
            if isinstance(item, type) and issubclass(item, SimpleListFilter)
        }

    def lookup_allowed(self, lookup, value, request=None):
        if request is None or "\x00" in str(value):
            # No request, no role to judge by; a NUL the database would refuse with an error, not an answer.
            return False
        if lookup in self._filter_parameters(request):
            return True
        path = field_path(self.model, lookup)
        if not path or path not in self.get_shown_fields(request):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        shown = self.get_shown_fields(request)
        return [name for name in super().get_search_fields(request) if field_path(self.model, name) in shown]


class AuditedViewsMixin:
    """Record in the audit log every list page, object page and export of personal data a staff member sees.

    `audit_view` is the audit service that writes the event (apps.audit.services.audit_view_record); core
    imports no app, so each admin names it. A list page records its filters, search and the ids on the page
    (no extra query: the page's rows are read once and rendered from the same result); an object's page, its
    history and its delete confirmation record the object (`audit_object_view` may be replaced by the app's
    own view record); an export records its rows through `audit_export`. A refused lookup is recorded as such
    before Django answers 400.
    """

    audit_view: Callable[..., Any] | None = None  # set as staticmethod(audit_view_record)

    def _audit(self, request, *, action: str, target=None, target_label: str = "", details: dict) -> None:
        if self.audit_view is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs audit_view.")
        self.audit_view(
            actor=request.user,
            action=action,
            target_type=self.opts.label_lower,
            target=target,
            target_label=target_label,
            details=details,
            ip=client_ip(request),
        )

    @staticmethod
    def _query(request) -> dict[str, list[str]]:
        return {key: values for key, values in request.GET.lists() if key not in (PAGE_VAR, ERROR_FLAG)}

    def changelist_view(self, request, extra_context=None):
        try:
            response = super().changelist_view(request, extra_context)
        except DisallowedModelAdminLookup:
            self._audit(request, action="admin.lookup_refused", details={"query": self._query(request)})
            raise
        changelist = getattr(response, "context_data", None) and response.context_data.get("cl")
        if changelist is not None and response.status_code == 200:
            ids = [obj.pk for obj in changelist.result_list]
            query = self._query(request)
            self._audit(
                request,
                action="admin.list",
                details={
                    "filters": {key: values for key, values in query.items() if key != SEARCH_VAR},
                    "search": changelist.query,
                    "page": changelist.page_num,
                    "shown": len(ids),
                    "ids": ids,
                },
            )
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and request.method == "GET":
            self.audit_object_view(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def audit_object_view(self, request, obj) -> None:
        """Record that this object's page was shown."""
        self._audit(request, action="admin.view", target=obj, details={})

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        self._audit_object_page(request, response, action="admin.history")
        return response

    def delete_view(self, request, object_id, extra_context=None):
        response = super().delete_view(request, object_id, extra_context)
        if request.method == "GET":
            self._audit_object_page(request, response, action="admin.delete_confirm")
        return response

    def _audit_object_page(self, request, response, *, action: str) -> None:
        obj = (getattr(response, "context_data", None) or {}).get("object")
        if obj is not None and response.status_code == 200:
            self._audit(request, action=action, target=obj, details={})

    def audit_export(self, request, *, rows: int, ids: list | None = None, name: str = "") -> None:
        """Record an export of `rows` rows: the list's query, and the selection (or all rows matching)."""
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        across = request.POST.get("select_across") == "1"
        details = {
            "rows": rows,
            "query": request.GET.urlencode(),
            "selection": "all matching" if across else "selected",
        }
        if ids is not None:
            details["ids"] = list(ids)
        elif not across:
            details["ids"] = selected
        self._audit(request, action="export.csv", target_label=name, details=details)


class PersonalDataAdminMixin(AuditedViewsMixin, ShownFieldsOnlyMixin):
    """An admin of personal data: filtered and searched only by what it shows, and every view audited."""

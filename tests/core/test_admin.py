from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin, ShownFieldsOnlyMixin, field_path
from apps.notifications.models import OutboxEmail


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class _ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OutboxEmail
    fk_name = "user"


def test_read_only_admin_refuses_add_change_and_delete_even_to_a_superuser(rf, django_user_model):
    request = rf.get("/")
    request.user = django_user_model(is_staff=True, is_superuser=True)
    model_admin = _ReadOnlyAdmin(OutboxEmail, admin.site)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, None)
    assert not model_admin.has_delete_permission(request, None)
    assert model_admin.has_view_permission(request, None)


def test_read_only_inline_refuses_add_change_and_delete(rf, django_user_model):
    request = rf.get("/")
    request.user = django_user_model(is_staff=True, is_superuser=True)
    inline = _ReadOnlyInline(django_user_model, admin.site)
    assert not inline.has_add_permission(request, None)
    assert not inline.has_change_permission(request, None)
    assert not inline.has_delete_permission(request, None)


class _ProblemFilter(admin.SimpleListFilter):
    title = "problem"
    parameter_name = "problem"

    def lookups(self, request, model_admin):
        return [("yes", "yes")]

    def queryset(self, request, queryset):
        return queryset


class _ShownAdmin(ShownFieldsOnlyMixin, admin.ModelAdmin):
    list_display = ["to", "user", "subject_line"]
    list_display_fields = {"user": ("user__email",), "subject_line": ("template",)}
    list_filter = ["status", _ProblemFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["to", "dedup_key", "=user__email", "^user__phone", "template"]

    def subject_line(self, obj):
        return obj.template


def test_field_path_names_the_field_a_lookup_reads():
    assert field_path(OutboxEmail, "to__istartswith") == "to"
    assert field_path(OutboxEmail, "user") == "user"
    assert field_path(OutboxEmail, "user_id") == "user"
    assert field_path(OutboxEmail, "user__id__exact") == "user"
    assert field_path(OutboxEmail, "user__pk") == "user"
    assert field_path(OutboxEmail, "user__email__startswith") == "user__email"
    assert field_path(OutboxEmail, "^user__phone") == "user__phone"
    assert field_path(OutboxEmail, "pk") == "id"
    assert field_path(OutboxEmail, "problem") == ""


def test_only_the_fields_a_list_shows_filter_and_search_it(rf, django_user_model):
    request = rf.get("/")
    request.user = django_user_model(is_staff=True, is_superuser=True)
    model_admin = _ShownAdmin(OutboxEmail, admin.site)
    assert model_admin.get_shown_fields(request) == {"to", "user__email", "template", "status", "created_at"}
    allowed = [
        "to__startswith",
        "template",
        "status__exact",
        "created_at__gte",
        "problem",
    ]
    # Django itself refuses a lookup across a relation that no list filter names, shown or not.
    refused = [
        "user",
        "user__id__exact",
        "user__phone",
        "user__email",
        "dedup_key__startswith",
        "pk",
        "id",
        "context__k",
    ]
    assert all(model_admin.lookup_allowed(lookup, "x", request) for lookup in allowed)
    assert not any(model_admin.lookup_allowed(lookup, "x", request) for lookup in refused)
    assert not model_admin.lookup_allowed("to", "x", None)
    assert model_admin.get_search_fields(request) == ["to", "=user__email", "template"]

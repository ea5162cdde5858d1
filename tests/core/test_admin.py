from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
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

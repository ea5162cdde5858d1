"""Admin pieces every app's admin uses."""


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

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site, so every `@admin.register` lands on it."""

    default_site = "apps.accounts.admin_site.PortalAdminSite"

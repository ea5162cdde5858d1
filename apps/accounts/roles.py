"""The staff roles (groups) created by the migrations 0002_staff_roles and 0003_support_access_grant;
superusers aside, no one gets more."""

from django.utils.translation import gettext_lazy as _

PRIVACY_OFFICER = "Privacy officer"
POLICY_EDITOR = "Policy editor"
SUPPORT = "Support"

ROLE_NAMES = (PRIVACY_OFFICER, POLICY_EDITOR, SUPPORT)
# What staff see: the stored names stay English, the admin shows these.
ROLE_LABELS = {
    PRIVACY_OFFICER: _("Privacy officer"),
    POLICY_EDITOR: _("Policy editor"),
    SUPPORT: _("Support"),
}

"""The staff roles (groups) created by the migrations 0002_staff_roles and 0003_support_access_grant;
superusers aside, no one gets more."""

PRIVACY_OFFICER = "Privacy officer"
POLICY_EDITOR = "Policy editor"
SUPPORT = "Support"

ROLE_NAMES = (PRIVACY_OFFICER, POLICY_EDITOR, SUPPORT)

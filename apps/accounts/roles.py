"""The staff roles (groups) created by the migration 0002_staff_roles; superusers aside, no one gets more."""

PRIVACY_OFFICER = "Privacy officer"
POLICY_EDITOR = "Policy editor"
SUPPORT = "Support"

ROLE_NAMES = (PRIVACY_OFFICER, POLICY_EDITOR, SUPPORT)

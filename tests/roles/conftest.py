from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from apps.accounts.roles import POLICY_EDITOR, PRIVACY_OFFICER, ROLE_NAMES, SUPPORT
from tests.accounts.factories import StaffFactory, UserFactory

ROLE_MIGRATIONS = (
    "apps.accounts.migrations.0002_staff_roles",
    "apps.accounts.migrations.0003_support_access_grant",
    "apps.withdrawals.migrations.0009_privacy_officer_registers_applications",
    "apps.calendars.migrations.0003_privacy_officer_calendar",
    "apps.accounts.migrations.0006_webhooks_and_withdrawn_purposes",
    "apps.breaches.migrations.0002_privacy_officer_breaches",
    "apps.records.migrations.0002_privacy_officer_exports_records",
    "apps.connectors.migrations.0002_privacy_officer_connected_services",
)


def roles_ensure() -> None:
    """Create the role groups as the data migrations do, if a flush (transactional test) removed them."""
    if Group.objects.filter(name__in=ROLE_NAMES).count() < len(ROLE_NAMES):
        for name in ROLE_MIGRATIONS:
            import_module(name).forward(apps, None)


def member(role: str, **kwargs):
    """A staff member (not a superuser) in one role group."""
    roles_ensure()
    kwargs.setdefault("language", "en")
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def officer(db):
    return member(PRIVACY_OFFICER, email="officer@alilo.kz")


@pytest.fixture
def editor(db):
    return member(POLICY_EDITOR, email="editor@alilo.kz")


@pytest.fixture
def support(db):
    return member(SUPPORT, email="support@alilo.kz", full_name="Support Agent")


@pytest.fixture
def superuser(db):
    return StaffFactory(email="root@alilo.kz", language="en")

# The role tests' fixtures: one row of everything the admin shows, and a superuser.
from tests.roles.conftest import superuser  # noqa: F401
from tests.roles.test_role_matrix import world  # noqa: F401

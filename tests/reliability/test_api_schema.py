"""schemathesis generates requests from the API's own OpenAPI schema and sends them, with a valid service
token, to the live server: no answer may be a 5xx."""

import os
from datetime import timedelta

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from apps.acceptances.services import service_token_create
from tests.accounts.factories import UserFactory
from tests.policies.factories import PolicyVersionFactory

from .support import record

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "25"))
TALLY = {"calls": 0, "server_errors": 0, "ok": 0, "unauthorised": 0}


@pytest.fixture
def api_token(transactional_db) -> str:
    PolicyVersionFactory(published=True, published_at=timezone.now() - timedelta(days=1))
    UserFactory(email="schema@example.kz")
    _token, raw = service_token_create(name="schemathesis")
    return raw


@pytest.fixture
def api_schema(live_server, api_token):
    return schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    record(
        "hostile-api",
        done=f"schemathesis: {TALLY['calls']} requests generated from /api/v1/openapi.json, sent to the live "
        f"server with a valid service token ({TALLY['ok']} accepted, {TALLY['unauthorised']} 401)",
        filed=TALLY["calls"],
        stored=TALLY["ok"],
        duplicates=0,
        lost=0,
        errors_5xx=TALLY["server_errors"],
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_generated_api_requests_never_get_a_server_error(case, api_token):
    response = case.call(headers={"Authorization": f"Bearer {api_token}"}, timeout=30)
    TALLY["calls"] += 1
    TALLY["server_errors"] += response.status_code >= 500
    TALLY["ok"] += response.status_code < 300
    TALLY["unauthorised"] += response.status_code == 401
    case.validate_response(response, checks=[not_a_server_error])

"""The API fuzzed from its own OpenAPI schema (schemathesis): whatever is sent, never a 5xx, and
every response is one the schema describes (status, media type, body).

Every operation gets a bounded number of generated requests, signed in as a user
holding every role (so role checks do not stop the requests at the door), and each
again as a requester, a dispatcher, a supervisor and an admin (whose refusals and
smaller views must match the schema too), against a database with a few work orders
in it, on the test's frozen clock. Schemathesis' default checks run, but for positive_data_acceptance: a request
the schema calls well formed may still be refused by the process it names (an event
not allowed in this state, a field the definition requires), with a 409 or 422 the
schema declares. The test clock is reset afterwards.

The schema is read from an app built at import (with the test clock route, as the
suite's apps have it); each test hands that app its own settings and clock, so it
serves the test's own database.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from workflows.schema import ROLES

EXAMPLES = 12
# The all-roles user first (past every role check), then one person per kind of caller.
ROLES_SENT = ("fuzzer", "nurse", "dispatcher", "supervisor", "admin")


@pytest.fixture
def people(app, api, test_clock, tmp_path, monkeypatch):
    monkeypatch.setenv("HOUQIN_ATTACHMENTS_DIR", str(tmp_path / "files"))
    # The schema's app answers from this test's database, on this test's clock.
    APP.state.settings, APP.dependency_overrides = app.state.settings, app.dependency_overrides
    api.user("fuzzer", *ROLES, department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("admin", "admin")
    for title in ("漏水", "<script>x</script>"):
        order = api.new_order("nurse", title=title)
        api.fire("fuzzer", order["id"], "assign", assignee="fuzzer")
    api.new_order("nurse", process="complaint", title="投诉")
    return {name: {"Authorization": f"Bearer {token}"} for name, token in api.tokens.items()}


@pytest.fixture
def fuzzed(people):
    return people["fuzzer"]


def _app():
    from engine.settings import Settings
    from web.app import create_app

    return create_app(Settings(test_clock=True))


APP = _app()
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP  # generated requests go straight to the app, in process


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_fail(case, people):
    """Each generated request is sent as every one of them; each answer must be one the schema describes."""
    for who in ROLES_SENT:
        case.call_and_validate(headers=people[who], excluded_checks=[positive_data_acceptance])


def test_values_the_database_cannot_store_are_refused_not_crashed(app, api, fuzzed):
    """Found by the fuzzer on PostgreSQL: ids past 32 bits and NUL characters were 500s there."""
    client = api.client
    for method, url, body in (
        ("get", "/api/v1/workorders/4611686018427387903", None),
        ("post", "/api/v1/workorders/4611686018427387903/feedback", {"satisfied": False, "comment": "x"}),
        ("get", "/api/v1/workorders?process=%00", None),
        ("post", "/api/v1/workorders", {"process": "repair", "title": "漏\x00水", "fields": {"category": "plumbing"}}),
    ):
        response = getattr(client, method)(url, headers=fuzzed, **({"json": body} if body else {}))
        assert response.status_code < 500, (url, response.text)
        assert response.status_code < 400 or response.json()["detail"]  # a refusal says why

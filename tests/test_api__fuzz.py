"""The API fuzzed from its own OpenAPI schema (schemathesis): whatever is sent, never a 5xx.

Every operation gets a bounded number of generated requests, signed in as a user
holding every role (so role checks do not stop the requests at the door), against
a database with a few work orders in it, on the test's frozen clock.

The schema is read from an app built at import (with the test clock route, as the
suite's apps have it); each test hands that app its own settings and clock, so it
serves the test's own database.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from workflows.schema import ROLES

EXAMPLES = 12


@pytest.fixture
def fuzzed(app, api, test_clock, tmp_path, monkeypatch):
    monkeypatch.setenv("HOUQIN_ATTACHMENTS_DIR", str(tmp_path / "files"))
    # The schema's app answers from this test's database, on this test's clock.
    APP.state.settings, APP.dependency_overrides = app.state.settings, app.dependency_overrides
    api.user("fuzzer", *ROLES, department="后勤保障部")
    api.user("nurse", "requester", department="心内科")
    for title in ("漏水", "<script>x</script>"):
        order = api.new_order("nurse", title=title)
        api.fire("fuzzer", order["id"], "assign", assignee="fuzzer")
    api.new_order("nurse", process="complaint", title="投诉")
    return {"Authorization": f"Bearer {api.tokens['fuzzer']}"}


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
def test_no_request_makes_the_api_fail(case, fuzzed):
    case.call_and_validate(headers=fuzzed, checks=[not_a_server_error])


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

"""The API fuzzed from its own OpenAPI schema (schemathesis): whatever is sent, never a 5xx, and
every response is one the schema describes (status, media type, body).

Every operation gets a bounded number of generated requests, each signed in as a user
holding every role (so role checks do not stop the requests at the door), and again as
one other kind of caller, in turn: a requester, a dispatcher, a supervisor, an admin
(whose refusals and smaller views must match the schema too) and a forged bearer token
(refused before the body is read, by web.session). Every operation gets more requests
than there are kinds of caller, so each kind meets each operation. All against a
database with a few work orders in it, on the test's frozen clock. Schemathesis' default checks run, among them the
status code, media type and response body against the schema (a status the operation
does not document is a failure), but for positive_data_acceptance: a request
the schema calls well formed may still be refused by the process it names (an event
not allowed in this state, a field the definition requires), with a 409 or 422 the
schema declares. The test clock is reset afterwards.

The schema is read from an app built at import (with the test clock route, as the
suite's apps have it); each test hands that app its own settings and clock, so it
serves the test's own database.
"""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (CheckContext, content_type_conformance, load_all_checks, not_a_server_error,
                                 positive_data_acceptance, response_schema_conformance, run_checks_for,
                                 status_code_conformance)

from workflows.schema import ROLES

EXAMPLES = 12
# One person per kind of caller, each request's second caller in turn (the first is the all-roles user).
CALLERS = ("nurse", "dispatcher", "supervisor", "admin", "forged")
# A token in the right shape whose signature is wrong.
FORGED = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLW5vdC1tYWRlLWJ5LWhvdXFpbg"


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
    return {name: {"Authorization": f"Bearer {token}"} for name, token in {**api.tokens, "forged": FORGED}.items()}


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
# The checks that hold every answer to the schema: none may be switched off by configuration.
CONFORMANCE = {not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_fail(case, people):
    """Each generated request is sent as the all-roles user and as the next kind of caller; each answer must be
    one the schema describes."""
    for who in ("fuzzer", CALLERS[next(_turn) % len(CALLERS)]):
        case.call_and_validate(headers=people[who], excluded_checks=[positive_data_acceptance])


_turn = itertools.count()  # the run is derandomized: the same requests meet the same callers every time


def test_the_fuzzer_holds_status_media_type_and_body_to_the_schema():
    load_all_checks()
    for operation in schema.get_all_operations():
        operation = operation.ok()
        config = schema.config.checks_config_for(operation=operation, phase=None)
        context = CheckContext(override=None, auth=None, headers=None, config=config, transport_kwargs=None,
                               response_checks=run_checks_for(schema).for_responses())
        assert CONFORMANCE <= set(context.internals.checks), operation.label


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

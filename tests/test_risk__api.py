"""GET /api/v1/workorders?at_risk=true: the open work orders likely to miss a deadline, riskiest first, with why.

History (by the live engine, tests/risk_support.py): high-priority repairs must be answered in 30 minutes.
Of 30 plumbing repairs 4 were answered late; of 30 electrical ones, 20.
"""
from datetime import timedelta

import pytest

from engine.published import definitions
from engine.storage.models import User
from risk_support import accepted_after, file_repairs
from sla_support import at

START = at("2026-03-02T08:00:00")
NOW = START + timedelta(days=3)


@pytest.fixture
def who(api, make_user):
    make_user("head", "dept_head", department="心内科")
    people = {name: api.user(name, *roles, department=dept, team=team) for name, roles, dept, team in [
        ("nurse", ["requester"], "心内科", None), ("dispatcher", ["dispatcher"], "后勤保障部", None),
        ("supervisor", ["supervisor"], "后勤保障部", None), ("tech", ["technician"], "后勤保障部", "水电班"),
        ("stranger", ["requester"], "骨科", None)]}
    return people


@pytest.fixture
def history(session, who, test_clock):
    file_repairs(session, who, start=START, category="plumbing", outcomes=accepted_after(*[10] * 26, *[45] * 4))
    file_repairs(session, who, start=START, category="electrical", outcomes=accepted_after(*[10] * 10, *[45] * 20))
    test_clock.set(NOW)


def _open(session, who, minutes_ago: int, category: str) -> int:
    return file_repairs(session, who, start=NOW - timedelta(minutes=minutes_ago), outcomes=[None], category=category)[0]


def test_the_likely_late_are_listed_riskiest_first_with_their_reason(api, session, who, history):
    calm = _open(session, who, 6, "plumbing")
    worrying = _open(session, who, 6, "electrical")
    worst = _open(session, who, 16, "electrical")
    response = api.as_("supervisor").get("/api/v1/workorders", params={"at_risk": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["id"] for item in body["items"]] == [worst, worrying] and body["total"] == 2
    assert calm not in [item["id"] for item in body["items"]]
    first, second = (item["risk"] for item in body["items"])
    assert first["probability"] == pytest.approx(1.0) and first["timer"] == "response"
    # 20 of 30 went late; the two still waiting count as running where they stand (Kaplan-Meier)
    assert second["probability"] == pytest.approx(20 / 30, abs=0.02) and second["threshold"] == 0.6
    assert second["reason"]["text"] == f"{round(second['probability'] * 100)}% of similar work orders did not finish in the time left"
    assert second["reason"]["group"]["category"] == "electrical" and second["reason"]["group"]["state"] == "assigned"
    assert second["reason"]["similar"] >= 30 and second["reason"]["used"] == pytest.approx(0.2)


def test_the_reason_speaks_the_callers_language(api, session, who, history):
    _open(session, who, 16, "electrical")
    session.get(User, who["supervisor"].id).language = "en"  # the pages' choice; an API answer follows its request
    session.commit()
    item = api.as_("supervisor").get("/api/v1/workorders?at_risk=true", headers={"Accept-Language": "zh-CN"}).json()["items"][0]
    assert item["risk"]["reason"]["text"] == "同类工单 100% 在剩余时间内未完成"
    item = api.as_("supervisor").get("/api/v1/workorders?at_risk=true").json()["items"][0]  # the suite's client reads en
    assert item["risk"]["reason"]["text"] == "100% of similar work orders did not finish in the time left"


def test_at_risk_combines_with_the_other_filters_paging_and_visibility(api, session, who, history):
    worrying, worst = _open(session, who, 6, "electrical"), _open(session, who, 16, "electrical")
    supervisor = api.as_("supervisor")

    def ids(**params):
        body = supervisor.get("/api/v1/workorders", params={"at_risk": "true", **params}).json()
        return [item["id"] for item in body["items"]], body["total"]

    assert ids(process="repair") == ([worst, worrying], 2)
    assert ids(priority="urgent") == ([], 0)
    assert ids(limit=1) == ([worst], 2) and ids(limit=1, offset=1) == ([worrying], 2)
    assert ids(overdue="true") == ([], 0)
    mine = api.as_("nurse").get("/api/v1/workorders?at_risk=true").json()
    assert [item["id"] for item in mine["items"]] == [worst, worrying]  # she filed them
    assert api.as_("stranger").get("/api/v1/workorders?at_risk=true").json() == {
        "items": [], "total": 0, "limit": 50, "offset": 0}


def test_a_timer_with_a_higher_threshold_lists_less(api, session, who, history):
    row = definitions.row(session, "repair")
    definitions.publish(session, row.yaml_text.replace("    at_risk: 0.6 ", "    at_risk: 0.9 "), now=NOW - timedelta(hours=1))
    session.commit()
    _open(session, who, 6, "electrical")  # at risk, though not at 0.9
    worst = _open(session, who, 16, "electrical")
    body = api.as_("supervisor").get("/api/v1/workorders?at_risk=true").json()
    assert [item["id"] for item in body["items"]] == [worst]
    assert body["items"][0]["risk"]["threshold"] == 0.9


def test_without_at_risk_the_list_is_as_it_was(api, session, who, history):
    order = _open(session, who, 16, "electrical")
    body = api.as_("supervisor").get("/api/v1/workorders", params={"process": "repair", "limit": 200}).json()
    assert body["total"] == 61
    item = next(item for item in body["items"] if item["id"] == order)
    assert item["risk"] is None and item["number"] and item["sla"] and item["state"] == "assigned"


def test_at_risk_must_be_a_boolean(api, who):
    response = api.as_("supervisor").get("/api/v1/workorders?at_risk=maybe")
    assert response.status_code == 422 and "at_risk" in response.text

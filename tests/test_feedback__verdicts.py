"""The requester's verdict on a resolved repair: satisfied closes it, unsatisfied reopens it."""
from datetime import datetime

import pytest

T = datetime.fromisoformat


@pytest.fixture
def people(api):
    api.user("nurse", "requester", department="心内科")
    api.user("nurse2", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("tech", "technician", department="后勤保障部")
    return api


def resolved_repair(api, labour=30) -> dict:
    order = api.new_order("nurse", title="病房水龙头漏水", location="5F 512")
    api.fire("dispatcher", order["id"], "assign", assignee="tech")
    api.fire("tech", order["id"], "accept")
    api.fire("tech", order["id"], "start")
    return api.fire("tech", order["id"], "resolve", fields={"labour_minutes": labour})


def feedback(api, who, order_id, expect=200, **body):
    response = api.as_(who).post(f"/api/v1/workorders/{order_id}/feedback", json=body)
    assert response.status_code == expect, response.text
    return response.json()


def test_a_satisfied_requester_with_a_rating_closes_the_repair(people, test_clock):
    order = resolved_repair(people)
    order = feedback(people, "nurse", order["id"], satisfied=True, rating=5, comment="修得很快")
    assert order["state"] == "closed" and order["closed"] is True
    assert order["auto_confirmed"] is False and order["reopen_count"] == 0
    [verdict] = [h for h in order["history"] if h["kind"] == "feedback"]
    assert verdict["actor"] == "nurse" and verdict["data"] == {"satisfied": True, "rating": 5, "auto": False}
    assert verdict["comment"] == "修得很快"


def test_satisfied_without_a_rating_or_with_a_rating_of_six_is_refused(people, test_clock):
    order = resolved_repair(people)
    assert "rating" in feedback(people, "nurse", order["id"], 422, satisfied=True)["detail"]
    feedback(people, "nurse", order["id"], 422, satisfied=True, rating=6)
    assert people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()["state"] == "resolved"


def test_only_the_requester_gives_the_verdict(people, test_clock):
    order = resolved_repair(people)
    feedback(people, "nurse2", order["id"], 403, satisfied=True, rating=5)


def test_an_unsatisfied_requester_reopens_the_repair_and_the_resolution_clock_starts_again(people, test_clock):
    order = resolved_repair(people)
    test_clock.set(T("2026-10-13T10:00:00+08:00"))  # Tuesday
    body = feedback(people, "nurse", order["id"], 422, satisfied=False)
    assert "still wrong" in body["detail"]

    order = feedback(people, "nurse", order["id"], satisfied=False, comment="还在滴水")
    assert order["state"] == "assigned" and order["assignee"] == "tech" and order["reopen_count"] == 1
    resolution = [t for t in order["sla"] if t["name"] == "resolution"]
    assert [(t["cycle"], t["state"]) for t in resolution] == [(1, "met"), (2, "running")]
    # normal priority: 3 working days on the workday calendar from Tuesday 10:00
    assert T(resolution[1]["started_at"]) == T("2026-10-13T10:00:00+08:00")
    assert T(resolution[1]["due_at"]) == T("2026-10-16T10:00:00+08:00")

    # Fixed again and reopened a second time: the count goes on.
    for event in ("accept", "start"):
        people.fire("tech", order["id"], event)
    people.fire("tech", order["id"], "resolve", fields={"labour_minutes": 20})
    order = feedback(people, "nurse", order["id"], satisfied=False, comment="又漏了")
    assert order["reopen_count"] == 2
    assert [t["cycle"] for t in order["sla"] if t["name"] == "resolution"] == [1, 2, 3]

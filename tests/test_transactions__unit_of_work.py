"""One unit of work per request and per job: all of it is kept, or none of it, and the answer says which.

Faults are injected where the engine would meet them (a commit that finds the work order
changed, a crash halfway through a step): what a user notices is the status code and that
nothing half-done is left behind.
"""
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, func, select

from engine.orders import feedback, recurring, workorders
from engine.settings import Settings
from engine.storage import db
from engine.storage.models import RecurringRun, WorkOrder
import test_feedback__verdicts as verdicts
from test_recurring__runs import RULES, schedule

T = datetime.fromisoformat
people, resolved_repair = verdicts.people, verdicts.resolved_repair  # the verdict tests' requester, desk and technician


def test_a_change_found_stale_at_commit_answers_409_before_any_response(people, monkeypatch):
    """The request commits before it answers: a conflict at commit is a 409, never a 200 for lost work."""
    order = people.new_order("nurse")
    real_commit, failures = Session.commit, []

    def commit_once_stale(session):
        if not failures:
            failures.append(True)
            raise StaleDataError("UPDATE statement on table 'work_orders' expected to update 1 row(s); 0 were matched.")
        return real_commit(session)

    monkeypatch.setattr(Session, "commit", commit_once_stale)
    body = people.fire("dispatcher", order["id"], "assign", expect=409, assignee="tech")
    assert "changed by someone else at the same time; reload it and try again" in body["detail"]
    current = people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert (current["state"], current["assignee"], current["version"]) == ("reported", None, 1)


def test_a_verdict_and_its_transition_are_kept_together_or_not_at_all(people, monkeypatch, test_clock):
    order = resolved_repair(people)

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(feedback, "Feedback", broken)  # fails after the transition was written
    with pytest.raises(RuntimeError):
        people.as_("nurse").post(f"/api/v1/workorders/{order['id']}/feedback", json={"satisfied": True, "rating": 5})
    current = people.as_("nurse").get(f"/api/v1/workorders/{order['id']}").json()
    assert current["state"] == "resolved" and not [h for h in current["history"] if h["kind"] == "feedback"]


def test_a_recurring_period_that_fails_while_assigning_leaves_nothing_and_is_made_on_the_next_run(
        db_url, make_user, monkeypatch):
    """The claim, the work order and its assignment are one transaction: no unassigned orphan, no lost period."""
    make_user("tech", "technician", department="后勤保障部")
    text = RULES.replace("    location: ICU\n", "    location: ICU\n    assignee: tech\n")
    real_fire = workorders.fire

    def crashing_fire(*args, **kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(recurring.workorders, "fire", crashing_fire)
    with Session(db.get_engine(db_url), expire_on_commit=False) as session, pytest.raises(RuntimeError):
        recurring.run_due(session, T("2026-10-12T06:00:00+08:00"), schedule(session, text))
    with Session(db.get_engine(db_url)) as session:
        assert session.exec(select(func.count()).select_from(RecurringRun)).one() == 0
        assert session.exec(select(func.count()).select_from(WorkOrder)).one() == 0

    monkeypatch.setattr(recurring.workorders, "fire", real_fire)
    with Session(db.get_engine(db_url), expire_on_commit=False) as session:
        [order] = recurring.run_due(session, T("2026-10-12T06:00:00+08:00"), schedule(session, text))
    assert order.state == "assigned"


def test_each_app_has_its_own_clock(db_url, make_user):
    """Setting the test clock of one app does not move another's: there is no process-wide clock."""
    from web.app import create_app

    make_user("nurse", "requester", department="心内科")
    settings = Settings(database_url=db_url, test_clock=True)
    frozen, running = TestClient(create_app(settings)), TestClient(create_app(settings))
    assert frozen.put("/api/v1/_test/clock", json={"now": "2026-10-09T17:00:00+08:00"}).status_code == 200
    created = {}
    for name, client in (("frozen", frozen), ("running", running)):
        token = client.post("/api/v1/auth/token", data={"username": "nurse", "password": "correct-horse-battery"})
        response = client.post("/api/v1/workorders", headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                               json={"process": "repair", "title": "水龙头漏水", "fields": {"category": "plumbing"}})
        created[name] = response.json()["created_at"]
    assert created["frozen"].startswith("2026-10-09T09:00:00")
    assert not created["running"].startswith("2026-10-09")

"""Showing a work order costs the same few queries however long its history, and a list the same
however many work orders it holds: names are looked up in batches, never one query per row.

Statements are counted with a SQLAlchemy `before_cursor_execute` listener on the test database.
"""
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from engine.storage import db as db_module
from engine.storage.models import Escalation, History, SlaTimer, User
from page_support import visitor

PEOPLE = [f"tech{n}" for n in range(20)]


@pytest.fixture
def staff(api, test_clock):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    for name in PEOPLE:
        api.user(name, "technician", department="后勤保障部")
    return api


@contextmanager
def statements(db_url):
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db_module.get_engine(db_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _lengthen(session, order_id: int, entries: int, people: list) -> None:
    """`entries` more history rows by twenty different people, every fifth telling some of them, and an
    escalation per timer rung telling others."""
    start = session.exec(select(History.at).where(History.work_order_id == order_id)).first()
    for n in range(entries):
        actor = people[n % len(people)]
        told = {"recipients": [p.username for p in people[n % 7:n % 7 + 3]]} if n % 5 == 0 else {}
        session.add(History(work_order_id=order_id, at=start + timedelta(minutes=n + 1), actor_id=actor.id,
                            kind="notification" if told else "comment", comment=f"第 {n} 条", data=told))
    timer = session.exec(select(SlaTimer).where(SlaTimer.work_order_id == order_id)).first()
    for level in range(1, 4):
        session.add(Escalation(timer_id=timer.id, work_order_id=order_id, level=level, fired_at=start,
                               recipients=[p.username for p in people[level:level + 4]]))
    session.commit()


def _people(session):
    return list(session.exec(select(User).where(User.username.in_(PEOPLE)).order_by(User.id)).all())


def test_a_work_order_with_200_history_entries_costs_what_one_with_a_single_entry_does(staff, session, db_url):
    short = staff.new_order("nurse", title="短")
    long = staff.new_order("nurse", title="长")
    people = _people(session)
    _lengthen(session, short["id"], 1, people)
    _lengthen(session, long["id"], 200, people)
    supervisor = staff.as_("supervisor")

    counts = {}
    for name, order in (("short", short), ("long", long)):
        supervisor.get(f"/api/v1/workorders/{order['id']}")  # compiled definitions cached, token checked once
        with statements(db_url) as seen:
            response = supervisor.get(f"/api/v1/workorders/{order['id']}")
        assert response.status_code == 200
        counts[name] = len(seen)
    assert len(response.json()["history"]) == 201  # created, then the 200 added
    assert counts["long"] == counts["short"], counts


def test_the_order_page_with_200_history_entries_costs_what_a_short_one_does(app, staff, session, db_url):
    short = staff.new_order("nurse", title="短")
    long = staff.new_order("nurse", title="长")
    people = _people(session)
    _lengthen(session, short["id"], 1, people)
    _lengthen(session, long["id"], 200, people)
    page = visitor(app, "supervisor")

    counts = {}
    for name, order in (("short", short), ("long", long)):
        page.get(f"/orders/{order['id']}")
        with statements(db_url) as seen:
            response = page.get(f"/orders/{order['id']}")
        assert response.status_code == 200
        counts[name] = len(seen)
    assert "第 199 条" in response.text and "tech19" in response.text
    assert counts["long"] == counts["short"], counts


def test_a_list_of_thirty_costs_what_a_list_of_three_does(app, staff, db_url):
    def cost(url: str, headers=None, client=None) -> int:
        (client or staff.client).get(url, headers=headers)
        with statements(db_url) as seen:
            response = (client or staff.client).get(url, headers=headers)
        assert response.status_code == 200
        return len(seen)

    supervisor = {"Authorization": f"Bearer {staff.tokens['supervisor']}"}
    page = visitor(app, "supervisor")
    for n in range(3):
        order = staff.new_order("nurse", title=f"第{n}单")
        staff.fire("dispatcher", order["id"], "assign", assignee=PEOPLE[n])
    few = cost("/api/v1/workorders", supervisor), cost("/department?department=", client=page.client)
    for n in range(3, 30):
        order = staff.new_order("nurse", title=f"第{n}单")
        staff.fire("dispatcher", order["id"], "assign", assignee=PEOPLE[n % len(PEOPLE)])
    many = cost("/api/v1/workorders", supervisor), cost("/department?department=", client=page.client)
    assert len(staff.as_("supervisor").get("/api/v1/workorders").json()["items"]) == 30
    assert many == few

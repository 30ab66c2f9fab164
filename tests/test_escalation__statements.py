"""What a sweep costs the database: a page of rungs sends the same statements whether it fires one rung or fifty.

Fifty urgent repairs, each of its own work order, are warned at 80% (and, three minutes later, escalated too:
two rungs per timer, the work orders' escalation level raised) with as many statements as one repair is:
claims, reads and writes are made once per page (engine/sla/escalation.py), never once per rung.
"""
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from engine.foresight import risk
from engine.orders import workorders
from engine.orders.workorders import EventInput
from engine.sla import escalation
from engine.storage import db
from engine.storage.models import Channel, Escalation, History, Notification, Outbox
from sla_support import at
from statements_support import statements


@pytest.fixture
def staff(session, make_user):
    people = {"nurse": make_user("nurse", "requester", department="心内科"),
              "dispatcher": make_user("dispatcher", "dispatcher", department="后勤保障部"),
              "tech": make_user("tech", "technician", department="后勤保障部")}
    make_user("dispatcher2", "dispatcher", department="后勤保障部")
    session.add(Channel(name="值班群", kind="webhook", target="http://127.0.0.1:9/hook"))  # so deliveries are queued
    session.commit()
    return people


def _repairs(session, staff, count: int, filed) -> list[int]:
    ids = []
    for i in range(count):
        order = workorders.create(session, staff["nurse"], process="repair", title=f"手术室停电 {i}",
                                  priority="urgent", fields={"category": "electrical"}, now=filed)
        workorders.fire(session, staff["dispatcher"], order.id, "assign", EventInput(assignee="tech"), filed)
        ids.append(order.id)
    session.commit()
    return ids


def _swept(db_url, now) -> tuple[list, int]:
    """One sweep at `now` (the at-risk scoring, once a minute, left out): what fired and the statements sent."""
    with Session(db.get_engine(db_url), expire_on_commit=False) as session:
        risk.sweep_due(session, now)  # scored already this minute: only the rungs at a time fire
        with statements(db_url) as sent:
            fired = escalation.sweep(session, now)
    return fired, len(sent)


def _lines(session, orders: list[int]) -> dict:
    session.rollback()
    counted = select(History.kind, func.count()).where(
        History.work_order_id.in_(orders), History.kind.in_(("escalation", "notification"))).group_by(History.kind)
    return dict(session.exec(counted).all())


@pytest.mark.parametrize("late", [12, 16], ids=["warned", "warned and escalated"])
def test_fifty_rungs_cost_the_statements_of_one(staff, session, db_url, late):
    filed = at("2026-10-12T09:00:00")
    one = _repairs(session, staff, 1, filed)
    _swept(db_url, filed + timedelta(minutes=5))  # warm up: nothing due yet
    fired_one, statements_one = _swept(db_url, filed + timedelta(minutes=late))

    later = filed + timedelta(hours=6)  # the first repair's ladder has nothing more due before 13:00 (level 2 at 09:45)
    _swept(db_url, later)
    fifty = _repairs(session, staff, 50, later)
    told_before = _lines(session, fifty)["notification"]  # of their filing and assignment
    fired_fifty, statements_fifty = _swept(db_url, later + timedelta(minutes=late))

    rungs = 1 if late == 12 else 2
    assert sorted(f.work_order_id for f in fired_one) == one * rungs
    assert sorted(f.work_order_id for f in fired_fifty) == sorted(fifty * rungs)
    assert statements_fifty == statements_one, (statements_one, statements_fifty)
    assert statements_one <= 16  # a page: claims, a few reads, one write per kind of row

    # The same rows as rung by rung: per rung, its escalation, its timeline line, and per person told a
    # notification, a timeline line for the notice and a delivery.
    session.rollback()
    escalations = session.exec(select(func.count()).select_from(Escalation)
                               .where(Escalation.work_order_id.in_(fifty))).one()
    notes = session.exec(select(func.count()).select_from(Notification).where(
        Notification.work_order_id.in_(fifty), Notification.kind.in_(("warning", "escalation")))).one()
    lines = _lines(session, fifty)
    deliveries = [payload for payload in session.exec(select(Outbox.payload)).all()
                  if "level" in payload and payload["work_order"]["id"] in fifty]
    assert escalations == 50 * rungs
    assert notes == 50 * 3 * rungs  # the technician and the two dispatchers, at each rung
    assert (lines["escalation"], lines["notification"] - told_before) == (50 * rungs, 50 * rungs)
    assert len(deliveries) == 50 * rungs

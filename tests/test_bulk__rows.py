"""Rows written in bulk (engine/storage/bulk.py, what the SLA sweep writes) are the rows one statement each would write.

On PostgreSQL a page's rows travel to the server as one JSON document; what a reader gets back must not
show it: the same texts (quotes, backslashes, Chinese, line breaks), the same JSON documents (None as JSON
null), the same times, ids in the order the rows were gathered, and a too long title refused, not cut.
"""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from engine.storage.bulk import Bulk, write_changes
from engine.storage.models import History, Notification, Outbox, SlaTimer, Watcher, WorkOrder
from sla_support import at
from statements_support import statements

TITLES = ['RP-2026-0001 手术室 "无影灯" 不亮', "C:\\wards\\3F\\n not a line break", "两行\n第二行\t制表", "", "é ☃ 𝄞"]


@pytest.fixture
def order(session, make_user):
    nurse = make_user("nurse", "requester", department="心内科")
    row = WorkOrder(number="RP-2026-0001", process="repair", definition_version=1, state="assigned", priority="urgent",
                    title="t", reporter_id=nurse.id, created_at=at("2026-10-12T09:00:00"),
                    updated_at=at("2026-10-12T09:00:00"))
    session.add(row)
    session.commit()
    return row


def _rows(order: WorkOrder) -> dict:
    when = at("2026-10-12T09:13:00.123456")
    return {
        Notification: [dict(user_id=order.reporter_id, work_order_id=order.id, kind="warning", title=title,
                            body=title[::-1], message=({"code": "sla_warning_due", "params": {"timer": title}}
                                                       if i % 2 else None), created_at=when)
                       for i, title in enumerate(TITLES)],
        History: [dict(work_order_id=order.id, at=when, kind="escalation", comment=title,
                       data={"level": i, "recipients": [title], "share": 0.25, "none": None})
                  for i, title in enumerate(TITLES)],
        Outbox: [dict(channel_id=1, next_attempt_at=when, created_at=when,
                      payload={"title": title, "work_order": {"id": order.id}}) for title in TITLES],
        Watcher: [dict(work_order_id=order.id, user_id=order.reporter_id)],
    }


def _stored(session, model) -> list[tuple]:
    """Every column but the id, as the database's own text, in id order."""
    columns = [column.name for column in model.__table__.c if column.name != "id"]
    key = "id" if "id" in model.__table__.c else ", ".join(column.name for column in model.__table__.primary_key)
    return session.execute(text(f"SELECT {', '.join(f'CAST({name} AS TEXT)' for name in columns)} "
                                f"FROM {model.__tablename__} ORDER BY {key}")).all()


def _one_by_one(session, rows: dict) -> dict:
    """What plain INSERTs of the same rows store, each model's table emptied after it is read."""
    stored = {}
    for model, values in rows.items():
        gathered = Bulk()
        for value in values:
            gathered.add(model, **value)  # the same declared defaults
        for row in gathered.of(model):
            session.execute(insert(model.__table__), row)
        stored[model] = _stored(session, model)
        session.execute(text(f"DELETE FROM {model.__tablename__}"))
    return stored


def test_bulk_rows_read_back_as_rows_inserted_one_by_one(session, order):
    session.execute(text("INSERT INTO channels (id, name, kind, target, kinds, active, recipients, options, secret,"
                         " language) VALUES (1, '值班群', 'webhook', 'http://127.0.0.1:9/hook', '', true, '[]', '{}',"
                         " '', 'zh')"))
    rows = _rows(order)
    expected = _one_by_one(session, rows)

    gathered = Bulk()
    for model, values in rows.items():
        for value in values:
            gathered.add(model, **value)
    gathered.write(session)

    for model in rows:
        assert _stored(session, model) == expected[model], model.__name__
    said = session.exec(select(Notification).order_by(Notification.id)).all()
    assert [note.title for note in said] == TITLES  # ids follow the order the rows were gathered in
    assert [note.message for note in said][:2] == [None, {"code": "sla_warning_due", "params": {"timer": TITLES[1]}}]
    assert said[0].created_at == datetime(2026, 10, 12, 1, 13, 0, 123456, tzinfo=timezone.utc)


def test_a_title_longer_than_its_column_is_refused_not_cut(session, order, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite does not check a VARCHAR's length")
    gathered = Bulk()
    gathered.add(Notification, user_id=order.reporter_id, work_order_id=order.id, kind="warning", title="长" * 301,
                 created_at=at("2026-10-12T09:13:00"))
    with pytest.raises(DBAPIError, match="too long"):
        gathered.write(session)


def test_timer_changes_written_together_are_stored_and_not_written_again(session, order, db_url):
    started = at("2026-10-12T09:00:00")
    for name in ("response", "repair"):
        session.add(SlaTimer(work_order_id=order.id, name=name, calendar="24x7", target_minutes=15, started_at=started,
                             due_at=started + timedelta(minutes=15), next_check_at=started + timedelta(minutes=12)))
    session.commit()
    warned, stopped = session.exec(select(SlaTimer).order_by(SlaTimer.id)).all()
    warned.level, warned.next_check_at = 0, started + timedelta(minutes=15)
    stopped.level, stopped.status, stopped.next_check_at = 0, "met", None  # a change besides those written together

    write_changes(session, [warned, stopped], ("level", "breached", "next_check_at"))
    with statements(db_url) as sent:
        session.flush()
    session.commit()

    assert len(sent) == (1 if db_url.startswith("postgresql") else 2)  # on SQLite the flush writes both
    session.expire_all()
    stored = [(timer.level, timer.status, timer.next_check_at) for timer in session.exec(
        select(SlaTimer).order_by(SlaTimer.id)).all()]
    assert stored == [(0, "running", started + timedelta(minutes=15)), (0, "met", None)]

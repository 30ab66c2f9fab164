"""Filing a work order and firing one event cost a fixed, small number of statements, however long
the order's history: the write path reads what it needs once and writes each row once.

Statements are counted with a SQLAlchemy `before_cursor_execute` listener (bench/transitions.py
reports the same figure per step of a whole repair's life)."""
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlmodel import Session

from engine.orders import workorders
from engine.orders.workorders import EventInput
from engine.storage import db as db_module
from engine.storage.models import History
from engine.storage.unit_of_work import unit_of_work
from statements_support import statements

CREATE = 11  # definition, counter, routing reads, order, calendars version, history, two SLA timers
ACCEPT = 7  # order, its timers, channels; the timer stopped, the order, its timeline, the reporter's notice
START = 3  # order; the order, its timeline: starting the work moves no timer, so none is read


@contextmanager
def step(db_url):
    """A unit of work as a request has one, and the statements it sent."""
    with statements(db_url) as seen, Session(db_module.get_engine(db_url), expire_on_commit=False) as session, \
            unit_of_work(session):
        yield session, seen


@pytest.fixture
def people(make_user):
    return {"nurse": make_user("nurse", "requester", department="内科"),
            "dispatcher": make_user("dispatcher", "dispatcher"),
            "tech": make_user("tech", "technician", department="后勤保障部", team="水电班")}


def _file(db_url, people, now):
    with step(db_url) as (session, seen):
        order = workorders.create(session, people["nurse"], process="repair", title="水龙头漏水", location="3F 护士站",
                                  fields={"category": "plumbing"}, now=now)
    return order, seen


def _assigned(db_url, people, test_clock):
    order, _ = _file(db_url, people, test_clock.now())
    with step(db_url) as (session, _):
        workorders.fire(session, people["dispatcher"], order.id, "assign", EventInput(assignee="tech"),
                        now=test_clock.now() + timedelta(minutes=5))
    return order


def test_filing_costs_a_fixed_number_of_statements(db_url, people, test_clock):
    _file(db_url, people, test_clock.now())  # the definition compiled, caches filled
    _, seen = _file(db_url, people, test_clock.now())
    assert len(seen) <= CREATE, seen


@pytest.mark.parametrize("history_entries", [0, 200])
def test_accepting_costs_a_fixed_number_of_statements(db_url, people, test_clock, history_entries):
    _assigned(db_url, people, test_clock)  # warm: the definition compiled, caches filled
    order = _assigned(db_url, people, test_clock)
    with Session(db_module.get_engine(db_url)) as session:
        session.add_all([History(work_order_id=order.id, at=test_clock.now(), actor_id=people["nurse"].id,
                                 kind="comment", comment=f"第 {n} 条", data={}) for n in range(history_entries)])
        session.commit()
    with step(db_url) as (session, seen):
        accepted = workorders.fire(session, people["tech"], order.id, "accept", EventInput(),
                                   now=test_clock.now() + timedelta(minutes=10))
    assert accepted.state == "accepted"
    assert len(seen) <= ACCEPT, seen


def test_a_step_that_moves_no_timer_reads_none(db_url, people, test_clock):
    order = _assigned(db_url, people, test_clock)
    with step(db_url) as (session, _):
        workorders.fire(session, people["tech"], order.id, "accept", EventInput(), now=test_clock.now() + timedelta(minutes=10))
    with step(db_url) as (session, seen):
        started = workorders.fire(session, people["tech"], order.id, "start", EventInput(),
                                  now=test_clock.now() + timedelta(minutes=20))
    assert started.state == "in_progress"
    assert len(seen) <= START, seen
    assert not any("sla_timers" in statement for statement in seen), seen

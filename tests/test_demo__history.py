"""The demo hospital's six months of history: reproducible, with a hospital's rhythm and mix, consistent with
the engine's own rules, carried on by the live engine, and with a cockpit that looks like a hospital's."""
import hashlib
import logging
from collections import Counter, defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from engine.clock import Clock
from engine.demo import load_demo
from engine.foresight import journeys, timeline
from engine.orders import recurring, workorders
from engine.people.users import actor_for
from engine.published import definitions
from engine.storage import db as db_module
from engine.storage.models import (AutoConfirmTimer, Escalation, Feedback, History, RecurringRun, SlaTimer, User,
                                   WorkOrder)
from engine.storage.unit_of_work import unit_of_work
from foresight_support import NOW, build, demo_history  # noqa: F401
from web.cli import main

ZONE = ZoneInfo("Asia/Shanghai")


def _orders(session, process=None):
    query = select(WorkOrder).where(WorkOrder.created_at < NOW - timedelta(days=1))
    if process:
        query = query.where(WorkOrder.process == process)
    return session.exec(query).all()


# --- reproducible ----------------------------------------------------------------------------------------

def _fingerprint(url: str) -> tuple[dict, str]:
    """Counts per table and a checksum of what was written, by numbers (never ids)."""
    with Session(db_module.get_engine(url)) as session:
        numbers = dict(session.exec(select(WorkOrder.id, WorkOrder.number)).all())
        digest = hashlib.sha256()
        for row in session.exec(select(WorkOrder.number, WorkOrder.state, WorkOrder.priority, WorkOrder.created_at,
                                       WorkOrder.closed_at, WorkOrder.escalation_level, WorkOrder.fields)
                                .order_by(WorkOrder.number)):
            digest.update(repr(row).encode())
        for order_id, at, kind, event, to_state, actor, data in session.exec(
                select(History.work_order_id, History.at, History.kind, History.event, History.to_state,
                       History.actor_id, History.data).order_by(History.id)):
            digest.update(repr((numbers[order_id], at, kind, event, to_state, actor, data)).encode())
        for order_id, name, cycle, status, due in session.exec(
                select(SlaTimer.work_order_id, SlaTimer.name, SlaTimer.cycle, SlaTimer.status, SlaTimer.due_at)
                .order_by(SlaTimer.id)):
            digest.update(repr((numbers[order_id], name, cycle, status, due)).encode())
        counts = {model.__tablename__: session.exec(select(func.count()).select_from(model)).one()
                  for model in (WorkOrder, History, SlaTimer, Escalation, Feedback, AutoConfirmTimer, RecurringRun)}
    return counts, digest.hexdigest()


def _demo_into(url: str, seed: int) -> None:
    with Session(db_module.get_engine(url), expire_on_commit=False) as session, unit_of_work(session):
        recurring.publish_file(session, now=NOW)
        load_demo(session, NOW, months=0.5, seed=seed)


def test_the_same_seed_writes_the_same_history_on_any_database_and_another_seed_another(db_url, tmp_path):
    _demo_into(db_url, seed=7)  # PostgreSQL when the suite runs there
    same = build(tmp_path / "same.db", months=0.5, seed=7)
    other = build(tmp_path / "other.db", months=0.5, seed=8)
    counts, checksum = _fingerprint(db_url)
    assert counts["work_orders"] > 500 and counts["history"] > 5000
    assert _fingerprint(same.url) == (counts, checksum)
    assert _fingerprint(other.url)[1] != checksum


# --- the rhythm and the mix ------------------------------------------------------------------------------

def test_more_repairs_are_filed_in_the_morning_than_at_night_and_on_workdays_than_on_days_off(demo_history):
    with demo_history.session() as session:
        filed = [order.created_at.astimezone(ZONE) for order in _orders(session, "repair")]
        workday = journeys.calendars_in_force(session)("workday")
    hours = Counter(at.hour for at in filed)
    assert sum(hours[h] for h in range(8, 12)) > 5 * sum(hours[h] for h in range(0, 6))
    per_day = Counter(at.date() for at in filed)
    working = [count for day, count in per_day.items() if workday.is_working_day(day)]
    resting = [count for day, count in per_day.items() if not workday.is_working_day(day)]
    assert len(resting) > 40  # weekends and the National Day holiday
    assert sum(resting) / len(resting) < 0.75 * sum(working) / len(working)
    assert 40 <= len(filed) / len(per_day) <= 60


def test_the_history_has_every_kind_of_outcome(demo_history):
    with demo_history.session() as session:
        orders = _orders(session)
        ratings = Counter(session.exec(select(Feedback.rating).where(Feedback.auto == False)).all())  # noqa: E712
        hazard_timers = Counter(session.exec(
            select(SlaTimer.status).join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id)
            .where(WorkOrder.process == "hazard", WorkOrder.state == "closed_out")).all())
        rounds = session.exec(select(func.count()).select_from(RecurringRun)).one()
        open_now = Counter(session.exec(select(WorkOrder.process, WorkOrder.state)
                                        .where(WorkOrder.closed == False)).all())  # noqa: E712
    by_process = Counter(order.process for order in orders)
    assert set(by_process) == {"repair", "procurement", "hazard", "complaint", "maintenance"}
    assert by_process["repair"] > 5 * by_process["procurement"] > 3 * by_process["hazard"]
    assert sum(order.reopen_count > 0 for order in orders) > 100
    assert sum(order.escalation_level > 0 for order in orders) > 100
    assert sum(order.state == "cancelled" for order in orders) > 50
    assert sum(order.auto_confirmed for order in orders) > 1000
    assert ratings[5] > ratings[4] > ratings[3] > 0 and ratings[5] < 0.85 * sum(ratings.values())
    assert hazard_timers["met"] > 3 * hazard_timers["breached"] > 0
    assert rounds >= by_process["maintenance"] > 1000
    repairs_open = {state for (process, state) in open_now if process == "repair"}
    assert {"reported", "assigned", "accepted", "in_progress", "on_hold", "resolved"} <= repairs_open
    assert {process for process, _ in open_now} >= {"repair", "procurement", "hazard"}


# --- consistent with the engine's rules ----------------------------------------------------------------------

def test_every_step_leaves_from_the_state_the_last_one_reached(demo_history):
    with demo_history.session() as session:
        rows = session.exec(select(History.work_order_id, History.kind, History.from_state, History.to_state)
                            .where(History.kind.in_(("create", "transition"))).order_by(History.work_order_id, History.id))
        reached, checked = {}, 0
        for order_id, kind, from_state, to_state in rows:
            if kind == "transition":
                assert from_state == reached[order_id], order_id
                checked += 1
            reached[order_id] = to_state
        states = dict(session.exec(select(WorkOrder.id, WorkOrder.state)).all())
    assert reached == states and checked > 50_000


def test_replaying_each_stored_journey_gives_exactly_the_stored_timers_and_escalations(demo_history):
    with demo_history.session() as session:
        calendars = journeys.calendars_in_force(session)
        stored_timers = defaultdict(set)
        for row in session.exec(select(SlaTimer).where(~SlaTimer.name.startswith("dispatch:"))):
            stored_timers[row.work_order_id].add(_timer(row))
        names = dict(session.exec(select(SlaTimer.id, SlaTimer.name)).all())
        stored_rungs = defaultdict(set)
        for row in session.exec(select(Escalation)):
            stored_rungs[row.work_order_id].add((names[row.timer_id], row.level, row.fired_at))
        priorities = dict(session.exec(select(WorkOrder.id, WorkOrder.priority)).all())
        found = journeys.load(session, since=NOW - timedelta(days=400), until=NOW - timedelta(days=1))
        processes = {(j.process, j.version): definitions.compiled(session, j.process, j.version).definition
                     for j in found}
    assert len(found) > 10_000
    for journey in found:
        outcome = timeline.replay(processes[(journey.process, journey.version)], calendars,
                                  priority=journey.priority, fields=journey.fields, steps=journey.steps, until=NOW)
        assert {_timer(timer) for timer in outcome.timers} == stored_timers[journey.id], journey.number
        assert {(rung.timer, rung.level, rung.at) for rung in outcome.rungs} == stored_rungs[journey.id], journey.number
        assert outcome.priority == priorities[journey.id], journey.number


def _timer(timer) -> tuple:
    return (timer.name, timer.cycle, timer.status, timer.started_at, timer.due_at, timer.stopped_at,
            round(timer.working_seconds or 0), timer.breached, timer.level, timer.next_check_at)


# --- the live engine carries on --------------------------------------------------------------------------------

def test_an_open_demo_order_moves_on_and_a_sweep_at_now_fails_nothing(demo_history, tmp_path, caplog, capsys):
    demo = demo_history.copy(tmp_path)
    with Session(db_module.get_engine(demo.url), expire_on_commit=False) as session:
        assert session.exec(select(func.count()).select_from(SlaTimer)
                            .where(SlaTimer.next_check_at <= NOW)).one() == 0  # every rung due was fired
        assert session.exec(select(func.count()).select_from(AutoConfirmTimer)
                            .where(AutoConfirmTimer.next_check_at <= NOW)).one() == 0
        order = session.exec(select(WorkOrder).where(WorkOrder.process == "repair", WorkOrder.state == "assigned",
                                                     WorkOrder.created_at < NOW - timedelta(days=1))).first()
        holder = actor_for(session, session.get(User, order.assignee_id))
        with unit_of_work(session):
            workorders.fire(session, holder, order.id, "accept", workorders.EventInput(), NOW)
        assert session.get(WorkOrder, order.id).state == "accepted"
    caplog.set_level(logging.WARNING)
    assert main(["sweep", "--db", demo.url], clock=Clock(NOW)) == 0
    assert "0 escalations, 0 auto-confirmed, 0 recurring created" in capsys.readouterr().out
    assert main(["sweep", "--db", demo.url], clock=Clock(NOW + timedelta(hours=3))) == 0
    later = capsys.readouterr().out
    assert " 0 escalations" not in later and "recurring created" in later
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


# --- the cockpit -----------------------------------------------------------------------------------------------

def test_the_cockpit_on_the_demo_hospital_looks_like_a_hospitals(demo_history):
    from engine.settings import Settings
    from web.app import create_app
    from web.deps import get_clock

    app = create_app(Settings(database_url=demo_history.url, test_clock=True))
    app.dependency_overrides[get_clock] = lambda: Clock(NOW)
    with TestClient(app) as client:
        nurse = client.post("/api/v1/auth/token", data={"username": "icu.nurse1", "password": "houqin-demo"})
        assert nurse.status_code == 200  # the hospital's staff share the demo password
        token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": "houqin-demo"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = client.get("/api/v1/dashboard", params={"from": "2026-06-01", "to": "2026-11-29"}, headers=headers).json()
    assert 0.85 <= body["on_time_rate"] <= 0.95
    assert 0.93 <= body["satisfaction_rate"] < 1 and 4.3 <= body["average_rating"] < 4.9
    assert 0.01 <= body["reopen_rate"] <= 0.08 and 0.1 <= body["auto_confirmed_share"] <= 0.35
    assert [row["category"] for row in body["top_categories"][:2]] == ["plumbing", "electrical"]
    assert body["response_minutes"]["median"] < body["response_minutes"]["p90"] < 8 * 60
    labour = body["labour_by_technician"]
    assert len(labour) > 30 and labour[0]["minutes"] < 5 * labour[len(labour) // 2]["minutes"]
    assert len(body["by_month"]) == 6 and min(month["total"] for month in body["by_month"]) > 1500


# --- the command --------------------------------------------------------------------------------------------------

def test_demo_months_scales_the_history(demo_history, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'month.db'}"
    assert main(["init", "--demo", "--demo-months", "1", "--demo-seed", "3", "--db", url], clock=Clock(NOW)) == 0
    assert "demo history:" in capsys.readouterr().out
    with Session(db_module.get_engine(url)) as session:
        one = session.exec(select(func.count()).select_from(WorkOrder)).one()
    with demo_history.session() as session:
        six = session.exec(select(func.count()).select_from(WorkOrder)).one()
    assert 0.13 <= one / six <= 0.21
    assert main(["init", "--demo", "--demo-months", "-1", "--db", url]) == 2

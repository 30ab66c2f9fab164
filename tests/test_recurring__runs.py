"""Preventive work on a schedule: each period once, across restarts; missed periods made late."""
from datetime import datetime

import pytest
from sqlmodel import Session, select

from engine.orders import recurring
from engine.published import definitions
from engine.storage import db
from engine.storage.models import History, RecurringRun, SlaTimer, User, WorkOrder
from workflows import DefinitionError
from workflows.schedules import load_schedule

T = datetime.fromisoformat

RULES = """\
timezone: Asia/Shanghai
late_after: 30m
rules:
  - name: icu_disinfection
    process: maintenance
    title: "ICU环境消毒 {date} {time}"
    cron: "0 6,14,22 * * *"
    priority: high
    department: 后勤保障部
    location: ICU
    fields: {category: disinfection}
  - name: medical_gas_check
    process: maintenance
    title: "医用气体终端检查 {date}"
    every: 1d
    starting: 2026-01-01T09:00
    calendar: workday
    skip_closed_days: true
    fields: {category: medical_gas}
    active: ACTIVE
"""


def schedule(session, text=RULES, gas=False):
    processes = {row.key: definitions.compiled(session, row.key, row.version).definition
                 for row in definitions.current_rows(session)}
    return load_schedule(text.replace("ACTIVE", "true" if gas else "false"), "schedules.yaml",
                         calendars={"24x7", "workday"}, processes=processes)


def run(db_url, when, gas=False) -> list[str]:
    """One call of the worker loop, in a session of its own as after a restart."""
    with Session(db.get_engine(db_url), expire_on_commit=False) as session:
        return [order.title for order in recurring.run_due(session, T(when), schedule(session, gas=gas))]


def test_icu_disinfection_makes_three_work_orders_a_day(db_url):
    assert run(db_url, "2026-10-12T05:00:00+08:00") == ["ICU环境消毒 2026-10-11 22:00"]  # a new rule starts with its latest period
    made = []
    for hour in range(5, 24):
        made += run(db_url, f"2026-10-12T{hour:02d}:00:00+08:00")
        made += run(db_url, f"2026-10-12T{hour:02d}:20:00+08:00")
    assert made == ["ICU环境消毒 2026-10-12 06:00", "ICU环境消毒 2026-10-12 14:00", "ICU环境消毒 2026-10-12 22:00"]


def test_a_restart_creates_nothing_twice(db_url, session):
    assert run(db_url, "2026-10-12T06:05:00+08:00") == ["ICU环境消毒 2026-10-12 06:00"]
    assert run(db_url, "2026-10-12T06:05:00+08:00") == []
    assert run(db_url, "2026-10-12T13:59:00+08:00") == []
    assert session.exec(select(WorkOrder.title)).all() == ["ICU环境消毒 2026-10-12 06:00"]


def test_a_period_another_worker_has_taken_is_left_to_it(db_url, session):
    session.add(RecurringRun(rule="icu_disinfection", scheduled_for=T("2026-10-12T06:00:00+08:00"),
                             created_at=T("2026-10-12T06:00:00+08:00")))
    session.commit()
    assert run(db_url, "2026-10-12T06:01:00+08:00") == []
    assert run(db_url, "2026-10-12T14:01:00+08:00") == ["ICU环境消毒 2026-10-12 14:00"]


def test_periods_missed_while_the_server_was_down_are_created_on_the_next_call_marked_late(db_url, session):
    run(db_url, "2026-10-12T06:10:00+08:00")
    # Down from 06:30 until 07:00 the next day.
    assert run(db_url, "2026-10-13T07:00:00+08:00") == [
        "ICU环境消毒 2026-10-12 14:00", "ICU环境消毒 2026-10-12 22:00", "ICU环境消毒 2026-10-13 06:00"]
    runs = session.exec(select(RecurringRun.scheduled_for, RecurringRun.late).order_by(RecurringRun.scheduled_for)).all()
    assert runs == [(T("2026-10-12T06:00:00+08:00"), False), (T("2026-10-12T14:00:00+08:00"), True),
                    (T("2026-10-12T22:00:00+08:00"), True), (T("2026-10-13T06:00:00+08:00"), True)]
    notes = session.exec(select(History.data).where(History.kind == "schedule").order_by(History.id)).all()
    assert notes[1] == {"rule": "icu_disinfection", "scheduled_for": "2026-10-12T14:00:00+08:00", "late": True}
    created = session.exec(select(WorkOrder.created_at).order_by(WorkOrder.id)).all()
    assert created[1:] == [T("2026-10-13T07:00:00+08:00")] * 3


def test_closed_days_are_skipped_and_make_up_working_days_run(db_url):
    assert run(db_url, "2026-09-30T09:05:00+08:00", gas=True)[-1] == "医用气体终端检查 2026-09-30"
    # National Day: 1-7 October closed, Saturday 10 October a make-up working day, Sunday 11 closed.
    made = run(db_url, "2026-10-12T09:10:00+08:00", gas=True)
    assert [title for title in made if title.startswith("医用气体")] == [
        "医用气体终端检查 2026-10-08", "医用气体终端检查 2026-10-09", "医用气体终端检查 2026-10-10",
        "医用气体终端检查 2026-10-12"]


def test_a_recurring_work_order_is_an_ordinary_work_order_of_its_process(db_url, session):
    run(db_url, "2026-10-12T06:00:00+08:00")
    order = session.exec(select(WorkOrder)).one()
    assert (order.process, order.state, order.priority, order.location, order.fields) == (
        "maintenance", "planned", "high", "ICU", {"category": "disinfection"})
    assert order.number.startswith("PM-2026-")
    system = session.get(User, order.reporter_id)
    assert system.username == "system" and system.active is False  # it cannot sign in
    # high priority: done within 4 hours, around the clock
    assert [(t.name, t.due_at) for t in session.exec(select(SlaTimer)).all()] == [
        ("completion", T("2026-10-12T10:00:00+08:00"))]


def test_a_rule_with_an_assignee_hands_the_work_order_over_at_once(db_url, session, make_user):
    make_user("tech", "technician", department="后勤保障部")
    text = RULES.replace("    location: ICU\n", "    location: ICU\n    assignee: tech\n")
    with Session(db.get_engine(db_url), expire_on_commit=False) as fresh:
        [order] = recurring.run_due(fresh, T("2026-10-12T06:00:00+08:00"), schedule(fresh, text))
    order = session.get(WorkOrder, order.id)
    assert order.state == "assigned" and session.get(User, order.assignee_id).username == "tech"
    [assign] = session.exec(select(History).where(History.event == "assign")).all()
    assert assign.actor_id is None


def test_the_shipped_schedule_is_valid(session):
    names = [rule.name for rule in recurring.load(session).rules]
    assert {"elevator_daily_round", "hvac_daily_round", "power_daily_round", "icu_disinfection",
            "theatre_air_purification", "monthly_safety_inspection"} <= set(names)


def test_after_a_long_outage_only_the_newest_periods_up_to_catch_up_are_made(db_url, session):
    run(db_url, "2026-10-12T06:00:00+08:00")
    text = RULES.replace("late_after: 30m\n", "late_after: 30m\ncatch_up: 2\n").replace("ACTIVE", "false")
    with Session(db.get_engine(db_url), expire_on_commit=False) as fresh:
        made = recurring.run_due(fresh, T("2026-10-14T07:00:00+08:00"), load_schedule(text, calendars={"24x7", "workday"}))
    assert [order.title for order in made] == ["ICU环境消毒 2026-10-13 22:00", "ICU环境消毒 2026-10-14 06:00"]


def test_every_problem_in_a_schedule_is_reported_with_its_line(session):
    broken = """\
rules:
  - name: rounds
    process: teleport
    title: "巡检 {weekday}"
    cron: "0 8 * * *"
  - name: rounds
    process: maintenance
    title: 巡检
    cron: "61 8 * * *"
  - name: gas
    process: maintenance
    title: 巡检
    every: 1d
    fields: {category: laundry}
"""
    with pytest.raises(DefinitionError) as caught:
        schedule(session, broken)
    found = [(p.line, p.message) for p in caught.value.problems]
    assert [line for line, _ in found] == [4, 9, 10]
    assert "unknown placeholder {weekday}" in found[0][1]
    assert "is not a cron line" in found[1][1]
    assert "needs 'starting'" in found[2][1]

    fixed = broken.replace("{weekday}", "{date}").replace("61 8", "0 8").replace("every: 1d", "cron: '0 8 * * *'")
    with pytest.raises(DefinitionError) as caught:
        schedule(session, fixed)
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (3, "unknown process 'teleport': use one of complaint, hazard, maintenance, procurement, repair"),
        (6, "rule 'rounds' is declared twice"),
        (7, "process 'maintenance' needs the field 'category' in 'fields'"),
        (14, "category must be one of elevator, hvac, power, medical_gas, air_purification, disinfection, "
             "safety_inspection, other"),
    ]

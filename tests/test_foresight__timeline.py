"""The replay of a work order's steps gives the timers and escalations the live engine gave for the same steps.

Work orders are driven through the engine with a clock, the sweeper run whenever a timer next needs looking
at (as a worker would, only without its few seconds of delay); then their journeys are read back from the
history and replayed in memory. Timers, rungs and final priorities must match exactly: the what-if and the
demo history stand on this.
"""
from datetime import timedelta

import pytest
from sqlmodel import select

from engine.dispatch import offers
from engine.foresight import journeys, timeline
from engine.orders import workorders
from engine.published import definitions
from engine.storage.models import Escalation, SlaTimer, WorkOrder
from simulate_support import sweep_until
from sla_support import at

# (priority, steps as (minutes after filing, event, extra)); "edit:P" sets the priority.
SCRIPTS = [
    ("urgent", [(5, "assign", {"assignee": "tech"}), (20, "accept", {}), (25, "start", {}), (60, "hold", {}),
                (120, "resume", {}), (300, "resolve", {"fields": {"labour_minutes": 30}}), (330, "confirm", {})]),
    ("high", [(10, "assign", {"assignee": "tech"}), (200, "accept", {}), (210, "start", {}),
              (700, "resolve", {"fields": {"labour_minutes": 90}}), (760, "reopen", {}), (800, "accept", {}),
              (820, "start", {}), (900, "resolve", {"fields": {"labour_minutes": 10}}), (960, "confirm", {})]),
    ("normal", [(30, "assign", {"assignee": "tech"}), (600, "accept", {}), (900, "start", {}),
                (3000, "resolve", {"fields": {"labour_minutes": 60}}), (3100, "confirm", {})]),
    ("low", [(60, "edit:urgent", {}), (90, "assign", {"assignee": "tech"}), (100, "cancel", {"comment": "重复报修"})]),
    ("normal", [(45, "assign", {"assignee": "tech"})]),  # still open at the end
    ("urgent", []),  # never touched: the whole ladder
]
WHO = {"assign": "dispatcher", "cancel": "dispatcher", "confirm": "nurse", "reopen": "nurse"}


@pytest.fixture
def people(make_user):
    make_user("nurse", "requester", department="心内科")
    make_user("head", "dept_head", department="心内科")
    return {name: make_user(name, *roles, department="后勤保障部") for name, roles in
            [("dispatcher", ["dispatcher"]), ("supervisor", ["supervisor"]), ("leader", ["leader"]),
             ("tech", ["technician"])]} | {"nurse": make_user("nurse2", "requester", department="心内科")}


def _drive(session, people, start):
    """File every script's order (an hour apart, from a Friday afternoon) and run all steps and sweeps in time order."""
    plan = []
    for index, (priority, steps) in enumerate(SCRIPTS):
        filed = start + timedelta(hours=index)
        plan.append((filed, index, "create", priority))
        plan += [(filed + timedelta(minutes=minutes), index, event, extra) for minutes, event, extra in steps]
    plan.sort(key=lambda item: item[0])
    end = plan[-1][0] + timedelta(hours=6)
    orders = {}
    for when, index, event, extra in [*plan, (end, None, "end", None)]:
        sweep_until(session, when)
        if event == "create":
            orders[index] = workorders.create(session, people["nurse"], process="repair", title=f"报修 {index}",
                                              priority=extra, fields={"category": "building"}, now=when).id
        elif event.startswith("edit:"):
            workorders.update(session, people["dispatcher"], orders[index], {"priority": event[5:]}, None, when)
        elif event != "end":
            actor = people[WHO.get(event, "tech")]
            workorders.fire(session, actor, orders[index], event, workorders.EventInput(**extra), when)
        session.commit()
    return orders, end


def _engine_timers(session, order_id):
    rows = session.exec(select(SlaTimer).where(SlaTimer.work_order_id == order_id).order_by(SlaTimer.id)).all()
    return [_shape(timer) for timer in rows if not offers.is_offer(timer)]


def _shape(timer):
    return (timer.name, timer.cycle, timer.calendar, timer.started_at, timer.due_at, timer.status, timer.breached,
            round(timer.paused_seconds), timer.stopped_at, timer.level,
            None if timer.working_seconds is None else round(timer.working_seconds))


def test_the_replay_gives_the_timers_and_escalations_the_engine_gave(session, people):
    orders, end = _drive(session, people, at("2026-10-16T15:00:00"))  # a Friday: normal repairs wait for Monday
    calendars = journeys.calendars_in_force(session)
    replayed = {j.id: j for j in journeys.load(session, since=at("2026-10-01T00:00:00"), until=end)}
    assert set(replayed) == set(orders.values())
    fired_anything = set()
    for order_id in orders.values():
        journey = replayed[order_id]
        definition = definitions.compiled(session, journey.process, journey.version).definition
        outcome = timeline.replay(definition, calendars, priority=journey.priority, fields=journey.fields,
                                  steps=journey.steps, until=end)
        assert [_shape(timer) for timer in outcome.timers] == _engine_timers(session, order_id), journey.number
        rungs = session.exec(select(SlaTimer.name, SlaTimer.cycle, Escalation.level)
                             .join(Escalation, Escalation.timer_id == SlaTimer.id)
                             .where(Escalation.work_order_id == order_id).order_by(Escalation.id)).all()
        assert [(r.timer, r.cycle, r.level) for r in outcome.rungs] == [tuple(row) for row in rungs]
        order = session.get(WorkOrder, order_id)
        assert (outcome.priority, outcome.escalation_level) == (order.priority, order.escalation_level)
        fired_anything |= {rung.level for rung in outcome.rungs}
    assert fired_anything >= {0, 1, 2, 3}  # the scripts do reach every rung of the response ladder


def test_a_replay_stops_where_it_is_told(session, people):
    orders, end = _drive(session, people, at("2026-10-16T15:00:00"))
    journey = next(j for j in journeys.load(session, since=at("2026-10-01T00:00:00"), until=end)
                   if j.id == orders[5])  # the urgent order nobody touched
    definition = definitions.compiled(session, "repair", journey.version).definition
    early = timeline.replay(definition, journeys.calendars_in_force(session), priority="urgent",
                            fields=journey.fields, steps=journey.steps, until=journey.created_at + timedelta(minutes=13))
    assert [rung.level for rung in early.rungs] == [0]  # 80% of 15 minutes has passed, the due time not yet
    assert [timer.status for timer in early.timers] == ["running", "running"] and not early.timers[0].breached

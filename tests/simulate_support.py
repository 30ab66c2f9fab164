"""A small history made by the live engine, for the what-if tests: repairs filed over a week, each driven
through its steps with the sweeper run whenever a timer needs looking at (as a worker would).

The plumber (水电班) answers fast; the air-conditioning team (空调班) slowly; building repairs go to a
technician of no team. Urgent repairs are answered in 9 to 14 minutes,
so a 10-minute target breaks most of them. A few are put on hold, one is reopened, a few are still open.
"""
import random
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from engine.dispatch import rotas
from engine.orders import workorders
from engine.sla import escalation
from engine.storage.models import SlaTimer
from sla_support import at

START = at("2026-10-12T08:30:00")  # a Monday
ORDERS = 36
WHO = {"assign": "dispatcher", "cancel": "dispatcher", "confirm": "nurse", "reopen": "nurse"}
PACE = {"plumbing": (5, 25), "hvac": (60, 240), "building": (20, 90)}  # minutes from filing to acceptance


def scripts(seed: int = 7) -> list[tuple[timedelta, str, str, list]]:
    """(filed after START, priority, category, [(minutes after filing, event, extra)])."""
    rng = random.Random(seed)
    out = []
    for index in range(ORDERS):
        filed = timedelta(minutes=170 * index + rng.randint(0, 40))
        category = ("plumbing", "hvac", "building")[index % 3]
        priority = ("urgent", "normal", "high", "normal")[index % 4] if category != "plumbing" or index % 4 else "normal"
        low, high = PACE[category]
        accept = rng.randint(9, 14) if priority == "urgent" else rng.randint(low, high)
        steps = [(max(accept - 5, 1), "assign", {"assignee": TECHNICIAN[category]}), (accept, "accept", {}),
                 (accept + 10, "start", {})]
        work = accept + 10 + rng.randint(30, 400)
        if index % 7 == 3:
            steps += [(accept + 20, "hold", {"fields": {"hold_reason": "waiting_parts"}}), (accept + 200, "resume", {})]
            work += 200
        steps.append((work, "resolve", {"fields": {"labour_minutes": 30}}))
        if index == 10:
            steps += [(work + 30, "reopen", {}), (work + 60, "accept", {}), (work + 70, "start", {}),
                      (work + 120, "resolve", {"fields": {"labour_minutes": 20}})]
            work += 120
        if index < ORDERS - 3:
            steps.append((work + 60, "confirm", {}))
        else:
            steps = steps[:1]  # the last ones are still waiting to be taken when the history ends
        out.append((filed, priority, category, steps))
    return out


TECHNICIAN = {"plumbing": "plumber", "hvac": "cooler", "building": "tech"}


def people(session, make_user) -> dict:
    rotas.ensure_team(session, "水电班")
    rotas.ensure_team(session, "空调班")
    session.commit()
    make_user("head", "dept_head", department="心内科")
    made = {name: make_user(name, *roles, department="后勤保障部") for name, roles in
            [("dispatcher", ["dispatcher"]), ("supervisor", ["supervisor"]), ("leader", ["leader"]),
             ("tech", ["technician"])]}
    made["plumber"] = make_user("plumber", "technician", department="后勤保障部", team="水电班")
    made["cooler"] = make_user("cooler", "technician", department="后勤保障部", team="空调班")
    made["nurse"] = make_user("nurse", "requester", department="心内科")
    return made


def drive(session, people: dict):
    """File and run every script; returns the moment the history ends (every step and sweep done)."""
    plan, who = [], {}
    for index, (filed, priority, category, steps) in enumerate(scripts()):
        when = START + filed
        plan.append((when, index, "create", (priority, category)))
        who[index] = TECHNICIAN[category]
        plan += [(when + timedelta(minutes=minutes), index, event, extra) for minutes, event, extra in steps]
    plan.sort(key=lambda item: (item[0], item[1]))
    end = plan[-1][0] + timedelta(hours=3)
    orders = {}
    for when, index, event, extra in [*plan, (end, None, "end", None)]:
        sweep_until(session, when)
        if event == "create":
            priority, category = extra
            orders[index] = workorders.create(session, people["nurse"], process="repair", title=f"报修 {index}",
                                              priority=priority, fields={"category": category}, now=when).id
        elif event != "end":
            workorders.fire(session, people[WHO.get(event, who[index])], orders[index], event,
                            workorders.EventInput(**extra), when)
        session.commit()
    return end


def sweep_until(session, when):
    """Sweep at every moment a timer needs looking at before `when` (a step at that same moment goes first)."""
    while True:
        due = session.exec(select(func.min(SlaTimer.next_check_at)).where(SlaTimer.next_check_at < when)).one()
        session.commit()
        if due is None:
            return
        escalation.sweep(session, due)

"""Small repair histories made by the live engine, for the at-risk tests.

Each repair is filed, assigned and (after the minutes given) accepted, or cancelled, or left waiting,
through engine/orders/workorders.py with an explicit `now`: the timers are the engine's own.
"""
from datetime import timedelta

from engine.orders import workorders

ACCEPT, CANCEL = "accept", "cancel"


def people(make_user) -> dict:
    make_user("head", "dept_head", department="心内科")
    return {
        "nurse": make_user("nurse", "requester", department="心内科"),
        "dispatcher": make_user("dispatcher", "dispatcher", department="后勤保障部"),
        "supervisor": make_user("supervisor", "supervisor", department="后勤保障部"),
        "tech": make_user("tech", "technician", department="后勤保障部", team="水电班"),
    }


def file_repairs(session, who: dict, *, start, outcomes, priority="high", category="plumbing",
                 spacing=timedelta(minutes=50), resolve_after: int | None = 60) -> list[int]:
    """One repair per outcome, filed `spacing` apart from `start` and assigned at once; an outcome is
    (minutes after filing, ACCEPT or CANCEL), or None to leave it waiting. An accepted one is started at
    once and resolved `resolve_after` minutes later (None: left in hand). The ids, in filing order."""
    ids = []
    for index, outcome in enumerate(outcomes):
        filed = start + index * spacing
        order = workorders.create(session, who["nurse"], process="repair", title=f"报修 {category} {index}",
                                  priority=priority, fields={"category": category}, now=filed)
        workorders.fire(session, who["dispatcher"], order.id, "assign", workorders.EventInput(assignee="tech"), filed)
        if outcome is not None:
            minutes, event = outcome
            actor = who["tech"] if event == ACCEPT else who["dispatcher"]
            request = workorders.EventInput(comment="" if event == ACCEPT else "重复报修")
            moment = filed + timedelta(minutes=minutes)
            workorders.fire(session, actor, order.id, event, request, moment)
            if event == ACCEPT and resolve_after is not None:
                workorders.fire(session, who["tech"], order.id, "start", workorders.EventInput(), moment)
                workorders.fire(session, who["tech"], order.id, "resolve",
                                workorders.EventInput(fields={"labour_minutes": resolve_after}),
                                moment + timedelta(minutes=resolve_after))
        session.commit()
        ids.append(order.id)
    return ids


def accepted_after(*minutes: int) -> list[tuple[int, str]]:
    return [(m, ACCEPT) for m in minutes]

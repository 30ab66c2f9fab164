"""What really happened to work orders, as steps a replay can run: read from the history, never written.

A journey is one work order's creation, its transitions and its priority edits, in order, with what it
was about (process, category, priority, team). Escalations are not steps: a replay derives them from the
timers, as the sweeper did.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, type_coerce
from sqlmodel import Session, select

from engine.foresight.timeline import EDIT, Step
from engine.sla import calendar
from engine.storage.models import History, WorkOrder
from workflows.calendars import BusinessCalendar, pick

STEP_KINDS = ("create", "transition", "update")


@dataclass
class Journey:
    id: int
    number: str
    process: str
    version: int
    priority: str  # as filed (escalations and edits may have raised it since)
    fields: dict
    department_id: int | None
    team_id: int | None
    assignee_id: int | None
    created_at: datetime
    closed: bool
    state: str
    steps: list[Step] = field(default_factory=list)

    @property
    def category(self):
        return self.fields.get("category")


def load(session: Session, *, since: datetime, until: datetime, process: str | None = None) -> list[Journey]:
    """The journeys of the work orders filed in [since, until), oldest first: two queries, whatever their number."""
    query = (select(WorkOrder.id, WorkOrder.number, WorkOrder.process, WorkOrder.definition_version,
                    WorkOrder.priority, WorkOrder.fields, WorkOrder.department_id, WorkOrder.team_id,
                    WorkOrder.assignee_id, WorkOrder.created_at, WorkOrder.closed, WorkOrder.state)
             .where(WorkOrder.created_at >= since, WorkOrder.created_at < until).order_by(WorkOrder.created_at, WorkOrder.id))
    if process:
        query = query.where(WorkOrder.process == process)
    journeys = {row[0]: Journey(*row) for row in session.exec(query).all()}
    if not journeys:
        return []
    orders = query.with_only_columns(WorkOrder.id).order_by(None)
    # A transition's data (the fields filled in) is never read here: not decoded, most of the rows are transitions.
    data = type_coerce(case((History.kind == "transition", None), else_=History.data), History.data.type)
    rows = session.exec(
        select(History.work_order_id, History.at, History.kind, History.event, History.to_state, data)
        .where(History.work_order_id.in_(orders), History.kind.in_(STEP_KINDS))
        .order_by(History.work_order_id, History.id)
    ).all()
    steps: dict[int, list[Step]] = defaultdict(list)
    for order_id, at, kind, event, to_state, data in rows:
        journey = journeys[order_id]
        if kind == "create":
            journey.priority = data.get("priority", journey.priority)
            journey.fields = data.get("fields") or journey.fields
            steps[order_id].append(Step(at=at, event=None, state=to_state))
        elif kind == "transition":
            steps[order_id].append(Step(at=at, event=event, state=to_state))
        elif isinstance(data.get("priority"), dict):  # an edit that changed the priority
            steps[order_id].append(Step(at=at, event=EDIT, state=to_state, priority=data["priority"].get("to")))
    for order_id, journey in journeys.items():
        journey.steps = steps[order_id]
    return list(journeys.values())


def calendars_in_force(session: Session):
    """Calendar lookup by name on the version new timers start on."""
    table = calendar.calendars(session, calendar.newest(session))
    return lambda name: pick(table, name)


def calendars_of(table: dict[str, BusinessCalendar]):
    return lambda name: pick(table, name)

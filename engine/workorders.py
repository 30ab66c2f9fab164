"""Work orders: creating them, firing events on them, editing them, finding them.

Firing an event checks, in this order, and stops at the first failure: the work
order exists and is visible; the expected version is current; the event is
allowed from its state (Conflict); the caller may fire it (Forbidden); the
fields are valid (Invalid); the condition holds (Conflict). Then the state,
history, timers and notifications are written in one transaction.
"""
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from engine import definitions, fields as field_check, permissions, settings, sla, unit_of_work
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import Counter, Department, History, SlaTimer, User, WorkOrder
from engine.notify import notify
from engine.users import Actor, department_named
from workflows.schema import PRIORITIES, ProcessDefinition
from workflows.validate import BUILTIN_NAMES

MAX_PAGE = 200


@dataclass
class EventInput:
    comment: str = ""
    assignee: str | None = None
    fields: dict = field(default_factory=dict)
    expected_version: int | None = None


@dataclass
class Filters:
    process: str | None = None
    state: str | None = None
    department: str | None = None
    assignee: str | None = None
    priority: str | None = None
    overdue: bool = False
    escalated: bool = False
    q: str | None = None
    reporter_id: int | None = None
    limit: int = 50
    offset: int = 0


def definition_of(session: Session, order: WorkOrder) -> ProcessDefinition:
    return definitions.compiled(session, order.process, order.definition_version).definition


# --- creating ---------------------------------------------------------------------------------

def create(
    session: Session, actor: Actor, *, process: str, title: str, description: str = "", priority: str = "normal",
    department: str | None = None, location: str = "", fields: dict | None = None, now: datetime,
) -> WorkOrder:
    stored = definitions.latest(session, process)
    if stored is None:
        known = ", ".join(row.key for row in definitions.current_rows(session))
        raise Invalid(f"unknown process '{process}': use one of {known}", [{"field": "process", "message": "unknown process"}])
    definition = definitions.compiled(session, process, stored.version).definition
    errors = _basic_problems(title, priority)
    try:
        values = field_check.check(
            fields or {}, definition.fields, allowed=set(definition.fields),
            required={name for name, spec in definition.fields.items() if spec.required},
        )
    except Invalid as exc:
        errors += exc.errors
        values = {}
    department_id = actor.department_id
    if department:
        try:
            department_id = department_named(session, department).id
        except Invalid as exc:
            errors += exc.errors
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors)
    order = WorkOrder(
        number=_next_number(session, definition.number_prefix, now), process=process,
        definition_version=stored.version, state=definition.initial_state, priority=priority,
        department_id=department_id, location=location, title=title.strip(), description=description,
        fields=values, reporter_id=actor.id, first_contact_id=actor.id if actor.has("dispatcher") else None,
        created_at=now, updated_at=now,
    )
    session.add(order)
    session.flush()
    session.add(History(
        work_order_id=order.id, at=now, actor_id=actor.id, kind="create", to_state=order.state,
        data={"fields": values, "priority": priority, "title": order.title},
    ))
    sla.on_enter(session, order, definition, event=None, now=now)
    session.flush()
    return order


def _basic_problems(title: str | None, priority: str | None) -> list[dict]:
    errors = []
    if not title or not title.strip():
        errors.append({"field": "title", "message": "title is required"})
    elif len(title) > 200:
        errors.append({"field": "title", "message": "title must be at most 200 characters"})
    if priority not in PRIORITIES:
        errors.append({"field": "priority", "message": f"priority must be one of {', '.join(PRIORITIES)}"})
    return errors


def _next_number(session: Session, prefix: str, now: datetime) -> str:
    """RP-2026-000123: one counter row per prefix and local year, bumped atomically."""
    year = now.astimezone(ZoneInfo(settings.timezone())).year
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Counter).values(prefix=prefix, year=year, value=1)
        .on_conflict_do_update(index_elements=["prefix", "year"], set_={"value": Counter.value + 1})
        .returning(Counter.value)
    )
    value = session.execute(statement).scalar_one()
    return f"{prefix}-{year}-{value:06d}"


# --- reading ----------------------------------------------------------------------------------

def get(session: Session, actor: Actor, order_id: int) -> WorkOrder:
    order = session.get(WorkOrder, order_id)
    if order is None or not permissions.can_see(actor, order):
        raise NotFound(f"work order {order_id} not found")
    return order


def available_events(session: Session, order: WorkOrder, actor: Actor) -> list[str]:
    """Events the actor may fire now: allowed from the state, by role, with the condition holding."""
    compiled = definitions.compiled(session, order.process, order.definition_version)
    values = _condition_values(order, {})
    names = []
    for event in compiled.definition.events_from(order.state):
        if (
            event.name not in names and permissions.may_fire(event, order, actor)
            and compiled.guard_holds(event, values)
            and permissions.distinct_actor_problem(session, event, order, actor) is None
        ):
            names.append(event.name)
    return names


def search(session: Session, actor: Actor, filters: Filters, now: datetime) -> tuple[list[WorkOrder], int]:
    query = select(WorkOrder)
    visible = permissions.visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    query = _apply_filters(session, query, filters, now)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    if filters.overdue or filters.escalated:
        query = query.order_by(_oldest_breach(now, live_only=filters.overdue).nulls_last(), WorkOrder.id)
    else:
        query = query.order_by(WorkOrder.id.desc())
    limit = max(1, min(filters.limit, MAX_PAGE))
    items = session.exec(query.offset(max(filters.offset, 0)).limit(limit)).all()
    return list(items), total


def _oldest_breach(now: datetime, live_only: bool):
    """When the work order first went late: the earliest due time among its late timers (met ones do not count).

    For the overdue list only timers still running count; the escalated list also remembers
    a deadline missed by a timer that has stopped since.
    """
    late = or_(SlaTimer.breached == True, (SlaTimer.status == "running") & (SlaTimer.due_at < now))  # noqa: E712
    query = select(func.min(SlaTimer.due_at)).where(SlaTimer.work_order_id == WorkOrder.id, late)
    if live_only:
        query = query.where(SlaTimer.status.in_(sla.LIVE))
    return query.scalar_subquery()


def _apply_filters(session: Session, query, f: Filters, now: datetime):
    if f.process:
        query = query.where(WorkOrder.process == f.process)
    if f.state:
        query = query.where(WorkOrder.state == f.state)
    if f.priority:
        query = query.where(WorkOrder.priority == f.priority)
    if f.reporter_id:
        query = query.where(WorkOrder.reporter_id == f.reporter_id)
    if f.department:
        department = session.exec(select(Department).where(Department.name == f.department)).first()
        query = query.where(WorkOrder.department_id == (department.id if department else -1))
    if f.assignee:
        user = session.exec(select(User).where(User.username == f.assignee)).first()
        query = query.where(WorkOrder.assignee_id == (user.id if user else -1))
    if f.q:
        pattern = f"%{f.q.strip()}%"
        query = query.where(or_(WorkOrder.title.ilike(pattern), WorkOrder.number.ilike(pattern),
                                WorkOrder.location.ilike(pattern), WorkOrder.description.ilike(pattern)))
    if f.overdue:
        late = select(SlaTimer.id).where(
            SlaTimer.work_order_id == WorkOrder.id,
            or_(SlaTimer.breached == True, (SlaTimer.status == "running") & (SlaTimer.due_at < now)),  # noqa: E712
            SlaTimer.status.in_(sla.LIVE),
        )
        query = query.where(late.exists(), WorkOrder.closed == False)  # noqa: E712
    if f.escalated:
        query = query.where(WorkOrder.escalation_level > 0, WorkOrder.closed == False)  # noqa: E712
    return query


def history(session: Session, order_id: int) -> list[History]:
    return list(session.exec(select(History).where(History.work_order_id == order_id).order_by(History.id)).all())


# --- firing events ----------------------------------------------------------------------------

def fire(
    session: Session, actor: Actor | None, order_id: int, event_name: str, request: EventInput,
    now: datetime, *, visible_to: Actor | None = None,
) -> WorkOrder:
    """Fire an event. `actor` None is the system (auto-confirmation), which role checks do not bind.

    Nothing is committed: the caller's unit of work commits it, with whatever else it adds (feedback).
    """
    order = _get_any(session, order_id)
    compiled = definitions.compiled(session, order.process, order.definition_version)
    definition = compiled.definition
    event = compiled.event(event_name, order.state)
    viewer = visible_to or actor
    if viewer is not None and not permissions.can_see(viewer, order) and not _holds_role_for(event, viewer):
        raise NotFound(f"work order {order_id} not found")
    _check_version(order, request.expected_version)
    if event is None:
        allowed = ", ".join(compiled.triggers(order.state)) or "none"
        known = event_name in definition.event_names()
        raise Conflict(
            f"event '{event_name}' is not allowed in state '{order.state}'; allowed now: {allowed}" if known
            else f"process '{order.process}' has no event '{event_name}'; allowed now: {allowed}"
        )
    if actor is not None:
        if not permissions.may_fire(event, order, actor):
            raise Forbidden(f"'{event_name}' may be done only by: {', '.join(event.roles)}")
        problem = permissions.distinct_actor_problem(session, event, order, actor)
        if problem:
            raise Forbidden(problem)
    values, assignee = _event_inputs(session, definition, event, request)
    if not compiled.guard_holds(event, _condition_values(order, values)):
        raise Conflict(f"condition '{event.condition}' does not hold for this work order")
    target = compiled.fire(order.state, event.name, {**_condition_values(order, values)})
    if target is None:
        raise Conflict(f"event '{event_name}' cannot run from '{order.state}'")
    _apply(session, order, definition, event.name, target, values, assignee, request.comment, actor, now)
    flush_order(session, order)
    return order


def _holds_role_for(event, actor: Actor) -> bool:
    """A department head of another department may learn that approving is not theirs (403, not 404)."""
    return event is not None and any(spec.split("@")[0] in actor.roles for spec in event.roles)


def _get_any(session: Session, order_id: int) -> WorkOrder:
    order = session.get(WorkOrder, order_id)
    if order is None:
        raise NotFound(f"work order {order_id} not found")
    return order


def _check_version(order: WorkOrder, expected: int | None) -> None:
    if expected is not None and expected != order.version:
        raise Conflict(
            f"work order {order.number} was changed by someone else (now version {order.version}, "
            f"you had {expected}); reload it and try again"
        )


def _event_inputs(session: Session, definition: ProcessDefinition, event, request: EventInput):
    errors = []
    try:
        values = field_check.check(
            request.fields or {}, definition.fields, allowed=set(event.fields),
            required={name for name, need in event.fields.items() if need == "required"},
        )
    except Invalid as exc:
        errors += exc.errors
        values = {}
    assignee = None
    if request.assignee and event.assigns:
        assignee = session.exec(select(User).where(User.username == request.assignee, User.active == True)).first()  # noqa: E712
        if assignee is None:
            errors.append({"field": "assignee", "message": f"no active user named '{request.assignee}'"})
    elif request.assignee and not event.assigns:
        errors.append({"field": "assignee", "message": f"'{event.name}' does not take an assignee"})
    elif event.assigns == "required":
        errors.append({"field": "assignee", "message": f"'{event.name}' needs the username of the new assignee in 'assignee'"})
    if event.comment == "required" and not (request.comment or "").strip():
        errors.append({"field": "comment", "message": f"'{event.name}' needs a comment giving the reason"})
    if len(request.comment or "") > 5000:
        errors.append({"field": "comment", "message": "comment must be at most 5000 characters"})
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors)
    return values, assignee


def _condition_values(order: WorkOrder, new_values: dict) -> dict:
    values = {**order.fields, **new_values}
    builtins = {"priority": order.priority, "department": order.department_id, "location": order.location}
    return {**{name: builtins[name] for name in BUILTIN_NAMES}, **values}


def _apply(session, order, definition, event, target, values, assignee, comment, actor, now) -> WorkOrder:
    before = order.state
    order.state, order.updated_at = target, now
    order.fields = {**order.fields, **values}
    if assignee is not None:
        order.assignee_id = assignee.id
        order.team_id = assignee.team_id
    if actor is not None and order.first_contact_id is None and actor.has("dispatcher"):
        order.first_contact_id = actor.id  # 首接负责制: the desk that first handles it stays responsible
    if event == (definition.feedback.unsatisfied if definition.feedback else None):
        order.reopen_count += 1
    order.closed = target in definition.final_states()
    order.closed_at = now if order.closed else None
    session.add(order)
    session.add(History(
        work_order_id=order.id, at=now, actor_id=actor.id if actor else None, kind="transition", event=event,
        from_state=before, to_state=target, comment=comment or "",
        data={"fields": values, **({"assignee": assignee.username} if assignee else {})},
    ))
    sla.on_enter(session, order, definition, event=event, now=now)
    if assignee is not None:
        notify(session, [assignee.id], order=order, kind="assignment", now=now, actor_id=actor.id if actor else None,
               title=f"{order.number} {order.title}", body=comment or "")


def flush_order(session: Session, order: WorkOrder) -> None:
    """Write the work order now: losing the race for its version is a Conflict naming it."""
    unit_of_work.flush(session, f"work order {order.number}")


# --- editing ----------------------------------------------------------------------------------

EDITORS = {"dispatcher", "supervisor", "admin"}


def update(session: Session, actor: Actor, order_id: int, changes: dict, expected_version: int | None, now: datetime) -> WorkOrder:
    """Change priority, title, description, location or fields; recorded in the history like a transition."""
    order = get(session, actor, order_id)
    if not actor.roles & EDITORS:
        raise Forbidden("only a dispatcher, supervisor or admin may edit a work order")
    _check_version(order, expected_version)
    definition = definition_of(session, order)
    title, priority = changes.get("title"), changes.get("priority")
    errors = _basic_problems(order.title if title is None else title, order.priority if priority is None else priority)
    values = {}
    if changes.get("fields"):
        try:
            values = field_check.check(changes["fields"], definition.fields, allowed=set(definition.fields), required=set())
        except Invalid as exc:
            errors += exc.errors
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors)
    diff = {}
    for name in ("priority", "title", "description", "location"):
        if changes.get(name) is not None and changes[name] != getattr(order, name):
            diff[name] = {"from": getattr(order, name), "to": changes[name]}
            setattr(order, name, changes[name])
    changed_fields = {k: v for k, v in values.items() if order.fields.get(k) != v}
    if changed_fields:
        diff["fields"] = changed_fields
        order.fields = {**order.fields, **changed_fields}
    if not diff:
        return order
    order.updated_at = now
    session.add(order)
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id, kind="update", event="update",
                        from_state=order.state, to_state=order.state, comment=changes.get("comment") or "", data=diff))
    if "priority" in diff or changed_fields:
        sla.retarget(session, order, definition)
    flush_order(session, order)
    return order

"""Work orders: creating them, firing events on them, editing them, finding them.

Whether an event may be fired is decided by the compiled process alone
(`CompiledProcess.check`, which stops at the first failure: the work order is
visible, the expected version is current, the event is allowed from its state,
the caller may fire it, the input is valid, the condition holds); this module
hands it what only the database knows (visibility, who last did what, the
assignee's account) and turns a refusal into the engine's error. Then the state,
history, timers and notifications are written in one transaction.
"""
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from engine import settings
from engine.errors import FIELDS_INVALID, Forbidden, Invalid, NotFound, problem, refused
from engine.foresight import risk
from engine.notify.notifications import Notices
from engine.notify.progress import tell_reporter
from engine.orders import callers, visibility as permissions
from engine.people.users import Actor, department_named
from engine.places import assets, classes, health, locations
from engine.published import definitions
from engine.sla import autoconfirm, lateness, timers as sla
from engine.storage import unit_of_work
from engine.storage.bulk import Bulk
from engine.storage.models import Asset, Counter, Department, History, User, WorkOrder
from workflows.authority import LastDone, Transition
from workflows.fields import size_problems
from workflows.machine import CompiledProcess
from workflows.refusals import Refusal, check_version
from workflows.schema import PRIORITIES, ProcessDefinition

MAX_PAGE = 200


@dataclass
class EventInput:
    comment: str = ""
    assignee: str | None = None
    fields: dict = field(default_factory=dict)
    expected_version: int | None = None
    message: dict | None = None  # the system's own words on the step (engine/notify/messages.py), e.g. why it routed


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
    location_id: int | None = None  # this place and everything under it
    asset_id: int | None = None
    limit: int = 50
    offset: int = 0


def definition_of(session: Session, order: WorkOrder) -> ProcessDefinition:
    return definitions.compiled(session, order.process, order.definition_version).definition


# --- creating ---------------------------------------------------------------------------------

def create(
    session: Session, actor: Actor, *, process: str, title: str, description: str = "", priority: str = "normal",
    department: str | None = None, location: str = "", fields: dict | None = None, now: datetime,
    scheduled: bool = False, location_id: int | None = None, asset_id: int | None = None, origin_id: int | None = None,
    caller: callers.Caller | None = None,
) -> WorkOrder:
    """A new work order, filed by `actor`. `scheduled`: a recurring rule files it, so its department is the
    schedule's (written by whoever may publish schedules), whoever signs it. `caller`: the desk files it on
    behalf of someone who phoned (engine/orders/callers.py), who is then its requester of record.

    `location_id` is a node of the location tree, `location` the free-text detail beside it (or all
    there is); a work order about a device (`asset_id`) is at the device's place unless it names one."""
    if caller is not None:
        callers.check_taker(actor)
    version = definitions.latest_version(session, process)
    if version is None:
        rows = definitions.current_rows(session)
        known = {"process": process, "known": [row.key for row in rows],
                 "titles": [definitions.compiled(session, row.key, row.version).definition.title.model_dump()
                            for row in rows]}
        raise Invalid("unknown_process", [problem("process", "unknown_process", **known)], **known)
    compiled = definitions.compiled(session, process, version)
    definition = compiled.definition
    values, field_errors = compiled.creation_fields.clean(_device_category(session, definition, fields or {}, asset_id))
    errors = _basic_problems(title, priority) + field_errors + size_problems({}, values)
    place_errors, location_id = _place_problems(session, location_id, asset_id)
    errors += place_errors
    department_id = actor.department_id
    if department:
        try:
            department_id = department_named(session, department).id
        except Invalid as exc:
            errors += exc.errors
    intake = None
    if caller is not None:
        try:
            intake = callers.take(session, actor, caller, department_id if department else None)
            department_id = intake.department_id
        except Invalid as exc:
            errors += exc.errors
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    if not scheduled:
        _check_filing_department(actor, department_id)
    order = WorkOrder(
        number=_next_number(session, definition.number_prefix, now), process=process,
        definition_version=version, state=definition.initial_state, priority=priority,
        department_id=department_id, location=location, location_id=location_id, asset_id=asset_id, origin_id=origin_id,
        title=title.strip(), description=description, fields=values, reporter_id=intake.reporter_id if intake else actor.id,
        first_contact_id=actor.id if actor.has("dispatcher") else None,
        caller_name=intake.caller_name if intake else None, caller_phone=intake.caller_phone if intake else None,
        created_at=now, updated_at=now,
    )
    _reached(order, definition)
    routed = _dispatch().plan(session, compiled, order, now)  # before the insert: the team goes in with it
    session.add(order)
    session.flush()
    session.add(History(
        work_order_id=order.id, at=now, actor_id=actor.id, kind="create", to_state=order.state,
        data={"fields": values, "priority": priority, "title": order.title, **(intake.record if intake else {})},
    ))
    sla.on_enter(session, order, definition, event=None, now=now, timers=[])  # a new work order has no timers yet
    autoconfirm.on_enter(session, order, definition, now=now, left=order.state)
    _dispatch().apply(session, order, compiled, routed, now)
    session.flush()
    health.check_repeat_fault(session, order, now)  # a device failing again and again: tell the supervisors
    assets.follow_work(session, order)  # a repair filed: the device is under repair
    return order


def _device_category(session: Session, definition: ProcessDefinition, fields: dict, asset_id: int | None) -> dict:
    """A report from a device is of its class's category (definitions/equipment.yaml) when the reporter gives
    none and the process's `category` choices include it."""
    spec = definition.fields.get("category")
    if asset_id is None or fields.get("category") is not None or spec is None or spec.type != "choice":
        return fields
    asset = session.get(Asset, asset_id) if isinstance(asset_id, int) else None
    try:
        kind = classes.current().get(asset.asset_class) if asset is not None else None
    except Invalid:  # an equipment file never valid: the reporter chooses, as without a device
        kind = None
    if kind is None or kind.category not in (spec.choices or []):
        return fields
    return {**fields, "category": kind.category}


def _place_problems(session: Session, location_id: int | None, asset_id: int | None) -> tuple[list[dict], int | None]:
    """What is wrong with the place and device named, and the place the work order is at."""
    try:
        asset = assets.reportable(session, asset_id) if asset_id is not None else None
        if location_id is not None:
            locations.get(session, location_id)
    except Invalid as exc:
        return exc.errors, location_id
    return [], location_id if location_id is not None or asset is None else asset.location_id


def _check_filing_department(actor: Actor, department_id: int | None) -> None:
    """Clinical staff file for their own department; logistics staff (the phone desk) file for any.

    A work order filed into another department would land in that department's lists and its
    head's approvals, under a name the filer chose."""
    if not actor.sees_all and department_id != actor.department_id:
        raise Forbidden("own_department_only")


def _basic_problems(title: str | None, priority: str | None) -> list[dict]:
    errors = []
    if not title or not title.strip():
        errors.append(problem("title", "required"))
    elif len(title) > 200:
        errors.append(problem("title", "too_long", max=200))
    if priority not in PRIORITIES:
        errors.append(problem("priority", "not_a_priority", choices=list(PRIORITIES)))
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
        raise NotFound("work_order_not_found", id=order_id)
    return order


def compiled_of(session: Session, order: WorkOrder) -> CompiledProcess:
    return definitions.compiled(session, order.process, order.definition_version)


def available_events(session: Session, order: WorkOrder, actor: Actor) -> list[str]:
    """Names of the events the actor may fire now (the compiled process decides)."""
    return [transition.name for transition in available(session, order, actor)]


def available(session: Session, order: WorkOrder, actor: Actor, history: list[History] | None = None) -> list[Transition]:
    """The transitions the actor may fire now, each with what it asks for (fields, assignee, comment); from
    its `history` when the caller has read it whole (no query for who did what last)."""
    return available_for(session, [order], actor, {order.id: history} if history is not None else None)[order.id]


def available_for(session: Session, orders: list[WorkOrder], actor: Actor,
                  histories: dict[int, list[History]] | None = None) -> dict[int, list[Transition]]:
    """`available` for a whole list (a board): one query for the different-person rule, whatever the length."""
    compiled = {order.id: compiled_of(session, order) for order in orders}
    actors = {order.id: actor for order in orders}
    if any(process.asks_on_duty for process in compiled.values()):
        actors = _on_duty_for(session, actor, orders, histories)
    wanted = {order.id: compiled[order.id].remembered(order.state) for order in orders}
    done = _last_done_in(histories, wanted) if histories is not None else _last_done(session, wanted)
    return {order.id: compiled[order.id].available(order, actors[order.id], last_done=done.get(order.id, {}))
            for order in orders}


def _on_duty_for(session: Session, actor: Actor, orders: list[WorkOrder],
                 histories: dict[int, list[History]] | None) -> dict[int, Actor]:
    """Per work order, the actor with the teams they are on duty for (`actor.on_duty`, filled in when they signed
    in for this request), less the team of an order they declined."""
    return _dispatch().with_declines(session, actor, orders, histories)


def _last_done_in(histories: dict[int, list[History]], wanted: dict[int, frozenset[str]]) -> dict[int, dict[str, LastDone]]:
    """`_last_done` from histories already read: the newest row per event asked about."""
    out: dict[int, dict[str, LastDone]] = {}
    for order_id, names in wanted.items():
        for row in histories.get(order_id, []):
            if row.event in names:
                out.setdefault(order_id, {})[row.event] = LastDone(row.actor_id, row.id)  # oldest first: newest wins
    return out


def _last_done(session: Session, wanted: dict[int, frozenset[str]]) -> dict[int, dict[str, LastDone]]:
    """Per work order, who last did each event asked about: one query, the newest history row per event."""
    wanted = {order_id: names for order_id, names in wanted.items() if names}
    if not wanted:
        return {}
    names = set().union(*wanted.values())
    newest = (select(func.max(History.id)).where(History.work_order_id.in_(list(wanted)), History.event.in_(sorted(names)))
              .group_by(History.work_order_id, History.event))
    rows = session.exec(select(History.work_order_id, History.event, History.actor_id, History.id)
                        .where(History.id.in_(newest))).all()
    out: dict[int, dict[str, LastDone]] = {}
    for order_id, event, actor_id, row_id in rows:
        if event in wanted[order_id]:
            out.setdefault(order_id, {})[event] = LastDone(actor_id, row_id)
    return out


def search(session: Session, actor: Actor, filters: Filters, now: datetime, *, columns: list = ()) -> tuple[list, int]:
    """A page of the work orders `actor` may see, and how many there are in all. With `columns` (what a list
    shows them with, engine/orders/shown.py) each item is the row (order, *columns), read in the same statement."""
    query = select(WorkOrder)
    visible = permissions.visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    query = _apply_filters(session, query, filters, now)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    if filters.overdue or filters.escalated:
        # oldest breach first (lateness.went_late_at)
        query = query.order_by(lateness.went_late_at(now, live_only=filters.overdue).nulls_last(), WorkOrder.id)
    else:
        query = query.order_by(WorkOrder.id.desc())
    limit = max(1, min(filters.limit, MAX_PAGE))
    page = query.offset(max(filters.offset, 0)).limit(limit)
    if columns:
        return list(session.execute(page.add_columns(*columns)).all()), total
    return list(session.exec(page).all()), total


def search_at_risk(session: Session, actor: Actor, filters: Filters,
                   now: datetime) -> tuple[list[WorkOrder], int, dict[int, "risk.Scored"]]:
    """`search` among the open work orders whose riskiest timer is above its threshold (engine/foresight/
    risk.py), highest risk first; with each one's risk."""
    scored = risk.at_risk(session, now)
    query = _apply_filters(session, select(WorkOrder.id).where(WorkOrder.id.in_(list(scored) or [-1])), filters, now)
    visible = permissions.visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    ids = sorted(session.exec(query).all(), key=lambda order_id: (-scored[order_id].risk.probability, order_id))
    offset, limit = max(filters.offset, 0), max(1, min(filters.limit, MAX_PAGE))
    page = ids[offset:offset + limit]
    found = {order.id: order for order in session.exec(select(WorkOrder).where(WorkOrder.id.in_(page))).all()}
    return [found[order_id] for order_id in page], len(ids), {order_id: scored[order_id] for order_id in page}


def _apply_filters(session: Session, query, f: Filters, now: datetime):
    if f.process:
        query = query.where(WorkOrder.process == f.process)
    if f.state:
        query = query.where(WorkOrder.state == f.state)
    if f.priority:
        query = query.where(WorkOrder.priority == f.priority)
    if f.reporter_id:
        query = query.where(WorkOrder.reporter_id == f.reporter_id)
    if f.location_id:
        query = query.where(locations.within(WorkOrder.location_id, session, f.location_id))
    if f.asset_id:
        query = query.where(WorkOrder.asset_id == f.asset_id)
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
        query = query.where(lateness.order_overdue_clause(now))
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
    compiled = compiled_of(session, order)
    viewer = visible_to or actor
    remembered = compiled.remembered(order.state) if actor is not None else frozenset()
    if actor is not None and _asks_on_duty(compiled, event_name, order.state):
        actor = _dispatch().duty_of(session, actor, order, now)
    try:
        decision = compiled.check(
            order, actor, event_name, request, viewer=viewer,
            visible=viewer is None or permissions.can_see(viewer, order),
            last_done=_last_done(session, {order.id: remembered}).get(order.id, {}),
            find_assignee=lambda username: _active_user(session, username),
        )
    except Refusal as refusal:
        raise refused(refusal) from None
    # A concurrent step (e.g. two claims at once) may have written first: found at an autoflush in here,
    # or at the flush; named by the number read now, as a failed flush leaves the order unreadable.
    with unit_of_work.conflicts_as(order.number):
        # Only a step that may change a timer reads them; the others have none to touch.
        timers = sla.of_order(session, order.id) if compiled.moves_timers(decision.event, order.state) else []
        _apply(session, order, compiled.definition, decision.event, decision.target, decision.values, decision.assignee,
               request.comment, actor, now, request.message, timers)
        _dispatch().after_event(session, order, compiled, decision.event, actor, now, timers)
        session.flush()
    return order


def _asks_on_duty(compiled: CompiledProcess, event: str, state: str) -> bool:
    """Whether firing `event` from `state` asks whose rota covers now: only an event naming `on_duty` does
    (the others' checks never read it), so the rest cost no rota query."""
    transition = compiled.asks_on_duty and compiled.transition(event, state)
    return bool(transition) and "on_duty" in transition.roles


def _dispatch():
    """Routing (engine.dispatch.routing) fires events through this module, so it is imported when first used."""
    from engine.dispatch import routing

    return routing


def _get_any(session: Session, order_id: int) -> WorkOrder:
    order = session.get(WorkOrder, order_id)
    if order is None:
        raise NotFound("work_order_not_found", id=order_id)
    return order


def _check_version(order: WorkOrder, expected: int | None) -> None:
    try:
        check_version(order, expected)
    except Refusal as refusal:
        raise refused(refusal) from None


def _active_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username, User.active == True)).first()  # noqa: E712


def _apply(session, order, definition, event, target, values, assignee, comment, actor, now, said, timers) -> WorkOrder:
    """The step itself: the order's new state and fields, its timers, its timeline entry and whom it tells.
    The entry and the notices are written together at the end, one INSERT per table (engine/storage/bulk.py),
    before dispatch adds what it writes (so the timeline keeps the order things happened in)."""
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
    _reached(order, definition)
    order.closed = target in definition.final_states()
    order.closed_at = now if order.closed else None
    session.add(order)
    assets.follow_work(session, order)  # the last repair closed: the device is in service again
    written = Notices(Bulk())
    written.bulk.add(
        History, work_order_id=order.id, at=now, actor_id=actor.id if actor else None, kind="transition", event=event,
        from_state=before, to_state=target, comment=comment or "",
        data={"fields": values, **({"assignee": assignee.username} if assignee else {}), **({"message": said} if said else {})},
        labour_minutes=definition.labour_in(values),
    )
    sla.on_enter(session, order, definition, event=event, now=now, timers=timers)
    autoconfirm.on_enter(session, order, definition, now=now, left=before)
    if assignee is not None:
        written.add([assignee.id], order=order, kind="assignment", now=now, actor_id=actor.id if actor else None,
                    title=f"{order.number} {order.title}", body=comment or "", message=said)
    tell_reporter(session, order, definition, event=event, comment=comment or "", actor_id=actor.id if actor else None,
                  now=now, notices=written)
    written.queue(session)
    written.bulk.write(session)


def _reached(order: WorkOrder, definition) -> None:
    """The cockpit's fact that the work order has stood in its feedback state (asked to confirm) at least once."""
    if definition.feedback is not None and order.state == definition.feedback.state:
        order.reached_feedback = True


def flush_order(session: Session, order: WorkOrder) -> None:
    """Write the work order now: losing the race for its version is a Conflict naming it."""
    unit_of_work.flush(session, order.number)


# --- editing ----------------------------------------------------------------------------------

EDITORS = {"dispatcher", "supervisor", "admin"}


def update(session: Session, actor: Actor, order_id: int, changes: dict, expected_version: int | None, now: datetime) -> WorkOrder:
    """Change priority, title, description, location (place, device) or fields; recorded in the history like a
    transition."""
    order = get(session, actor, order_id)
    if not actor.roles & EDITORS:
        raise Forbidden("edit_roles", roles=sorted(EDITORS))
    _check_version(order, expected_version)
    compiled = compiled_of(session, order)
    definition = compiled.definition
    title, priority = changes.get("title"), changes.get("priority")
    errors = _basic_problems(order.title if title is None else title, order.priority if priority is None else priority)
    values = {}
    if changes.get("fields"):
        values, field_errors = compiled.edit_fields.clean(changes["fields"])
        errors += field_errors + size_problems(order.fields, values)
    if changes.get("location_id") is not None or changes.get("asset_id") is not None:
        errors += _place_problems(session, changes.get("location_id"), changes.get("asset_id"))[0]
    if errors:
        raise Invalid(FIELDS_INVALID, errors)
    diff = {}
    for name in ("priority", "title", "description", "location", "location_id", "asset_id"):
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

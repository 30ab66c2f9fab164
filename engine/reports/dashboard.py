"""The figures supervisors review (数据驾驶舱), computed with SQL aggregates, never row by row in Python.

Every figure is about the work orders *created* in the period (and visible to
the caller, of the department, process and team asked for): how many, how fast
they were answered, whether on time, how the requesters judged them, what they
cost in labour. A month's line is the same computation scoped to that month.

What a process contributes is declared in its YAML: `reporting` names the
response timer (default: the first SLA timer), the fault field and the labour
field; `feedback` the state where verdicts are given; a `ledger` section makes
its work orders hazards.

Percentiles come from PostgreSQL's percentile_cont; SQLite has none, so there
they are read with ORDER BY … OFFSET, two rows each, interpolated the same way:
both give the same answer.
"""
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, false, func, or_, true
from sqlmodel import Session, select

from engine.errors import Invalid
from engine.orders import visibility as permissions
from engine.people.users import Actor
from engine.published import definitions
from engine.reports import periods, targets
from engine.sla import lateness
from engine.storage.models import (Call, Department, Escalation, Feedback, History, Location, SlaTimer, Team, User,
                                   WorkOrder)
from workflows.schema import ProcessDefinition
from workflows.targets import Targets

log = logging.getLogger(__name__)
TOP = 10
MAX_MONTHS = 36
ENDED = lateness.ENDED


@dataclass
class Scope:
    start: datetime | None = None
    end: datetime | None = None
    department: str | None = None
    process: str | None = None
    team: str | None = None
    location_id: int | None = None  # a place of the tree, and everything under it


def _in_scope(actor: Actor | None, scope: Scope):
    """The work orders the figures cover: created in the period, visible to the actor (None: everything).

    A condition on work_orders itself rather than `id IN (SELECT id …)`: PostgreSQL then reads a
    month's rows through the created_at index, where the subquery made it hash-join the whole
    table for each of the ~25 queries of each month (minutes over a million work orders).
    """
    conditions = []
    visible = permissions.visible_clause(actor) if actor is not None else None
    if visible is not None:
        conditions.append(visible)
    if scope.start:
        conditions.append(WorkOrder.created_at >= scope.start)
    if scope.end:
        conditions.append(WorkOrder.created_at < scope.end)
    if scope.process:
        conditions.append(WorkOrder.process == scope.process)
    if scope.department:  # an unknown name gives NULL, which matches nothing
        conditions.append(WorkOrder.department_id == select(Department.id).where(Department.name == scope.department)
                          .scalar_subquery())
    if scope.team:
        conditions.append(WorkOrder.team_id == select(Team.id).where(Team.name == scope.team).scalar_subquery())
    if scope.location_id:  # an unknown place gives a NULL prefix, which matches nothing
        prefix = select(Location.path).where(Location.id == scope.location_id).scalar_subquery()
        conditions.append(WorkOrder.location_id.in_(select(Location.id).where(Location.path.startswith(prefix))))
    return and_(true(), *conditions)


def figures(session: Session, actor: Actor | None, scope: Scope, now: datetime, *,
            monthly: bool = False) -> dict:
    """The cockpit's figures for `scope`; with `monthly`, also `by_month`: the same for each local month."""
    processes = {row.key: definitions.compiled(session, row.key, row.version).definition
                 for row in definitions.current_rows(session)}
    goals = _goals()
    baseline = _baseline(session, actor, scope, now, processes, goals)
    out = _figures(session, actor, scope, now, processes, goals, baseline)
    if monthly:
        out["by_month"] = [
            {"month": name, **_figures(session, actor, replace(scope, start=start, end=end), now, processes, goals,
                                       baseline)}
            for name, start, end in months(scope, now)
        ]
    return out


def _goals() -> Targets:
    """The targets in force; none while the file is bad (the figures are still worth showing)."""
    try:
        return targets.current()
    except Invalid as exc:
        log.error("the cockpit shows no targets: %s", exc.message)
        return Targets()


def _baseline(session: Session, actor: Actor | None, scope: Scope, now: datetime, processes: dict,
              goals: Targets) -> dict | None:
    """Each target's figure over the baseline months, for the same departments, processes and teams."""
    if goals.baseline is None or not goals.targets:
        return None
    start, _ = periods.month(goals.baseline.start)
    _, end = periods.month(goals.baseline.end)
    found = _figures(session, actor, replace(scope, start=start, end=end), now, processes, goals, None)
    return {row["name"]: row["actual"] for row in found["targets"]}


def months(scope: Scope, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """The local months the scope covers, cut to its bounds: the last 12 up to now when it has no start.

    At most the last MAX_MONTHS of them.
    """
    end = scope.end or now
    start = scope.start
    if start is None:
        latest = periods.months(end - timedelta(microseconds=1), end)[-1]
        year, month = map(int, latest.split("-"))
        year, month = divmod(year * 12 + month - 1 - 11, 12)
        start, _ = periods.month(f"{year:04d}-{month + 1:02d}")
    if end <= start:
        return []
    found = []
    for name in periods.months(start, end)[-MAX_MONTHS:]:
        first, after = periods.month(name)
        found.append((name, max(first, start), min(after, end)))
    return found


def _figures(session: Session, actor: Actor | None, scope: Scope, now: datetime, processes: dict,
             goals: Targets, baseline: dict | None) -> dict:
    in_scope = _in_scope(actor, scope)
    counts = _counts(session, in_scope, processes)
    timers = _timers(session, in_scope, processes)
    response = _response(session, in_scope, processes)
    verdicts = _verdicts(session, in_scope)
    calls = _calls(session, in_scope)
    labour = _labour(session, in_scope, processes)
    ended, met = sum(t["ended"] for t in timers), sum(t["met"] for t in timers)
    out = {
        # the first cockpit's figures, as they were
        "total": counts["total"],
        "by_state": _grouped(session, in_scope, WorkOrder.state),
        "by_process": _grouped(session, in_scope, WorkOrder.process),
        "by_department": _by_department(session, in_scope),
        "on_time_rate": _rate(met, ended),
        "on_time": _on_time_by_name(session, in_scope),
        "average_response_minutes": response["overall"]["average"],
        "satisfaction_rate": _rate(verdicts["satisfied"], verdicts["ratings"]),
        "ratings": verdicts["ratings"],
        "overdue": _overdue(session, in_scope, now),
        "escalated": counts["escalated_open"],
        # the closed loop
        "completed": counts["completed"],
        "completion_rate": _rate(counts["completed"], counts["total"]),
        "response_minutes": response["overall"],
        "response_by_process": response["by_process"],
        "timers": timers,
        "reopened": counts["reopened"],
        "reached_feedback": counts["reached_feedback"],
        "reopen_rate": _rate(counts["reopened"], counts["reached_feedback"]),
        "urged": counts["urged"],
        "urges": counts["urges"],
        "calls": calls["reached"],
        "calls_unreached": calls["unreached"],
        "call_satisfaction_rate": _rate(calls["satisfied"], calls["reached"]),
        "average_rating": verdicts["average_rating"],
        "auto_confirmed": verdicts["auto"],
        "auto_confirmed_share": _rate(verdicts["auto"], verdicts["ratings"] + verdicts["auto"]),
        "breached": _breached(session, in_scope, now),
        "escalated_total": counts["escalated_total"],
        "hazards_open": counts["hazards_open"],
        "hazards_closed_out": counts["hazards_closed_out"],
        "labour_minutes": sum(row["minutes"] for row in labour),
        "labour_by_technician": labour,
        "top_categories": _top_categories(session, in_scope, processes),
        "top_locations": _top_locations(session, in_scope, processes),
    }
    shares = targets.answered(session, in_scope, processes, goals)
    out["targets"] = targets.evaluate(goals, out, shares, baseline)
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _any(clauses: list):
    return or_(false(), *clauses)


def _counts(session: Session, in_scope, processes: dict[str, ProcessDefinition]) -> dict:
    """Everything that is a count of work orders, in one pass over them."""
    ledgers = [key for key, d in processes.items() if d.ledger is not None]
    waited = _any([
        and_(WorkOrder.process == key, exists().where(
            History.work_order_id == WorkOrder.id, History.to_state == d.feedback.state,
            History.kind.in_(("create", "transition"))))
        for key, d in processes.items() if d.feedback is not None
    ])
    escalated = or_(WorkOrder.escalation_level > 0, exists().where(Escalation.work_order_id == WorkOrder.id))
    hazard = WorkOrder.process.in_(ledgers)
    row = session.exec(select(
        func.count(),
        _count_if(WorkOrder.closed == True),  # noqa: E712
        _count_if(WorkOrder.reopen_count > 0),
        _count_if(waited),
        _count_if(and_(WorkOrder.escalation_level > 0, WorkOrder.closed == False)),  # noqa: E712
        _count_if(escalated),
        _count_if(and_(hazard, WorkOrder.closed == False)),  # noqa: E712
        _count_if(and_(hazard, WorkOrder.closed == True)),  # noqa: E712
        _count_if(WorkOrder.urge_count > 0),
        func.coalesce(func.sum(WorkOrder.urge_count), 0),
    ).select_from(WorkOrder).where(in_scope)).one()
    names = ("total", "completed", "reopened", "reached_feedback", "escalated_open", "escalated_total",
             "hazards_open", "hazards_closed_out", "urged", "urges")
    return {name: int(value or 0) for name, value in zip(names, row)}


def _grouped(session: Session, in_scope, column) -> dict:
    return {key or "": count for key, count in session.exec(
        select(column, func.count()).select_from(WorkOrder).where(in_scope).group_by(column)).all()}


def _by_department(session: Session, in_scope) -> dict:
    return {name or "": count for name, count in session.exec(
        select(Department.name, func.count()).select_from(WorkOrder)
        .join(Department, Department.id == WorkOrder.department_id, isouter=True)
        .where(in_scope).group_by(Department.name)).all()}


# An offer's acceptance clock rides the timer rows (engine.dispatch.offers) but is no SLA.
_SLA_ONLY = ~SlaTimer.name.startswith("dispatch:")


def _timers(session: Session, in_scope, processes: dict[str, ProcessDefinition]) -> list[dict]:
    """On-time rate of each timer of each process: met out of those that ended (met or breached)."""
    rows = session.exec(
        select(WorkOrder.process, SlaTimer.name, _count_if(SlaTimer.status == "met"),
               _count_if(SlaTimer.status.in_(ENDED)),
               func.avg(case((SlaTimer.status.in_(ENDED), SlaTimer.working_seconds / 60.0))))
        .join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id).where(in_scope, _SLA_ONLY)
        .group_by(WorkOrder.process, SlaTimer.name).order_by(WorkOrder.process, SlaTimer.name)
    ).all()
    out = []
    for process, name, met, ended, minutes in rows:
        spec = processes[process].sla.get(name) if process in processes else None
        out.append({"process": process, "timer": name,
                    "label": spec.label.model_dump() if spec and spec.label else None,
                    "met": int(met), "ended": int(ended), "rate": _rate(int(met), int(ended)),
                    "average_minutes": round(minutes, 1) if minutes is not None else None})
    return out


def _on_time_by_name(session: Session, in_scope) -> dict:
    """The first cockpit's view: timers of the same name taken together whatever their process."""
    rows = session.exec(
        select(SlaTimer.name, _count_if(SlaTimer.status == "met"), _count_if(SlaTimer.status.in_(ENDED)),
               func.avg(case((SlaTimer.status.in_(ENDED), SlaTimer.working_seconds / 60.0))))
        .join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id).where(in_scope, _SLA_ONLY).group_by(SlaTimer.name)
    ).all()
    return {name: {"met": int(met), "ended": int(ended), "rate": _rate(int(met), int(ended)),
                   "average_minutes": round(minutes, 1) if minutes is not None else None}
            for name, met, ended, minutes in rows}


def _response(session: Session, in_scope, processes: dict[str, ProcessDefinition]) -> dict:
    """Working time to the end of each process's response timer: count, mean, median and 90th percentile."""
    chosen = {key: d.response_timer() for key, d in processes.items() if d.response_timer()}

    def measured(*keys):
        which = _any([and_(WorkOrder.process == key, SlaTimer.name == chosen[key]) for key in keys])
        return (select(SlaTimer.working_seconds).join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id)
                .where(in_scope, which, SlaTimer.status.in_(ENDED), SlaTimer.working_seconds.is_not(None)))

    by_process = {}
    for key in chosen:
        summary = _summary(session, measured(key))
        if summary["count"]:
            by_process[key] = {"timer": chosen[key], **summary}
    return {"overall": _summary(session, measured(*chosen)), "by_process": by_process}


def _summary(session: Session, values) -> dict:
    inner = values.subquery()
    column = inner.c.working_seconds
    minutes = lambda seconds: round(seconds / 60.0, 1) if seconds is not None else None  # noqa: E731
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL has percentile_cont itself: one pass instead of a count and two sorts.
        count, mean, median, p90 = session.exec(select(
            func.count(), func.avg(column), func.percentile_cont(0.5).within_group(column),
            func.percentile_cont(0.9).within_group(column))).one()
        return {"count": count, "average": minutes(mean), "median": minutes(median), "p90": minutes(p90)}
    count, mean = session.exec(select(func.count(), func.avg(column))).one()
    return {"count": count, "average": minutes(mean),
            "median": minutes(_percentile(session, column, count, 0.5)),
            "p90": minutes(_percentile(session, column, count, 0.9))}


def _percentile(session: Session, column, count: int, fraction: float) -> float | None:
    """percentile_cont: the value at position fraction*(n-1) of the sorted values, interpolated."""
    if not count:
        return None
    position = fraction * (count - 1)
    below = math.floor(position)
    pair = session.exec(select(column).order_by(column).offset(below).limit(2)).all()
    if len(pair) == 1 or position == below:
        return float(pair[0])
    return pair[0] + (pair[1] - pair[0]) * (position - below)


def _verdicts(session: Session, in_scope) -> dict:
    """Requesters' verdicts: real ratings apart from confirmations by silence."""
    real = Feedback.auto == False  # noqa: E712
    count, satisfied, average, auto = session.exec(select(
        _count_if(real), _count_if(and_(real, Feedback.satisfied == True)),  # noqa: E712
        func.avg(case((real, Feedback.rating))), _count_if(Feedback.auto == True),  # noqa: E712
    ).join(WorkOrder, WorkOrder.id == Feedback.work_order_id).where(in_scope)).one()
    return {"ratings": int(count), "satisfied": int(satisfied), "auto": int(auto),
            "average_rating": round(average, 2) if average is not None else None}


def _calls(session: Session, in_scope) -> dict:
    """The desk's follow-up calls (回访), apart from the requesters' ratings: those that reached someone, how many
    of them found the requester satisfied, and the attempts that reached nobody."""
    reached = Call.reached == True  # noqa: E712
    count, satisfied, unreached = session.exec(select(
        _count_if(reached), _count_if(and_(reached, Call.satisfied == True)), _count_if(~reached),  # noqa: E712
    ).join(WorkOrder, WorkOrder.id == Call.work_order_id).where(in_scope)).one()
    return {"reached": int(count), "satisfied": int(satisfied), "unreached": int(unreached)}


def _overdue(session: Session, in_scope, now: datetime) -> int:
    """Work orders late now (lateness.order_overdue_clause)."""
    return session.exec(select(func.count()).select_from(WorkOrder)
                        .where(in_scope, lateness.order_overdue_clause(now))).one()


def _breached(session: Session, in_scope, now: datetime) -> int:
    """Work orders that missed a deadline at some point, whether since finished or not."""
    late = select(SlaTimer.id).where(SlaTimer.work_order_id == WorkOrder.id, lateness.timer_late_clause(now))
    return session.exec(select(func.count()).select_from(WorkOrder).where(in_scope, late.exists())).one()


def _labour(session: Session, in_scope, processes: dict[str, ProcessDefinition]) -> list[dict]:
    """Labour minutes per person who recorded them (计件制工时), from every event that recorded some:
    a repair fixed twice counts both visits."""
    totals: dict[int, list] = {}
    for key, definition in processes.items():
        field = definition.reporting.labour_field if definition.reporting else None
        if not field:
            continue
        minutes = _plain_number(History.data[("fields", field)])
        for actor_id, total, orders in session.exec(
            select(History.actor_id, func.sum(minutes), func.count(func.distinct(History.work_order_id)))
            .join(WorkOrder, WorkOrder.id == History.work_order_id)
            .where(in_scope, WorkOrder.process == key, History.kind == "transition", minutes.is_not(None))
            .group_by(History.actor_id)
        ).all():
            entry = totals.setdefault(actor_id, [0.0, 0])
            entry[0] += total or 0
            entry[1] += orders
    names = dict(session.exec(select(User.id, User.username).where(User.id.in_(set(totals) - {None}))).all())
    rows = [{"technician": names.get(actor_id), "minutes": _whole(minutes), "work_orders": orders}
            for actor_id, (minutes, orders) in totals.items()]
    return sorted(rows, key=lambda row: (-row["minutes"], row["technician"] or ""))


def _plain_number(value):
    """A stored JSON number as a float, NULL unless written in at most 16 characters without an exponent: a
    value stored before numbers were bounded (a 400-digit integer, 1e300) would fail the sum, or overflow it,
    for the whole cockpit."""
    written = func.lower(value.as_string())
    return case((and_(func.length(written) <= 16, written.not_like("%e%"), written.not_like("%n%")), value.as_float()))


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 1)


def _fault_processes(processes: dict[str, ProcessDefinition]) -> dict[str, str]:
    return {key: d.reporting.fault_field for key, d in processes.items() if d.reporting and d.reporting.fault_field}


def _top_categories(session: Session, in_scope, processes: dict[str, ProcessDefinition]) -> list[dict]:
    rows = []
    for key, field in _fault_processes(processes).items():
        category = WorkOrder.fields[field].as_string()
        rows += [{"process": key, "category": value, "count": count} for value, count in session.exec(
            select(category, func.count()).where(in_scope, WorkOrder.process == key, category.is_not(None))
            .group_by(category).order_by(func.count().desc(), category).limit(TOP)).all()]
    return sorted(rows, key=lambda row: (-row["count"], row["process"], row["category"]))[:TOP]


def _top_locations(session: Session, in_scope, processes: dict[str, ProcessDefinition]) -> list[dict]:
    """Where faults were reported most (work orders of the processes that declare a fault field): by their place
    of the tree when they name one (so "住院楼5F 512病房" and "住院楼5F 512" are one place), else by the free text."""
    faults = list(_fault_processes(processes))
    place = func.coalesce(Location.full_name, WorkOrder.location)
    return [{"location": location, "count": count} for location, count in session.exec(
        select(place, func.count()).select_from(WorkOrder)
        .join(Location, Location.id == WorkOrder.location_id, isouter=True)
        .where(in_scope, WorkOrder.process.in_(faults), or_(WorkOrder.location != "", WorkOrder.location_id.is_not(None)))
        .group_by(place).order_by(func.count().desc(), place).limit(TOP)).all()]

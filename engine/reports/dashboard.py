"""The figures supervisors review (数据驾驶舱), computed with SQL aggregates, never row by row in Python.

Every figure is about the work orders *created* in the period (and visible to
the caller, of the department, process and team asked for): how many, how fast
they were answered, whether on time, how the requesters judged them, what they
cost in labour. A month's line is the same computation scoped to that month.

What a process contributes is declared in its YAML: `reporting` names the
response timer (default: the first SLA timer), the fault field and the labour
field; `feedback` the state where verdicts are given; a `ledger` section makes
its work orders hazards.

What would take a look into each work order's history or timers is a fact the
step that makes it true writes (engine/orders/workorders.py, engine/sla/timers.py):
the order reached its feedback state, one of its timers stopped late, and the
minutes each step recorded in the labour field (history.labour_minutes).

Percentiles come from PostgreSQL's percentile_cont; SQLite has none, so there
they are read with ORDER BY … OFFSET, two rows each, interpolated the same way:
both give the same answer.
"""
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, case, false, func, literal, null, or_, text, true, tuple_
from sqlalchemy.orm import aliased
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
    """The cockpit's figures for `scope`; with `monthly`, also `by_month`: the same for each local month.

    Each figure is one query for the whole scope and one grouped by month (never a query per month):
    the number of statements does not grow with the months or the work orders.
    """
    _without_jit(session)
    processes = {row.key: definitions.compiled(session, row.key, row.version).definition
                 for row in definitions.current_rows(session)}
    goals = _goals()
    baseline = _baseline(session, actor, scope, now, processes, goals)
    out = _figures(session, actor, scope, now, processes, goals, baseline)[""]
    if monthly:
        spans = months(scope, now)
        found = _figures(session, actor, scope, now, processes, goals, baseline, spans) if spans else {}
        out["by_month"] = [{"month": name, **found[name]} for name, _, _ in spans]
    return out


def _without_jit(session: Session) -> None:
    """PostgreSQL compiles a costly plan's expressions to machine code (JIT) first: for these passes over a million
    rows that takes longer than it saves (a fifth of the cockpit's time over 1,000,000 work orders). For the rest
    of this transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SET LOCAL jit = off"))


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
    found = _figures(session, actor, replace(scope, start=start, end=end), now, processes, goals, None)[""]
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


@dataclass
class _Orders:
    """The work orders a pass covers, as one subquery: `row` is WorkOrder read from it, `bucket` the group each
    falls in ("" for the whole scope, else its month), and a few per-order facts computed there."""
    table: object
    row: type

    @property
    def bucket(self):
        return self.table.c.bucket


def _orders(actor: Actor | None, scope: Scope, now: datetime, processes: dict[str, ProcessDefinition],
            spans: list | None) -> _Orders:
    """The month is a CASE over the months' bounds (computed in the hospital's time zone by `months`), so
    SQLite and PostgreSQL group alike; grouping by the subquery's column keeps its parameters out of GROUP BY."""
    if spans:
        bucket = case(*[(and_(WorkOrder.created_at >= start, WorkOrder.created_at < end), literal(name))
                        for name, start, end in spans])
        scope = replace(scope, start=spans[0][1], end=spans[-1][2])
    else:
        bucket = literal("")
    # A deadline missed at some point: a timer that stopped late (a fact kept on the order), or one late now.
    late_now = and_(WorkOrder.closed == False, select(SlaTimer.id).where(  # noqa: E712
        SlaTimer.work_order_id == WorkOrder.id, lateness.timer_late_clause(now)).exists())
    breached = or_(WorkOrder.deadline_missed == True, late_now)  # noqa: E712
    faults = _fault_processes(processes)
    fault = case(*[(WorkOrder.process == key, WorkOrder.fields[field].as_string()) for key, field in faults.items()]
                 ) if faults else null()
    table = select(WorkOrder, bucket.label("bucket"), lateness.order_overdue_clause(now).label("overdue"),
                   breached.label("breached"), fault.label("fault")).where(_in_scope(actor, scope)).subquery("scoped")
    return _Orders(table, aliased(WorkOrder, table))


def _figures(session: Session, actor: Actor | None, scope: Scope, now: datetime, processes: dict,
             goals: Targets, baseline: dict | None, spans: list | None = None) -> dict[str, dict]:
    """The figures of each bucket: the whole scope (key "") or, with `spans`, each month of them."""
    orders = _orders(actor, scope, now, processes, spans)
    buckets = [name for name, _, _ in spans] if spans else [""]
    counts = _counts(session, orders, processes)
    timers, on_time = _timers(session, orders, processes)
    response = _response(session, orders, processes)
    verdicts = _verdicts(session, orders)
    calls = _calls(session, orders)
    labour = _labour(session, orders)
    states = _grouped(session, orders, orders.row.state)
    kinds = _grouped(session, orders, orders.row.process)
    departments = _by_department(session, orders)
    categories = _top_categories(session, orders)
    places = _top_locations(session, orders, processes)
    shares = targets.answered(session, orders, processes, goals)
    found = {}
    for bucket in buckets:
        count = counts.get(bucket) or dict.fromkeys(_COUNTS, 0)
        timer_rows = timers.get(bucket, [])
        summary = response.get(bucket) or {"overall": _summary_of(None), "by_process": {}}
        verdict = verdicts.get(bucket) or {"ratings": 0, "satisfied": 0, "auto": 0, "average_rating": None}
        call = calls.get(bucket) or {"reached": 0, "satisfied": 0, "unreached": 0}
        work = labour.get(bucket, [])
        ended, met = sum(t["ended"] for t in timer_rows), sum(t["met"] for t in timer_rows)
        out = {
            # the first cockpit's figures, as they were
            "total": count["total"],
            "by_state": states.get(bucket, {}),
            "by_process": kinds.get(bucket, {}),
            "by_department": departments.get(bucket, {}),
            "on_time_rate": _rate(met, ended),
            "on_time": on_time.get(bucket, {}),
            "average_response_minutes": summary["overall"]["average"],
            "satisfaction_rate": _rate(verdict["satisfied"], verdict["ratings"]),
            "ratings": verdict["ratings"],
            "overdue": count["overdue"],
            "escalated": count["escalated_open"],
            # the closed loop
            "completed": count["completed"],
            "completion_rate": _rate(count["completed"], count["total"]),
            "response_minutes": summary["overall"],
            "response_by_process": summary["by_process"],
            "timers": timer_rows,
            "reopened": count["reopened"],
            "reached_feedback": count["reached_feedback"],
            "reopen_rate": _rate(count["reopened"], count["reached_feedback"]),
            "urged": count["urged"],
            "urges": count["urges"],
            "calls": call["reached"],
            "calls_unreached": call["unreached"],
            "call_satisfaction_rate": _rate(call["satisfied"], call["reached"]),
            "average_rating": verdict["average_rating"],
            "auto_confirmed": verdict["auto"],
            "auto_confirmed_share": _rate(verdict["auto"], verdict["ratings"] + verdict["auto"]),
            "breached": count["breached"],
            "escalated_total": count["escalated_total"],
            "hazards_open": count["hazards_open"],
            "hazards_closed_out": count["hazards_closed_out"],
            "labour_minutes": sum(row["minutes"] for row in work),
            "labour_by_technician": work,
            "top_categories": categories.get(bucket, []),
            "top_locations": places.get(bucket, []),
        }
        out["targets"] = targets.evaluate(goals, out, shares.get(bucket, {}), baseline)
        found[bucket] = out
    return found


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _any(clauses: list):
    return or_(false(), *clauses)


_COUNTS = ("total", "completed", "reopened", "reached_feedback", "escalated_open", "escalated_total",
           "hazards_open", "hazards_closed_out", "urged", "urges", "overdue", "breached")


def _counts(session: Session, orders: _Orders, processes: dict[str, ProcessDefinition]) -> dict[str, dict]:
    """Everything that is a count of work orders, in one pass over them: overdue is lateness.order_overdue_clause,
    breached a deadline missed at some point, whether since finished or not; escalated ever, at a level now or
    by a rung fired at some point (the few orders with escalations, joined once rather than looked up per order)."""
    o, c = orders.row, orders.table.c
    hazard = o.process.in_([key for key, d in processes.items() if d.ledger is not None])
    escalated = select(Escalation.work_order_id).distinct().subquery("escalated")
    rows = session.exec(select(
        orders.bucket,
        func.count(),
        _count_if(o.closed == True),  # noqa: E712
        _count_if(o.reopen_count > 0),
        _count_if(o.reached_feedback == True),  # noqa: E712
        _count_if(and_(o.escalation_level > 0, o.closed == False)),  # noqa: E712
        _count_if(or_(o.escalation_level > 0, escalated.c.work_order_id.is_not(None))),
        _count_if(and_(hazard, o.closed == False)),  # noqa: E712
        _count_if(and_(hazard, o.closed == True)),  # noqa: E712
        _count_if(o.urge_count > 0),
        func.coalesce(func.sum(o.urge_count), 0),
        _count_if(c.overdue),
        _count_if(c.breached),
    ).select_from(orders.table).outerjoin(escalated, escalated.c.work_order_id == o.id).group_by(orders.bucket)).all()
    return {bucket: {name: int(value or 0) for name, value in zip(_COUNTS, values)} for bucket, *values in rows}


def _grouped(session: Session, orders: _Orders, column) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for bucket, key, count in session.exec(
            select(orders.bucket, column, func.count()).group_by(orders.bucket, column)).all():
        found.setdefault(bucket, {})[key or ""] = count
    return found


def _by_department(session: Session, orders: _Orders) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for bucket, name, count in session.exec(
            select(orders.bucket, Department.name, func.count()).select_from(orders.table)
            .join(Department, Department.id == orders.row.department_id, isouter=True)
            .group_by(orders.bucket, Department.name)).all():
        found.setdefault(bucket, {})[name or ""] = count
    return found


# An offer's acceptance clock rides the timer rows (engine.dispatch.offers) but is no SLA.
_SLA_ONLY = ~SlaTimer.name.startswith("dispatch:")


def _with_timers(orders: _Orders):
    return lambda query: query.select_from(SlaTimer).join(orders.table, orders.row.id == SlaTimer.work_order_id)


def _timers(session: Session, orders: _Orders, processes: dict[str, ProcessDefinition]) -> tuple[dict[str, list], dict]:
    """On-time rate of each timer of each process: met out of those that ended (met or breached). And, from the
    same pass, the first cockpit's view: timers of the same name taken together whatever their process."""
    process, ended = orders.row.process, SlaTimer.status.in_(ENDED)
    minutes = case((ended, SlaTimer.working_seconds / 60.0))
    rows = session.exec(_with_timers(orders)(
        select(orders.bucket, process, SlaTimer.name, _count_if(SlaTimer.status == "met"), _count_if(ended),
               func.sum(minutes), func.count(minutes)))
        .where(_SLA_ONLY).group_by(orders.bucket, process, SlaTimer.name).order_by(process, SlaTimer.name)
    ).all()
    by_process: dict[str, list] = {}
    by_name: dict[str, dict] = {}
    for bucket, process, name, *counted in rows:
        spec = processes[process].sla.get(name) if process in processes else None
        by_process.setdefault(bucket, []).append({
            "process": process, "timer": name, "label": spec.label.model_dump() if spec and spec.label else None,
            **_on_time(*counted)})
        same_name = by_name.setdefault(bucket, {}).setdefault(name, [0, 0, 0, 0])
        same_name[:] = [have + (more or 0) for have, more in zip(same_name, counted)]
    return by_process, {bucket: {name: _on_time(*counted) for name, counted in names.items()}
                        for bucket, names in by_name.items()}


def _on_time(met, ended, minutes, measured) -> dict:
    """A timer's figures from its counts: met, ended, and the sum of the ended ones' working minutes over how many
    had some."""
    met, ended = int(met), int(ended)
    return {"met": met, "ended": ended, "rate": _rate(met, ended),
            "average_minutes": round(minutes / measured, 1) if measured else None}


def _response(session: Session, orders: _Orders, processes: dict[str, ProcessDefinition]) -> dict[str, dict]:
    """Working time to the end of each process's response timer: count, mean, median and 90th percentile,
    over all processes and for each."""
    chosen = {key: d.response_timer() for key, d in processes.items() if d.response_timer()}
    process = orders.row.process

    which = _any([and_(process == name, SlaTimer.name == chosen[name]) for name in chosen])
    measured = _with_timers(orders)(select(orders.bucket.label("bucket"), process.label("key"), SlaTimer.working_seconds)) \
        .where(which, SlaTimer.status.in_(ENDED), SlaTimer.working_seconds.is_not(None))
    summaries = _summaries(session, measured)
    found = {bucket: {"overall": summary, "by_process": {}} for (bucket, key), summary in summaries.items() if key is None}
    for (bucket, key), summary in sorted(((group, summary) for group, summary in summaries.items() if group[1] is not None),
                                         key=lambda item: list(chosen).index(item[0][1])):
        found[bucket]["by_process"][key] = {"timer": chosen[key], **summary}
    return found


def _summary_of(count, mean=None, median=None, p90=None) -> dict:
    minutes = lambda seconds: round(seconds / 60.0, 1) if seconds is not None else None  # noqa: E731
    return {"count": count or 0, "average": minutes(mean), "median": minutes(median), "p90": minutes(p90)}


def _summaries(session: Session, values) -> dict[tuple, dict]:
    """The summary of `values` (bucket, key, working_seconds) for each (bucket, key) that has some, and for each
    bucket over all its keys, under (bucket, None)."""
    inner = values.subquery()
    column, bucket, key = inner.c.working_seconds, inner.c.bucket, inner.c.key
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL has percentile_cont itself, and both groupings in one pass (GROUPING SETS).
        rows = session.exec(select(bucket, key, func.grouping(key), func.count(), func.avg(column),
                                   func.percentile_cont(0.5).within_group(column),
                                   func.percentile_cont(0.9).within_group(column))
                            .group_by(func.grouping_sets(tuple_(bucket, key), tuple_(bucket)))).all()
        return {(at, None if overall else name): _summary_of(count, mean, median, p90)
                for at, name, overall, count, mean, median, p90 in rows}
    found = {}
    for groups in ((bucket, key), (bucket,)):
        counted = {tuple(group): (count, mean) for *group, count, mean in
                   session.exec(select(*groups, func.count(), func.avg(column)).group_by(*groups)).all()}
        ranked = _ranked(session, inner, groups, {rank for count, _ in counted.values() for fraction in (0.5, 0.9)
                                                  for rank in _ranks(count, fraction)})
        for group, (count, mean) in counted.items():
            found[group if len(group) == 2 else (group[0], None)] = _summary_of(
                count, mean, *(_percentile(ranked, group, count, fraction) for fraction in (0.5, 0.9)))
    return found


def _ranks(count: int, fraction: float) -> tuple[int, int]:
    """The 0-based ranks percentile_cont reads: position fraction*(n-1) and the one after it."""
    below = math.floor(fraction * (count - 1))
    return below, below + 1


def _ranked(session: Session, inner, groups: tuple, ranks: set[int]) -> dict[tuple, float]:
    """SQLite: the values at these ranks of each group, sorted within it: one query whatever the groups."""
    rank = (func.row_number().over(partition_by=groups, order_by=inner.c.working_seconds) - 1).label("rank")
    ordered = select(*groups, rank, inner.c.working_seconds).subquery()
    picked = [ordered.c[column.name] for column in groups]
    return {(*group, at): value for *group, at, value in session.exec(
        select(*picked, ordered.c.rank, ordered.c.working_seconds).where(ordered.c.rank.in_(sorted(ranks)))).all()}


def _percentile(values: dict, group: tuple, count: int, fraction: float) -> float | None:
    """percentile_cont: the value at position fraction*(n-1) of the sorted values, interpolated."""
    if not count:
        return None
    position = fraction * (count - 1)
    below, above = _ranks(count, fraction)
    low = values[(*group, below)]
    if position == below or (*group, above) not in values:
        return float(low)
    return low + (values[(*group, above)] - low) * (position - below)


def _verdicts(session: Session, orders: _Orders) -> dict[str, dict]:
    """Requesters' verdicts: real ratings apart from confirmations by silence."""
    real = Feedback.auto == False  # noqa: E712
    rows = session.exec(select(
        orders.bucket, _count_if(real), _count_if(and_(real, Feedback.satisfied == True)),  # noqa: E712
        func.avg(case((real, Feedback.rating))), _count_if(Feedback.auto == True),  # noqa: E712
    ).select_from(Feedback).join(orders.table, orders.row.id == Feedback.work_order_id).group_by(orders.bucket)).all()
    return {bucket: {"ratings": int(count), "satisfied": int(satisfied), "auto": int(auto),
                     "average_rating": round(average, 2) if average is not None else None}
            for bucket, count, satisfied, average, auto in rows}


def _calls(session: Session, orders: _Orders) -> dict[str, dict]:
    """The desk's follow-up calls (回访), apart from the requesters' ratings: those that reached someone, how many
    of them found the requester satisfied, and the attempts that reached nobody."""
    reached = Call.reached == True  # noqa: E712
    rows = session.exec(select(
        orders.bucket, _count_if(reached), _count_if(and_(reached, Call.satisfied == True)),  # noqa: E712
        _count_if(~reached),
    ).select_from(Call).join(orders.table, orders.row.id == Call.work_order_id).group_by(orders.bucket)).all()
    return {bucket: {"reached": int(count), "satisfied": int(satisfied), "unreached": int(unreached)}
            for bucket, count, satisfied, unreached in rows}


def _labour(session: Session, orders: _Orders) -> dict[str, list]:
    """Labour minutes per person who recorded them (计件制工时), from every step that recorded some (each process
    names its field; the step kept the number): a repair fixed twice counts both visits."""
    minutes = History.labour_minutes
    rows = session.exec(
        select(orders.bucket, History.actor_id, func.sum(minutes), func.count(func.distinct(History.work_order_id)))
        .select_from(History).join(orders.table, orders.row.id == History.work_order_id)
        .where(minutes.is_not(None)).group_by(orders.bucket, History.actor_id)
    ).all()
    ids = {actor_id for _, actor_id, _, _ in rows} - {None}
    names = dict(session.exec(select(User.id, User.username).where(User.id.in_(ids))).all())
    found: dict[str, list] = {}
    for bucket, actor_id, total, count in rows:
        found.setdefault(bucket, []).append(
            {"technician": names.get(actor_id), "minutes": _whole(total or 0), "work_orders": count})
    return {bucket: sorted(found_rows, key=lambda row: (-row["minutes"], row["technician"] or ""))
            for bucket, found_rows in found.items()}


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 1)


def _fault_processes(processes: dict[str, ProcessDefinition]) -> dict[str, str]:
    return {key: d.reporting.fault_field for key, d in processes.items() if d.reporting and d.reporting.fault_field}


def _top_categories(session: Session, orders: _Orders) -> dict[str, list]:
    """The TOP fault categories (the field each process names), of all processes together."""
    process, fault = orders.row.process, orders.table.c.fault
    rows = session.exec(select(orders.bucket, process, fault, func.count()).where(fault.is_not(None))
                        .group_by(orders.bucket, process, fault)).all()
    return _top(rows, lambda row: {"process": row[1], "category": row[2], "count": row[3]},
                lambda row: (-row["count"], row["process"], row["category"]))


def _top_locations(session: Session, orders: _Orders, processes: dict[str, ProcessDefinition]) -> dict[str, list]:
    """Where faults were reported most (work orders of the processes that declare a fault field): by their place
    of the tree when they name one (so "住院楼5F 512病房" and "住院楼5F 512" are one place), else by the free text."""
    o = orders.row
    place = func.coalesce(Location.full_name, o.location)
    counted = (select(orders.bucket.label("bucket"), place.label("place"), func.count().label("count"))
               .select_from(orders.table).join(Location, Location.id == o.location_id, isouter=True)
               .where(o.process.in_(list(_fault_processes(processes))), or_(o.location != "", o.location_id.is_not(None)))
               .group_by(orders.bucket, place).subquery())
    # Ranked in SQL: ties go by the database's own order of the names, as they always have.
    rank = func.row_number().over(partition_by=counted.c.bucket, order_by=(counted.c.count.desc(), counted.c.place))
    ranked = select(counted, rank.label("rank")).subquery()
    rows = session.exec(select(ranked.c.bucket, ranked.c.place, ranked.c.count).where(ranked.c.rank <= TOP)
                        .order_by(ranked.c.bucket, ranked.c.rank)).all()
    found: dict[str, list] = {}
    for bucket, location, count in rows:
        found.setdefault(bucket, []).append({"location": location, "count": count})
    return found


def _top(rows, shape, order) -> dict[str, list]:
    """Per bucket, the TOP rows in `order`: every group is counted in SQL, the few kept here."""
    found: dict[str, list] = {}
    for row in rows:
        found.setdefault(row[0], []).append(shape(row))
    return {bucket: sorted(shaped, key=order)[:TOP] for bucket, shaped in found.items()}

"""The cockpit's fault trends (故障趋势): failures month by month by device class, by device and by
place of the tree, and the devices that fail most and take longest to repair.

A failure is as in the health file (engine.places.health): a repair work order not cancelled; it
counts in the month it was reported. The work orders covered are the cockpit's
(engine.reports.dashboard: created in the period, visible to the caller, of the department, process
and team asked for). A place is the ancestor of the work order's location at the chosen level
(`building` or `floor`, by the tree's `kind`): a building counts its floors and rooms.

Each figure is one query grouped by month: the month is a CASE over the months' bounds, computed
here in the hospital's time zone, so SQLite and PostgreSQL group alike.
"""
from datetime import datetime

from sqlalchemy import and_, case, func, literal
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from engine.people.users import Actor
from engine.places.health import CANCELLED, REPAIR, REPAIRED_STATES, RESOLVED
from engine.reports.dashboard import TOP, Scope, _in_scope, months
from engine.storage.models import Asset, History, Location, WorkOrder

LEVELS = ("building", "floor")


def fault_trends(session: Session, actor: Actor | None, scope: Scope, now: datetime, *, level: str = "building") -> dict:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    spans = months(scope, now)
    names = [name for name, _, _ in spans]
    failure = and_(_in_scope(actor, scope), WorkOrder.process == REPAIR, WorkOrder.state != CANCELLED)
    month = case(*[(and_(WorkOrder.created_at >= start, WorkOrder.created_at < end), literal(name))
                   for name, start, end in spans], else_=None) if spans else literal(None)
    return {
        "level": level,
        "months": names,
        "by_class": _by_class(session, failure, month, names),
        "by_asset": _by_asset(session, failure, month, names),
        "by_location": _by_location(session, failure, month, names, level),
        "most_failures": _most_failures(session, failure),
        "longest_repairs": _longest_repairs(session, failure),
    }


def _lines(rows, names: list[str]) -> list[dict]:
    """(key, name, month, count) rows → one line per key with a count per month, most failures first."""
    position = {name: index for index, name in enumerate(names)}
    lines: dict = {}
    for key, name, month, count in rows:
        if month not in position:
            continue
        line = lines.setdefault(key, {"id": key if isinstance(key, int) else None, "name": name or "",
                                      "counts": [0] * len(names), "total": 0})
        line["counts"][position[month]] += count
        line["total"] += count
    return sorted(lines.values(), key=lambda line: (-line["total"], line["name"]))


def _by_month(session: Session, inner, names: list[str]) -> list[dict]:
    """Count the rows of `inner` (key, name, month) per key and month. Grouped outside it: PostgreSQL does not
    take a CASE of bound parameters in GROUP BY as the same expression as in the select list."""
    rows = inner.subquery()
    return _lines(session.exec(select(rows.c.key, func.min(rows.c.name), rows.c.month, func.count())
                               .group_by(rows.c.key, rows.c.month)).all(), names)


def _by_class(session: Session, failure, month, names: list[str]) -> list[dict]:
    return _by_month(session, select(Asset.asset_class.label("key"), Asset.asset_class.label("name"),
                                     month.label("month")).select_from(WorkOrder)
                     .join(Asset, Asset.id == WorkOrder.asset_id).where(failure), names)


def _by_asset(session: Session, failure, month, names: list[str]) -> list[dict]:
    """The TOP devices with the most failures in the period, month by month."""
    top = (select(WorkOrder.asset_id).where(failure, WorkOrder.asset_id.is_not(None)).group_by(WorkOrder.asset_id)
           .order_by(func.count().desc(), WorkOrder.asset_id).limit(TOP))
    return _by_month(session, select(Asset.id.label("key"), (Asset.asset_no + " " + Asset.name).label("name"),
                                     month.label("month")).select_from(WorkOrder)
                     .join(Asset, Asset.id == WorkOrder.asset_id)
                     .where(failure, WorkOrder.asset_id.in_(top.scalar_subquery())), names)


def _by_location(session: Session, failure, month, names: list[str], level: str) -> list[dict]:
    """Failures at each node of the level, its whole subtree included (a prefix of the place's path)."""
    place, node = aliased(Location), aliased(Location)
    return _by_month(session, select(node.id.label("key"), node.full_name.label("name"), month.label("month"))
                     .select_from(WorkOrder).join(place, place.id == WorkOrder.location_id)
                     .join(node, and_(node.kind == level, place.path.startswith(node.path)))
                     .where(failure), names)


def _most_failures(session: Session, failure) -> list[dict]:
    rows = session.exec(
        select(Asset.id, Asset.asset_no, Asset.name, Asset.asset_class, func.count()).select_from(WorkOrder)
        .join(Asset, Asset.id == WorkOrder.asset_id).where(failure)
        .group_by(Asset.id, Asset.asset_no, Asset.name, Asset.asset_class)
        .order_by(func.count().desc(), Asset.asset_no).limit(TOP)).all()
    return [{"asset_id": asset_id, "name": f"{number} {name}", "asset_class": asset_class, "failures": count}
            for asset_id, number, name, asset_class, count in rows]


def _longest_repairs(session: Session, failure) -> list[dict]:
    """The TOP devices by mean calendar repair time (MTTR) of their repaired failures in the period."""
    repaired = and_(failure, WorkOrder.asset_id.is_not(None), WorkOrder.state.in_(REPAIRED_STATES))
    ends = (select(History.work_order_id.label("order_id"), func.max(History.at).label("at"))
            .where(History.to_state == RESOLVED, History.kind.in_(("create", "transition")),
                   History.work_order_id.in_(select(WorkOrder.id).where(repaired)))
            .group_by(History.work_order_id).subquery())
    end = func.coalesce(ends.c.at, WorkOrder.closed_at)
    seconds = func.avg(_seconds_between(session, WorkOrder.created_at, end))
    rows = session.exec(
        select(Asset.id, Asset.asset_no, Asset.name, Asset.asset_class, func.count(), seconds).select_from(WorkOrder)
        .join(Asset, Asset.id == WorkOrder.asset_id).join(ends, ends.c.order_id == WorkOrder.id, isouter=True)
        .where(repaired, end.is_not(None))
        .group_by(Asset.id, Asset.asset_no, Asset.name, Asset.asset_class)
        .order_by(seconds.desc(), Asset.asset_no).limit(TOP)).all()
    return [{"asset_id": asset_id, "name": f"{number} {name}", "asset_class": asset_class, "repaired": count,
             "mttr_hours": round(float(mean) / 3600, 2)}
            for asset_id, number, name, asset_class, count, mean in rows if mean is not None]


def _seconds_between(session: Session, start, end):
    """end − start in seconds, as each database reckons it (times are stored in UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0

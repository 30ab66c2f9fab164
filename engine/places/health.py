"""A device's health file (设备健康档案) and the repeat-fault flag (频繁故障).

The figures, precisely (`now` is the caller's clock):

- A *failure* is a work order of the `repair` process on the device that is not cancelled; it
  happened when it was reported (`created_at`).
- The *window* is the 12 months up to now: from the same instant a year earlier to now.
- *Operating time* runs from the later of the window's start and the device's commissioning
  (`commissioned_on`, local midnight; the window's start when unknown) to now.
- **MTBF** (mean time between failures) = operating time / failures in the window, in hours;
  none without a failure.
- A failure is *repaired* when its work order is resolved (waiting for the requester's verdict) or
  closed; its repair ended the last time it was resolved (a reopened repair ends at its second
  fix), or when it was closed if it never passed through `resolved`.
- **MTTR** (mean time to repair) = the mean, over the window's repaired failures, of
  (repair end − reported), in hours: in calendar time, and in working time on the repair process's
  working calendar (the calendar its resolution timer uses at normal priority, `workday` as
  shipped), measured as SLA timers measure it (BusinessCalendar.working_seconds).
- Labour is the sum of every work order's `labour_minutes` field, parts the entries of their
  `parts` lists, counted by name; preventive rounds are the work orders of the `maintenance` process.

A device is *repeat-faulting* when it has `failures` failures within `within` up to now
(`repeat_fault` of definitions/equipment.yaml). When a repair filed on it raises the flag, the supervisors are told once;
`Asset.repeat_fault_at` remembers when, and they are told again only after the flag has been
down for a while since then and is raised anew.
"""
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from engine.errors import Invalid, NotFound
from engine.notify.messages import message
from engine.notify.notifications import notify
from engine.places import classes
from engine.orders import visibility
from engine.people.users import Actor, users_with_role
from engine.published import definitions
from engine.reports import periods
from engine.sla import calendar
from engine.storage.models import Asset, Department, History, Location, Team, WorkOrder

REPAIR, MAINTENANCE = "repair", "maintenance"
RESOLVED, CANCELLED = "resolved", "cancelled"
REPAIRED_STATES = (RESOLVED, "closed")
DEFAULT_CALENDAR = "workday"
WINDOW_YEARS = 1


@dataclass(frozen=True)
class RepeatFaultRule:
    """`failures` failures within `within` flag a device."""

    failures: int = 3
    within: timedelta = timedelta(days=90)


def rule_in_force() -> RepeatFaultRule:
    """The equipment file's `repeat_fault` (definitions/equipment.yaml); the default while no valid file is read."""
    try:
        declared = classes.current().repeat_fault
    except Invalid:
        return RepeatFaultRule()
    return RepeatFaultRule(failures=declared.failures, within=declared.span)


# --- who may see a device -------------------------------------------------------------------------

def may_see(actor: Actor, asset: Asset) -> bool:
    """Logistics staff see every device; a clinical user those of their department and the shared ones
    (no department: lifts, boilers), as they may report on them."""
    return actor.sees_all or asset.department_id is None or asset.department_id == actor.department_id


def visible(session: Session, actor: Actor, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None or not may_see(actor, asset):
        raise NotFound("no_device", id=asset_id)
    return asset


# --- the health file ------------------------------------------------------------------------------

def health_file(session: Session, actor: Actor, asset_id: int, now: datetime,
                rule: RepeatFaultRule | None = None) -> dict:
    """The device's facts, its work orders (those the actor may see, newest first) and its figures
    (over all its work orders). A constant number of queries, whatever the number of work orders."""
    asset = visible(session, actor, asset_id)
    rule = rule or rule_in_force()
    place, department, team = session.exec(
        select(Location.full_name, Department.name, Team.name).select_from(Asset)
        .join(Location, Location.id == Asset.location_id, isouter=True)
        .join(Department, Department.id == Asset.department_id, isouter=True)
        .join(Team, Team.id == Asset.team_id, isouter=True).where(Asset.id == asset.id)).one()
    orders = list(session.exec(select(WorkOrder).where(WorkOrder.asset_id == asset.id)
                               .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())).all())
    ends = repair_ends(session, [o.id for o in orders if o.process == REPAIR and o.state in REPAIRED_STATES])
    failures = [o for o in orders if is_failure(o)]
    figures = _figures(asset, orders, failures, ends, working_calendar(session), now)
    return {
        "id": asset.id, "asset_no": asset.asset_no, "name": asset.name, "asset_class": asset.asset_class,
        "location_id": asset.location_id, "place": place, "department": department, "team": team,
        "model": asset.model, "manufacturer": asset.manufacturer, "supplier": asset.supplier,
        "contractor": asset.contractor, "commissioned_on": asset.commissioned_on, "warranty_end": asset.warranty_end,
        "status": asset.status, **figures,
        "repeat_fault": repeat_fault(asset, [o.created_at for o in failures], now, rule),
        "work_orders": [_row(order, ends.get(order.id)) for order in orders if visibility.can_see(actor, order)],
    }


def is_failure(order: WorkOrder) -> bool:
    return order.process == REPAIR and order.state != CANCELLED


def repair_ends(session: Session, order_ids: list[int]) -> dict[int, datetime]:
    """When each repaired work order was last resolved (or closed, never resolved), in one query."""
    if not order_ids:
        return {}
    return dict(session.exec(
        select(History.work_order_id, func.max(History.at))
        .where(History.work_order_id.in_(order_ids), History.to_state == RESOLVED,
               History.kind.in_(("create", "transition")))
        .group_by(History.work_order_id)).all())


def working_calendar(session: Session) -> calendar.BusinessCalendar:
    """The repair process's working calendar: the one its last timer (resolution) uses at normal priority."""
    name = DEFAULT_CALENDAR
    stored = definitions.latest(session, REPAIR)
    if stored is not None:
        timers = list(definitions.compiled(session, REPAIR, stored.version).definition.sla.values())
        target = timers[-1].targets.get("normal") if timers else None
        name = target.calendar if target is not None else name
    return calendar.lookup(session, name, calendar.newest(session))


def window_start(now: datetime) -> datetime:
    """The same instant a year earlier (29 February: the 28th)."""
    try:
        return now.replace(year=now.year - WINDOW_YEARS)
    except ValueError:
        return now.replace(year=now.year - WINDOW_YEARS, day=28)


def _figures(asset: Asset, orders: list[WorkOrder], failures: list[WorkOrder], ends: dict[int, datetime],
             working: calendar.BusinessCalendar, now: datetime) -> dict:
    start = window_start(now)
    in_window = [o for o in failures if start <= o.created_at <= now]
    operating_from = max(start, _commissioned(asset.commissioned_on) or start)
    operating = max((now - operating_from).total_seconds(), 0.0)
    repaired = [(o.created_at, ends.get(o.id) or o.closed_at) for o in in_window if o.state in REPAIRED_STATES]
    repaired = [(begin, end) for begin, end in repaired if end is not None]
    parts = Counter(part for o in orders for part in _parts(o.fields))
    return {
        "work_orders_total": len(orders),
        "rounds": sum(o.process == MAINTENANCE for o in orders),
        "labour_minutes": _whole(sum(_minutes(o.fields) for o in orders)),
        "parts_used": sum(parts.values()),
        "parts": [{"part": part, "count": count} for part, count in sorted(parts.items(), key=lambda p: (-p[1], p[0]))],
        "window_start": start,
        "failures_12_months": len(in_window),
        "operating_hours": _hours(operating),
        "mtbf_hours": _hours(operating / len(in_window)) if in_window else None,
        "repaired": len(repaired),
        "mttr_hours": _hours(_mean([(end - begin).total_seconds() for begin, end in repaired])),
        "mttr_working_hours": _hours(_mean([working.working_seconds(begin, end) for begin, end in repaired])),
        "working_calendar": working.name,
    }


def _commissioned(day: date | None) -> datetime | None:
    return periods.start_of(day) if day is not None else None


def _minutes(fields: dict) -> float:
    value = fields.get("labour_minutes")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _parts(fields: dict) -> list[str]:
    value = fields.get("parts")
    return [part.strip() for part in value if isinstance(part, str) and part.strip()] if isinstance(value, list) else []


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _hours(seconds: float | None) -> float | None:
    return round(seconds / 3600, 2) if seconds is not None else None


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 1)


def _row(order: WorkOrder, repaired_at: datetime | None) -> dict:
    return {"id": order.id, "number": order.number, "process": order.process, "state": order.state,
            "title": order.title, "created_at": order.created_at, "closed_at": order.closed_at,
            "repaired_at": repaired_at}


# --- the repeat-fault flag ------------------------------------------------------------------------

def raised_at(times: list[datetime], moment: datetime, rule: RepeatFaultRule) -> bool:
    """At `moment`, at least `failures` of the sorted failure `times` fall within (moment − within, moment]."""
    return bisect_right(times, moment) - bisect_right(times, moment - rule.within) >= rule.failures


def stayed_raised(times: list[datetime], since: datetime, now: datetime, rule: RepeatFaultRule) -> bool:
    """The flag was up at every moment from `since` to `now`. The count within the span only falls when a
    failure leaves it (at its time + within), so those moments and `since` are the ones to check."""
    moments = [since] + [t + rule.within for t in times if since < t + rule.within <= now]
    return all(raised_at(times, moment, rule) for moment in moments)


def repeat_fault(asset: Asset, failure_times: list[datetime], now: datetime, rule: RepeatFaultRule) -> dict:
    """The flag as the health file shows it: raised now or not, how many failures are within the span."""
    times = sorted(failure_times)
    count = bisect_right(times, now) - bisect_right(times, now - rule.within)
    return {"raised": count >= rule.failures, "failures_in_span": count, "failures": rule.failures,
            "within_days": round(rule.within.total_seconds() / 86400, 2), "notified_at": asset.repeat_fault_at}


def check_repeat_fault(session: Session, order: WorkOrder, now: datetime, rule: RepeatFaultRule | None = None) -> None:
    """After a repair is filed on a device: raise the flag and tell the supervisors, unless they were told
    of this same run of failures already. In the caller's transaction."""
    if order.process != REPAIR or order.asset_id is None:
        return
    rule = rule or rule_in_force()
    # Two reports at once on PostgreSQL: the second waits here and sees the first's flag. NO KEY UPDATE (not
    # UPDATE): both already hold the KEY SHARE lock their work order's reference to the device took.
    asset = session.exec(select(Asset).where(Asset.id == order.asset_id).with_for_update(key_share=True)
                         .execution_options(populate_existing=True)).one()
    since = asset.repeat_fault_at
    earliest = min(now, since or now) - rule.within
    times = sorted(session.exec(select(WorkOrder.created_at).where(
        WorkOrder.asset_id == asset.id, WorkOrder.process == REPAIR, WorkOrder.state != CANCELLED,
        WorkOrder.created_at > earliest, WorkOrder.created_at <= now)).all())
    if not raised_at(times, now, rule):
        return
    if since is not None and since <= now and stayed_raised(times, since, now, rule):
        return
    asset.repeat_fault_at = now
    session.add(asset)
    count = bisect_right(times, now) - bisect_right(times, now - rule.within)
    _tell_supervisors(session, asset, order, count, rule, now)


def _tell_supervisors(session: Session, asset: Asset, order: WorkOrder, count: int, rule: RepeatFaultRule,
                      now: datetime) -> None:
    """One notification each, which every supervisor reads in their own language (engine/notify/messages.py)."""
    ids = [user.id for user in users_with_role(session, "supervisor")]
    said = message("repeat_fault", days=_days(rule.within), count=count, failures=rule.failures, id=asset.id)
    notify(session, ids, order=order, kind="repeat_fault", now=now, title=f"{asset.asset_no} {asset.name}",
           message=said, extra={"asset_id": asset.id, "asset_no": asset.asset_no, "failures": count})


def _days(span: timedelta) -> int | float:
    days = span.total_seconds() / 86400
    return int(days) if days.is_integer() else round(days, 2)

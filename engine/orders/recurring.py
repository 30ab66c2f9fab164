"""Preventive and recurring work (定期工单): work orders created on a calendar, each period once.

The rules are declared in `definitions/schedules.yaml` (or the file named by
$HOUQIN_SCHEDULES; the language is in `workflows/schedules.py`). Like the
calendars, the file is data published as versions (engine/published/versions.py): checked
against the processes and calendars of the moment when it is published, then
compiled once per version. The worker loop calls `run_due(session, now)`, which
reads the newest version's compiled rules, never the file; nothing here waits
or sleeps.

Each period exactly once: before a period's work order is made, a
RecurringRun row keyed (rule, scheduled_for) is inserted with ON CONFLICT DO
NOTHING in the same transaction that creates the work order. Another worker
running at the same moment, or this one after a restart, finds the key taken
and creates nothing; a failed creation rolls the key back with it, so the
period is tried again on the next call.

Rules for devices: a rule with `assets` (an equipment class, a location subtree, or
both) makes one work order per matching device per period, about the device and at
its place. Each device's periods are keyed "rule#<device id>", so each is made once
the same way, and a device added later starts with its latest period.

Missed periods: each call looks back to the rule's last run, so periods that
passed while the server was down are created on the next call (at most
`catch_up` of them, the newest) and marked late. A rule never run before starts
with its latest period, so adding a rule does not replay the past.
"""
import logging
import math
from dataclasses import dataclass
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter
from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from engine import settings
from engine.errors import HouqinError, Invalid
from engine.orders import workorders
from engine.people.users import actor_for, add_user, department_named
from engine.places import classes, locations
from engine.published import definitions, versions
from engine.sla import calendar
from engine.storage.models import Asset, History, Location, RecurringRun, User, WorkOrder
from engine.storage.unit_of_work import unit_of_work
from workflows import DefinitionError
from workflows.calendars import BusinessCalendar
from workflows.schedules import Rule, Schedule, assigning_event, load_schedule

log = logging.getLogger(__name__)
KEY = "schedules"
# Periods looked at per rule and call, skipped closed days included: a bound for rules that never fall.
MAX_STEPS = 100_000


def schedule_path() -> Path:
    return settings.current().schedules_path


def check(session: Session, text: str, file: str = "<schedule>") -> Schedule:
    """`text` checked against the calendars and the processes published now; raises DefinitionError."""
    current = {row.key: definitions.compiled(session, row.key, row.version).definition
               for row in definitions.current_rows(session)}
    return load_schedule(text, file, calendars=calendar.names(session), processes=current,
                         asset_classes=classes.known_values())


def publish(session: Session, text: str, file: str = "<schedule>", *, now: datetime, actor_id: int | None = None):
    """Check `text` and store it as the next version if it changed; (row, created). Does not commit."""
    check(session, text, file)
    return versions.store(session, KEY, text, now=now, actor_id=actor_id)


def publish_file(session: Session, path: Path | None = None, *, now: datetime, actor_id: int | None = None):
    path = path or schedule_path()
    return publish(session, path.read_text(encoding="utf-8"), str(path), now=now, actor_id=actor_id)


def refresh(session: Session, now: datetime) -> bool:
    """Publish the schedule file if it changed on disk (the worker calls this each round)."""
    try:
        return versions.publish_changed_file(session, KEY, schedule_path(), publish, now=now)
    except DefinitionError as exc:
        session.rollback()
        log.error("the schedule file has problems; the rules published before stay in force:\n%s", exc)
        return False


def load(session: Session, path: Path | None = None) -> Schedule:
    """The schedule file, checked against the calendars and the processes published now."""
    path = path or schedule_path()
    return check(session, path.read_text(encoding="utf-8"), str(path))


def current(session: Session) -> Schedule | None:
    """The newest published schedule, compiled once per version; None when none is published."""
    version = versions.newest(session, KEY)
    if version is None:
        return None
    return versions.compiled(session, KEY, version, lambda text, name: load_schedule(text, name))


def run_due(session: Session, now: datetime, schedule: Schedule | None = None) -> list[WorkOrder]:
    """Create the work orders of every period that has come, once each; returns those created now.

    Each period is one unit of work, committed here: its claim, its work order and its assignment.
    """
    schedule = schedule or current(session)
    if schedule is None:
        return []
    zone = ZoneInfo(schedule.timezone or settings.timezone())
    calendars = calendar.calendars(session, calendar.newest(session))
    last_runs = dict(session.exec(select(RecurringRun.rule, func.max(RecurringRun.scheduled_for))
                                  .group_by(RecurringRun.rule)).all())
    created = []
    for rule in schedule.rules:
        if not rule.active:
            continue
        late_after = rule.lateness(schedule)
        closed_days = calendars.get(rule.calendar) if rule.skip_closed_days else None
        for key, device in targets(session, rule):
            for at in periods(rule, zone, after=last_runs.get(key), now=now, limit=schedule.catch_up,
                              calendar=closed_days):
                try:
                    with unit_of_work(session):
                        order = _create(session, schedule, rule, at, now, late=now - at > late_after, key=key,
                                        device=device)
                except HouqinError as exc:
                    log.error("recurring rule %r, period %s: no work order created: %s", key, at, exc.message)
                    break  # later periods of this rule (for this device) would fail the same way
                if order is not None:
                    created.append(order)
    return created


@dataclass(frozen=True)
class Device:
    """What a device rule's work order needs of a device, read once per call (no query per device)."""

    id: int
    asset_no: str
    name: str


def targets(session: Session, rule: Rule) -> list[tuple[str, Device | None]]:
    """The keys a rule's periods are claimed under: its name, or "name#<device id>" for each device it covers."""
    if rule.assets is None:
        return [(rule.name, None)]
    query = select(Asset.id, Asset.asset_no, Asset.name).where(Asset.status.in_(rule.assets.statuses))
    if rule.assets.class_ is not None:
        query = query.where(Asset.asset_class == rule.assets.class_)
    if rule.assets.location is not None:
        place = session.exec(select(Location.id).where(Location.code == rule.assets.location)).first()
        if place is None:
            log.error("recurring rule %r: no location with code %r; no work orders made", rule.name, rule.assets.location)
            return []
        query = query.where(locations.within(Asset.location_id, session, place))
    return [(f"{rule.name}#{id_}", Device(id_, number, name)) for id_, number, name in session.exec(query.order_by(Asset.id))]


def periods(rule: Rule, zone: ZoneInfo, *, after: datetime | None, now: datetime, limit: int,
            calendar: BusinessCalendar | None = None) -> list[datetime]:
    """The rule's periods in (after, now], oldest first: at most `limit`, the latest only if `after` is None.
    With `calendar`, days it is closed are skipped (`skip_closed_days`).

    Walks back from `now`, so a long outage costs `limit` steps, not one per missed period.
    """
    wanted = limit if after is not None else 1
    found = []
    for steps, at in enumerate(_backwards(rule, zone, now)):
        if (after is not None and at <= after) or steps > MAX_STEPS:
            break
        if calendar is not None and not calendar.is_working_day(at.astimezone(zone).date()):
            continue
        if len(found) == wanted:
            if after is not None:
                log.warning("recurring rule %r: more than %d periods were missed; the older ones are not created",
                            rule.name, limit)
            break
        found.append(at)
    return found[::-1]


def _backwards(rule: Rule, zone: ZoneInfo, now: datetime):
    """The rule's times at or before `now`, newest first (aware, in `zone`)."""
    if rule.cron is not None:
        # croniter steps strictly before its start; a second later includes a period falling exactly on now.
        times = croniter(rule.cron, now.astimezone(zone) + timedelta(seconds=1))
        while True:
            try:
                yield times.get_prev(datetime)
            except CroniterError:  # a line that never matches, such as 30 February
                return
    else:
        step, first = rule.interval, rule.starting
        wall = now.astimezone(zone).replace(tzinfo=None)
        if wall < first:
            return
        # Wall-clock arithmetic: "every 8h from 06:00" stays at 06:00, 14:00, 22:00 local.
        k = math.floor((wall - first) / step)
        while k >= 0:
            yield (first + k * step).replace(tzinfo=zone)
            k -= 1


def _create(session: Session, schedule: Schedule, rule: Rule, at: datetime, now: datetime, *, late: bool,
            key: str, device: Device | None) -> WorkOrder | None:
    if not _claim(session, key, at, now, late):
        return None  # another worker, or an earlier call, made this period
    reporter = actor_for(session, _reporter(session, rule.reporter or schedule.run_as, default=rule.reporter is None))
    if rule.department:
        department_named(session, rule.department, create=True)  # as `houqin user add` does
    local = at.astimezone(ZoneInfo(schedule.timezone or settings.timezone()))
    title = rule.title.format(date=f"{local:%Y-%m-%d}", time=f"{local:%H:%M}",
                              asset=device.name if device else "", asset_no=device.asset_no if device else "")
    order = workorders.create(
        session, reporter, process=rule.process, title=title[:200],  # a long device name must not refuse the period
        description=rule.description, priority=rule.priority, department=rule.department, location=rule.location,
        fields=dict(rule.fields), now=now, scheduled=True, asset_id=device.id if device else None,
    )
    run = session.exec(select(RecurringRun).where(RecurringRun.rule == key, RecurringRun.scheduled_for == at)).one()
    run.work_order_id = order.id
    session.add(run)
    session.add(History(work_order_id=order.id, at=now, actor_id=None, kind="schedule", comment=rule.name,
                        data={"rule": rule.name, "scheduled_for": at.isoformat(), "late": late,
                              **({"asset_id": device.id} if device else {})}))
    if rule.assignee:
        _assign(session, order, rule, now)
    return order


def _claim(session: Session, rule: str, at: datetime, now: datetime, late: bool) -> bool:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(RecurringRun).values(rule=rule, scheduled_for=at, created_at=now, late=late)
        .on_conflict_do_nothing(index_elements=["rule", "scheduled_for"]).returning(RecurringRun.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _reporter(session: Session, username: str, *, default: bool) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None and default:
        # The system's own account: it signs recurring work orders and never signs in.
        user = add_user(session, username=username, password=secrets.token_urlsafe(32), roles=[], display_name="系统")
        user.active = False
        session.add(user)
        session.flush()
    elif user is None:
        raise Invalid("no_recurring_user", username=username)
    return user


def _assign(session: Session, order: WorkOrder, rule: Rule, now: datetime) -> None:
    event = assigning_event(workorders.definition_of(session, order))
    try:
        workorders.fire(session, None, order.id, event, workorders.EventInput(assignee=rule.assignee), now)
    except HouqinError as exc:  # refused before anything was written: the work order stays, unassigned
        log.error("recurring rule %r: %s left unassigned: %s", rule.name, order.number, exc.message)

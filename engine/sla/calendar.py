"""Which calendar a timer computes on: published calendar versions, and moving timers between them.

The calendar language and its arithmetic are in workflows/calendars.py. Here
each changed calendars.yaml becomes a stored version (engine/published/versions.py); an
SLA or auto-confirm timer records the version it started on and keeps computing
on it when it pauses, resumes or is retargeted, so editing the file never
silently moves a running deadline. New timers start on the newest version.
Moving running timers onto the newest version is an explicit act, `recompute`
(`houqin sla recompute`), written into each affected work order's history.
"""
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from engine import settings
from engine.published import versions
from engine.storage.models import AutoConfirmTimer, History, SlaTimer, WorkOrder
from workflows.calendars import (BusinessCalendar, CalendarError, UnknownCalendarError, default_calendars,
                                 load_calendars, pick)

log = logging.getLogger(__name__)

KEY = "calendars"
Timer = SlaTimer | AutoConfirmTimer

__all__ = ["BusinessCalendar", "CalendarError", "UnknownCalendarError", "publish", "publish_file", "refresh",
           "newest", "names", "calendars", "lookup", "for_timer", "recompute", "Moved"]


def _build(text: str, name: str) -> dict[str, BusinessCalendar]:
    return load_calendars(text=text)


def publish(session: Session, text: str, file: str = "<calendars>", *, now: datetime, actor_id: int | None = None):
    """Check `text` (CalendarError with file:line:col) and store it as the next version if it changed.

    A version must still define every calendar the published processes name: their new work
    orders start on it.
    """
    defined = _check(text, file)
    missing = sorted(_in_use(session) - set(defined))
    if missing:
        raise CalendarError(f"{file}: calendar {missing[0]!r} is used by a published process but not defined here")
    return versions.store(session, KEY, text, now=now, actor_id=actor_id)


def _check(text: str, file: str) -> dict[str, BusinessCalendar]:
    try:
        return load_calendars(text=text)
    except CalendarError as exc:  # name the file the text came from, not <calendars>
        raise CalendarError(str(exc).replace("<calendars>", file, 1)) from None


def _in_use(session: Session) -> set[str]:
    from engine.published import definitions  # it checks processes against this module's calendars

    used = set()
    for stored in definitions.current_rows(session):
        definition = definitions.compiled(session, stored.key, stored.version).definition
        used |= {target.calendar for timer in definition.sla.values() for target in timer.targets.values()}
        if definition.feedback and definition.feedback.auto_confirm:
            used.add(definition.feedback.auto_confirm.calendar)
    return used


def publish_file(session: Session, path: Path | None = None, *, now: datetime, actor_id: int | None = None):
    """Publish the calendars file ($HOUQIN_CALENDARS or definitions/calendars.yaml)."""
    path = Path(path or calendar_file())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarError(f"{path}: cannot read calendar file: {exc}") from exc
    return publish(session, text, str(path), now=now, actor_id=actor_id)


def refresh(session: Session, now: datetime) -> bool:
    """Publish the calendars file if it changed on disk (the worker calls this each round)."""
    try:
        return versions.publish_changed_file(session, KEY, Path(calendar_file()), publish, now=now)
    except CalendarError as exc:
        session.rollback()
        log.error("calendars not published; the version in force stays: %s", exc)
        return False


def calendar_file() -> Path:
    """The calendars file: $HOUQIN_CALENDARS, else calendars.yaml beside the process definitions."""
    return settings.current().calendars_path


def file_calendars() -> dict[str, BusinessCalendar]:
    """The calendars file's calendars, for checks that run without a database."""
    return default_calendars(calendar_file())


def newest(session: Session) -> int | None:
    """The version new timers start on; None when none is stored (the file then serves, unversioned)."""
    return versions.newest(session, KEY)


def calendars(session: Session, version: int | None) -> dict[str, BusinessCalendar]:
    """The calendars of one version, compiled once. None: a timer started before calendars were
    versioned, which computes on the first version stored (or on the file, when none is)."""
    if version is None:
        version = versions.oldest(session, KEY)
        if version is None:
            return file_calendars()
    return versions.compiled(session, KEY, version, _build)


def names(session: Session) -> set[str]:
    """Calendar names a definition may use now: those of the newest version."""
    version = newest(session)
    return set(calendars(session, version) if version is not None else file_calendars())


def lookup(session: Session, name: str, version: int | None) -> BusinessCalendar:
    return pick(calendars(session, version), name)


def for_timer(session: Session, timer: Timer) -> BusinessCalendar:
    return lookup(session, timer.calendar, timer.calendar_version)


# --- recompute -------------------------------------------------------------------------------------

@dataclass
class Moved:
    """One running timer moved onto the newest calendar version, as the CLI reports it."""

    work_order_id: int
    number: str
    timer: str
    cycle: int
    from_version: int | None
    to_version: int
    old_due_at: datetime
    new_due_at: datetime

    def as_dict(self) -> dict:
        return asdict(self)


def recompute(session: Session, *, now: datetime, process: str | None = None,
              number: str | None = None) -> list[Moved]:
    """Move every live timer not on the newest calendar version onto it, recomputing its due time
    from its start; one history row per moved timer with the old and new due times. Does not commit.

    Timers whose calendar the newest version no longer defines stay where they are (logged).
    """
    from engine.orders import workorders  # they compute due times; they import this module
    from engine.sla import autoconfirm, timers as sla  # they compute due times; they import this module

    target = newest(session)
    if target is None:
        return []
    orders = select(WorkOrder.id).where(WorkOrder.closed == False)  # noqa: E712
    if process:
        orders = orders.where(WorkOrder.process == process)
    if number:
        orders = orders.where(WorkOrder.number == number)
    stale_sla = (select(SlaTimer).where(SlaTimer.status.in_(sla.LIVE), SlaTimer.work_order_id.in_(orders),
                                         (SlaTimer.calendar_version != target) | SlaTimer.calendar_version.is_(None))
                 .order_by(SlaTimer.work_order_id, SlaTimer.id))
    stale_waits = (select(AutoConfirmTimer).where(AutoConfirmTimer.status == "running",
                                                 AutoConfirmTimer.work_order_id.in_(orders),
                                                 (AutoConfirmTimer.calendar_version != target)
                                                 | AutoConfirmTimer.calendar_version.is_(None))
                   .order_by(AutoConfirmTimer.work_order_id, AutoConfirmTimer.id))
    if session.get_bind().dialect.name == "postgresql":  # a sweeper must not update them meanwhile
        stale_sla, stale_waits = stale_sla.with_for_update(), stale_waits.with_for_update()
    available = calendars(session, target)
    moved = []
    for timer in [*session.exec(stale_sla).all(), *session.exec(stale_waits).all()]:
        if timer.calendar not in available:
            log.warning("timer %s of work order %s: calendar %r is not in calendars version %s; left on its version",
                        timer.id, timer.work_order_id, timer.calendar, target)
            continue
        order = session.get(WorkOrder, timer.work_order_id)
        before, old_due = timer.calendar_version, timer.due_at
        timer.calendar_version = target
        if isinstance(timer, SlaTimer):
            spec = workorders.definition_of(session, order).sla.get(timer.name)
            sla.recomputed(session, timer, spec, now)
            name = timer.name
        else:
            autoconfirm.recomputed(session, timer)
            name = autoconfirm.NAME
        session.add(timer)
        item = Moved(work_order_id=order.id, number=order.number, timer=name, cycle=timer.cycle,
                     from_version=before, to_version=target, old_due_at=old_due, new_due_at=timer.due_at)
        session.add(History(
            work_order_id=order.id, at=now, kind="recompute", comment=f"calendars v{before or '-'} → v{target}",
            data={"timer": name, "cycle": timer.cycle, "calendar": timer.calendar, "from_version": before,
                  "to_version": target, "old_due_at": old_due.isoformat(), "new_due_at": timer.due_at.isoformat()},
        ))
        moved.append(item)
    return moved

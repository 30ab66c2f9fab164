"""The background loop: sweep SLA timers, close silent requesters' work orders, create
recurring work, then send the outbox, every few seconds. Each round first publishes
calendars.yaml and schedules.yaml if they changed on disk (a `stat` per round; the jobs
read the published versions, never the files).

It runs as a thread inside `houqin serve` (when HOUQIN_SWEEPER=1, which serve
sets), as `houqin worker` in its own process, or once per `houqin sweep` from
cron. Any number may run at once against one database: the sweep and the
outbox claim rows, so work is shared, never doubled (see engine/escalation.py
and engine/delivery.py).
"""
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from engine import autoconfirm, calendar, delivery, escalation, recurring
from engine.clock import clock
from engine.db import get_engine

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0  # seconds; a 15-minute emergency target needs a short one


def interval_from_env() -> float:
    try:
        return max(float(os.environ.get("HOUQIN_SWEEP_INTERVAL", DEFAULT_INTERVAL)), 1.0)
    except ValueError:
        return DEFAULT_INTERVAL


def _session() -> Session:
    return Session(get_engine(), expire_on_commit=False)


def sweep_once(now: datetime | None = None) -> list[escalation.Fired]:
    with _session() as session:
        return escalation.sweep(session, now or clock.now())


def deliver_once(now: datetime | None = None) -> delivery.Report:
    with _session() as session:
        return delivery.deliver_due(session, now or clock.now())


@dataclass
class Round:
    """What one tick did."""

    fired: list = field(default_factory=list)       # escalation rungs
    confirmed: list = field(default_factory=list)   # silent requesters' work orders closed
    created: list = field(default_factory=list)     # recurring work orders made
    report: delivery.Report | None = None            # the outbox

    def busy(self) -> bool:
        r = self.report
        return bool(self.fired or self.confirmed or self.created or (r and (r.sent or r.failed or r.retrying)))


def _guarded(job, name: str) -> list:
    """Run one job in its own session; a broken job is logged and must not stop the others or the loop."""
    try:
        with _session() as session:
            return job(session, clock.now())
    except Exception:  # noqa: BLE001
        log.exception("%s failed", name)
        return []


def _refresh(session: Session, now: datetime) -> list:
    calendar.refresh(session)
    recurring.refresh(session)
    return []


def prepare() -> int:
    """At `serve` and `worker` start: publish changed calendars and schedules, and start the
    auto-confirm wait of work orders resolved before it was a timer. Returns how many started."""
    with _session() as session:
        _refresh(session, clock.now())
        try:
            started = autoconfirm.backfill(session)
            session.commit()
        except IntegrityError:  # another process starting at the same moment did it first
            session.rollback()
            started = 0
    return started


def tick() -> Round:
    """One round: escalations, silent requesters, recurring work, then the outbox, so that
    whatever the first three announce goes out in the same round."""
    _guarded(_refresh, "publishing calendars and schedules")
    done = Round(
        fired=_guarded(escalation.sweep, "SLA sweep"),
        confirmed=_guarded(autoconfirm.confirm_silent, "auto-confirmation"),
        created=_guarded(recurring.run_due, "recurring work"),
    )
    done.report = deliver_once()
    return done


def run(interval: float, stop: threading.Event) -> None:
    """Tick every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        done = tick()
        if done.busy():
            log.info("swept: %d escalations, %d auto-confirmed, %d recurring created; outbox: %d sent, %d to retry, %d failed",
                     len(done.fired), len(done.confirmed), len(done.created),
                     done.report.sent, done.report.retrying, done.report.failed)
        stop.wait(interval)


class Sweeper:
    """The in-process loop of `houqin serve`, as a daemon thread started and stopped with the app."""

    def __init__(self, interval: float | None = None):
        self.interval = interval or interval_from_env()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=run, args=(self.interval, self._stop), name="houqin-sweeper",
                                        daemon=True)

    def start(self) -> "Sweeper":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

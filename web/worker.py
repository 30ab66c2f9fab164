"""The background loop: sweep SLA timers, close silent requesters' work orders, create
recurring work, then send the outbox, every few seconds. Each round first publishes
calendars.yaml and schedules.yaml if they changed on disk (a `stat` per round; the jobs
read the published versions, never the files).

It runs as a thread inside `houqin serve` (when HOUQIN_SWEEPER=1, which serve
sets), as `houqin worker` in its own process, or once per `houqin sweep` from
cron. Any number may run at once against one database: the sweep and the
outbox claim rows, so work is shared, never doubled (see engine/sla/escalation.py
and engine/notify/delivery.py).

A `Worker` is built with its settings (which database) and its clock (what
"now" is): each job reads the time once and hands it to the engine. Each job
owns its transactions: a sweep commits rung by rung, a recurring period is one
unit of work, the outbox commits its claim before sending.
"""
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from engine import settings as settings_module
from engine.clock import Clock
from engine.notify import delivery
from engine.orders import recurring
from engine.settings import Settings
from engine.sla import autoconfirm, calendar, escalation
from engine.storage.db import get_engine
from engine.storage.unit_of_work import unit_of_work
from web.i18n import Translator

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 30.0  # seconds; a 15-minute emergency target needs a short one


def interval_from(settings: Settings) -> float:
    return max(settings.sweep_interval, 1.0)


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


def _refresh(session: Session, now: datetime) -> list:
    calendar.refresh(session, now)
    recurring.refresh(session, now)
    return []


class Worker:
    """The jobs driven by time, against one database, on one clock."""

    def __init__(self, settings: Settings | None = None, clock: Clock | None = None):
        self.settings = settings or settings_module.current()
        self.clock = clock or Clock()

    def _session(self) -> Session:
        return Session(get_engine(self.settings.database), expire_on_commit=False)

    def prepare(self) -> int:
        """At `serve` and `worker` start: publish changed calendars and schedules, and start the
        auto-confirm wait of work orders resolved before it was a timer. Returns how many started."""
        now = self.clock.now()
        with self._session() as session:
            _refresh(session, now)
            try:
                with unit_of_work(session):
                    return autoconfirm.backfill(session, now)
            except IntegrityError:  # another process starting at the same moment did it first
                return 0

    def sweep_once(self, now: datetime | None = None) -> list[escalation.Fired]:
        with self._session() as session:
            return escalation.sweep(session, now or self.clock.now())

    def deliver_once(self, now: datetime | None = None) -> delivery.Report:
        with self._session() as session:
            return delivery.deliver_due(session, now or self.clock.now(), texts=Translator)  # each in its channel's language

    def _guarded(self, job, name: str) -> list:
        """Run one job in its own session; a broken job is logged and must not stop the others or the loop."""
        try:
            with self._session() as session:
                return job(session, self.clock.now())
        except Exception:  # noqa: BLE001
            log.exception("%s failed", name)
            return []

    def tick(self) -> Round:
        """One round: escalations, silent requesters, recurring work, then the outbox, so that
        whatever the first three announce goes out in the same round."""
        self._guarded(_refresh, "publishing calendars and schedules")
        done = Round(
            fired=self._guarded(escalation.sweep, "SLA sweep"),
            confirmed=self._guarded(autoconfirm.confirm_silent, "auto-confirmation"),
            created=self._guarded(recurring.run_due, "recurring work"),
        )
        done.report = self.deliver_once()
        return done

    def run(self, interval: float, stop: threading.Event) -> None:
        """Tick every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            done = self.tick()
            if done.busy():
                log.info("swept: %d escalations, %d auto-confirmed, %d recurring created; outbox: %d sent, %d to retry, %d failed",
                         len(done.fired), len(done.confirmed), len(done.created),
                         done.report.sent, done.report.retrying, done.report.failed)
            stop.wait(interval)


class Sweeper:
    """The in-process loop of `houqin serve`, as a daemon thread started and stopped with the app."""

    def __init__(self, settings: Settings | None = None, clock: Clock | None = None, interval: float | None = None):
        self.worker = Worker(settings, clock)
        self.interval = interval or interval_from(self.worker.settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.worker.run, args=(self.interval, self._stop),
                                        name="houqin-sweeper", daemon=True)

    def start(self) -> "Sweeper":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

"""The background loop: sweep SLA timers, then send the outbox, every few seconds.

It runs as a thread inside `houqin serve` (when HOUQIN_SWEEPER=1, which serve
sets), as `houqin worker` in its own process, or once per `houqin sweep` from
cron. Any number may run at once against one database: the sweep and the
outbox claim rows, so work is shared, never doubled (see engine/escalation.py
and engine/delivery.py).
"""
import logging
import os
import threading
from datetime import datetime

from sqlmodel import Session

from engine import delivery, escalation
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


def tick() -> tuple[list[escalation.Fired], delivery.Report]:
    """One round: escalations first, so their notifications go out in the same round."""
    try:
        fired = sweep_once()
    except Exception:  # noqa: BLE001 - a broken round must not end the loop
        log.exception("SLA sweep failed")
        fired = []
    return fired, deliver_once()


def run(interval: float, stop: threading.Event) -> None:
    """Tick every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        fired, report = tick()
        if fired or report.sent or report.failed or report.retrying:
            log.info("swept: %d escalations; outbox: %d sent, %d to retry, %d failed",
                     len(fired), report.sent, report.retrying, report.failed)
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

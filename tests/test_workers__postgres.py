"""Several `houqin worker` processes against one PostgreSQL: every escalation, every delivery and
every recurring work order happens once, however many workers race for it.

The work is held back until all workers are up and looping, then released at once (timers
brought due, deliveries made due, the schedule file put in place), so the workers really race.
Waits poll the database with a deadline; nothing is timed.
"""
import http.server
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from engine.orders import workorders
from engine.orders.workorders import EventInput
from engine.storage.models import Channel, Escalation, History, Notification, Outbox, RecurringRun, SlaTimer, WorkOrder

POSTGRES = bool(os.environ.get("HOUQIN_TEST_DATABASE_URL"))
pytestmark = pytest.mark.skipif(
    not POSTGRES, reason="several worker processes need a database server: set HOUQIN_TEST_DATABASE_URL to a "
                         "PostgreSQL URL (SQLite lets one writer in at a time, so there is no race to show)")

WORKERS = 3
LATE_ORDERS = 12  # urgent repairs reported 20 minutes ago: their 80% warning (12 min) and due (15 min) rungs fire
ASSIGNED_ORDERS = 8  # each leaves an assignment delivery pending
DEADLINE = 90  # seconds for everything to be done: generous for a loaded CI machine
FAR = datetime(2099, 1, 1, tzinfo=timezone.utc)
SCHEDULE = """\
timezone: Asia/Shanghai
run_as: system
rules:
  - name: boiler_daily_round
    process: maintenance
    title: "锅炉房日常巡检 {date}"
    cron: "0 0 * * *"
    department: 后勤保障部
    location: 锅炉房
    fields: {category: hvac}
"""


class Hook(http.server.BaseHTTPRequestHandler):
    """The far end of the webhook channel: keeps every body it is sent."""

    received: list[dict] = []
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - the name http.server calls
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


class Workers:
    """`houqin worker` processes, their output gathered line by line."""

    def __init__(self, count: int, env: dict):
        self.lines: queue.Queue = queue.Queue()
        self.output: list[str] = []
        self.processes = [
            subprocess.Popen([sys.executable, "-m", "web.cli", "worker", "--interval", "0.2"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(count)
        ]
        for process in self.processes:
            threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process):
        for line in process.stdout:
            self.lines.put(line)

    def wait_until_all_started(self, deadline: float) -> None:
        started = 0
        while started < len(self.processes):
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                pytest.fail(f"only {started} of {len(self.processes)} workers started:\n{''.join(self.output)}")
            self.output.append(line)
            started += line.startswith("houqin worker:")

    def await_output(self, timeout: float) -> None:
        """Block until some worker prints a line (it has done a busy round), or `timeout` passes."""
        try:
            self.output.append(self.lines.get(timeout=timeout))
        except queue.Empty:
            pass

    def stop(self) -> list[int]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = []
        for process in self.processes:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return codes


def _environment(db_url: str, **extra) -> dict:
    env = {**os.environ, "HOUQIN_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "HOUQIN_CHANNEL_ALLOWED_NETWORKS": "127.0.0.1",  # the test's webhook listens on this machine
           **extra}
    env.pop("HOUQIN_TEST_CLOCK", None)  # the workers run on real time, as in production
    return env


def _wait_for(session, workers: Workers, done) -> None:
    """Poll the database until `done(counts)`, failing after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not done(counts := _counts(session)):
        if time.monotonic() > deadline:
            pytest.fail(f"not done within {DEADLINE} s: {counts}\n{''.join(workers.output)}")
        workers.await_output(timeout=0.5)  # a busy round prints a line: look again when one does


def _counts(session) -> dict:
    session.rollback()  # a fresh snapshot each time
    return {
        "escalations": session.exec(select(func.count()).select_from(Escalation)).one(),
        "pending": session.exec(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")).one(),
        "runs": session.exec(select(func.count()).select_from(RecurringRun)).one(),
    }


def test_three_workers_fire_each_escalation_and_send_each_notification_once(db_url, session, make_user, webhook):
    nurse = make_user("nurse", "requester", department="心内科")
    dispatcher = make_user("dispatcher", "dispatcher", department="后勤保障部")
    make_user("tech", "technician", department="后勤保障部", team="水电班")
    session.add(Channel(name="值班群", kind="webhook", target=webhook))
    session.commit()

    now = datetime.now(timezone.utc)
    late = [workorders.create(session, nurse, process="repair", title=f"手术室停电 {i}", priority="urgent",
                              fields={"category": "electrical"}, now=now - timedelta(minutes=20)).id
            for i in range(LATE_ORDERS)]
    for i in range(ASSIGNED_ORDERS):
        order = workorders.create(session, nurse, process="repair", title=f"水龙头漏水 {i}",
                                  fields={"category": "plumbing"}, now=now)
        workorders.fire(session, dispatcher, order.id, "assign", EventInput(assignee="tech"), now)

    # Hold the work back until every worker is looping.
    due_checks = dict(session.exec(select(SlaTimer.id, SlaTimer.next_check_at)
                                   .where(SlaTimer.work_order_id.in_(late), SlaTimer.next_check_at <= now)).all())
    assert len(due_checks) == LATE_ORDERS  # each late order's response timer, nothing else
    session.execute(update(SlaTimer).where(SlaTimer.id.in_(due_checks)).values(next_check_at=FAR))
    session.execute(update(Outbox).values(next_attempt_at=FAR))
    session.commit()
    workers = Workers(WORKERS, _environment(db_url))
    try:
        workers.wait_until_all_started(time.monotonic() + DEADLINE)
        # Release everything at once.
        for timer_id, when in due_checks.items():
            session.execute(update(SlaTimer).where(SlaTimer.id == timer_id).values(next_check_at=when))
        # Only the deliveries held back: a worker may already be sending a risk warning it raised itself, and
        # making that row due again would hand it to a second worker.
        session.execute(update(Outbox).where(Outbox.next_attempt_at == FAR).values(next_attempt_at=now))
        session.commit()
        _wait_for(session, workers, lambda c: c["escalations"] >= 2 * LATE_ORDERS and c["pending"] == 0)
    finally:
        codes = workers.stop()
    output = "".join(workers.output)
    assert codes == [0] * WORKERS, output
    assert "Traceback" not in output, output

    session.rollback()
    # Each rung once: the warning (level 0) and the overdue escalation (level 1) of each late order.
    # (Rungs at a risk, which warn of other orders before their breach, are not what this counts.)
    fired = session.exec(select(Escalation.work_order_id, Escalation.level).where(Escalation.level.in_((0, 1)))).all()
    assert sorted(fired) == sorted((order_id, level) for order_id in late for level in (0, 1))
    # ...each with one notification to the dispatcher and one line on the order's timeline.
    told = session.exec(select(Notification.work_order_id, func.count()).where(Notification.work_order_id.in_(late))
                        .group_by(Notification.work_order_id)).all()
    assert sorted(told) == [(order_id, 2) for order_id in sorted(late)]
    timeline = session.exec(select(func.count()).select_from(History)
                            .where(History.work_order_id.in_(late), History.kind == "escalation")).one()
    assert timeline == 2 * LATE_ORDERS

    # Every delivery sent once: claimed once, and the far end got each message once.
    deliveries = session.exec(select(Outbox.status, Outbox.attempts, Outbox.payload)).all()
    assert set((status, attempts) for status, attempts, _ in deliveries) == {("sent", 1)}
    # the assignments and the late orders' two rungs (risk rungs, levels 3 and 4, warn of other orders)
    counted = [payload for _, _, payload in deliveries if payload.get("level", 0) in (0, 1)]
    assert len(counted) == ASSIGNED_ORDERS + 2 * LATE_ORDERS
    received = [json.dumps(body, sort_keys=True, ensure_ascii=False) for body in Hook.received]
    assert len(received) == len(deliveries) and len(set(received)) == len(received)


def test_three_workers_create_each_recurring_work_order_once(db_url, session, tmp_path):
    schedule = tmp_path / "schedules.yaml"  # absent until every worker is looping
    workers = Workers(WORKERS, _environment(db_url, HOUQIN_SCHEDULES=str(schedule)))
    try:
        workers.wait_until_all_started(time.monotonic() + DEADLINE)
        schedule.write_text(SCHEDULE, encoding="utf-8")  # today's period is due for all of them at once
        _wait_for(session, workers, lambda c: c["runs"] >= 1)
    finally:
        codes = workers.stop()
    output = "".join(workers.output)
    assert codes == [0] * WORKERS, output
    assert "Traceback" not in output, output

    session.rollback()
    runs = session.exec(select(RecurringRun)).all()
    rounds = session.exec(select(WorkOrder).where(WorkOrder.process == "maintenance")).all()
    # One run per period (a test running across midnight sees two), and one work order per run.
    assert 1 <= len(runs) <= 2
    assert sorted(order.id for order in rounds) == sorted(run.work_order_id for run in runs)
    assert all(order.title.startswith("锅炉房日常巡检 ") for order in rounds)

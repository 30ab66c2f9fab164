"""Sweepers racing on one database: every rung of every ladder fires once, and each person is told once,
whether one sweeper's page holds every due timer or the sweepers share small pages out."""
import threading
from collections import Counter

import pytest

from sqlmodel import Session, func, select

from engine.sla import escalation
from engine.storage import db
from engine.storage.models import Escalation, Notification, User
from sla_support import at

ORDERS = 12


@pytest.mark.parametrize("sweepers, batch", [(3, escalation.BATCH), (2, 5)], ids=["one page", "pages of five"])
def test_sweepers_racing_fire_every_level_once(api, db_url, session, test_clock, sweepers, batch):
    api.user("nurse", "requester", department="心内科")
    api.user("dispatcher", "dispatcher", department="后勤保障部")
    api.user("dispatcher2", "dispatcher", department="后勤保障部")
    api.user("supervisor", "supervisor", department="后勤保障部")
    api.user("leader", "leader", department="院办")
    api.user("tech", "technician", department="后勤保障部")
    test_clock.set(at("2026-10-12T09:00:00"))
    orders = [api.new_order("nurse", priority="urgent", title=f"急修 {i}") for i in range(ORDERS)]
    for order in orders:
        api.fire("dispatcher", order["id"], "assign", assignee="tech")
    # 12:00: each response ladder has passed all four rungs (09:12, 09:15, 09:45, 11:15);
    # no resolution rung yet (80% of 4 h is 12:12).
    now = at("2026-10-12T12:00:00")

    engine = db.get_engine(db_url)
    start = threading.Barrier(sweepers)
    results: list[list] = [[] for _ in range(sweepers)]
    errors = []

    def run(slot: int) -> None:
        try:
            start.wait()
            # Each sweeper has its own sessions and connections, as separate processes would.
            results[slot] = escalation.sweep(lambda: Session(engine, expire_on_commit=False), now,
                                             batch=batch)
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(sweepers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []

    fired = [(f.work_order_id, f.timer, f.level) for result in results for f in result]
    expected = {(order["id"], "response", level) for order in orders for level in range(4)}
    assert sorted(fired) == sorted(expected)  # all of them, none twice
    assert session.exec(select(func.count()).select_from(Escalation)).one() == len(expected)

    told = Counter(session.exec(
        select(User.username, Notification.kind).join(User, User.id == Notification.user_id)
        .where(Notification.kind.in_(("warning", "escalation")))
    ).all())
    # Dispatchers: warned at 80% and told at level 1; the leader only at level 3; per order, once each.
    assert told[("dispatcher", "warning")] == told[("dispatcher", "escalation")] == ORDERS
    assert told[("dispatcher2", "escalation")] == ORDERS
    assert told[("leader", "escalation")] == ORDERS and told[("supervisor", "escalation")] == ORDERS
    assert escalation.sweep(session, now) == []

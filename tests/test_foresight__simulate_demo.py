"""Honest by construction: on the demo hospital's six months, replaying what is in force gives back what the
engine recorded (the sla_timers and escalations tables), and a shorter urgent target shows its cost."""
from sqlalchemy import func
from sqlmodel import select

from engine.foresight import drafts
from engine.foresight.simulate import months_before, simulate
from engine.published import definitions
from engine.storage.models import DataVersion, Escalation, SlaTimer, WorkOrder
from foresight_support import demo_history  # noqa: F401 (the fixture)


def _recorded(session, now):
    scope = (WorkOrder.created_at >= months_before(now, 6), WorkOrder.created_at < now)
    rows = session.exec(select(WorkOrder.process, SlaTimer.name, SlaTimer.status, func.count())
                        .join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id)
                        .where(*scope, ~SlaTimer.name.startswith("dispatch:"))
                        .group_by(WorkOrder.process, SlaTimer.name, SlaTimer.status)).all()
    on_time = {}
    for process, name, status, n in rows:
        met, ended = on_time.get((process, name), (0, 0))
        on_time[(process, name)] = (met + n * (status == "met"), ended + n * (status in ("met", "breached")))
    escalations = session.exec(select(func.count()).select_from(Escalation)
                               .join(WorkOrder, WorkOrder.id == Escalation.work_order_id).where(*scope)).one()
    return on_time, escalations


def test_replaying_what_is_in_force_gives_back_the_recorded_on_time_rates_and_escalations(demo_history):  # noqa: F811
    with demo_history.session() as session:
        in_force = session.exec(select(DataVersion.text).where(DataVersion.key == "calendars")
                                .order_by(DataVersion.version.desc())).first()
        result = simulate(session, drafts.read(session, in_force, "calendars.yaml"), months=6, now=demo_history.now)
        on_time, escalations = _recorded(session, demo_history.now)
    replayed = {(row["process"], row["timer"]): row for row in result["in_force"]["on_time"]}
    assert set(replayed) == set(on_time) and len(on_time) >= 8
    for key, (met, ended) in on_time.items():
        assert abs(replayed[key]["rate"] - met / ended) <= 0.02, key
    fired = sum(row["count"] for row in result["in_force"]["escalations"])
    assert abs(fired - escalations) <= 0.05 * escalations, (fired, escalations)
    assert result["draft"] == result["in_force"] and result["changed"]["count"] == 0


def test_a_shorter_urgent_response_target_on_the_demo_hospital(demo_history):  # noqa: F811
    with demo_history.session() as session:
        text = definitions.latest(session, "repair").yaml_text
        shorter = text.replace("urgent: {within: 15m, calendar: 24x7}", "urgent: {within: 10m, calendar: 24x7}", 1)
        result = simulate(session, drafts.read(session, shorter, "repair.yaml"), months=6, now=demo_history.now)
    rate = {side: next(r["rate"] for r in result[side]["on_time"] if r["timer"] == "response")
            for side in ("in_force", "draft")}
    assert rate["draft"] < rate["in_force"]
    assert result["changed"]["count"] > 0
    assert {order["priority"] for order in result["changed"]["orders"]} <= {"urgent", "high"}  # high ones raised to urgent

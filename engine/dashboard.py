"""The figures supervisors review (数据驾驶舱), computed with SQL aggregates, never row by row in Python."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_
from sqlmodel import Session, select

from engine import permissions
from engine.clock import clock
from engine.models import Department, Feedback, SlaTimer, WorkOrder
from engine.users import Actor


@dataclass
class Scope:
    start: datetime | None = None
    end: datetime | None = None
    department: str | None = None
    process: str | None = None


def _orders(session: Session, actor: Actor, scope: Scope):
    """The work orders the figures cover: created in the period, visible to the actor."""
    query = select(WorkOrder.id)
    visible = permissions.visible_clause(actor)
    if visible is not None:
        query = query.where(visible)
    if scope.start:
        query = query.where(WorkOrder.created_at >= scope.start)
    if scope.end:
        query = query.where(WorkOrder.created_at < scope.end)
    if scope.process:
        query = query.where(WorkOrder.process == scope.process)
    if scope.department:
        query = query.join(Department, Department.id == WorkOrder.department_id).where(Department.name == scope.department)
    return query


def figures(session: Session, actor: Actor, scope: Scope, now: datetime | None = None) -> dict:
    now = now or clock.now()
    ids = _orders(session, actor, scope).subquery()
    in_scope = WorkOrder.id.in_(select(ids.c.id))
    total = session.exec(select(func.count()).select_from(WorkOrder).where(in_scope)).one()

    def grouped(column):
        return {key or "": count for key, count in session.exec(
            select(column, func.count()).select_from(WorkOrder).where(in_scope).group_by(column)).all()}

    by_department = {name or "": count for name, count in session.exec(
        select(Department.name, func.count()).select_from(WorkOrder)
        .join(Department, Department.id == WorkOrder.department_id, isouter=True)
        .where(in_scope).group_by(Department.name)).all()}
    timer_in_scope = SlaTimer.work_order_id.in_(select(ids.c.id))
    on_time = {}
    for name, met, ended, minutes in session.exec(
        select(SlaTimer.name, func.sum(case((SlaTimer.status == "met", 1), else_=0)),
               func.sum(case((SlaTimer.status.in_(("met", "breached")), 1), else_=0)),
               func.avg(case((SlaTimer.status.in_(("met", "breached")), SlaTimer.working_seconds / 60.0))))
        .where(timer_in_scope).group_by(SlaTimer.name)).all():
        on_time[name] = {"met": int(met or 0), "ended": int(ended or 0),
                         "rate": round(met / ended, 4) if ended else None,
                         "average_minutes": round(minutes, 1) if minutes is not None else None}
    real = session.exec(select(func.count(), func.sum(case((Feedback.satisfied == True, 1), else_=0)))  # noqa: E712
                        .where(Feedback.work_order_id.in_(select(ids.c.id)), Feedback.auto == False)).one()  # noqa: E712
    overdue = session.exec(select(func.count(func.distinct(SlaTimer.work_order_id))).where(
        timer_in_scope, SlaTimer.status.in_(("running", "paused")),
        or_(SlaTimer.breached == True, (SlaTimer.status == "running") & (SlaTimer.due_at < now)))).one()  # noqa: E712
    escalated = session.exec(select(func.count()).select_from(WorkOrder).where(
        in_scope, WorkOrder.escalation_level > 0, WorkOrder.closed == False)).one()  # noqa: E712
    ended = sum(t["ended"] for t in on_time.values())
    met = sum(t["met"] for t in on_time.values())
    response = on_time.get("response", {})
    return {
        "total": total,
        "by_state": grouped(WorkOrder.state),
        "by_process": grouped(WorkOrder.process),
        "by_department": by_department,
        "on_time_rate": round(met / ended, 4) if ended else None,
        "on_time": on_time,
        "average_response_minutes": response.get("average_minutes"),
        "satisfaction_rate": round((real[1] or 0) / real[0], 4) if real[0] else None,
        "ratings": real[0],
        "overdue": overdue,
        "escalated": escalated,
    }

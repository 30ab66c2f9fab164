"""A hand-made month for the cockpit tests: rows inserted directly, every time known.

October 2026 (and one September repair), seen on 31 October at 12:00:

  R1 repair  心内科 水电班 住院楼5F plumbing   closed; response 10 min met, resolution met;   tech1 30 min; rated 5
  R2 repair  心内科 水电班 住院楼5F plumbing   closed, reopened once; response 20 min met, resolution
                                               met then breached; tech1 40 + 20 min; unsatisfied, then rated 3
  R3 repair  急诊科 空调班 急诊大厅 hvac       closed by silence; response 50 min breached; tech2 60 min
                                               (an edit writing 999 minutes is not labour)
  R4 repair  急诊科 空调班 急诊大厅 hvac       in progress, escalated; response 30 min met; resolution late
  R5 repair  心内科        门诊2F   electrical  reported; response late (marked breached)
  H1 hazard  急诊科        急诊大厅 fire       closed out; rectification met
  H2 hazard  急诊科        门诊2F   security   rectifying; rectification due in November
  C1 complaint 心内科      食堂                closed; acceptance 15 min met, reply met; was escalated; rated 4
  S1 repair  心内科 水电班 住院楼5F plumbing   September; response 5 min met; tech1 25 min; rated 4
"""
from datetime import datetime

import pytest
from sqlmodel import select

from engine.storage.models import Department, Escalation, Feedback, History, SlaTimer, Team, User, WorkOrder

T = datetime.fromisoformat
NOW = T("2026-10-31T12:00:00+08:00")
FEEDBACK = {"repair": "resolved", "complaint": "replied", "procurement": "delivered"}  # the shipped feedback states


@pytest.fixture
def month(session, make_user):
    make_user("nurse", "requester", department="心内科")
    make_user("doctor", "requester", department="急诊科")
    make_user("tech1", "technician", department="后勤保障部", team="水电班")
    make_user("tech2", "technician", department="后勤保障部", team="空调班")
    make_user("boss", "supervisor", department="后勤保障部")
    people = {u.username: u.id for u in session.exec(select(User)).all()}
    departments = {d.name: d.id for d in session.exec(select(Department)).all()}
    teams = {t.name: t.id for t in session.exec(select(Team)).all()}
    made, rows = {}, {}

    def order(key, process, department, created, state, *, team=None, location="", fields=None, closed=False,
              reopen=0, escalation=0, auto=False, reporter=None):
        reporter = reporter or ("nurse" if department == "心内科" else "doctor")
        row = WorkOrder(
            number=f"T-{key}", process=process, definition_version=1, state=state, department_id=departments[department],
            location=location, title=key, fields=fields or {}, reporter_id=people[reporter],
            team_id=teams[team] if team else None, created_at=T(created), updated_at=T(created), closed=closed,
            closed_at=NOW if closed else None, reopen_count=reopen, escalation_level=escalation, auto_confirmed=auto,
        )
        session.add(row)
        session.flush()
        made[key], rows[row.id] = row.id, row
        return row.id

    def timer(order_id, name, status, seconds=None, *, cycle=1, due="2026-10-31T00:00:00+08:00", breached=None):
        rows[order_id].deadline_missed |= status == "breached"  # as the step that stopped it late records
        session.add(SlaTimer(work_order_id=order_id, name=name, cycle=cycle, calendar="24x7", started_at=T("2026-10-01T00:00:00+08:00"),
                             due_at=T(due), status=status, working_seconds=seconds,
                             breached=status == "breached" if breached is None else breached))

    def entered(order_id, state, at, by=None, labour=None, kind="transition"):
        stepped = kind == "transition"  # what a step records; an edit (kind "update") records neither
        rows[order_id].reached_feedback |= stepped and FEEDBACK.get(rows[order_id].process) == state
        session.add(History(work_order_id=order_id, at=T(at), actor_id=people[by] if by else None, kind=kind,
                            to_state=state, data={"fields": {"labour_minutes": labour} if labour is not None else {}},
                            labour_minutes=labour if stepped else None))

    def verdict(order_id, satisfied, rating=None, auto=False):
        session.add(Feedback(work_order_id=order_id, satisfied=satisfied, rating=rating, auto=auto, at=NOW))

    r1 = order("R1", "repair", "心内科", "2026-10-05T10:00:00+08:00", "closed", team="水电班", location="住院楼5F",
               fields={"category": "plumbing", "labour_minutes": 30}, closed=True)
    timer(r1, "response", "met", 600)
    timer(r1, "resolution", "met", 3600)
    entered(r1, "resolved", "2026-10-05T12:00:00+08:00", "tech1", labour=30)
    verdict(r1, True, 5)

    r2 = order("R2", "repair", "心内科", "2026-10-08T09:00:00+08:00", "closed", team="水电班", location="住院楼5F",
               fields={"category": "plumbing", "labour_minutes": 20}, closed=True, reopen=1)
    timer(r2, "response", "met", 1200)
    timer(r2, "resolution", "met", 7200)
    timer(r2, "resolution", "breached", 90000, cycle=2)
    entered(r2, "resolved", "2026-10-08T12:00:00+08:00", "tech1", labour=40)
    entered(r2, "assigned", "2026-10-09T09:00:00+08:00", "nurse")
    entered(r2, "resolved", "2026-10-10T12:00:00+08:00", "tech1", labour=20)
    verdict(r2, False)
    verdict(r2, True, 3)

    r3 = order("R3", "repair", "急诊科", "2026-10-12T09:00:00+08:00", "closed", team="空调班", location="急诊大厅",
               fields={"category": "hvac", "labour_minutes": 60}, closed=True, auto=True)
    timer(r3, "response", "breached", 3000)
    timer(r3, "resolution", "met", 5000)
    entered(r3, "resolved", "2026-10-12T15:00:00+08:00", "tech2", labour=60)
    entered(r3, "resolved", "2026-10-13T09:00:00+08:00", "boss", labour=999, kind="update")
    verdict(r3, True, auto=True)

    r4 = order("R4", "repair", "急诊科", "2026-10-20T09:00:00+08:00", "in_progress", team="空调班", location="急诊大厅",
               fields={"category": "hvac"}, escalation=1)
    timer(r4, "response", "met", 1800)
    timer(r4, "resolution", "running", due="2026-10-21T09:00:00+08:00")
    session.flush()
    r4_timer = session.exec(select(SlaTimer.id).where(SlaTimer.work_order_id == r4, SlaTimer.name == "resolution")).one()
    session.add(Escalation(timer_id=r4_timer, work_order_id=r4, level=1, fired_at=T("2026-10-21T09:00:00+08:00")))

    r5 = order("R5", "repair", "心内科", "2026-10-25T09:00:00+08:00", "reported", location="门诊2F",
               fields={"category": "electrical"})
    timer(r5, "response", "running", due="2026-10-25T11:00:00+08:00", breached=True)
    timer(r5, "resolution", "running", due="2026-11-30T00:00:00+08:00")

    h1 = order("H1", "hazard", "急诊科", "2026-10-10T09:00:00+08:00", "closed_out", location="急诊大厅",
               fields={"category": "fire", "risk_level": "major"}, closed=True)
    timer(h1, "rectification", "met", 86400)
    h2 = order("H2", "hazard", "急诊科", "2026-10-15T09:00:00+08:00", "rectifying", location="门诊2F",
               fields={"category": "security", "risk_level": "low"})
    timer(h2, "rectification", "running", due="2026-11-30T00:00:00+08:00")

    c1 = order("C1", "complaint", "心内科", "2026-10-18T09:00:00+08:00", "closed", location="食堂", closed=True, escalation=1)
    timer(c1, "acceptance", "met", 900)
    timer(c1, "reply", "met", 20000)
    entered(c1, "replied", "2026-10-19T09:00:00+08:00", "tech1")
    verdict(c1, True, 4)

    s1 = order("S1", "repair", "心内科", "2026-09-15T09:00:00+08:00", "closed", team="水电班", location="住院楼5F",
               fields={"category": "plumbing", "labour_minutes": 25}, closed=True)
    timer(s1, "response", "met", 300)
    entered(s1, "resolved", "2026-09-15T12:00:00+08:00", "tech1", labour=25)
    verdict(s1, True, 4)

    session.commit()
    return made

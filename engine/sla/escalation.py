"""Escalation ladders: the sweeper that fires each rung once, when it falls due.

What the sweeper reads: timers whose `next_check_at` (the next rung, or the due
time of a timer not yet marked breached) has passed, through its index, a batch
at a time (engine/sla/rows.py, the same sweep auto-confirmations ride). It never
looks at the open work orders as such, so a sweep costs what is due, not what
is open. Rung times and recipients come parsed from the definition, and due
times from the calendars version each timer records: nothing is read from a
file or parsed per tick.

Why every rung fires exactly once, however many sweepers run and wherever one
of them dies:
- each rung is its own transaction (the sweep's unit of work), whose first write inserts the Escalation
  row (unique on timer and level) and which holds all the rung's effects
  (notifications, history, priority, assignee, watchers, the timer's next
  check); a sweeper that dies mid-rung leaves nothing, one that loses the race
  for the row rolls back everything it did;
- on PostgreSQL the timer and its work order are locked FOR UPDATE SKIP LOCKED,
  so concurrent sweepers share out the work instead of queueing on it; on
  SQLite the rung starts with BEGIN IMMEDIATE, so sweepers take turns and each
  reads what the previous one committed;
- a timer whose level lags behind its Escalation rows (an edit racing a sweep
  overwrote it) is first brought up to the highest fired level.
"""
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

from engine.dispatch import offers, rotas
from engine.errors import Conflict
from engine.foresight import risk
from engine.notify.messages import local_time, message
from engine.notify.notifications import notify
from engine.orders import callers
from engine.people.users import users_with_role
from engine.published.definitions import compiled
from engine.sla import lateness, rows, timers as sla
from engine.storage.models import Escalation, History, SlaTimer, User, UserRole, Watcher, WorkOrder
from engine.storage.unit_of_work import unit_of_work
from workflows.schema import EscalationStep, Recipient, SlaTimerSpec, raised

log = logging.getLogger(__name__)

BATCH = rows.BATCH


@dataclass
class Fired:
    """One rung that fired, as the API and the CLI report it."""

    work_order_id: int
    number: str
    timer: str
    cycle: int
    level: int
    recipients: list[str]
    actions: list[dict] = field(default_factory=list)
    at: datetime | None = None

    def as_dict(self) -> dict:
        return asdict(self)


SessionSource = Session | Callable[[], Session]


def sweep(source: SessionSource, now: datetime, *, batch: int = BATCH) -> list[Fired]:
    """Fire every rung due at `now`, in order, and mark late timers breached; commits rung by rung.

    `source` is a session with nothing pending, or a factory of sessions (a sessionmaker).
    """
    if isinstance(source, Session):
        return _sweep(source, now, batch)
    with source() as session:
        return _sweep(session, now, batch)


def _sweep(session: Session, now: datetime, batch: int) -> list[Fired]:
    fired = rows.sweep(session, SlaTimer, now, _work_timer, batch=batch)
    return fired + _sweep_risk(session, now)


# --- rungs at a risk ----------------------------------------------------------------------------
# A rung `at: risk 0.6` has no time, so no `next_check_at` brings the sweeper to it: each sweep (at most
# once per risk.SWEEP_EVERY) scores the open work orders (engine/foresight/risk.py, under a second for ten
# thousand) and fires the rungs whose probability has been reached, each once per timer cycle by the
# same claim as any rung (the escalations row, unique on timer and level).

def _sweep_risk(session: Session, now: datetime) -> list[Fired]:
    if not risk.sweep_due(session, now):
        return []
    try:
        candidates = _risk_candidates(session, now)
    except Exception:  # noqa: BLE001 - a failed forecast must not stop the escalations at a time
        session.rollback()
        log.exception("at-risk scores failed; rungs at a risk wait for the next sweep")
        return []
    fired = []
    for scored, step in candidates:
        try:
            with unit_of_work(session):
                outcome = _fire_risk(session, scored, step, now)
        except IntegrityError:  # fired already, by another sweeper
            session.rollback()
            continue
        except Exception:  # noqa: BLE001 - one broken work order must not stop the others' warnings
            session.rollback()
            log.exception("timer %s: the rung at a risk failed; the next sweep tries again", scored.timer_id)
            continue
        if outcome is not None:
            fired.append(outcome)
    return fired


def _risk_candidates(session: Session, now: datetime) -> list[tuple[risk.Scored, EscalationStep]]:
    """Running timers whose risk reached a rung at a risk not fired yet for them."""
    wanted = []
    for scored in risk.score_open(session, now):
        if scored.status != "running":
            continue  # a paused clock does not run out
        spec = compiled(session, scored.process, scored.version).definition.sla.get(scored.risk.timer)
        wanted += [(scored, step) for step in (spec.risk_rungs if spec else [])
                   if scored.risk.probability >= step.time.risk]
    if not wanted:
        return []
    ids = {scored.timer_id for scored, _ in wanted}
    done = set(session.exec(select(Escalation.timer_id, Escalation.level).where(Escalation.timer_id.in_(ids))).all())
    session.rollback()
    return [(scored, step) for scored, step in wanted if (scored.timer_id, step.level) not in done]


def _fire_risk(session: Session, scored: "risk.Scored", step: EscalationStep, now: datetime) -> Fired | None:
    rows.begin(session)
    session.expire_all()
    timer = rows.claim(session, select(SlaTimer).where(SlaTimer.id == scored.timer_id, SlaTimer.status == "running"))
    if timer is None or lateness.timer_is_late(timer, now):
        return None  # stopped, paused or late since it was scored: nothing to warn of any more
    order = rows.claim(session, select(WorkOrder).where(WorkOrder.id == timer.work_order_id))
    if order is None:
        return None
    spec = compiled(session, order.process, order.definition_version).definition.sla.get(timer.name)
    claim = Escalation(timer_id=timer.id, work_order_id=order.id, level=step.level, fired_at=now)
    session.add(claim)
    session.flush()  # the claim goes first: a rung fired already fails here, before any effect
    actions = []
    if step.watch:
        added = _watch(session, order, _resolve(session, order, step.watchers, now))
        if added:
            actions.append({"watch": added})
    people = _resolve(session, order, step.recipients, now)
    names = [user.username for user in people]
    claim.recipients = names
    session.add(claim)
    said = _risk_message(spec, timer, scored.risk)
    session.add(History(
        work_order_id=order.id, at=now, kind="escalation",
        data={"level": step.level, "timer": timer.name, "cycle": timer.cycle, "recipients": names, "actions": actions,
              "risk": scored.risk.as_dict(), "message": said},
    ))
    notify(session, [user.id for user in people], order=order, kind="warning", title=f"{order.number} {order.title}",
           message=said, now=now, extra={"level": step.level, "timer": timer.name, "due_at": timer.due_at.isoformat(),
                                         "risk": round(scored.risk.probability, 4)})
    return Fired(work_order_id=order.id, number=order.number, timer=timer.name, cycle=timer.cycle, level=step.level,
                 recipients=names, actions=actions, at=now)


def _risk_message(spec: SlaTimerSpec | None, timer: SlaTimer, found: "risk.Risk") -> dict:
    return message("sla_at_risk", timer=_timer_label(spec, timer), due=local_time(timer.due_at),
                   share=round(found.probability * 100))


def _timer_label(spec: SlaTimerSpec | None, timer: SlaTimer) -> dict:
    return spec.label.model_dump() if spec and spec.label else {"zh": timer.name, "en": timer.name}


def _work_timer(session: Session, timer_id: int, now: datetime) -> list[Fired]:
    """Fire the timer's due rungs one transaction at a time (an hour of downtime may leave several)."""
    fired, attempts = [], 0
    while attempts < 3:
        try:
            with unit_of_work(session):
                outcome, more = _step(session, timer_id, now)
        except IntegrityError:
            # Another sweeper fired this rung first: roll back, look again, it is now skipped.
            session.rollback()
            attempts += 1
            continue
        except Conflict:  # its work order changed meanwhile, or a deadlock victim (engine.storage.unit_of_work)
            session.rollback()
            log.info("timer %s: its work order changed while escalating; left for the next sweep", timer_id)
            return fired
        except DBAPIError as exc:  # e.g. a lock timeout: the next sweep tries again
            session.rollback()
            log.warning("timer %s: not swept this time: %s", timer_id, exc.orig)
            return fired
        except Exception:  # noqa: BLE001 - one broken work order must not stop the others' escalations
            session.rollback()
            log.exception("timer %s: escalation failed; nothing of it was kept, the next sweep tries again", timer_id)
            return fired
        if outcome is not None:
            fired.append(outcome)
        if not more:
            return fired
    return fired


def _step(session: Session, timer_id: int, now: datetime) -> tuple[Fired | None, bool]:
    """Fire the next due rung of one timer (the caller commits); says what fired and whether more is due."""
    rows.begin(session)
    session.expire_all()
    timer = rows.claim(session, select(SlaTimer).where(SlaTimer.id == timer_id, SlaTimer.next_check_at <= now))
    if timer is None:  # swept meanwhile, or another sweeper holds it
        return None, False
    order = rows.claim(session, select(WorkOrder).where(WorkOrder.id == timer.work_order_id))
    if order is None:
        return None, False
    if offers.is_offer(timer):  # not an SLA: the time a technician had to accept an offer
        offers.lapse(session, order, timer, now)
        return None, False
    spec = compiled(session, order.process, order.definition_version).definition.sla.get(timer.name)
    if timer.status != "running" or spec is None:
        timer.next_check_at = None  # stopped or paused behind our back: nothing to watch
        session.add(timer)
        return None, False
    _catch_up(session, timer, spec)
    step = sla.next_rung(timer, spec)
    outcome = None
    if step is not None and sla.rung_time(session, timer, step) <= now:
        outcome = _fire(session, order, timer, spec, step, now)
    if lateness.timer_is_late(timer, now):
        timer.breached = True
    timer.next_check_at = sla.next_check(session, timer, spec)
    more = outcome is not None and timer.next_check_at is not None and timer.next_check_at <= now
    session.add(timer)
    return outcome, more


def _catch_up(session: Session, timer: SlaTimer, spec: SlaTimerSpec) -> None:
    query = select(func.max(Escalation.level)).where(Escalation.timer_id == timer.id)
    if spec.risk_rungs:  # fired on a forecast, out of the ladder's order: they never move its level
        query = query.where(Escalation.level.not_in([step.level for step in spec.risk_rungs]))
    highest = session.exec(query).one()
    if highest is not None and highest > timer.level:
        timer.level = highest


# --- one rung ------------------------------------------------------------------------------------

def _fire(session: Session, order: WorkOrder, timer: SlaTimer, spec: SlaTimerSpec, step: EscalationStep,
          now: datetime) -> Fired:
    claim = Escalation(timer_id=timer.id, work_order_id=order.id, level=step.level, fired_at=now)
    session.add(claim)
    session.flush()  # the claim goes first: losing the race fails here, before any effect
    timer.level = step.level
    if step.level >= 1:
        order.escalation_level = max(order.escalation_level, step.level)
    actions = _act(session, order, timer, step, now)
    people = _resolve(session, order, step.recipients, now)
    names = [user.username for user in people]
    claim.recipients = names
    session.add_all([claim, order, timer])
    said = _message(spec, timer, step, now)
    session.add(History(
        work_order_id=order.id, at=now, kind="escalation",
        data={"level": step.level, "timer": timer.name, "cycle": timer.cycle, "recipients": names, "actions": actions,
              "message": said},
    ))
    notify(session, [user.id for user in people], order=order, kind="escalation" if step.level >= 1 else "warning",
           title=f"{order.number} {order.title}", message=said, now=now,
           extra={"level": step.level, "timer": timer.name, "due_at": timer.due_at.isoformat()})
    return Fired(work_order_id=order.id, number=order.number, timer=timer.name, cycle=timer.cycle, level=step.level,
                 recipients=names, actions=actions, at=now)


def _act(session: Session, order: WorkOrder, timer: SlaTimer, step: EscalationStep, now: datetime) -> list[dict]:
    actions = []
    if step.raise_priority:
        higher = raised(order.priority)
        if higher != order.priority:
            actions.append({"raise_priority": {"from": order.priority, "to": higher}})
            order.priority = higher
            definition = compiled(session, order.process, order.definition_version).definition
            sla.retarget(session, order, definition)  # due times follow the new priority, from their start
    if step.reassign:
        chosen = _least_loaded(session, _resolve(session, order, [step.reassign_to], now))
        if chosen is not None and chosen.id != order.assignee_id:
            actions.append({"reassign": chosen.username})
            order.assignee_id, order.team_id = chosen.id, chosen.team_id
            notify(session, [chosen.id], order=order, kind="assignment", now=now,
                   title=f"{order.number} {order.title}", message=message("reassigned_by_escalation", level=step.level))
    if step.watch:
        added = _watch(session, order, _resolve(session, order, step.watchers, now))
        if added:
            actions.append({"watch": added})
    return actions


def _least_loaded(session: Session, candidates: list[User]) -> User | None:
    """The candidate with the fewest open work orders (the first by id on a tie)."""
    if not candidates:
        return None
    loads = dict(session.exec(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_([user.id for user in candidates]), WorkOrder.closed == False,  # noqa: E712
        ).group_by(WorkOrder.assignee_id)
    ).all())
    return min(candidates, key=lambda user: (loads.get(user.id, 0), user.id))


def _watch(session: Session, order: WorkOrder, people: list[User]) -> list[str]:
    present = set(session.exec(select(Watcher.user_id).where(Watcher.work_order_id == order.id)).all())
    added = [user for user in people if user.id not in present]
    session.add_all([Watcher(work_order_id=order.id, user_id=user.id) for user in added])
    return [user.username for user in added]


def _resolve(session: Session, order: WorkOrder, targets: Iterable[Recipient], now: datetime) -> list[User]:
    """The active users a ladder names: role:X, user:NAME, assignee, reporter, dept_head, watchers, first_contact,
    and the team_lead or those on_duty (at `now`) of the order's team."""
    people: dict[int, User] = {}
    for target in targets:
        if target.kind == "role":
            found = users_with_role(session, target.name)
        elif target.kind == "user":
            found = session.exec(select(User).where(User.username == target.name)).all()
        elif target.kind == "dept_head":
            found = session.exec(
                select(User).join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == "dept_head", User.department_id == order.department_id)
            ).all() if order.department_id is not None else []
        elif target.kind in ("team_lead", "on_duty"):
            found = team_people(session, order, target.kind, now)
        elif target.kind == "reporter":  # for a caller without an account, the department that answers for them
            found = callers.requesters(session, order)
        elif target.kind == "watchers":
            found = session.exec(
                select(User).join(Watcher, Watcher.user_id == User.id).where(Watcher.work_order_id == order.id)
            ).all()
        else:
            person = {"assignee": order.assignee_id, "first_contact": order.first_contact_id}.get(target.kind)
            found = [session.get(User, person)] if person is not None else []
        for user in found:
            if user is not None and user.active:
                people.setdefault(user.id, user)
    return list(people.values())


def team_people(session: Session, order: WorkOrder, which: str, now: datetime) -> list[User]:
    """The lead(s) of the order's team, or its members on duty at `now`: the night standby is woken, not the day staff."""
    if order.team_id is None:
        return []
    if which == "team_lead":
        return rotas.leads(session, order.team_id)
    ids = [user_id for user_id, _, _ in rotas.on_duty_roster(session, order.team_id, now)]
    return list(session.exec(select(User).where(User.id.in_(ids)))) if ids else []


def _message(spec: SlaTimerSpec, timer: SlaTimer, step: EscalationStep, now: datetime) -> dict:
    """What the rung says, each reader reading it in their own language (engine/notify/messages.py)."""
    late = "overdue" if lateness.past_due(timer.due_at, now) else "due"
    code = f"sla_warning_{late}" if step.level == 0 else f"sla_escalated_{late}"
    return message(code, timer=_timer_label(spec, timer), due=local_time(timer.due_at), level=step.level)

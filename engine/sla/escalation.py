"""Escalation ladders: the sweeper that fires each rung once, when it falls due.

What the sweeper reads: timers whose `next_check_at` (the next rung, or the due
time of a timer not yet marked breached) has passed, through its index, a page
at a time (engine/sla/rows.py, the same sweep auto-confirmations ride). It never
looks at the open work orders as such, so a sweep costs what is due, not what
is open. Rung times and recipients come parsed from the definition, and due
times from the calendars version each timer records: nothing is read from a
file or parsed per tick.

A page of due timers is one transaction, whose cost does not grow with its rungs:
its timers and their work orders are claimed with one statement each, what the
rungs need to know (who a ladder names, the rungs fired already) is read once
for the page (engine/sla/recipients.py), and what they write (escalations,
watchers, notifications, timeline entries, outbox deliveries) is gathered and
written with one INSERT per table (engine/storage/bulk.py); the timers' new levels
and next checks with one UPDATE, the work orders' changes with the flush. On
PostgreSQL each of those statements carries its rows as one JSON document: the
server runs it once, not once per row as an executemany.

Why every rung fires exactly once, however many sweepers run and wherever one
of them dies:
- a page is its own transaction (the sweep's unit of work), holding all its
  rungs' effects (notifications, history, priority, assignee, watchers, the
  timers' next checks); a sweeper that dies mid-page leaves nothing;
- on PostgreSQL the timers and their work orders are locked FOR UPDATE SKIP
  LOCKED, so concurrent sweepers share out the work instead of queueing on it
  (a timer whose work order another holds is left for the next sweep); on
  SQLite the page starts with BEGIN IMMEDIATE, so sweepers take turns and each
  reads what the previous one committed;
- the Escalation rows (unique on timer and level) are written first: a rung
  fired already fails the page there, before any effect, and a failed page is
  fired again timer by timer, each alone, so one broken work order costs only
  its own rungs;
- a timer whose level lags behind its Escalation rows (an edit racing a sweep
  overwrote it) is first brought up to the highest fired level.
"""
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from engine.dispatch import offers
from engine.errors import Conflict
from engine.foresight import risk
from engine.notify.messages import local_time, local_zone, message
from engine.notify.notifications import Notices
from engine.published.definitions import compiled
from engine.sla import calendar, lateness, rows, timers as sla
from engine.sla.calendar import BusinessCalendar
from engine.sla.recipients import Directory, team_people  # noqa: F401 (team_people: as before, from here)
from engine.storage.bulk import Bulk, write_changes
from engine.storage.models import Escalation, History, SlaTimer, User, Watcher, WorkOrder
from engine.storage.unit_of_work import STALE, unit_of_work
from workflows.schema import EscalationStep, SlaTimerSpec, raised

log = logging.getLogger(__name__)

BATCH = 200  # timers per transaction: a lock held a fraction of a second, a handful of statements


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
    """Fire every rung due at `now`, in order, and mark late timers breached; commits page by page.

    `source` is a session with nothing pending, or a factory of sessions (a sessionmaker).
    """
    if isinstance(source, Session):
        return _sweep(source, now, batch)
    with source() as session:
        return _sweep(session, now, batch)


def _sweep(session: Session, now: datetime, batch: int) -> list[Fired]:
    fired = rows.sweep_pages(session, SlaTimer, now, lambda s, ids, at: _work(s, ids, at, _fire_timers), batch=batch)
    return fired + _sweep_risk(session, now, batch)


# --- a page of rungs, one unit of work ---------------------------------------------------------------

Item = int | tuple["risk.Scored", EscalationStep]  # a due timer's id, or a rung at a risk and what scored it
FirePage = Callable[[Session, list, datetime], list[Fired]]


def _work(session: Session, items: list[Item], now: datetime, fire_page: FirePage) -> list[Fired]:
    """Fire a page in one unit of work; if any of it fails, each item alone, so that one broken work order, or a
    rung another sweeper fired meanwhile, costs only its own rungs."""
    if len(items) > 1:
        try:
            with rows.collector_paused(), unit_of_work(session):
                fired = fire_page(session, items, now)
            return fired
        except Exception as exc:  # noqa: BLE001 - told apart below, item by item
            session.rollback()
            log.info("a page of %s timers failed (%s); each is swept alone", len(items), type(exc).__name__)
    return [outcome for item in items for outcome in _work_alone(session, item, now, fire_page)]


def _work_alone(session: Session, item: Item, now: datetime, fire_page: FirePage) -> list[Fired]:
    timer_id = item if isinstance(item, int) else item[0].timer_id
    for _ in range(3):
        try:
            with unit_of_work(session):
                fired = fire_page(session, [item], now)
            return fired
        except IntegrityError:
            # Another sweeper fired this rung first: roll back, look again, it is now skipped.
            session.rollback()
            continue
        except Conflict:  # its work order changed meanwhile, or a deadlock victim (engine.storage.unit_of_work)
            session.rollback()
            log.info("timer %s: its work order changed while escalating; left for the next sweep", timer_id)
            return []
        except DBAPIError as exc:  # e.g. a lock timeout: the next sweep tries again
            session.rollback()
            log.warning("timer %s: not swept this time: %s", timer_id, exc.orig)
            return []
        except Exception:  # noqa: BLE001 - one broken work order must not stop the others' escalations
            session.rollback()
            log.exception("timer %s: escalation failed; nothing of it was kept, the next sweep tries again", timer_id)
            return []
    return []


class _Page:
    """One page's claimed work orders, what its rungs read once (people, rungs fired already) and what they write."""

    def __init__(self, session: Session, timers: Iterable[SlaTimer], now: datetime):
        self.session, self.now = session, now
        self.zone = local_zone()  # read once: what each rung's message says its times in
        self.timers = timers = list(timers)
        wanted = {timer.work_order_id for timer in timers}
        self.orders = {order.id: order for order in rows.claim_all(
            session, select(WorkOrder).where(WorkOrder.id.in_(wanted)))} if wanted else {}
        self.people = Directory(session, self.orders.values(), now)
        self.bulk = Bulk()
        self.notices = Notices(self.bulk)
        self.levels: dict[int, set[int]] = defaultdict(set)  # timer id -> levels fired already
        if timers:
            for timer_id, level in session.exec(select(Escalation.timer_id, Escalation.level)
                                                .where(Escalation.timer_id.in_([t.id for t in timers]))).all():
                self.levels[timer_id].add(level)
        self.fired: list[Fired] = []
        self.raised: dict[int, int] = {}  # work order id -> the escalation level its rungs raised it to
        self._specs: dict[tuple, SlaTimerSpec | None] = {}
        self._calendars: dict[tuple, BusinessCalendar] = {}

    def spec(self, order: WorkOrder, name: str) -> SlaTimerSpec | None:
        """The timer's spec in the order's definition (looked up once per page: each lookup renders the URL)."""
        key = (order.process, order.definition_version, name)
        if key not in self._specs:
            self._specs[key] = compiled(self.session, order.process, order.definition_version).definition.sla.get(name)
        return self._specs[key]

    def calendar(self, timer: SlaTimer) -> BusinessCalendar:
        """The timer's business calendar, on its calendars version; looked up once per page."""
        key = (timer.calendar, timer.calendar_version)
        if key not in self._calendars:
            self._calendars[key] = calendar.for_timer(self.session, timer)
        return self._calendars[key]

    def level_of(self, order: WorkOrder) -> int:
        return self.raised.get(order.id, order.escalation_level)

    def raise_level(self, order: WorkOrder, level: int) -> None:
        """The order's escalation level, written for the whole page at once (`_raise_levels`)."""
        if level > self.level_of(order):
            self.raised[order.id] = level

    def escalate(self, order: WorkOrder, timer: SlaTimer, level: int, names: list[str], data: dict) -> None:
        """The rung's claim (its Escalation row) and its line on the timeline."""
        self.levels[timer.id].add(level)
        self.bulk.add(Escalation, timer_id=timer.id, work_order_id=order.id, level=level, fired_at=self.now,
                      recipients=names)
        self.bulk.add(History, work_order_id=order.id, at=self.now, kind="escalation", data=data)

    def write(self) -> list[Fired]:
        """The timers' new levels and next checks in one UPDATE (flushed, they would be one per timer), what else
        changed (an action's on a work order, a lapsed offer) flushed, then everything gathered, one INSERT per
        table, the claims first."""
        write_changes(self.session, self.timers, ("level", "breached", "next_check_at"))
        self.notices.queue(self.session)
        self.bulk.write(self.session, first=(Escalation,))
        self.session.flush()
        _raise_levels(self.session, [self.orders[order_id] for order_id in self.raised], self.raised)
        return self.fired


_RAISE = (update(WorkOrder.__table__)
          .where(WorkOrder.__table__.c.id == bindparam("order_id"), WorkOrder.__table__.c.version == bindparam("read"))
          .values(escalation_level=bindparam("level"), version=bindparam("read") + 1))


def _raise_levels(session: Session, orders: list[WorkOrder], levels: dict[int, int]) -> None:
    """Raise the orders' escalation levels in one UPDATE (the ORM writes a versioned row at a time), bumping and
    checking each one's version as the ORM would: an edit that slipped in is a Conflict, and the page rolls back."""
    if not orders:
        return
    done = session.execute(_RAISE, [{"order_id": order.id, "read": order.version, "level": levels[order.id]}
                                    for order in orders]).rowcount
    if done != len(orders):
        raise Conflict(STALE)
    for order in orders:  # the session's copies as they now are, none of them left dirty
        set_committed_value(order, "escalation_level", levels[order.id])
        set_committed_value(order, "version", order.version + 1)


def _fire_timers(session: Session, timer_ids: list[int], now: datetime) -> list[Fired]:
    """Fire the due rungs of a page of timers (the caller commits)."""
    rows.begin(session)
    session.expire_all()
    timers = rows.claim_all(session, select(SlaTimer).where(SlaTimer.id.in_(timer_ids), SlaTimer.next_check_at <= now)
                            .order_by(SlaTimer.next_check_at, SlaTimer.id))
    if not timers:  # swept meanwhile, or another sweeper holds them
        return []
    page = _Page(session, timers, now)
    for timer in timers:
        order = page.orders.get(timer.work_order_id)
        if order is None:  # another sweeper or an edit holds its work order: the next sweep looks again
            continue
        if offers.is_offer(timer):  # not an SLA: the time a technician had to accept an offer
            offers.lapse(session, order, timer, now)
            continue
        with session.no_autoflush:  # changes go out together, at the end, not before each read
            page.fired += _work_timer(page, timer, order)
    return page.write()


def _work_timer(page: _Page, timer: SlaTimer, order: WorkOrder) -> list[Fired]:
    """Fire the timer's due rungs, in order (an hour of downtime may leave several), and set its next check."""
    now = page.now
    spec = page.spec(order, timer.name)
    if timer.status != "running" or spec is None:
        timer.next_check_at = None  # stopped or paused behind our back: nothing to watch
        return []
    _catch_up(timer, spec, page.levels[timer.id])
    fired = []
    while True:
        step = sla.next_rung(timer, spec)
        outcome = None
        if step is not None and sla.rung_on(page.calendar(timer), timer, step) <= now:
            outcome = _fire(page, order, timer, spec, step)
            fired.append(outcome)
        if lateness.timer_is_late(timer, now):
            timer.breached = True
        timer.next_check_at = sla.next_check_on(page.calendar(timer), timer, spec)
        if outcome is None or timer.next_check_at is None or timer.next_check_at > now:
            return fired


def _catch_up(timer: SlaTimer, spec: SlaTimerSpec, fired_levels: set[int]) -> None:
    # Rungs at a risk are fired on a forecast, out of the ladder's order: they never move its level.
    at_risk = {step.level for step in spec.risk_rungs}
    highest = max((level for level in fired_levels if level not in at_risk), default=None)
    if highest is not None and highest > timer.level:
        timer.level = highest


# --- one rung ------------------------------------------------------------------------------------

def _fire(page: _Page, order: WorkOrder, timer: SlaTimer, spec: SlaTimerSpec, step: EscalationStep) -> Fired:
    now = page.now
    timer.level = step.level
    if step.level >= 1:
        page.raise_level(order, step.level)
    actions = _act(page, order, timer, step)
    people = page.people.resolve(order, step.recipients)
    names = [user.username for user in people]
    said = _message(spec, timer, step, now, page.zone)
    page.escalate(order, timer, step.level, names, {
        "level": step.level, "timer": timer.name, "cycle": timer.cycle, "recipients": names, "actions": actions,
        "message": said})
    page.notices.add([user.id for user in people], order=order, kind="escalation" if step.level >= 1 else "warning",
                     title=f"{order.number} {order.title}", message=said, now=now,
                     extra={"level": step.level, "timer": timer.name, "due_at": timer.due_at.isoformat()})
    return Fired(work_order_id=order.id, number=order.number, timer=timer.name, cycle=timer.cycle, level=step.level,
                 recipients=names, actions=actions, at=now)


def _act(page: _Page, order: WorkOrder, timer: SlaTimer, step: EscalationStep) -> list[dict]:
    session, actions = page.session, []
    if step.raise_priority:
        higher = raised(order.priority)
        if higher != order.priority:
            actions.append({"raise_priority": {"from": order.priority, "to": higher}})
            order.priority = higher
            definition = compiled(session, order.process, order.definition_version).definition
            sla.retarget(session, order, definition)  # due times follow the new priority, from their start
    if step.reassign:
        chosen = _least_loaded(session, page.people.resolve(order, [step.reassign_to]))
        if chosen is not None and chosen.id != order.assignee_id:
            actions.append({"reassign": chosen.username})
            order.assignee_id, order.team_id = chosen.id, chosen.team_id
            page.people.known(chosen)
            page.notices.add([chosen.id], order=order, kind="assignment", now=page.now,
                             title=f"{order.number} {order.title}",
                             message=message("reassigned_by_escalation", level=step.level))
    if step.watch:
        added = _watch(page, order, page.people.resolve(order, step.watchers))
        if added:
            actions.append({"watch": added})
    return actions


def _least_loaded(session: Session, candidates: list[User]) -> User | None:
    """The candidate with the fewest open work orders (the first by id on a tie)."""
    if not candidates:
        return None
    session.flush()  # the page's reassignments so far count
    loads = dict(session.exec(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_([user.id for user in candidates]), WorkOrder.closed == False,  # noqa: E712
        ).group_by(WorkOrder.assignee_id)
    ).all())
    return min(candidates, key=lambda user: (loads.get(user.id, 0), user.id))


def _watch(page: _Page, order: WorkOrder, people: list[User]) -> list[str]:
    present = page.people.watchers(order)
    added = [user for user in people if user.id not in present]
    for user in added:
        page.bulk.add(Watcher, work_order_id=order.id, user_id=user.id)
        present.append(user.id)
    return [user.username for user in added]


def _message(spec: SlaTimerSpec, timer: SlaTimer, step: EscalationStep, now: datetime, zone=None) -> dict:
    """What the rung says, each reader reading it in their own language (engine/notify/messages.py)."""
    late = "overdue" if lateness.past_due(timer.due_at, now) else "due"
    code = f"sla_warning_{late}" if step.level == 0 else f"sla_escalated_{late}"
    return message(code, timer=_timer_label(spec, timer), due=local_time(timer.due_at, zone), level=step.level)


def _timer_label(spec: SlaTimerSpec | None, timer: SlaTimer) -> dict:
    return spec.label.model_dump() if spec and spec.label else {"zh": timer.name, "en": timer.name}


# --- rungs at a risk ----------------------------------------------------------------------------
# A rung `at: risk 0.6` has no time, so no `next_check_at` brings the sweeper to it: each sweep (at most
# once per risk.SWEEP_EVERY) scores the open work orders (engine/foresight/risk.py, under a second for ten
# thousand) and fires the rungs whose probability has been reached, each once per timer cycle by the
# same claim as any rung (the escalations row, unique on timer and level), a page at a time like them.

def _sweep_risk(session: Session, now: datetime, batch: int = BATCH) -> list[Fired]:
    if not risk.sweep_due(session, now):
        return []
    try:
        candidates = _risk_candidates(session, now)
    except Exception:  # noqa: BLE001 - a failed forecast must not stop the escalations at a time
        session.rollback()
        log.exception("at-risk scores failed; rungs at a risk wait for the next sweep")
        return []
    fired = []
    for start in range(0, len(candidates), batch):
        fired += _work(session, candidates[start:start + batch], now, _fire_risks)
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


def _fire_risks(session: Session, candidates: list[tuple["risk.Scored", EscalationStep]], now: datetime) -> list[Fired]:
    """Fire a page of rungs at a risk (the caller commits)."""
    rows.begin(session)
    session.expire_all()
    timers = {timer.id: timer for timer in rows.claim_all(session, select(SlaTimer).where(
        SlaTimer.id.in_({scored.timer_id for scored, _ in candidates}), SlaTimer.status == "running"))}
    page = _Page(session, timers.values(), now)
    with session.no_autoflush:
        for scored, step in candidates:
            timer = timers.get(scored.timer_id)
            order = page.orders.get(timer.work_order_id) if timer is not None else None
            if order is None or lateness.timer_is_late(timer, now) or step.level in page.levels[timer.id]:
                continue  # stopped, paused, late or warned since it was scored, or held by another sweeper
            page.fired.append(_fire_risk(page, scored, step, timer, order))
    return page.write()


def _fire_risk(page: _Page, scored: "risk.Scored", step: EscalationStep, timer: SlaTimer, order: WorkOrder) -> Fired:
    now = page.now
    spec = page.spec(order, timer.name)
    actions = []
    if step.watch:
        added = _watch(page, order, page.people.resolve(order, step.watchers))
        if added:
            actions.append({"watch": added})
    people = page.people.resolve(order, step.recipients)
    names = [user.username for user in people]
    said = _risk_message(spec, timer, scored.risk, page.zone)
    page.escalate(order, timer, step.level, names, {
        "level": step.level, "timer": timer.name, "cycle": timer.cycle, "recipients": names, "actions": actions,
        "risk": scored.risk.as_dict(), "message": said})
    page.notices.add([user.id for user in people], order=order, kind="warning", title=f"{order.number} {order.title}",
                     message=said, now=now, extra={"level": step.level, "timer": timer.name,
                                                   "due_at": timer.due_at.isoformat(),
                                                   "risk": round(scored.risk.probability, 4)})
    return Fired(work_order_id=order.id, number=order.number, timer=timer.name, cycle=timer.cycle, level=step.level,
                 recipients=names, actions=actions, at=now)


def _risk_message(spec: SlaTimerSpec | None, timer: SlaTimer, found: "risk.Risk", zone=None) -> dict:
    return message("sla_at_risk", timer=_timer_label(spec, timer), due=local_time(timer.due_at, zone),
                   share=round(found.probability * 100))

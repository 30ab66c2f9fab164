"""The at-risk queue (预警): how likely each running timer is to miss its deadline, from how similar ones went.

What is estimated is the share of its target a timer uses before it stops (working time on its own
calendar, pauses left out, as the engine measures it: `working_seconds` over the target's working
time). Timers that stopped (met or breached) are observed; those still running, and those cancelled
(the work order closed another way), are censored where they were. Kaplan-Meier (`scipy.stats.ecdf` on
`CensoredData`) turns that into a survival curve S(u) = P(share > u) per group of similar timers, and
a timer that has used `u` of its target misses its deadline with P(share > 1 | share > u) = S(1) / S(u).

Similar means the same process, timer, priority, category (the process's `reporting.fault_field`),
team and a state the work order was in while the timer ran. A group is trusted when at least
MIN_SIMILAR of its timers were still running at that share; otherwise the next coarser group answers
(LEVELS), down to the process and timer alone; below that there is no score (too few to tell).

The model is fitted from the stored history (sla_timers, and the work orders' states in time from their
history, read as engine.foresight.journeys does but without the steps' data) as of a moment
(`fit(asof=)`), so a backtest can train on the past alone, and kept per database for REFRESH
(`model()`): a request scores against curves already made, it never refits.
"""
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy import stats
from sqlmodel import Session, select

from engine.dispatch.offers import OFFER
from engine.foresight.timeline import EDIT, Step
from engine.published import definitions
from engine.sla import calendar
from engine.sla.lateness import LIVE
from engine.storage import db
from engine.storage.models import History, SlaTimer, WorkOrder
from workflows.calendars import BusinessCalendar
from workflows.schema import ProcessDefinition, SlaTimerSpec

KEYS = ("process", "timer", "priority", "category", "team", "state")
# From the finest group to the coarsest: the team goes first (teams change), the process and timer stay.
LEVELS = (
    KEYS,
    ("process", "timer", "priority", "category", "state"),
    ("process", "timer", "priority", "state"),
    ("process", "timer", "priority"),
    ("process", "timer"),
)
MIN_SIMILAR = 20  # timers of a group still running at the share used, for the group to answer
HISTORY = timedelta(days=183)  # how far back the model looks
REFRESH = timedelta(minutes=15)  # how long a fitted model serves before it is fitted again


@dataclass(frozen=True)
class Risk:
    """One timer's chance of missing its deadline, and where it comes from (for its reason)."""

    probability: float
    timer: str
    used: float  # share of the target already used
    similar: int  # timers of the group still running at that share
    group: dict  # the keys of the group that answered, with their values

    def as_dict(self) -> dict:
        return {"probability": round(self.probability, 4), "timer": self.timer, "used": round(self.used, 4),
                "similar": self.similar, "group": self.group}


@dataclass
class Curve:
    """A group's Kaplan-Meier survival of the share used, and every observed share (for the risk set)."""

    quantiles: tuple[float, ...]
    survival: tuple[float, ...]
    shares: tuple[float, ...]  # sorted
    # Whether the curve says anything at the deadline: some timer was seen at or past its whole target,
    # or the longest one stopped (then none goes further). Censored short of it, S(1) is unknown.
    reaches_deadline: bool = True

    @classmethod
    def of(cls, shares: list[float], stopped: list[bool]) -> "Curve":
        values, done = np.asarray(shares, dtype=float), np.asarray(stopped, dtype=bool)
        sf = stats.ecdf(stats.CensoredData(uncensored=values[done], right=values[~done])).sf
        longest = int(np.argmax(values))
        # Plain tuples: looked up one share at a time, bisect is far quicker than numpy on a scalar.
        return cls(tuple(sf.quantiles.tolist()), tuple(sf.probabilities.tolist()), tuple(np.sort(values).tolist()),
                   bool(values[longest] >= 1.0 or done[longest]))

    def survival_at(self, share: float) -> float:
        """S(share) = P(a timer of this group uses more than `share` of its target)."""
        i = bisect_right(self.quantiles, share) - 1
        return 1.0 if i < 0 else self.survival[i]

    def at_risk(self, share: float) -> int:
        """How many of the group's timers were still running at `share`."""
        return len(self.shares) - bisect_left(self.shares, share)


@dataclass
class Model:
    fitted_at: datetime
    samples: int = 0
    groups: dict[tuple, Curve] = field(default_factory=dict)
    _chains: dict[tuple, list] = field(default_factory=dict, repr=False)  # per KEYS values: its groups, finest first

    def score(self, values: dict, used: float) -> Risk | None:
        """The risk of a timer with these KEYS `values` that has used `used` of its target (< 1); None when
        fewer than MIN_SIMILAR timers even of its process and timer alone were still running at that share:
        too few to tell."""
        return self.score_key(tuple(values[name] for name in KEYS), used)

    def score_key(self, key: tuple, used: float) -> Risk | None:
        """`score` with the KEYS values as a tuple, in KEYS order."""
        chain = self._chains.get(key)
        if chain is None:
            values = dict(zip(KEYS, key))
            chain = self._chains[key] = [
                (curve, {name: values[name] for name in names}) for level, names in enumerate(LEVELS)
                if (curve := self.groups.get((level, *(values[name] for name in names)))) is not None]
        for curve, group in chain:
            similar = curve.at_risk(used)
            alive = curve.survival_at(used)
            if similar < MIN_SIMILAR or alive <= 0 or not curve.reaches_deadline:
                continue
            return Risk(probability=min(curve.survival_at(1.0) / alive, 1.0), timer=key[1], used=used,
                        similar=similar, group=group)
        return None


# --- fitting -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """One timer as the history shows it at the moment of fitting."""

    values: dict  # KEYS but the state
    states: frozenset  # the states its work order was in while it ran
    share: float
    stopped: bool


def fit(session: Session, *, asof: datetime, since: datetime | None = None) -> Model:
    """The model as of `asof`, from the timers of work orders filed in [since, asof): what happened
    after `asof` is not looked at."""
    return fit_samples(samples(session, asof=asof, since=since if since is not None else asof - HISTORY), asof)


def fit_samples(found: list[Sample], asof: datetime) -> Model:
    grouped: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for sample in found:
        for level, names in enumerate(LEVELS):
            base = tuple(sample.values.get(name) for name in names if name != "state")  # the state is last
            keys = [(level, *base, state) for state in sample.states] if "state" in names else [(level, *base)]
            for key in keys:
                shares, stopped = grouped[key]
                shares.append(sample.share)
                stopped.append(sample.stopped)
    return Model(fitted_at=asof, samples=len(found),
                 groups={key: Curve.of(shares, stopped) for key, (shares, stopped) in grouped.items()})


@dataclass
class _Order:
    """What fitting needs of a work order: who and what it was, its states in time, its priority changes."""

    process: str
    version: int
    priority: str  # now; `priority_at` undoes the changes made since
    fields: dict
    team: int | None
    steps: list[Step] = field(default_factory=list)
    changes: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, from, to)

    def priority_at(self, moment: datetime) -> str:
        """The priority it had at `moment`: as filed, then edited or raised by escalation."""
        priority = self.changes[0][1] if self.changes else self.priority
        for at, _, to in self.changes:
            if at > moment:
                break
            priority = to
        return priority


def orders_filed(session: Session, since: datetime, until: datetime) -> dict[int, _Order]:
    """The work orders filed in [since, until) with their states in time and priority changes: three
    queries reading only what fitting needs (no step's data but a priority change's)."""
    filed = select(WorkOrder.id).where(WorkOrder.created_at >= since, WorkOrder.created_at < until)
    orders = {row[0]: _Order(*row[1:]) for row in session.exec(
        select(WorkOrder.id, WorkOrder.process, WorkOrder.definition_version, WorkOrder.priority, WorkOrder.fields,
               WorkOrder.team_id).where(WorkOrder.id.in_(filed))).all()}
    for order_id, at, event, state in session.exec(
            select(History.work_order_id, History.at, History.event, History.to_state)
            .where(History.work_order_id.in_(filed), History.kind.in_(("create", "transition")))
            .order_by(History.work_order_id, History.id)).all():
        if order_id in orders:  # not one filed since the orders were read (each read sees its own moment)
            orders[order_id].steps.append(Step(at=at, event=event if event != "create" else None, state=state))
    for order_id, at, kind, data in session.exec(
            select(History.work_order_id, History.at, History.kind, History.data)
            .where(History.work_order_id.in_(filed), History.kind.in_(("update", "escalation")))
            .order_by(History.work_order_id, History.id)).all():
        if order_id not in orders:
            continue
        moves = [data.get("priority")] if kind == "update" else [a.get("raise_priority") for a in data.get("actions", [])]
        orders[order_id].changes += [(at, move["from"], move["to"]) for move in moves if isinstance(move, dict)]
    return orders


TIMER_COLUMNS = (SlaTimer.work_order_id, SlaTimer.name, SlaTimer.calendar, SlaTimer.calendar_version,
                  SlaTimer.target_minutes, SlaTimer.target_days, SlaTimer.started_at, SlaTimer.stopped_at,
                  SlaTimer.status, SlaTimer.working_seconds)


def samples(session: Session, *, asof: datetime, since: datetime) -> list[Sample]:
    orders = orders_filed(session, since, asof)
    if not orders:
        return []
    filed = select(WorkOrder.id).where(WorkOrder.created_at >= since, WorkOrder.created_at < asof)
    rows = session.exec(select(*TIMER_COLUMNS).where(SlaTimer.work_order_id.in_(filed), SlaTimer.name != OFFER,
                                                      SlaTimer.started_at < asof)).all()
    known: dict[tuple, ProcessDefinition | None] = {}
    calendars: dict[tuple, BusinessCalendar] = {}
    found = []
    for timer in rows:
        order = orders.get(timer.work_order_id)
        if order is None:  # filed (by another worker) after the orders were read: the next fit has it
            continue
        key = (order.process, order.version)
        definition = known[key] if key in known else known.setdefault(key, definition_of(session, *key))
        spec = definition.sla.get(timer.name) if definition else None
        if spec is None:
            continue
        cal = calendars.get((timer.calendar, timer.calendar_version))
        if cal is None:
            cal = calendars[(timer.calendar, timer.calendar_version)] = calendar.for_timer(session, timer)
        share, stopped, end = observed(cal, timer, spec, order.steps, asof)
        values = {"process": order.process, "timer": timer.name, "priority": order.priority_at(timer.started_at),
                  "category": category(definition, order.fields), "team": order.team}
        found.append(Sample(values, states_during(order.steps, timer.started_at, end), share, stopped))
    return found


def observed(cal: BusinessCalendar, timer: SlaTimer, spec: SlaTimerSpec, steps: list[Step],
             asof: datetime) -> tuple[float, bool, datetime]:
    """(share used, stopped, when seen last): a timer that stopped by `asof` as the engine measured it; one
    still running then (or cancelled) censored where it stood."""
    budget = budget_of(cal, timer)
    if timer.stopped_at is not None and timer.stopped_at <= asof and timer.working_seconds is not None:
        return timer.working_seconds / budget, timer.status in ("met", "breached"), timer.stopped_at
    end = min(asof, timer.stopped_at) if timer.stopped_at is not None else asof
    worked = cal.working_seconds(timer.started_at, end) - paused_seconds(cal, spec, steps, timer.started_at, end)
    return max(worked, 0.0) / budget, False, end


def budget_of(cal: BusinessCalendar, timer: SlaTimer) -> float:
    """The working seconds of the timer's target, from its start (`due_on` without pauses)."""
    if not timer.target_days:
        return max(timer.target_minutes * 60, 1.0)
    due = cal.add(timer.started_at, minutes=timer.target_minutes, working_days=timer.target_days)
    return max(cal.working_seconds(timer.started_at, due), 1.0)


def paused_seconds(cal: BusinessCalendar, spec: SlaTimerSpec, steps: list[Step], start: datetime, end: datetime) -> float:
    """Working time the work order spent in the timer's pause states between `start` and `end`."""
    if not spec.pause:
        return 0.0
    total, paused_since = 0.0, None
    for step in steps:
        if step.at > end:
            break
        if step.event == EDIT:
            continue
        at = max(step.at, start)
        if step.state in spec.pause:
            paused_since = paused_since or at
        elif paused_since is not None:
            total += cal.working_seconds(paused_since, at)
            paused_since = None
    if paused_since is not None:
        total += cal.working_seconds(paused_since, end)
    return total


def states_during(steps: list[Step], start: datetime, end: datetime) -> frozenset:
    """The states the work order was in at some moment of [start, end)."""
    states, current = set(), None
    for step in steps:
        if step.at <= start:
            current = step.state
        elif step.at < end:  # the state it stopped in is not one it ran in
            states.add(step.state)
        else:
            break
    if current is not None:
        states.add(current)
    return frozenset(states)


def state_at(steps: list[Step], moment: datetime) -> str | None:
    current = None
    for step in steps:
        if step.at > moment:
            break
        current = step.state
    return current


def category(definition: ProcessDefinition, fields: dict):
    """What the work order is about: the value of the process's fault field (`reporting.fault_field`)."""
    name = definition.reporting.fault_field if definition.reporting else None
    value = fields.get(name) if name and isinstance(fields, dict) else None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def definition_of(session: Session, process: str, version: int) -> ProcessDefinition | None:
    try:
        return definitions.compiled(session, process, version).definition
    except Exception:  # noqa: BLE001 - a version no longer stored has nothing to teach
        return None


# --- the model in use ----------------------------------------------------------------------------

SWEEP_EVERY = timedelta(minutes=1)  # how often the sweeper scores the open work orders for rungs at a risk
_models: dict[str, Model] = {}
_swept: dict[str, datetime] = {}


def model(session: Session, now: datetime) -> Model:
    """The model for this database, fitted again once REFRESH has passed (or `now` went back before it)."""
    key = db.database_of(session)
    current = _models.get(key)
    if current is None or not current.fitted_at <= now < current.fitted_at + REFRESH:
        current = _models[key] = fit(session, asof=now)
    return current


def sweep_due(session: Session, now: datetime) -> bool:
    """Whether the sweeper should score again now (once per SWEEP_EVERY, per database); says yes once."""
    key = db.database_of(session)
    last = _swept.get(key)
    if last is not None and last <= now < last + SWEEP_EVERY:
        return False
    _swept[key] = now
    return True


def forget() -> None:
    """Drop every fitted model and sweep time (a database emptied under a running process, in tests)."""
    _models.clear()
    _swept.clear()
    _categories.clear()
    _budgets.clear()


# --- scoring -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scored:
    timer_id: int
    work_order_id: int
    process: str
    version: int
    status: str
    risk: Risk
    threshold: float


_OPEN_TIMERS = (
    select(SlaTimer.id, SlaTimer.work_order_id, SlaTimer.name, SlaTimer.calendar, SlaTimer.calendar_version,
           SlaTimer.target_minutes, SlaTimer.target_days, SlaTimer.started_at, SlaTimer.due_at, SlaTimer.status,
           SlaTimer.paused_at, SlaTimer.paused_seconds, SlaTimer.breached, WorkOrder.process,
           WorkOrder.definition_version, WorkOrder.priority, WorkOrder.team_id, WorkOrder.state, WorkOrder.version)
    .join(WorkOrder, WorkOrder.id == SlaTimer.work_order_id)
    .where(SlaTimer.status.in_(LIVE), SlaTimer.name != OFFER, WorkOrder.closed == False)  # noqa: E712
)
_categories: dict[str, dict[int, tuple[int, object]]] = {}  # per database: order id -> (its version, category)
_budgets: dict[str, dict[int, tuple[datetime, float]]] = {}  # per database: timer id -> (due at, working seconds)


def score_open(session: Session, now: datetime, *, fitted: Model | None = None) -> list[Scored]:
    """Every live timer of an open work order that is not yet late, with its risk (those the history
    says nothing about are left out). One query (and one more for the categories of work orders new or
    changed since the last call); the rest is arithmetic on the calendars, a target of working days
    measured once per due time."""
    fitted = fitted if fitted is not None else model(session, now)
    rows = session.connection().execute(_OPEN_TIMERS).all()
    specs: dict[tuple, ProcessDefinition | None] = {}
    calendars: dict[tuple, BusinessCalendar] = {}
    categories = _categories_of(session, rows, specs)
    # Only the timers live now are remembered: a long-running server never keeps those of closed work orders.
    remembered, budgets = _budgets.get(db.database_of(session), {}), {}
    out = []
    for (timer_id, order_id, name, cal_name, cal_version, minutes, days, started, due, status, paused_at, paused,
         breached, process, version, priority, team, state, _) in rows:
        reference = paused_at if status == "paused" and paused_at is not None else now
        if breached or due <= reference:
            continue  # late already: the overdue list shows it
        definition = specs[(process, version)]
        spec = definition.sla.get(name) if definition else None
        if spec is None:
            continue
        cal = calendars.get((cal_name, cal_version))
        if cal is None:
            cal = calendars[(cal_name, cal_version)] = calendar.lookup(session, cal_name, cal_version)
        remaining = cal.working_seconds(reference, due)
        if days:  # a budget of working days: its working time is what the timer has run plus what is left
            known = remembered.get(timer_id)
            if known is None or known[0] != due:
                worked = cal.working_seconds(started, reference) - (paused or 0.0)
                known = (due, max(worked + remaining, 1.0))
            budgets[timer_id] = known
            budget = known[1]
        else:
            budget = max(minutes * 60, 1.0)
        used = 1.0 - remaining / budget
        risk = fitted.score_key((process, name, priority, categories.get(order_id), team, state),
                                min(max(used, 0.0), 1.0))
        if risk is not None:
            out.append(Scored(timer_id, order_id, process, version, status, risk, spec.risk_threshold))
    _budgets[db.database_of(session)] = budgets
    return out


def _categories_of(session: Session, rows, specs: dict) -> dict[int, object]:
    """Each open work order's category, read from its fields only when it is new or has changed (its
    version) since the last call: decoding every open order's fields would cost more than the scoring."""
    remembered, known = _categories.get(db.database_of(session), {}), {}
    wanted: dict[int, int] = {}
    for row in rows:
        key = (row.process, row.definition_version)
        if key not in specs:
            specs[key] = definition_of(session, *key)
        cached = remembered.get(row.work_order_id)
        if cached is None or cached[0] != row.version:
            wanted[row.work_order_id] = row.version
        else:
            known[row.work_order_id] = cached
    ids = list(wanted)
    for i in range(0, len(ids), 500):
        for order_id, process, version, fields in session.exec(
                select(WorkOrder.id, WorkOrder.process, WorkOrder.definition_version, WorkOrder.fields)
                .where(WorkOrder.id.in_(ids[i:i + 500]))).all():
            definition = specs.get((process, version))
            known[order_id] = (wanted[order_id], category(definition, fields) if definition else None)
    _categories[db.database_of(session)] = known  # the open work orders' only
    return {row.work_order_id: known[row.work_order_id][1] for row in rows if row.work_order_id in known}


def at_risk(session: Session, now: datetime, *, fitted: Model | None = None) -> dict[int, Scored]:
    """Per open work order, its riskiest timer among those above their threshold."""
    found: dict[int, Scored] = {}
    for scored in score_open(session, now, fitted=fitted):
        if scored.risk.probability >= scored.threshold:
            best = found.get(scored.work_order_id)
            if best is None or scored.risk.probability > best.risk.probability:
                found[scored.work_order_id] = scored
    return found

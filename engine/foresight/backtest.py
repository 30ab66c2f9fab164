"""Does the at-risk model see breaches coming? Trained on the past, tested on what came after.

The model is fitted as of `split` from the work orders filed in [start, split) (engine/foresight/risk.py;
what happened after `split` is not looked at), then every timer of the work orders filed in [split, end)
that ended met or breached is walked through its life: at each 5% of its target used (while it ran,
pauses left out, on its calendar) the model gives its probability of missing the deadline, knowing the
state the work order was in then. Two figures, for the model and for the naive rule "flag when 80% of the
time is used":

- the Brier score: the mean squared gap between the probability given and what happened (1 breached,
  0 met), over every checkpoint; the naive rule says 1 from 80% on, 0 before;
- the share of real breaches flagged at least `lead` (30 minutes) before the due time: flagged is the
  first checkpoint at the timer's `at_risk` threshold (the model) or at 80% used (the naive rule).

And, so that flagging everything cannot win, the share of timers met in time that were flagged anyway.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from engine.dispatch.offers import OFFER
from engine.foresight import risk
from engine.foresight.timeline import EDIT, Step
from engine.sla import calendar
from engine.storage.models import SlaTimer, WorkOrder
from workflows.calendars import BusinessCalendar
from workflows.schema import SlaTimerSpec

NAIVE_SHARE = 0.8
STEP = 0.05
LEAD = timedelta(minutes=30)


@dataclass
class Figures:
    """One forecaster's figures on the test months."""

    squared: float = 0.0
    checkpoints: int = 0
    breaches: int = 0
    flagged_ahead: int = 0
    met: int = 0
    false_alarms: int = 0

    @property
    def brier(self) -> float:
        return self.squared / self.checkpoints if self.checkpoints else 0.0

    @property
    def breaches_flagged_ahead(self) -> float:
        return self.flagged_ahead / self.breaches if self.breaches else 0.0

    @property
    def met_flagged(self) -> float:
        return self.false_alarms / self.met if self.met else 0.0


@dataclass
class Result:
    trained_on: int  # timers the model was fitted from
    tested: int  # timers walked through
    model: Figures = field(default_factory=Figures)
    naive: Figures = field(default_factory=Figures)


def run(session: Session, *, start: datetime, split: datetime, end: datetime, lead: timedelta = LEAD) -> Result:
    fitted = risk.fit(session, asof=split, since=start)
    result = Result(trained_on=fitted.samples, tested=0)
    orders = risk.orders_filed(session, split, end)
    filed = select(WorkOrder.id).where(WorkOrder.created_at >= split, WorkOrder.created_at < end)
    rows = session.exec(select(*risk.TIMER_COLUMNS, SlaTimer.due_at).where(
        SlaTimer.work_order_id.in_(filed), SlaTimer.name != OFFER, SlaTimer.status.in_(("met", "breached")),
        SlaTimer.stopped_at <= end)).all()
    specs, calendars = {}, {}
    for timer in rows:
        order = orders[timer.work_order_id]
        key = (order.process, order.version)
        definition = specs[key] if key in specs else specs.setdefault(key, risk.definition_of(session, *key))
        spec = definition.sla.get(timer.name) if definition else None
        if spec is None or timer.working_seconds is None:
            continue
        cal = calendars.get((timer.calendar, timer.calendar_version))
        if cal is None:
            cal = calendars[(timer.calendar, timer.calendar_version)] = calendar.for_timer(session, timer)
        budget = risk.budget_of(cal, timer)
        late = timer.status == "breached"
        values = {"process": order.process, "timer": timer.name, "priority": order.priority_at(timer.started_at),
                  "category": risk.category(definition, order.fields), "team": order.team}
        model_flag = naive_flag = None
        for used, moment in checkpoints(cal, spec, order.steps, timer.started_at, timer.stopped_at,
                                        budget, timer.working_seconds / budget):
            found = fitted.score({**values, "state": risk.state_at(order.steps, moment)}, used)
            probability = found.probability if found is not None else 0.0
            naive = 1.0 if used >= NAIVE_SHARE - 1e-9 else 0.0
            result.model.squared += (probability - late) ** 2
            result.naive.squared += (naive - late) ** 2
            result.model.checkpoints += 1
            result.naive.checkpoints += 1
            if model_flag is None and probability >= spec.risk_threshold:
                model_flag = moment
            if naive_flag is None and naive:
                naive_flag = moment
        result.tested += 1
        for figures, flagged in ((result.model, model_flag), (result.naive, naive_flag)):
            if late:
                figures.breaches += 1
                figures.flagged_ahead += flagged is not None and timer.due_at - flagged >= lead
            else:
                figures.met += 1
                figures.false_alarms += flagged is not None
    return result


def checkpoints(cal: BusinessCalendar, spec: SlaTimerSpec, steps: list[Step], start: datetime, stop: datetime,
                budget: float, final: float):
    """(share used, moment) at every STEP of the target the timer reached while it ran (and before 100%)."""
    k, wanted = 0, min(final, 1.0)
    used = 0.0
    for begin, finish in running(spec, steps, start, stop):
        span = cal.working_seconds(begin, finish)
        while k * STEP < wanted and k * STEP * budget <= used + span:
            yield k * STEP, cal.add(begin, minutes=max(k * STEP * budget - used, 0.0) / 60)
            k += 1
        used += span


def running(spec: SlaTimerSpec, steps: list[Step], start: datetime, stop: datetime) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, stop) the timer ran: outside its pause states."""
    paused = risk.state_at(steps, start) in spec.pause
    stretches, since = [], start
    for step in steps:
        if step.at <= start or step.event == EDIT:
            continue
        if step.at >= stop:
            break
        inside = step.state in spec.pause
        if inside and not paused:
            stretches.append((since, step.at))
        elif paused and not inside:
            since = step.at
        paused = inside
    if not paused:
        stretches.append((since, stop))
    return stretches

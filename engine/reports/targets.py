"""The cockpit's figures against the hospital's targets (目标: $HOUQIN_TARGETS, else definitions/targets.yaml).

Each target reads one figure the cockpit already computed (engine.reports.dashboard) for the
same work orders: satisfaction, a timer's on-time rate, hazards closed out, the average response,
the completion and rework rates; `answered_within` (an emergency answered within 15 minutes) is
the one figure of its own, a count over the response timers. A month is held to its target on
its own; the baseline months (the file's `baseline`) give the figure each target is compared with.
"""
from sqlalchemy import and_, case, func, or_, true
from sqlmodel import Session, select

from engine import settings
from engine.published import data_files
from engine.sla.lateness import ENDED
from engine.storage.models import SlaTimer
from workflows.schema import ProcessDefinition
from workflows.targets import Target, Targets, load_file


def current() -> Targets:
    return data_files.current(settings.current().targets_path, load_file, Targets, "targets")


def answered(session: Session, orders, processes: dict[str, ProcessDefinition], goals: Targets) -> dict[str, dict]:
    """For each `answered_within` target, per bucket of `orders` (engine.reports.dashboard._Orders): the share of
    the work orders whose response timer ended within its span (working time on the timer's calendar), of those
    whose timer ended. One query per such target, whatever the buckets."""
    found: dict[str, dict] = {}
    o = orders.row
    for target in goals.targets:
        if target.figure != "answered_within":
            continue
        timers = [and_(o.process == key, SlaTimer.name == d.response_timer())
                  for key, d in processes.items()
                  if d.response_timer() and target.process in (None, key)]
        if not timers:
            continue  # no bucket has a share: None
        chosen = and_(or_(*timers), SlaTimer.status.in_(ENDED), o.priority == target.priority if target.priority else true())
        in_time = func.coalesce(func.sum(case((SlaTimer.working_seconds <= target.span.total_seconds(), 1), else_=0)), 0)
        for bucket, ended, quick in session.exec(
                select(orders.bucket, func.count(), in_time).select_from(SlaTimer)
                .join(orders.table, o.id == SlaTimer.work_order_id).where(chosen).group_by(orders.bucket)).all():
            found.setdefault(bucket, {})[target.name] = round(int(quick) / ended, 4) if ended else None
    return found


def evaluate(goals: Targets, figures: dict, answered_shares: dict, baseline: dict | None = None) -> list[dict]:
    """Each target with its figure (`actual`), the value to reach (`target`), whether it is met and by how
    much (`gap`: positive is better than the target), and the baseline's figure and the change against it."""
    rows = []
    for target in goals.targets:
        actual = _actual(target, figures, answered_shares)
        before = baseline.get(target.name) if baseline else None
        bound = target.bound(before)
        gap = None if actual is None or bound is None else round(
            (bound - actual) if target.at_most_wanted else (actual - bound), 4)
        rows.append({
            "name": target.name, "label": target.label.model_dump(), "figure": target.figure, "unit": target.unit,
            "lower_is_better": target.at_most_wanted, "target": bound, "actual": actual,
            "met": None if gap is None else gap >= 0, "gap": gap, "baseline": before,
            "change": None if actual is None or before is None else round(actual - before, 4),
        })
    return rows


def _actual(target: Target, figures: dict, answered_shares: dict) -> float | None:
    match target.figure:
        case "satisfaction":
            return figures["satisfaction_rate"]
        case "on_time":
            return next((row["rate"] for row in figures["timers"]
                         if row["process"] == target.process and row["timer"] == target.timer), None)
        case "hazards_closed_out":
            closed, still_open = figures["hazards_closed_out"], figures["hazards_open"]
            return round(closed / (closed + still_open), 4) if closed + still_open else None
        case "answered_within":
            return answered_shares.get(target.name)
        case "response_minutes":
            if target.process:
                return (figures["response_by_process"].get(target.process) or {}).get("average")
            return figures["response_minutes"]["average"]
        case _:  # completion_rate, reopen_rate: the cockpit's figure of that name
            return figures[target.figure]

"""The figures a what-if shows for each side: tallied from replayed outcomes, the cockpit's definitions.

On time: met out of the timers that ended (met or breached), as the cockpit counts it. Escalations: every
rung that fired, by level (0 is the warning). Notifications: each rung's recipients as the ladder names them
(`role:supervisor`, `assignee`...). Response: the working time of each ended run of the process's response
timer (`reporting.response_timer`), median and 90th percentile.
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy

from engine.foresight.timeline import Outcome
from workflows.schema import ProcessDefinition

ENDED = ("met", "breached")


@dataclass
class Tally:
    on_time: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    escalations: Counter = field(default_factory=Counter)
    notifications: Counter = field(default_factory=Counter)
    teams: Counter = field(default_factory=Counter)
    response: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    orders: int = 0
    not_replayable: int = 0

    def add(self, definition: ProcessDefinition, outcome: Outcome, team: str | None, *, replayable: bool = True) -> None:
        self.orders += 1
        self.not_replayable += not replayable
        self.teams[team] += 1
        response = definition.response_timer()
        for timer in outcome.timers:
            if timer.status in ENDED:
                counts = self.on_time[(definition.key, timer.name)]
                counts[0] += timer.status == "met"
                counts[1] += 1
                if timer.name == response and timer.working_seconds is not None:
                    self.response[definition.key].append(timer.working_seconds)
        for rung in outcome.rungs:
            self.escalations[rung.level] += 1
            self.notifications.update(rung.notify)

    def figures(self, labels: dict[tuple[str, str], dict]) -> dict:
        return {
            "orders": self.orders,
            "not_replayable": self.not_replayable,
            "on_time": [{"process": process, "timer": timer, "label": labels.get((process, timer)),
                         "met": met, "ended": ended, "rate": _rate(met, ended)}
                        for (process, timer), (met, ended) in sorted(self.on_time.items())],
            "escalations": [{"level": level, "count": n} for level, n in sorted(self.escalations.items())],
            "notifications": [{"recipient": who, "count": n} for who, n in sorted(self.notifications.items())],
            "teams": [{"team": team, "orders": n}
                      for team, n in sorted(self.teams.items(), key=lambda item: (item[0] is None, item[0] or ""))],
            "response": [{"process": process, "count": len(seconds), **_quantiles(seconds)}
                         for process, seconds in sorted(self.response.items())],
        }


def _rate(met: int, ended: int) -> float | None:
    return round(met / ended, 4) if ended else None


def _quantiles(seconds: list[float]) -> dict:
    if not seconds:
        return {"median_minutes": None, "p90_minutes": None}
    median, p90 = numpy.percentile(numpy.asarray(seconds) / 60.0, [50, 90])
    return {"median_minutes": round(float(median), 1), "p90_minutes": round(float(p90), 1)}

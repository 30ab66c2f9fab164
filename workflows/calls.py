"""Follow-up calls (回访) declared in a definition: which work orders the desk calls back, and who calls.

    calls:
      by: [dispatcher]       # who makes the calls (roles)
      all: [urgent, high]    # priorities always called
      sample: 20%            # the share of the rest that is called
      within: 3d             # optional: how soon after closing; past it the work order is not called
      state: closed          # optional: whose work orders are called; by default the state the
                             # feedback's satisfied event leads to

The sampled share is picked from the work order's number, not drawn at random: every read, every
server and every restart picks the same work orders, and a dispatcher cannot redraw an unlucky one.
`within` counts days on the wall clock (the desk answers the phone every day).

A call may also be the verdict itself: when `state` is the process's feedback state (a complaint's
已答复), a call that reaches the complainant fires the feedback's satisfied or unsatisfied event, its
notes going into the feedback's `comment_field`. Like everything in the language this module knows
nothing of the database; engine/orders/calls.py keeps the calls.
"""
import hashlib
import re

from pydantic import field_validator

from workflows.durations import Duration
from workflows.errors import coded
from workflows.schema import PRIORITIES, ROLES, Strict

# The sample is written in percent with at most two decimals: a share of ten thousand buckets.
BUCKETS = 10_000


def _share(value) -> int:
    """`20%` → 2000 buckets of BUCKETS."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d{1,3}(?:\.\d{1,2})?)\s*%", text) if isinstance(value, str) else None
    if not match or float(match.group(1)) > 100:
        raise coded("definition_calls_share", f"'{text}' is not a share: write a percentage from 0% to 100%, e.g. '20%'",
                    value=text)
    return round(float(match.group(1)) * BUCKETS / 100)


def _within(value) -> Duration:
    span = Duration.parse(value, weeks=True)
    if span.minutes <= 0 and span.days <= 0:
        raise coded("definition_calls_within", "calls.within must be longer than zero")
    return span


class CallsSpec(Strict):
    by: list[str]
    all: list[str] = []
    sample: int = 0  # in BUCKETS: 2000 is 20%
    within: Duration | None = None
    state: str | None = None

    _sample = field_validator("sample", mode="before")(lambda cls, value: _share(value))
    _span = field_validator("within", mode="before")(lambda cls, value: _within(value))
    _many = field_validator("by", "all", mode="before")(lambda cls, value: [value] if isinstance(value, str) else value)

    def picked(self, number: str, priority: str) -> bool:
        """Whether the work order numbered `number` is called: always at a priority in `all`, else when its
        number falls in the sampled share."""
        return priority in self.all or bucket(number) < self.sample

    def always(self, priority: str) -> bool:
        """Called whatever its number: a priority in `all`, or a sample of 100%."""
        return priority in self.all or self.sample >= BUCKETS

    @property
    def percent(self) -> float:
        return self.sample * 100 / BUCKETS


def bucket(number: str) -> int:
    """Where a work order number falls among BUCKETS, the same on every machine (not Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(number.encode()).digest()[:8], "big") % BUCKETS


def call_state(definition) -> str | None:
    """The state whose work orders are called: `calls.state`, else where the feedback's satisfied event leads."""
    spec: CallsSpec | None = definition.calls
    if spec is None:
        return None
    if spec.state is not None:
        return spec.state
    feedback = definition.feedback
    event = definition.event(feedback.satisfied, feedback.state) if feedback else None
    return event.to if event else None


def is_verdict(definition) -> bool:
    """The call is the feedback's verdict: its state is the feedback state (a complaint's follow-up)."""
    return definition.feedback is not None and call_state(definition) == definition.feedback.state


def check_calls(definition, report) -> None:
    """Semantic checks of `calls:`; `report(path, message, code, **params)` records each problem with its position."""
    spec: CallsSpec | None = definition.calls
    if spec is None:
        return
    if not spec.by:
        report(("calls", "by"), "calls.by names nobody: list the roles that make the calls, e.g. [dispatcher]",
               "definition_calls_by_nobody")
    for i, role in enumerate(spec.by):
        if role not in ROLES:
            report(("calls", "by", i), f"calls.by: unknown role '{role}': use one of {', '.join(ROLES)}",
                   "definition_calls_by_role", role=role, roles=list(ROLES))
    for i, priority in enumerate(spec.all):
        if priority not in PRIORITIES:
            report(("calls", "all", i), f"calls.all: '{priority}' is not a priority: use {', '.join(PRIORITIES)}",
                   "definition_calls_priority", value=str(priority), priorities=list(PRIORITIES))
    if not spec.all and not spec.sample:
        report(("calls",), "calls: nobody would be called: list priorities under 'all' or give a 'sample' "
                           "above 0%", "definition_calls_nobody")
    state = call_state(definition)
    if state is None:
        report(("calls",), "calls: say whose work orders are called with 'state' (e.g. state: closed); "
                           "without a feedback section there is no closing state to take", "definition_calls_state_missing")
        return
    if state not in definition.states:
        report(("calls", "state"), f"calls.state: unknown state '{state}'", "definition_calls_state_unknown",
               state=state)
        return
    final = state in definition.final_states()
    if not final and not is_verdict(definition):
        feedback = definition.feedback.state if definition.feedback else None
        report(("calls", "state"), f"calls.state '{state}' is neither a final state (the work is over)"
                                   f"{f' or the feedback state {feedback!r}' if feedback else ''} (the call is the verdict)",
               "definition_calls_state_feedback" if feedback else "definition_calls_state_not_final", state=state,
               feedback=feedback)
    if spec.within is not None and not final:
        report(("calls", "within"), f"calls.within counts from closing, and '{state}' is not a final state: "
                                    f"a call that gives the verdict waits as long as the work order does",
               "definition_calls_within_not_final", state=state)

"""Every person's inbox (我的待办): the work orders waiting for something they may do now.

Nothing here names a process or a role: the compiled process decides. For each
published version, each event that puts work in an inbox (`inbox: true`, the
default) says through its `roles` which orders it could open to this person:
any order in its source state (a role they hold), their department's
(`role@department`), those assigned to them (`assignee`) or reported by them
(`reporter`), the pools of the teams they are on duty for (`on_duty`). That becomes one SQL filter, so the candidates are chosen by the
database; then `workorders.available_for` (the same authority as every button)
keeps the orders on which the person may really fire such an event now (guards,
the different-person rule). A new event (say a `claim` of pooled work) appears
in the inboxes of those who may fire it without a line of code here.

Each work order is listed once, under the first such event in the file's order
(the one its buttons put first), and the groups are oldest first: what has
waited longest is at the top. The cost is at most three queries (the versions, the
candidates, who last did what) whatever the number of work orders.
"""
from dataclasses import dataclass, field

from sqlalchemy import and_, false, or_
from sqlmodel import Session, select

from engine.orders import visibility as permissions, workorders
from engine.people.users import Actor
from engine.published import definitions
from engine.storage.models import Definition, WorkOrder
from workflows.authority import (ANY, AS_ASSIGNEE, AS_REPORTER, IN_DEPARTMENT, ON_DUTY, Transition, answers_for_callers,
                                 reach)
from workflows.calls import is_verdict as calls_give_verdict
from workflows.machine import CompiledProcess
from workflows.schema import Label


@dataclass
class Group:
    """The work orders waiting for one event of one process, oldest first."""

    process: str
    process_title: Label
    event: str
    label: Label
    # The event is the reporter's verdict on the result (the process's feedback): "waiting for your confirmation".
    verdict: bool
    orders: list[WorkOrder] = field(default_factory=list)
    # The verdict is given by a follow-up call (回访: a complaint's), on the call form: "waiting for your call".
    call: bool = False

    @property
    def count(self) -> int:
        return len(self.orders)


@dataclass
class Inbox:
    groups: list[Group]
    # Per work order listed, every event its owner may fire on it now (its buttons), as decided.
    allowed: dict[int, list[Transition]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(group.count for group in self.groups)


def inbox(session: Session, actor: Actor) -> Inbox:
    """What waits for `actor`: open work orders on which they may fire an inbox event now, grouped by event."""
    candidates = _candidates(session, actor)
    if candidates is None:
        return Inbox([])
    orders = list(session.exec(select(WorkOrder).where(candidates).order_by(WorkOrder.created_at, WorkOrder.id)).all())
    allowed = workorders.available_for(session, orders, actor)
    groups: dict[tuple[str, str], Group] = {}
    for order in orders:
        waiting = next((t for t in allowed[order.id] if t.spec.inbox), None)
        if waiting is None:
            continue
        key = (order.process, waiting.name)
        if key not in groups:
            compiled = workorders.compiled_of(session, order)
            groups[key] = Group(order.process, compiled.definition.title, waiting.name,
                                compiled.definition.event_label(waiting.name), _is_verdict(compiled, waiting),
                                call=_is_verdict(compiled, waiting) and calls_give_verdict(compiled.definition))
        groups[key].orders.append(order)
    listed = {order.id for group in groups.values() for order in group.orders}
    return Inbox(list(groups.values()),  # insertion order: the group whose oldest order is oldest comes first
                 {order_id: transitions for order_id, transitions in allowed.items() if order_id in listed})


def _is_verdict(compiled: CompiledProcess, transition: Transition) -> bool:
    feedback = compiled.definition.feedback
    return (feedback is not None and transition.source == feedback.state
            and transition.name in (feedback.satisfied, feedback.unsatisfied))


def _candidates(session: Session, actor: Actor):
    """The SQL filter for open, visible work orders on which some inbox event's `roles` admit `actor`; None: none can."""
    per_version = []
    for key, version in session.exec(select(Definition.key, Definition.version)).all():
        states = _states_by_reach(definitions.compiled(session, key, version), actor)
        parts = []
        if states[ANY]:
            parts.append(WorkOrder.state.in_(sorted(states[ANY])))
        if states[IN_DEPARTMENT]:
            parts.append(and_(WorkOrder.state.in_(sorted(states[IN_DEPARTMENT])),
                              WorkOrder.department_id == actor.department_id))
        if states[AS_ASSIGNEE]:
            parts.append(and_(WorkOrder.state.in_(sorted(states[AS_ASSIGNEE])), WorkOrder.assignee_id == actor.id))
        if states[AS_REPORTER]:
            parts.append(and_(WorkOrder.state.in_(sorted(states[AS_REPORTER])), _as_reporter(actor)))
        if states[ON_DUTY]:  # the pools of the teams they are on duty for now
            parts.append(and_(WorkOrder.state.in_(sorted(states[ON_DUTY])), WorkOrder.team_id.in_(sorted(actor.on_duty))))
        if parts:
            per_version.append(and_(WorkOrder.process == key, WorkOrder.definition_version == version, or_(*parts)))
    if not per_version:
        return None
    clauses = [WorkOrder.closed == false(), or_(*per_version)]
    visible = permissions.visible_clause(actor)
    if visible is not None:  # an inbox lists only what its owner can open
        clauses.append(visible)
    return and_(*clauses)


def _as_reporter(actor: Actor):
    """The work orders `actor` may answer for as their requester (workflows.authority.answers_as_reporter decides)."""
    own = WorkOrder.reporter_id == actor.id
    if not answers_for_callers(actor):
        return own
    return or_(own, and_(WorkOrder.caller_name.is_not(None), WorkOrder.department_id == actor.department_id))


def _states_by_reach(compiled: CompiledProcess, actor: Actor) -> dict[str, set[str]]:
    """Per kind of reach, the states from which an inbox event of this process could be the actor's."""
    out: dict[str, set[str]] = {ANY: set(), IN_DEPARTMENT: set(), AS_ASSIGNEE: set(), AS_REPORTER: set(), ON_DUTY: set()}
    for state in compiled.definition.states:
        for transition in compiled.transitions_from(state):
            if not transition.spec.inbox:
                continue
            for spec in transition.roles:
                kind = reach(spec, actor)
                if kind is not None:
                    out[kind].add(state)
    return out

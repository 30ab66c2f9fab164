"""Routing: who gets a work order, decided by the process's `dispatch:` rules and the rotas.

`decide` reads (the rules, who is on duty, each candidate's open work) and writes
nothing, so the preview and the real thing give the same answer. `route` applies
a decision: an offer fires the process's own offer event (e.g. `assign`) as the
system, through `CompiledProcess.check` like any other step, and starts the
offer's clock (engine.dispatch.offers); a pool puts the order in the team's
queue, which on-duty members claim through the process's claim event (the
`on_duty` role); anything else waits for the dispatcher. Each decision is a
history entry (kind `dispatch`) that says why, in both languages.

Routing runs when a work order is created, and whenever it is back where routing
starts with nobody holding it (a decline, a withdrawal: by the dispatcher, or by
the system when an offer was not accepted in time). Nobody who declined a work
order, let its offer lapse or had it taken back is offered it again or may claim it.
"""
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

from engine.dispatch import offers, rotas
from engine.storage.models import Asset, Department, History, Team, TeamMember, User, WorkOrder
from engine.notify.messages import message
from engine.notify.notifications import notify
from workflows.dispatch import ASSET_TEAM, DispatchRule, DispatchSpec
from workflows.machine import CompiledProcess
from workflows.schema import ProcessDefinition


# Candidates named in a decision (and its history entry): the first ones, in the order they are offered.
SHOWN = 20


@dataclass
class Candidate:
    username: str
    display_name: str
    shift: str
    load: int
    user_id: int


@dataclass
class Routing:
    """One routing decision: the rule, the team, who was on duty, who gets it, and why."""

    rule: str
    strategy: str  # offer, pool, manual
    team: str | None = None
    person: str | None = None  # offered to (username)
    waits_for: str = "person"  # person (the offered technician), team (pool), dispatcher
    accept_within: str | None = None
    on_duty: list[str] = field(default_factory=list)  # the first SHOWN
    more_on_duty: int = 0
    candidates: list[Candidate] = field(default_factory=list)  # the first SHOWN, in the order they are offered
    more_candidates: int = 0
    excluded: list[str] = field(default_factory=list)
    said: dict = field(default_factory=dict)  # why, as a message (engine/notify/messages.py): read in each reader's language
    # Not shown: what applying the decision needs.
    team_id: int | None = None
    person_id: int | None = None
    rule_spec: DispatchRule | None = None

    @property
    def reason(self) -> dict:
        """Why, as the timeline, the dispatch board and the pool's notice say it, in the reader's language."""
        return self.said

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("team_id", "person_id", "rule_spec"):
            data.pop(key)
        data["message"] = self.reason
        return data


# --- deciding --------------------------------------------------------------------------------------

def facts(session: Session, *, priority: str, department_id: int | None, location: str, fields: dict,
          asset_id: int | None = None) -> dict:
    """What rules match on: the fields, with priority, the department's name, the location and the device's
    class and team (by name) over them."""
    department = session.get(Department, department_id).name if department_id is not None else None
    asset = session.get(Asset, asset_id) if asset_id is not None else None
    team = session.get(Team, asset.team_id) if asset is not None and asset.team_id is not None else None
    return {**fields, "priority": priority, "department": department, "location": location or "",
            "asset_class": asset.asset_class if asset else None, "asset_team": team.name if team else None}


def decide(session: Session, spec: DispatchSpec, facts_: dict, now: datetime, *,
           exclude: frozenset[int] = frozenset()) -> Routing:
    index, rule = spec.choose(facts_)
    label = rule.label(index)
    team_name = facts_.get("asset_team") if rule.team == ASSET_TEAM else rule.team  # the device's own team
    decision = Routing(rule=label, strategy=rule.strategy, team=team_name, rule_spec=rule)
    if rule.strategy == "manual" or not rule.team:
        decision.waits_for = "dispatcher"
        decision.said = message("dispatch_manual", rule=label)
        if rule.team:
            _team_into(session, decision)
        return decision
    team = _team_into(session, decision)
    if team is None:
        decision.waits_for = "dispatcher"
        decision.said = message("dispatch_no_team", rule=label, team=decision.team)
        return decision
    roster = rotas.on_duty_roster(session, team.id, now)
    able = [(user_id, shift) for user_id, shift, skills in roster
            if user_id not in exclude and (not rule.skill or rule.skill in skills)]
    loads = _loads(session, team.id) if rule.strategy == "offer" and able else {}
    ordered = _ordered([(loads.get(user_id, 0), user_id, shift) for user_id, shift in able],
                       rule.pick or "least_loaded", team.round_robin_after)
    # Names only for those shown: the first on duty and the first candidates.
    shown_duty = [user_id for user_id, _, _ in roster[:SHOWN]]
    names = rotas.usernames(session, list({*shown_duty, *[user_id for _, user_id, _ in ordered[:SHOWN]],
                                           *[uid for uid in exclude if uid in {u for u, _, _ in roster}]}))
    decision.on_duty = [names[user_id][0] for user_id in shown_duty]
    decision.more_on_duty = max(len(roster) - SHOWN, 0)
    decision.excluded = [names[uid][0] for uid in sorted(exclude) if uid in names]
    # People by their names in what is said; the usernames above are for scripts.
    on_duty = _listed([names[user_id][1] for user_id in shown_duty], decision.more_on_duty)
    if rule.strategy == "pool":
        decision.waits_for = "team"
        decision.said = message("dispatch_pooled", rule=label, team=team.name, on_duty=on_duty)
        return decision
    candidates = [Candidate(names[user_id][0], names[user_id][1], shift, load, user_id)
                  for load, user_id, shift in ordered[:SHOWN]]
    decision.person_id = ordered[0][1] if ordered else None
    decision.candidates = candidates
    decision.more_candidates = max(len(ordered) - SHOWN, 0)
    decision.accept_within = _span(rule)
    skill = {"skill": rule.skill} if rule.skill else {}
    if not candidates:
        decision.waits_for = "dispatcher"
        left = [names[uid][1] for uid in sorted(exclude) if uid in names]
        decision.said = message("dispatch_nobody_left" if left else "dispatch_nobody", rule=label, team=team.name,
                                on_duty=on_duty, left=left, **skill)
        return decision
    chosen = candidates[0]
    decision.person = chosen.username
    loads = [f"{c.display_name}({c.shift}, {c.load})" for c in candidates]
    if decision.more_candidates:
        loads.append(f"… +{decision.more_candidates}")
    decision.said = message("dispatch_offered_skill" if skill else "dispatch_offered", rule=label, team=team.name,
                            person=chosen.display_name, pick=rule.pick or "least_loaded", candidates=loads,
                            within=decision.accept_within, **skill)
    return decision


def _team_into(session: Session, decision: Routing) -> Team | None:
    team = rotas.team_by_name(session, decision.team)
    decision.team_id = team.id if team else None
    return team


def _loads(session: Session, team_id: int) -> dict[int, int]:
    """Open work orders per member of the team: one grouped query on the (closed, assignee) index, joined to the
    team's members rather than listing hundreds of ids."""
    return dict(session.execute(_LOADS, {"team_id": team_id}).all())


_order, _member = WorkOrder.__table__.c, TeamMember.__table__.c
_LOADS = (select(_order.assignee_id, func.count())
          .join_from(WorkOrder.__table__, TeamMember.__table__,
                     (_member.user_id == _order.assignee_id) & (_member.team_id == bindparam("team_id")))
          .where(_order.closed == False).group_by(_order.assignee_id))  # noqa: E712


def _ordered(candidates: list[tuple[int, int, str]], pick: str, after: int | None) -> list[tuple[int, int, str]]:
    """(load, user id, shift) in the order they are offered: fewest open work orders first, or by turns after
    the member offered last."""
    if pick == "round_robin":
        by_id = sorted(candidates, key=lambda c: c[1])
        later = [c for c in by_id if after is not None and c[1] > after]
        return later + [c for c in by_id if c not in later]
    return sorted(candidates)


def _listed(names: list[str], more: int) -> list[str]:
    """Those on duty as a message lists them (an empty list reads "none")."""
    return [*names, f"… +{more}"] if more else names


def _span(rule: DispatchRule) -> str:
    within = rule.offer_within
    if within.days:
        return f"{within.days}d"
    minutes = within.minutes
    return f"{minutes / 60:g}h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g}m"


# --- applying --------------------------------------------------------------------------------------

def routes_here(definition: ProcessDefinition, order: WorkOrder) -> bool:
    """Whether routing starts from the order's state (where the offer event leaves from), nobody holding it."""
    spec = definition.dispatch
    if spec is None or order.assignee_id is not None or order.closed:
        return False
    return definition.event(spec.offer, order.state) is not None


def plan(session: Session, compiled: CompiledProcess, order: WorkOrder, now: datetime) -> Routing | None:
    """The decision for a work order where routing starts (None elsewhere); writes nothing."""
    definition = compiled.definition
    if not routes_here(definition, order):
        return None
    decision = decide(session, definition.dispatch, facts(session, priority=order.priority,
                      department_id=order.department_id, location=order.location, fields=order.fields,
                      asset_id=order.asset_id),
                      now, exclude=frozenset(declined_by(session, order.id)) if order.id else frozenset())
    if order.team_id != decision.team_id:
        order.team_id = decision.team_id
    return decision


def apply(session: Session, order: WorkOrder, compiled: CompiledProcess, decision: Routing | None, now: datetime) -> None:
    """Carry out a decision, in the caller's transaction: the history entry, the offer, the pool's notices."""
    if decision is None or decision.team_id is None or decision.strategy == "manual":
        return  # the dispatcher decides (the rule says so, or its team is not set up): nothing automatic to tell
    definition = compiled.definition
    session.add(order)
    session.add(History(work_order_id=order.id, at=now, kind="dispatch", from_state=order.state, to_state=order.state,
                        data=decision.as_dict()))
    if decision.person is not None:
        from engine.orders import workorders  # workorders calls back into routing after each event

        workorders.fire(session, None, order.id, definition.dispatch.offer,
                        workorders.EventInput(assignee=decision.person, message=message(
                            "routed_automatically", rule=decision.rule, within=decision.accept_within)),
                        now=now)
        if order.team_id != decision.team_id:
            order.team_id = decision.team_id  # the team routed to, whatever the person's home team
        team = session.get(Team, decision.team_id)
        offers.start(session, order, decision.person_id, decision.rule_spec.offer_within, team, now)
        if decision.rule_spec.pick == "round_robin":
            team.round_robin_after = decision.person_id
            session.add(team)
    elif decision.waits_for == "team" and decision.on_duty:
        roster = rotas.on_duty_roster(session, decision.team_id, now)
        excluded = declined_by(session, order.id)
        notify(session, [user_id for user_id, _, _ in roster if user_id not in excluded], order=order, kind="pool", now=now,
               title=f"{order.number} {order.title}", message=decision.reason)


def route(session: Session, order: WorkOrder, compiled: CompiledProcess, now: datetime) -> Routing | None:
    """Decide and apply, in the caller's transaction."""
    decision = plan(session, compiled, order, now)
    apply(session, order, compiled, decision, now)
    return decision


def after_event(session: Session, order: WorkOrder, compiled: CompiledProcess, event: str, actor, now: datetime,
                timers: list) -> None:
    """What dispatch does once an event is applied: settle a pending offer, take a claim, route a decline again.
    `timers`: the order's timer rows as the step read them."""
    spec = compiled.definition.dispatch
    if spec is None:
        return
    offers.settle(session, order, now, accepted=event == spec.accept, timers=timers)
    if event == spec.claim and actor is not None:
        order.assignee_id = actor.id
        session.add(order)
    if event in (spec.decline, spec.withdraw) and order.assignee_id is not None:
        who = session.get(User, order.assignee_id)
        lapsed = actor is None
        order.assignee_id = None
        session.add(order)
        how = "lapsed" if lapsed else "declined" if event == spec.decline else "taken_back"
        session.add(History(work_order_id=order.id, at=now, kind="dispatch", from_state=order.state, to_state=order.state,
                            data={"declined_by": who.id, "username": who.username, "lapsed": lapsed,
                                  "message": message(f"routing_again_{how}", who=who.display_name or who.username)}))
        session.flush()
    route(session, order, compiled, now)


def declined_by(session: Session, order_id: int) -> set[int]:
    """Who declined this work order or let its offer lapse: never offered it again."""
    rows = session.exec(select(History.data).where(History.work_order_id == order_id, History.kind == "dispatch")).all()
    return {data["declined_by"] for data in rows if isinstance(data, dict) and data.get("declined_by") is not None}


def duty_of(session: Session, actor, order: WorkOrder, now: datetime):
    """The actor as `check` needs them where an event names `on_duty`: the teams their rota has them on duty
    for at `now`, less this order's team if they declined it."""
    return with_declines(session, replace(actor, on_duty=rotas.on_duty_teams(session, actor.id, now)), [order])[order.id]


def with_duty(session: Session, actor, now: datetime):
    """The signed-in person with the teams they are on duty for at `now` (read once per request, when first asked)."""
    return replace(actor, on_duty=rotas.DutyTeams(session, actor.id, now))


def with_declines(session: Session, actor, orders: list[WorkOrder], histories: dict[int, list] | None = None) -> dict:
    """Per work order, the actor less the order's team among their on-duty teams if they declined that order
    (so they may not claim it back): one query whatever the length of the list, none when the orders'
    `histories` are given."""
    teams = getattr(actor, "on_duty", frozenset())
    concerned = [order.id for order in orders if order.team_id in teams]
    if not concerned:
        return {order.id: actor for order in orders}
    if histories is not None:
        rows = [(order_id, row.data) for order_id in concerned for row in histories.get(order_id, []) if row.kind == "dispatch"]
    else:
        rows = session.exec(select(History.work_order_id, History.data).where(
            History.work_order_id.in_(concerned), History.kind == "dispatch")).all()
    declined = {order_id for order_id, data in rows if isinstance(data, dict) and data.get("declined_by") == actor.id}
    return {order.id: replace(actor, on_duty=teams - {order.team_id}) if order.id in declined else actor
            for order in orders}


def latest(session: Session, order_ids: list[int]) -> dict[int, History]:
    """The newest dispatch entry per work order (the board's "why"): one query."""
    if not order_ids:
        return {}
    newest = (select(func.max(History.id)).where(History.work_order_id.in_(order_ids), History.kind == "dispatch")
              .group_by(History.work_order_id))
    return {row.work_order_id: row for row in session.exec(select(History).where(History.id.in_(newest))).all()}

"""Routing declared in a definition: who gets a new work order, and how.

A process may declare `dispatch:`, an ordered list of rules and a default. The
first rule whose `when` holds for the work order names the team and the
strategy: `offer` (one on-duty technician at a time, each with `accept_within`
to accept), `pool` (the team's queue, any on-duty member may claim it) or
`manual` (the dispatcher decides). The section also names the events that
routing drives, so nothing about a particular process is known in Python:

    dispatch:
      offer: assign          # the event that hands the order to a person (it assigns)
      accept: accept         # the offered person takes it; stops the offer's clock
      claim: claim           # an on-duty member takes a pooled order (roles: [on_duty])
      decline: decline       # the holder gives it back with a reason; routed again
      withdraw: withdraw     # taken back from an offered person (by the system when the offer lapses)
      rules:
        - name: urgent_elevator
          when: {category: [elevator], priority: [urgent]}
          team: 电梯班
          strategy: offer
          pick: least_loaded   # or round_robin
          skill: elevator      # optional
          accept_within: 10m   # on the team's calendar
      default: {strategy: manual}

`when` keys are `priority`, `department` (names), `location` (prefixes),
`asset_class` (the classes of definitions/equipment.yaml, for a work order about a
device) and any declared field (its values). `team: asset` sends the work to the
device's own team (its team in the register): such a rule holds only for a work
order about a device that has a team, so the next rule serves the others. Like everything in the language this module knows
nothing of the database: teams are names, checked when a work order is routed.
"""
import re
from typing import Literal

from pydantic import field_validator

from workflows.durations import Duration
from workflows.schema import PRIORITIES, Strict, _duration

STRATEGIES = ("offer", "pool", "manual")
PICKS = ("least_loaded", "round_robin")
# `when` keys that are not the process's fields.
MATCH_BUILTINS = ("priority", "department", "location", "asset_class")
ASSET_TEAM = "asset"  # `team: asset`: the team the device's register entry names
DEFAULT_ACCEPT_WITHIN = Duration(minutes=10)


class DispatchRule(Strict):
    name: str | None = None
    when: dict[str, list[str | int | bool]] = {}
    team: str | None = None
    strategy: Literal["offer", "pool", "manual"]
    pick: Literal["least_loaded", "round_robin"] | None = None
    skill: str | None = None
    accept_within: Duration | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        if isinstance(value, dict):
            return {key: item if isinstance(item, list) else [item] for key, item in value.items()}
        return value

    @field_validator("accept_within", mode="before")
    @classmethod
    def _parse(cls, value):
        return None if value is None else _duration(value)

    def label(self, index: int | None) -> str:
        return self.name or (f"rule {index + 1}" if index is not None else "default")

    def matches(self, facts: dict) -> bool:
        """`facts`: the work order's fields with `priority`, `department` (a name), `location`, and for a device
        `asset_class` and `asset_team` (its team's name) over them."""
        if self.team == ASSET_TEAM and not facts.get("asset_team"):
            return False
        for key, allowed in self.when.items():
            value = facts.get(key)
            if key == "location":
                if not any(str(value or "").startswith(str(prefix)) for prefix in allowed):
                    return False
            elif isinstance(value, list):
                if not set(map(str, value)) & set(map(str, allowed)):
                    return False
            elif str(value) not in {str(item) for item in allowed} or value is None:
                return False
        return True

    @property
    def offer_within(self) -> Duration:
        return self.accept_within or DEFAULT_ACCEPT_WITHIN


class DispatchSpec(Strict):
    offer: str = "assign"
    accept: str = "accept"
    claim: str | None = None
    decline: str | None = None
    withdraw: str | None = None
    rules: list[DispatchRule] = []
    default: DispatchRule = DispatchRule(strategy="manual")

    def choose(self, facts: dict) -> tuple[int | None, DispatchRule]:
        """The first rule that holds (its index), or (None, the default)."""
        for index, rule in enumerate(self.rules):
            if rule.matches(facts):
                return index, rule
        return None, self.default


def check_dispatch(definition, report) -> None:
    """Semantic checks of `dispatch:`; `report(path, message, code, **params)` records each problem with its position
    (`message` the command line's English, `code` and `params` for the catalogue)."""
    spec: DispatchSpec | None = definition.dispatch
    if spec is None:
        return
    names = set(definition.event_names())
    offer = [event for event in definition.events if event.name == spec.offer]
    if not offer:
        report(("dispatch", "offer"), f"dispatch.offer: unknown event '{spec.offer}'",
               "definition_dispatch_unknown_event", part="offer", event=spec.offer)
    elif not all(event.assigns for event in offer):
        report(("dispatch", "offer"), f"dispatch.offer: event '{spec.offer}' must take an assignee ('assigns')",
               "definition_dispatch_offer_assigns", event=spec.offer)
    sources = {state for event in offer for state in event.from_}
    targets = {event.to for event in offer}
    if spec.accept not in names:
        report(("dispatch", "accept"), f"dispatch.accept: unknown event '{spec.accept}'",
               "definition_dispatch_unknown_event", part="accept", event=spec.accept)
    elif offer and not any(definition.event(spec.accept, state) for state in targets):
        report(("dispatch", "accept"), f"dispatch.accept: no event '{spec.accept}' leads out of "
                                       f"'{', '.join(sorted(targets))}', where an offer puts the work order",
               "definition_dispatch_accept_from", event=spec.accept, states=sorted(targets))
    if spec.claim is not None:
        claims = [event for event in definition.events if event.name == spec.claim]
        if not claims:
            report(("dispatch", "claim"), f"dispatch.claim: unknown event '{spec.claim}'",
                   "definition_dispatch_unknown_event", part="claim", event=spec.claim)
        elif not any("on_duty" in event.roles for event in claims):
            report(("dispatch", "claim"), f"dispatch.claim: event '{spec.claim}' must name 'on_duty' among its roles",
                   "definition_dispatch_claim_on_duty", event=spec.claim)
        elif offer and not any(state in sources for event in claims for state in event.from_):
            report(("dispatch", "claim"), f"dispatch.claim: event '{spec.claim}' must leave from "
                                          f"'{', '.join(sorted(sources))}', where a pooled work order waits",
                   "definition_dispatch_claim_from", event=spec.claim, states=sorted(sources))
    for part in ("decline", "withdraw"):
        name = getattr(spec, part)
        if name is None:
            continue
        found = [event for event in definition.events if event.name == name]
        if not found:
            report(("dispatch", part), f"dispatch.{part}: unknown event '{name}'",
                   "definition_dispatch_unknown_event", part=part, event=name)
            continue
        if offer and any(event.to not in sources for event in found):
            report(("dispatch", part), f"dispatch.{part}: event '{name}' must lead back to "
                                       f"'{', '.join(sorted(sources))}', where routing starts",
                   "definition_dispatch_lead_back", part=part, event=name, states=sorted(sources))
        if any(event.comment != "required" for event in found):
            report(("dispatch", part), f"dispatch.{part}: event '{name}' must have 'comment: required' (the reason)",
                   "definition_dispatch_comment_required", part=part, event=name)
        if part == "withdraw" and offer and not any(state in targets for event in found for state in event.from_):
            report(("dispatch", part), f"dispatch.withdraw: event '{name}' must leave from "
                                       f"'{', '.join(sorted(targets))}', where an offer waits to be accepted",
                   "definition_dispatch_withdraw_from", event=name, states=sorted(targets))
    if any(rule.strategy == "offer" for rule in [*spec.rules, spec.default]) and spec.withdraw is None:
        report(("dispatch",), "strategy 'offer' needs 'dispatch.withdraw': the event that takes back an offer "
                              "nobody accepted in time", "definition_dispatch_offer_needs_withdraw")
    for index, rule in enumerate(spec.rules):
        _check_rule(definition, spec, rule, ("dispatch", "rules", index), report)
    _check_rule(definition, spec, spec.default, ("dispatch", "default"), report)
    if spec.default.team == ASSET_TEAM:
        report(("dispatch", "default", "team"), "dispatch.default serves work orders with no device too: it cannot "
                                                "send to the device's team ('team: asset'); name a team, or put "
                                                "'team: asset' in a rule", "definition_dispatch_default_asset")
    if spec.default.when:
        report(("dispatch", "default", "when"), "dispatch.default applies when no rule does: it takes no 'when'",
               "definition_dispatch_default_when")


def _check_rule(definition, spec: DispatchSpec, rule: DispatchRule, path: tuple, report) -> None:
    for key, values in rule.when.items():
        where = (*path, "when", key)
        if key == "priority":
            for i, value in enumerate(values):
                if value not in PRIORITIES:
                    report((*where, i), f"unknown priority '{value}': use one of {', '.join(PRIORITIES)}",
                           "definition_dispatch_priority", value=str(value), priorities=list(PRIORITIES))
        elif key == "asset_class":
            for i, value in enumerate(values):
                if not re.fullmatch(r"[a-z][a-z0-9_]{0,47}", str(value)):
                    report((*where, i), f"'{value}' is not a device class: write a class's value from "
                                        "definitions/equipment.yaml, e.g. elevator", "definition_dispatch_device_class", value=str(value))
        elif key in MATCH_BUILTINS:
            continue
        elif key not in definition.fields:
            report(where, f"dispatch rule matches on '{key}', which is neither a declared field nor one of "
                          f"{', '.join(MATCH_BUILTINS)}", "definition_dispatch_match_unknown", key=key,
                   builtins=list(MATCH_BUILTINS))
        elif definition.fields[key].choices:
            for i, value in enumerate(values):
                if str(value) not in definition.fields[key].choices:
                    report((*where, i), f"'{value}' is not a choice of field '{key}': use one of "
                                        f"{', '.join(definition.fields[key].choices)}", "definition_dispatch_not_a_choice",
                           value=str(value), key=key, choices=[str(c) for c in definition.fields[key].choices])
        if not values:
            report(where, f"dispatch rule matches on '{key}' with no value",
                   "definition_dispatch_match_empty", key=key)
    if rule.strategy in ("offer", "pool") and not rule.team:
        report((*path, "strategy"), f"strategy '{rule.strategy}' needs a 'team'",
               "definition_dispatch_needs_team", strategy=rule.strategy)
    if rule.strategy == "pool" and spec.claim is None:
        report((*path, "strategy"), "strategy 'pool' needs 'dispatch.claim': the event an on-duty member claims it by",
               "definition_dispatch_pool_needs_claim")
    if rule.strategy != "offer":
        for key in ("pick", "skill", "accept_within"):
            if getattr(rule, key) is not None:
                report((*path, key), f"'{key}' applies only to strategy 'offer'",
                       "definition_dispatch_offer_only", key=key)
    elif rule.accept_within is not None and rule.accept_within.minutes <= 0 and rule.accept_within.days <= 0:
        report((*path, "accept_within"), "accept_within must be longer than zero",
               "definition_dispatch_accept_within")

"""Compiling a definition into the process the engine asks: one authority for what may happen.

One `CompiledProcess` is built per definition version and shared by every work
order on that version. The `transitions` machine is its transition table (and,
through `mermaid`, its diagram): each event's destination from each state is read
from the machine once, at load, into a `Transition` that also carries the event's
guard, who may fire it, its field model and its other rules (workflows.authority).
Nothing is attached to the machine per event, so the compiled process holds no
per-order memory and needs no lock, and a guard is evaluated once per decision.

`available` answers "what may this person do now?" and `check` "may they do this,
with this input?"; every caller (API, pages, feedback, recurring work) asks these.
"""
import json
import unicodedata
from collections.abc import Callable, Mapping

from transitions import Machine
from transitions.extensions import GraphMachine

from workflows import conditions
from workflows.authority import (ActorView, Decision, InputView, LastDone, OrderView, Transition, condition_values,
                                 who)
from workflows.fields import field_model, size_problems
from workflows.refusals import (BadInput, GuardFails, NotAllowedNow, NotPermitted, NotVisible, SamePerson,
                                check_version)
from workflows.schema import ProcessDefinition


class _Order:
    """The stand-in model that lends the diagram its current state."""

    def __init__(self, state: str):
        self.state = state


class CompiledProcess:
    def __init__(self, definition: ProcessDefinition):
        self.definition = definition
        self.machine = Machine(
            model=None, states=list(definition.states), initial=definition.initial_state,
            transitions=[{"trigger": e.name, "source": e.from_, "dest": e.to} for e in definition.events],
            auto_transitions=False,
        )
        # The fields a new work order takes (those the definition requires), and those an edit may change.
        self.creation_fields = field_model(
            definition.fields, allowed=definition.fields,
            required={name for name, spec in definition.fields.items() if spec.required})
        self.edit_fields = field_model(definition.fields, allowed=definition.fields)
        self._table: dict[tuple[str, str], Transition] = {}
        self._from: dict[str, list[Transition]] = {name: [] for name in definition.states}
        for event in definition.events:  # in file order: buttons and "allowed now" lists keep it
            guard = conditions.parse(event.condition) if event.condition else None
            tests = tuple(who(spec) for spec in event.roles)
            fields = field_model(definition.fields, allowed=event.fields,
                                 required={name for name, need in event.fields.items() if need == "required"})
            for source in event.from_:
                if (event.name, source) in self._table:
                    continue  # declared twice: validation reports it; the first one counts
                [entry, *_] = self.machine.events[event.name].transitions[source]
                transition = Transition(event, source, entry.dest, guard, tests, fields)
                self._table[(event.name, source)] = transition
                self._from.setdefault(source, []).append(transition)
        # The steps that may change a timer: only these read the work order's timers (engine/sla/timers.py).
        self._moving_timers = frozenset(key for key, t in self._table.items() if _moves_timers(definition, t))
        # Whether any event names `on_duty`: only then must the engine look up whose rota covers now.
        self.asks_on_duty = any("on_duty" in event.roles for event in definition.events)
        # Events whose doer a different-person rule asks about, per state.
        self._remembered = {
            state: frozenset(name for t in transitions for name in t.distinct_events)
            for state, transitions in self._from.items()
        }

    # --- the table -----------------------------------------------------------------------------

    def transition(self, event: str, state: str) -> Transition | None:
        return self._table.get((event, state))

    def transitions_from(self, state: str) -> list[Transition]:
        return list(self._from.get(state, ()))

    def triggers(self, state: str) -> list[str]:
        """Events declared from this state, in the order the file lists them."""
        return [t.name for t in self._from.get(state, ())]

    def moves_timers(self, event: str, state: str) -> bool:
        """Whether firing `event` from `state` may start, stop, pause, resume or end an SLA timer, or settle an
        offer waiting for its technician; the other steps leave every timer as it is."""
        return (event, state) in self._moving_timers

    def remembered(self, state: str) -> frozenset[str]:
        """The events whose last doer `available`/`check` need (as `last_done`) for a work order in `state`."""
        return self._remembered.get(state, frozenset())

    # --- the authority -------------------------------------------------------------------------

    def available(
        self, order: OrderView, actor: ActorView, *, last_done: Mapping[str, LastDone] | None = None,
    ) -> list[Transition]:
        """What `actor` may fire now: by who they are, with the guard holding and the four-eyes rule kept."""
        values = condition_values(order)
        return [
            t for t in self._from.get(order.state, ())
            if t.permits(order, actor) and t.guard_holds(values) and not t.same_person(order, actor, last_done)
        ]

    def check(
        self, order: OrderView, actor: ActorView | None, event: str, request: InputView, *,
        visible: bool = True, viewer: ActorView | None = None, last_done: Mapping[str, LastDone] | None = None,
        find_assignee: Callable[[str], object | None] | None = None,
    ) -> Decision:
        """May `actor` fire `event` on `order` with `request`? The decision, or the first refusal.

        In this order: the work order is `visible` to the viewer (else NotVisible, or NotPermitted
        when the viewer holds a role the event names: they learn it is not theirs, and nothing of
        the work order: not its number, version or state, so no other refusal follows); the version they read
        is current (Stale); the event exists from this state (NotAllowedNow); the actor may fire
        it (NotPermitted, SamePerson); the input is complete and valid (BadInput, every problem
        at once); the guard holds (GuardFails). `actor` None is the system, which who-may-fire
        rules do not bind. `find_assignee` turns a username into the person (None: no such
        active user); without it the username itself is the assignee.
        """
        transition = self.transition(event, order.state)
        viewer = viewer if viewer is not None else actor
        if not visible:
            raise self._unseen(order, event, viewer)
        check_version(order, request.expected_version)
        if transition is None:
            allowed = self.triggers(order.state)
            words = {"event": event, "allowed": allowed, "allowed_labels": [self._event_label(e) for e in allowed]}
            if event in self.definition.event_names():
                raise NotAllowedNow("event_not_allowed", **words, event_label=self._event_label(event),
                                    state=order.state, state_label=self._state_label(order.state))
            raise NotAllowedNow("no_such_event", **words, process=self.definition.key)
        if actor is not None:
            if not transition.permits(order, actor):
                raise NotPermitted("event_roles", event=event, event_label=self._event_label(event),
                                   roles=list(transition.roles))
            if transition.same_person(order, actor, last_done):
                raise SamePerson(transition.someone_else(), event=event, event_label=self._event_label(event),
                                 events=transition.distinct_events,
                                 event_labels=[self._event_label(e) for e in transition.distinct_events])
        values, assignee, errors = transition.read_input(request, find_assignee)
        errors += size_problems(order.fields, values)
        if errors:
            raise BadInput(errors)
        if not transition.guard_holds(condition_values(order, values)):
            raise GuardFails("condition_fails", event=event, event_label=self._event_label(event),
                             condition=transition.spec.condition)
        return Decision(transition, values, assignee)

    def _unseen(self, order: OrderView, event: str, viewer: ActorView | None) -> NotVisible | NotPermitted:
        """The refusal for a viewer who may not see the work order. Asked of the event wherever it leaves from,
        so the answer does not tell the state either; it names nothing of the work order."""
        named = [t for transitions in self._from.values() for t in transitions if t.name == event]
        if viewer is None or not any(t.held_by_role(viewer) for t in named):
            return NotVisible("work_order_not_found", id=order.id)
        roles = dict.fromkeys(role for t in named for role in t.roles)
        return NotPermitted("event_roles", event=event, event_label=self._event_label(event), roles=list(roles))

    def _event_label(self, event: str) -> dict:
        """An event's label as a refusal carries it (`{zh, en}`), for the reader's language to pick."""
        return self.definition.event_label(event).model_dump()

    def _state_label(self, state: str) -> dict:
        spec = self.definition.states.get(state)
        return spec.label.model_dump() if spec else {"zh": state, "en": state}


def _moves_timers(definition: ProcessDefinition, step: Transition) -> bool:
    """A timer changes on entering a final state (the live ones end), where a timer starts or stops, entering a
    pause or leaving one (a paused timer only exists in a pause state); an offer is settled by any event from
    the state its offer event leads to."""
    if step.target in definition.final_states() and definition.sla:
        return True
    for spec in definition.sla.values():
        bounds = (spec.start, spec.stop)
        if any(step.target in bound.states or step.name in bound.events for bound in bounds):
            return True
        if step.target in spec.pause or step.source in spec.pause:
            return True
    offer = definition.dispatch.offer if definition.dispatch else None
    return offer is not None and any(e.to == step.source for e in definition.events if e.name == offer)


class _LabelledState(GraphMachine.state_cls):
    """A state with the label its diagram shows (transitions' diagrams read a state's `label`)."""

    def __init__(self, *args, label: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if label is not None:
            self.label = label


class _Diagram(GraphMachine):
    state_cls = _LabelledState


def mermaid(definition: ProcessDefinition, current: str | None = None, language: str = "zh") -> str:
    """The process as a Mermaid state diagram, labelled in `language`, `current` highlighted.

    Names are identifiers (validation sees to it) and are written as they are; labels are the
    designer's free text and are written through `mermaid_text`, so none can end a line or a
    quoted string, open a comment or directive, or bring markup into the drawing.
    """
    model = _Order(definition.initial_state)
    machine = _Diagram(
        model=model,
        states=[{"name": name, "label": mermaid_text(getattr(state.label, language))}
                for name, state in definition.states.items()],
        initial=definition.initial_state,
        transitions=[
            {"trigger": e.name, "source": e.from_, "dest": e.to,
             "label": mermaid_text(getattr(definition.event_label(e.name), language))}
            for e in definition.events
        ],
        auto_transitions=False, graph_engine="mermaid",
        # The front matter is YAML: a quoted scalar on one line, which no title can turn into settings.
        title=json.dumps(_one_line(getattr(definition.title, language)), ensure_ascii=False),
    )
    if current is not None:
        machine.set_state(current, model=model)
    text = model.get_graph(force_new=True).draw(None)
    if current is None:
        text = text.replace(f"Class {definition.initial_state} s_active", f"Class {definition.initial_state} s_default")
    return text


# Mermaid reads `#name;` and `#123;` as characters (before it parses the diagram, so they can end nothing) and
# draws them as HTML entities. Everything a diagram's syntax gives a meaning is written so: quotes end a
# label, `:`/`;`/`#` end or split a statement, `%%` opens a comment or a directive, brackets open shapes and
# the initial/final `[*]`, backquotes open Markdown, `<>&` would be markup.
_MERMAID_ESCAPES = {ch: f"#{ord(ch)};" for ch in '#%:;[]{}()|`\\'} | {
    '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}


def mermaid_text(label: str) -> str:
    """A label as Mermaid text that shows exactly what the designer wrote, on one line."""
    return "".join(_MERMAID_ESCAPES.get(ch, ch) for ch in _one_line(label))


def _one_line(text: str) -> str:
    """Line and paragraph breaks and other control characters as spaces: a diagram statement is one line."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)

"""Compiling a definition into a `transitions` state machine, and drawing it.

One machine is compiled per definition version and shared by every work order
on that version: a work order is attached for the length of one event
(`add_model` with its stored state) and detached again, so the machine holds no
per-order memory. Attaching mutates the shared machine, hence the lock.
"""
import threading

from transitions import Machine, MachineError
from transitions.extensions import GraphMachine

from workflows import conditions
from workflows.schema import EventSpec, ProcessDefinition


class _Order:
    """The stand-in model a work order lends its state to while an event runs."""

    def __init__(self, state: str):
        self.state = state


class CompiledProcess:
    def __init__(self, definition: ProcessDefinition):
        self.definition = definition
        self.guards = {
            id(event): conditions.parse(event.condition) for event in definition.events if event.condition
        }
        self.machine = Machine(
            model=None, states=list(definition.states), initial=definition.initial_state,
            transitions=[self._transition(event) for event in definition.events],
            auto_transitions=False, send_event=True,
        )
        self._lock = threading.Lock()

    def _transition(self, event: EventSpec) -> dict:
        transition = {"trigger": event.name, "source": event.from_, "dest": event.to}
        guard = self.guards.get(id(event))
        if guard is not None:
            transition["conditions"] = [lambda data, guard=guard: guard.holds(data.kwargs["values"])]
        return transition

    def event(self, name: str, state: str) -> EventSpec | None:
        return self.definition.event(name, state)

    def triggers(self, state: str) -> list[str]:
        """Events declared from this state, in the order the file lists them."""
        return [event.name for event in self.definition.events_from(state)]

    def guard_holds(self, event: EventSpec, values: dict) -> bool:
        guard = self.guards.get(id(event))
        return guard is None or guard.holds(values)

    def fire(self, state: str, event: str, values: dict) -> str | None:
        """The state after firing `event` from `state`, or None when a guard stops it."""
        order = _Order(state)
        with self._lock:
            self.machine.add_model(order, initial=state)
            try:
                moved = order.trigger(event, values=values)
            except MachineError:
                moved = False
            finally:
                self.machine.remove_model(order)
        return order.state if moved else None


def mermaid(definition: ProcessDefinition, current: str | None = None, language: str = "zh") -> str:
    """The process as a Mermaid state diagram, labelled in `language`, `current` highlighted."""
    model = _Order(definition.initial_state)
    machine = GraphMachine(
        model=model, states=list(definition.states), initial=definition.initial_state,
        transitions=[
            {"trigger": e.name, "source": e.from_, "dest": e.to, "label": getattr(definition.event_label(e.name), language)}
            for e in definition.events
        ],
        auto_transitions=False, graph_engine="mermaid", title=getattr(definition.title, language),
    )
    if current is not None:
        machine.set_state(current, model=model)
    text = model.get_graph(force_new=True).draw(None)
    for name, state in definition.states.items():
        label = getattr(state.label, language).replace('"', "'")
        text = text.replace(f'state "{name}" as {name}\n', f'state "{label}" as {name}\n')
    if current is None:
        text = text.replace(f"Class {definition.initial_state} s_active", f"Class {definition.initial_state} s_default")
    return text

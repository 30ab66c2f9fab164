"""The work order page: its fields, state, diagram, timers, the events the viewer may fire, the timeline.

Which buttons appear is what the compiled process makes available to the viewer
(`engine.orders.workorders.available`); each button's form asks for exactly the fields
its transition takes.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request

from starlette.datastructures import UploadFile

from engine import settings
from engine.errors import FIELDS_INVALID, HouqinError, Invalid, problem
from engine.notify import messages
from engine.orders import attachments, calls, comments, feedback, follow_ups, handover, urging, workorders
from engine.places import health
from engine.people import directory
from engine.people.users import Actor
from engine.reports import periods
from engine.storage import unit_of_work
from engine.storage.models import Asset, WorkOrder
from engine.storage.stored_json import is_unreadable
from web.api import present
from web.deps import ClockDep, SessionDep
from web.i18n import Translator, has
from web.limits import takes_files
from web.pages import forms, view
from web.public import HistoryEntryPublic
from web.pages.common import (ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render,
                              safe_next)
from workflows.authority import Transition
from workflows.calls import is_verdict
from workflows.machine import mermaid
from workflows.schema import PRIORITIES, ProcessDefinition

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OrderId = Path(ge=1, le=2**31 - 1)  # ids are 32-bit integers in the database


class EventForm:
    """One button: an event the viewer may fire now, with the inputs it needs."""

    def __init__(self, name: str, label: str, fields: list[forms.Field], assigns: str | None, comment: str,
                 confirm: str | None = None):
        self.name, self.label, self.fields, self.assigns, self.comment = name, label, fields, assigns, comment
        self.confirm = confirm  # the question asked before an event that cannot be undone

    @property
    def simple(self) -> bool:
        """Nothing to fill in or confirm: one tap fires it."""
        return not self.fields and not self.assigns and self.comment != "required" and not self.confirm


def event_forms(available: list[Transition], definition: ProcessDefinition, t: Translator,
                skip: set[str] = frozenset()) -> list[EventForm]:
    """A button for each transition the viewer may fire now (`engine.orders.workorders.available`)."""
    return [
        EventForm(transition.name, t.label(definition.event_label(transition.name)),
                  forms.fields_for(definition, _wanted(transition), t), transition.assigns, transition.comment,
                  t.label(transition.spec.confirm) if transition.spec.confirm else None)
        for transition in available if transition.name not in skip
    ]


def _wanted(transition: Transition) -> dict[str, bool]:
    return {name: required for name, _, required in transition.fields}


def assignee_choices(session) -> dict[str, list[directory.Person]]:
    """Technicians (with their open work) first; then everyone else who does more than ask."""
    technicians = directory.people(session, role="technician", active_only=True)
    seen = {p.id for p in technicians}
    others = [p for p in directory.people(session, active_only=True)
              if p.id not in seen and set(p.roles) - {"requester"}]
    return {"technicians": technicians, "others": others}


def _feedback_spec(definition: ProcessDefinition, order: WorkOrder, available: list[Transition]):
    spec = definition.feedback
    if is_verdict(definition):  # the follow-up call gives the verdict, on the call form: never the star form
        return None
    if spec and order.state == spec.state and spec.satisfied in {transition.name for transition in available}:
        return spec
    return None


def _verdict_events(definition: ProcessDefinition, order: WorkOrder) -> set[str]:
    """The feedback's events when the order waits for its verdict: given on the star form or the call form,
    never by a bare button."""
    spec = definition.feedback
    return {spec.satisfied, spec.unsatisfied} if spec and order.state == spec.state else set()


@router.get("/orders/{order_id}")
def order_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep, order_id: int = OrderId):
    t = Translator(language(request, actor))
    now = clock.now()
    order = workorders.get(session, actor, order_id)
    definition = view.definition(session, order)
    shown = present.detail(session, order, actor, now)  # what GET /api/v1/workorders/{id} answers
    available = workorders.available(session, order, actor)
    feedback_spec = _feedback_spec(definition, order, available)
    skip = _verdict_events(definition, order) if feedback_spec or is_verdict(definition) else set()
    events = event_forms(available, definition, t, skip)
    names = directory.name_map(session, _people(order, shown.history))
    card = view.card(session, order, shown, names, t, now)
    every_field = forms.fields_for(definition, {name: False for name in definition.fields}, t, order.fields)
    values = [(f.label, _shown(f, t)) for f in every_field if f.value not in (None, "", [])]
    return render(
        request, "order.html", actor, card=card, order=shown, definition=definition, fields=values, events=events,
        feedback=feedback_spec, diagram=mermaid(definition, current=order.state, language=t.language),
        timers=[view.timer(session, x, t, now) for x in shown.sla],
        escalations=view.escalations(session, [order], t).get(order.id, []),
        timeline=_timeline(shown.history, names, definition, t),
        people=assignee_choices(session) if any(e.assigns for e in events) else None,
        can_edit=bool(actor.roles & workorders.EDITORS), priorities=PRIORITIES,
        files=attachments.listing(session, actor, order.id), max_megabytes=attachments.max_megabytes(),
        can_follow_up=follow_ups.may_raise(actor, order), follow_up_processes=follow_ups.PROCESSES,
        device_open=order.asset_id is not None and health.may_see(actor, session.get(Asset, order.asset_id)),
        urge=_urge(session, actor, order, now), call=calls.due(session, actor, order, now),
        handover=_handover(session, actor, order),
    )


def _urge(session, actor: Actor, order: WorkOrder, now: datetime) -> dict | None:
    """The urge form for the department that asked, while the work waits for the staff; `again`: the local time
    from which it may be urged again, while the last urge is under an hour old."""
    if not (urging.may_urge(actor, order) and urging.waiting_for_staff(session, order)):
        return None
    again = order.urged_at + urging.INTERVAL if order.urged_at else None
    return {"again": f"{periods.local(again):%H:%M}" if again and again > now else None}


def _handover(session, actor: Actor, order: WorkOrder) -> list[directory.Person] | None:
    """The dispatchers the viewer may hand the work order over to (移交), or None when it is not theirs to hand over."""
    if not handover.may_hand_over(actor, order):
        return None
    return [p for p in directory.people(session, role=handover.DESK, active_only=True) if p.id != order.first_contact_id]


def _shown(field: forms.Field, t: Translator) -> str:
    value = field.value
    if is_unreadable(value):  # stored before values were bounded (engine.storage.stored_json)
        return t("form.unreadable")
    if isinstance(value, list):
        value = [t("form.unreadable") if is_unreadable(item) else item for item in value]
    if field.spec.type == "choice":
        return t.choice(value, field.spec)
    if isinstance(value, list) and field.spec.value_type == "choice":
        return t("common.separator").join(t.choice(item, field.spec) for item in value)
    if field.spec.type == "boolean":
        return t("common.yes") if value else t("common.no")
    if isinstance(value, list):
        return t("common.separator").join(str(v) for v in value)
    return field.text


def _people(order: WorkOrder, history: list[HistoryEntryPublic]) -> list:
    """Everybody the order page names: its people, who acted in its history and who was told."""
    people = [order.reporter_id, order.assignee_id, order.first_contact_id]
    for row in history:
        people.append(row.actor)
        people += [(row.data or {}).get(key) for key in ("from", "to")] if row.kind == "handover" else []
        people.append(((row.data or {}).get("caller") or {}).get("user"))
        people.append((row.data or {}).get("assignee"))  # a username: the page says the name
        people += (row.data or {}).get("recipients") or []
    return [p for p in people if p is not None]


def _timeline(history: list[HistoryEntryPublic], names: dict, definition: ProcessDefinition,
              t: Translator) -> list[dict]:

    def state(name):
        spec = definition.states.get(name) if name else None
        return t.label(spec.label) if spec else (name or "")

    out = []
    for row in history:
        data = row.data or {}
        details = []
        for name, value in (data.get("fields") or {}).items():
            spec = definition.fields.get(name)
            shown = _shown(forms.Field(name, spec, "", False, value), t) if spec else str(value)
            details.append((t.label(spec.label) if spec and spec.label else name, shown))
        if data.get("assignee"):
            details.append((t("order.assignee"), names.get(data["assignee"], data["assignee"])))
        if row.kind == "feedback":
            verdict = "feedback.satisfied" if data.get("satisfied") else "feedback.unsatisfied"
            details.append((t("feedback.verdict"), t(verdict)))
            if data.get("rating"):
                details.append((t("feedback.rating"), "★" * int(data["rating"])))
        if row.kind == calls.KIND:
            details += _call(data, t)
        if row.kind == "update":
            for name in ("priority", "title", "location", "description"):
                if name in data:
                    change = data[name]
                    shown = [t(f"priority.{v}") if name == "priority" else v for v in (change.get("from"), change.get("to"))]
                    details.append((t(f"order.{name}"), f"{shown[0]} → {shown[1]}"))
        if row.kind in ("follow_up", "origin") and data.get("number"):
            details.append((t("rounds.number"), data["number"]))
        if row.kind == "attachment" and data.get("filename"):
            details.append((t("order.attachments"), data["filename"]))
        if data.get("channel"):  # a request taken by phone: who called
            details += _intake(data, names, t)
        if row.kind == "handover":
            handed = [names.get(data.get(key), data.get(key)) or "—" for key in ("from", "to")]
            details.append((t("order.first_contact"), f"{handed[0]} → {handed[1]}"))
        if row.kind == "escalation" and "level" in data:
            details.append((t("escalations.level"), str(data["level"])))
        if row.kind == "recompute" and data.get("old_due_at") and data.get("new_due_at"):
            old, new = (_local(data[key]) for key in ("old_due_at", "new_due_at"))
            details.append((t("timeline.due"), f"{old} → {new}"))
        if row.kind in ("notification", "escalation") and data.get("recipients"):
            told = [names.get(p, str(p)) for p in data["recipients"]]
            details.append((t("timeline.told"), t("common.separator").join(told)))
        out.append({
            "at": row.at, "kind": row.kind,
            "actor": names.get(row.actor, row.actor) if row.actor is not None else t("timeline.system"),
            "event": t.label(definition.event_label(row.event)) if row.event and row.kind == "transition" else "",
            "from": state(row.from_), "to": state(row.to), "details": details,
            # the engine's own words in the reader's language (engine/notify/messages.py); older rows as they are
            # (an older routing row kept its reason in both languages: the reader's)
            "comment": t.message(data["message"]) if messages.of(data)
            else data.get(f"reason_{t.language}") or row.comment if row.kind == "dispatch" else row.comment,
        })
    return out


def _intake(data: dict, names: dict, t: Translator) -> list[tuple[str, str]]:
    """How the request came in and who called: a user by their name, anyone else by name, phone and department."""
    caller = data.get("caller") or {}
    channel = f"timeline.channel_{data['channel']}"
    shown = [(t("timeline.channel"), t(channel) if has(t.language, channel) else data["channel"])]
    if caller.get("user"):
        shown.append((t("order.caller"), names.get(caller["user"], caller["user"])))
    elif caller.get("name"):
        said = [caller["name"], caller.get("phone"), caller.get("department")]
        shown.append((t("order.caller"), t("common.separator").join(str(part) for part in said if part)))
    return shown


def _call(data: dict, t: Translator) -> list[tuple[str, str]]:
    """A follow-up call as the timeline says it: reached or not, and what the requester answered."""
    said = [(t("calls.reached"), t("calls.reached_yes") if data.get("reached") else t("calls.reached_no"))]
    if "satisfied" in data:
        said.append((t("calls.satisfied"), t("feedback.satisfied") if data["satisfied"] else t("feedback.unsatisfied")))
    return said


def _local(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(settings.timezone())).strftime("%m-%d %H:%M")


def _back(form, order_id: int) -> str:
    return safe_next(str(form.get("next", "")), f"/orders/{order_id}")


def _version(form) -> int | None:
    raw = str(form.get("version", ""))
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _act(request: Request, session, actor: Actor, form, order_id: int, action) -> object:
    """Run one action on a work order and go back; an engine refusal comes back as a message on the page."""
    t = Translator(language(request, actor))
    order = workorders.get(session, actor, order_id)
    definition = view.definition(session, order)
    labels = {name: t.label(spec.label) if spec.label else name for name, spec in definition.fields.items()}
    try:
        message = action(order, definition, t)
    except HouqinError as exc:
        unit_of_work.rollback(session)  # the request's one action is undone; the page says why
        flash_error(request, t, exc, labels)
    else:
        flash(request, "ok", message)
    return redirect(_back(form, order_id))


@router.post("/orders/{order_id}/events/{event}")
def fire_event(event: str, request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
               order_id: int = OrderId):
    return _act(request, session, actor, form, order_id,
                lambda order, definition, t: _fire(session, actor, order, definition, event, form, t, clock.now()))


@router.post("/orders/{order_id}/feedback")
def give_feedback(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
                  order_id: int = OrderId):
    return _act(request, session, actor, form, order_id,
                lambda order, definition, t: _feedback(session, actor, order, form, t, clock.now()))


@router.post("/orders/{order_id}/call")
def record_call(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
                order_id: int = OrderId):
    def record(order, definition, t):
        reached = form.get("reached")
        if reached not in ("yes", "no"):
            raise Invalid(FIELDS_INVALID, [problem("reached", "call_reached_needed")])
        # 未接通 leaves nobody's answer to record, whatever the form still had ticked
        satisfied = {"yes": True, "no": False}.get(str(form.get("satisfied"))) if reached == "yes" else None
        calls.record(session, actor, order.id, reached=reached == "yes", satisfied=satisfied,
                     comment=str(form.get("comment", ""))[:calls.MAX_LENGTH + 1], expected_version=_version(form),
                     now=clock.now())
        return t("calls.recorded") if reached == "yes" else t("calls.try_again")

    return _act(request, session, actor, form, order_id, record)


@router.post("/orders/{order_id}/urge")
def urge(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
         order_id: int = OrderId):
    def chase(order, definition, t):
        urging.urge(session, actor, order.id, str(form.get("comment", ""))[:urging.MAX_LENGTH + 1], clock.now())
        return t("order.urged")

    return _act(request, session, actor, form, order_id, chase)


@router.post("/orders/{order_id}/handover")
def hand_over(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
              order_id: int = OrderId):
    def move(order, definition, t):
        to = str(form.get("to", "")).strip()[:65]
        handover.hand_over(session, actor, order.id, to=to, comment=str(form.get("comment", ""))[:5001],
                           expected_version=_version(form), now=clock.now())
        return t("order.handed_over", name=directory.name_map(session, [to]).get(to, to))

    return _act(request, session, actor, form, order_id, move)


@router.post("/orders/{order_id}/comment")
def comment(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
            order_id: int = OrderId):
    def add(order, definition, t):
        comments.add(session, actor, order.id, str(form.get("comment", "")), clock.now())
        return t("order.commented")

    return _act(request, session, actor, form, order_id, add)


@router.post("/orders/{order_id}/priority")
def change_priority(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
                    order_id: int = OrderId):
    def change(order, definition, t):
        workorders.update(session, actor, order.id, {"priority": str(form.get("priority", "")),
                                                     "comment": str(form.get("comment", ""))[:5000]}, _version(form),
                          clock.now())
        return t("order.priority_changed")

    return _act(request, session, actor, form, order_id, change)


def _fire(session, actor, order, definition, event: str, form, t: Translator, now) -> str:
    transition = workorders.compiled_of(session, order).transition(event, order.state)
    values = {}
    if transition is not None and transition.spec.confirm and form.get("confirmed") != "yes":
        raise Invalid(t("order.confirm_first", event=t.label(definition.event_label(event))))
    if transition is not None:
        fields = forms.fields_for(definition, _wanted(transition), t)
        values, errors = forms.read(form, fields, t)
        if errors:
            raise Invalid(FIELDS_INVALID, [{"field": name, "message": text} for name, text in errors.items()])
    assignee = str(form.get("assignee", "")).strip() or None
    request = workorders.EventInput(comment=str(form.get("comment", ""))[:5001], assignee=assignee, fields=values,
                                    expected_version=_version(form))
    workorders.fire(session, actor, order.id, event, request, now)
    return t("order.done", event=t.label(definition.event_label(event)), number=order.number)


def _feedback(session, actor, order, form, t: Translator, now) -> str:
    satisfied = form.get("satisfied") != "no"
    raw = str(form.get("rating", ""))
    rating = int(raw) if raw.isdigit() and len(raw) == 1 else None
    feedback.give(session, actor, order.id, satisfied=satisfied, rating=rating,
                  comment=str(form.get("comment", ""))[:5000], expected_version=_version(form), now=now)
    return t("feedback.thanks")


@router.post("/orders/{order_id}/attachments")
@takes_files
def attach(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep,
           order_id: int = OrderId):
    def save(order, definition, t):
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid(t("order.choose_file"))
        attachments.save(session, actor, order.id, filename=upload.filename, stream=upload.file,
                         comment=str(form.get("comment", ""))[:1001], now=clock.now())
        return t("order.attached", name=upload.filename)

    return _act(request, session, actor, form, order_id, save)

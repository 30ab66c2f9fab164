"""Telling the reporter how their request goes: the steps their process says they care about.

A process lists them in `notify_reporter` (e.g. assigned, accepted, resolved and
waiting for the reporter's verdict, rejected). The reporter gets an in-app
notification of kind `progress`, and the outside channels an admin configured for
it, written in the reporter's own language from the definition's labels: the
state the request is in now and, when one was given, the reason (a rejection's
comment). Nobody is told what they did themselves.
"""
from datetime import datetime

from sqlmodel import Session

from engine.notify.messages import message
from engine.notify.notifications import Notices
from engine.orders import callers
from engine.storage.models import WorkOrder
from workflows.schema import ProcessDefinition

KIND = "progress"


def tell_reporter(session: Session, order: WorkOrder, definition: ProcessDefinition, *, event: str, comment: str,
                  actor_id: int | None, now: datetime, notices: Notices) -> None:
    """Notify the reporter of `order` that `event` happened, if the process asks for it: gathered into the step's
    `notices`, written with its other rows in the caller's transaction.

    For a caller without an account, the people of the department who answer for them are told instead
    (engine/orders/callers.py), each in their own language."""
    if event not in definition.notify_reporter or order.reporter_id is None:
        return
    told = callers.requester_ids(session, order, besides=actor_id)
    if told:  # the state by its label, in each reader's language (engine/notify/messages.py); the reason as written
        notices.add(
            told, order=order, kind=KIND, now=now, actor_id=actor_id, title=f"{order.number} {order.title}",
            body=comment.strip(), message=message("progress", state=definition.states[order.state].label.model_dump()),
            extra={"event": event, "state": order.state})

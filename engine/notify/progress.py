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

from engine.notify.notifications import notify
from engine.storage.models import User, WorkOrder
from workflows.schema import ProcessDefinition

KIND = "progress"


def tell_reporter(session: Session, order: WorkOrder, definition: ProcessDefinition, *, event: str, comment: str,
                  actor_id: int | None, now: datetime) -> None:
    """Notify the reporter of `order` that `event` happened, if the process asks for it; in the caller's transaction."""
    if event not in definition.notify_reporter or order.reporter_id is None or order.reporter_id == actor_id:
        return
    reporter = session.get(User, order.reporter_id)
    language = reporter.language if reporter is not None and reporter.language in ("zh", "en") else "zh"
    state = definition.states[order.state].label
    text = getattr(state, language)
    if comment.strip():
        text += ("：" if language == "zh" else ": ") + comment.strip()
    notify(session, [order.reporter_id], order=order, kind=KIND, now=now, actor_id=actor_id,
           title=f"{order.number} {order.title}", body=text, extra={"event": event, "state": order.state})

"""Comments: a note on a work order's timeline that changes nothing else (a supervisor's nudge)."""
from datetime import datetime

from sqlmodel import Session

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.orders import workorders
from engine.people.users import Actor
from engine.storage.models import History, WorkOrder

MAX_LENGTH = 5000


def add(session: Session, actor: Actor, order_id: int, text: str, now: datetime) -> WorkOrder:
    """Anyone who can see the work order may comment on it; the note is kept with who and when."""
    order = workorders.get(session, actor, order_id)
    text = (text or "").strip()
    if not text:
        raise Invalid(FIELDS_INVALID, [problem("comment", "comment_empty")])
    if len(text) > MAX_LENGTH:
        raise Invalid(FIELDS_INVALID, [problem("comment", "too_long", max=MAX_LENGTH)])
    session.add(History(work_order_id=order.id, at=now, actor_id=actor.id, kind="comment",
                        from_state=order.state, to_state=order.state, comment=text))
    session.flush()
    return order

"""Follow-up calls (回访): the desk's queue of calls to make, and recording one (engine/orders/calls.py)."""
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engine.orders import calls, workorders
from web.api.present import detail, summaries
from web.api.workorders import Body, OrderId, Version
from web.deps import ActorDep, ClockDep, SessionDep
from web.public import CallDuePublic, CallsPublic, WorkOrderPublic, errors

router = APIRouter(tags=["follow-up calls"])


class CallRequest(Body):
    reached: bool = Field(description="whether the requester (the complainant) answered")
    satisfied: bool | None = Field(default=None, description="their answer; only when reached")
    comment: str = Field(default="", max_length=calls.MAX_LENGTH,
                         description="what they said; needed when they are not satisfied")
    expected_version: Version | None = None


@router.get("/calls", responses=errors(401, 403, 422))
def call_queue(session: SessionDep, actor: ActorDep, clock: ClockDep,
               limit: Annotated[int, Query(ge=1, le=workorders.MAX_PAGE)] = 50,
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> CallsPublic:
    """The work orders due a follow-up call that the caller's roles make (the definitions' `calls.by`),
    longest waiting first."""
    now = clock.now()
    due, total = calls.queue(session, actor, now, limit=limit, offset=offset)
    rows = summaries(session, [item.order for item in due], now)
    items = [CallDuePublic(**dict(row), call_by=item.call_by, picked="always" if item.always else "sampled",
                           attempts=item.attempts, last_attempt_at=item.last_attempt_at)
             for row, item in zip(rows, due)]
    return CallsPublic(items=items, total=total, limit=limit, offset=offset)


@router.post("/workorders/{order_id}/call", responses=errors(400, 401, 403, 404, 409, 422))
def record_call(order_id: OrderId, body: CallRequest, session: SessionDep, actor: ActorDep,
                clock: ClockDep) -> WorkOrderPublic:
    """Record a follow-up call on a work order due one: reached or not, satisfied (when reached), what was said.
    Not reached: it may be called again. A complaint waiting for its follow-up is closed (satisfied) or
    reopened (not) by the call, its notes becoming the follow-up answer."""
    now = clock.now()
    order = calls.record(session, actor, order_id, reached=body.reached, satisfied=body.satisfied,
                         comment=body.comment, expected_version=body.expected_version, now=now)
    return detail(session, order, actor, now)

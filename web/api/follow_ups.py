"""Follow-ups: a round (or any work order) that found a fault or a hazard raises it in one step."""
from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from engine.orders import follow_ups
from web.api.present import detail
from web.api.workorders import Body, OrderId, Priority
from web.deps import ActorDep, ClockDep, SessionDep
from web.public import WorkOrderPublic, errors

router = APIRouter(tags=["work orders"])


class FollowUpCreate(Body):
    process: Literal["repair", "hazard"] = Field(description="报修 (a fault) or 隐患 (a hazard)")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    priority: Priority = "normal"
    fields: dict = Field(default={}, description="the process's form fields, e.g. {category: elevator}")


@router.post("/workorders/{order_id}/follow-ups", status_code=201, responses=errors(400, 401, 403, 404, 422))
def raise_follow_up(order_id: OrderId, body: FollowUpCreate, session: SessionDep, actor: ActorDep,
                    clock: ClockDep) -> WorkOrderPublic:
    """A repair or hazard raised from work order `order_id`: about its device, at its place, linked both ways.

    Allowed to the work order's assignee, dispatchers and supervisors."""
    now = clock.now()
    order = follow_ups.raise_from(session, actor, order_id, **body.model_dump(), now=now)
    return detail(session, order, actor, now)

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from engine.orders import callers, feedback as feedback_service, handover, shown, urging, workorders
from engine.orders.workorders import EventInput, Filters
from web.api.present import detail, list_items, risk_of
from web.deps import ROW_ID_MAX, ActorDep, ClockDep, RowId, SessionDep
from web.i18n import Translator, reading
from web.public import WorkOrderBase, WorkOrderPublic, WorkOrdersPublic, errors

router = APIRouter(tags=["work orders"])
Priority = Literal["urgent", "high", "normal", "low"]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallerIn(BaseModel):
    """Who phoned the request in: an existing user, or someone without an account."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = Field(default=None, max_length=64, description="the caller's username")
    name: str | None = Field(default=None, max_length=100, description="a caller without an account: their name")
    phone: str | None = Field(default=None, max_length=32, description="… their phone number")
    department: str | None = Field(default=None, max_length=100, description="… their department, which confirms")


class WorkOrderCreate(WorkOrderBase):
    """What a requester sends, checked: WorkOrderBase's fields with their limits, and where it belongs."""

    process: str = Field(max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    priority: Priority = "normal"
    department: str | None = Field(default=None, max_length=100)
    location: str = Field(default="", max_length=200, description="free text: the detail beside `location_id`")
    location_id: RowId | None = Field(default=None, description="a node of the location tree (GET /locations)")
    asset_id: RowId | None = Field(default=None, description="the device it is about (GET /assets); "
                                   "its place when `location_id` is not given")
    fields: dict = {}
    caller: CallerIn | None = Field(default=None, description="电话报修, by the service desk only: whoever called "
                                    "is the requester of record; the dispatcher stays its first contact")


class EventRequest(Body):
    comment: str = Field(default="", max_length=5000)
    assignee: str | None = Field(default=None, max_length=64)
    fields: dict = {}
    expected_version: Version | None = None


class WorkOrderPatch(Body):
    priority: Priority | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    location: str | None = Field(default=None, max_length=200)
    location_id: RowId | None = None
    asset_id: RowId | None = None
    fields: dict = {}
    comment: str = Field(default="", max_length=5000)
    expected_version: Version | None = None


class FeedbackRequest(Body):
    satisfied: bool
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=5000)
    expected_version: Version | None = None


OrderId = Annotated[int, Path(ge=1, le=ROW_ID_MAX, description="the work order's id")]


@router.post("/workorders", status_code=201, responses=errors(400, 401, 403, 422))
def create_work_order(body: WorkOrderCreate, session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    now = clock.now()
    caller = callers.Caller(**body.caller.model_dump()) if body.caller is not None else None
    order = workorders.create(session, actor, **body.model_dump(exclude={"caller"}), caller=caller, now=now)
    return detail(session, order, actor, now)


@router.get("/workorders", responses=errors(401, 422))
def list_work_orders(
    session: SessionDep, actor: ActorDep, clock: ClockDep,
    process: str | None = None, state: str | None = None, department: str | None = None,
    assignee: str | None = None, priority: Priority | None = None,
    overdue: bool = False, escalated: bool = False, mine: bool = False,
    at_risk: Annotated[bool, Query(description="only open work orders likely to miss a deadline (above their "
                                               "timer's at_risk), highest risk first, each with its `risk`")] = False,
    q: Annotated[str | None, Query(max_length=200)] = None,
    location_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="this place and everything under it")] = None,
    asset_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=workorders.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> WorkOrdersPublic:
    filters = Filters(process=process, state=state, department=department, assignee=assignee, priority=priority,
                      overdue=overdue, escalated=escalated, q=q, limit=limit, offset=offset,
                      reporter_id=actor.id if mine else None, location_id=location_id, asset_id=asset_id)
    now = clock.now()
    if at_risk:
        items, total, scored = workorders.search_at_risk(session, actor, filters, now)
        t = Translator(reading())  # the reason in the caller's Accept-Language, as every API answer
        risks = {order_id: risk_of(found, t) for order_id, found in scored.items()}
        return WorkOrdersPublic(items=list_items(session, items, now, risks=risks), total=total, limit=limit,
                                offset=offset)
    rows, total = workorders.search(session, actor, filters, now, columns=shown.columns(session))
    items, found = shown.page(rows)
    return WorkOrdersPublic(items=list_items(session, items, now, found=found), total=total, limit=limit, offset=offset)


@router.get("/workorders/{order_id}", responses=errors(401, 404, 422))
def get_work_order(order_id: OrderId, session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    order, found = shown.get(session, actor, order_id)  # the order with what it is shown with: one statement
    return detail(session, order, actor, clock.now(), found)


@router.post("/workorders/{order_id}/events/{event}", responses=errors(400, 401, 403, 404, 409, 422))
def fire_event(order_id: OrderId, event: str, body: EventRequest,
               session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    now = clock.now()
    order = workorders.fire(session, actor, order_id, event, EventInput(**body.model_dump()), now)
    return detail(session, order, actor, now)


@router.patch("/workorders/{order_id}", responses=errors(400, 401, 403, 404, 409, 422))
def patch_work_order(order_id: OrderId, body: WorkOrderPatch,
                     session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    now = clock.now()
    changes = body.model_dump(exclude={"expected_version"})
    order = workorders.update(session, actor, order_id, changes, body.expected_version, now)
    return detail(session, order, actor, now)


class UrgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=urging.MAX_LENGTH, description="what the department is waiting for")


@router.post("/workorders/{order_id}/urge", responses=errors(400, 401, 403, 404, 409, 422, 429))
def urge(order_id: OrderId, body: UrgeRequest, session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    """催办: the reporter or their department chases an open work order, at most once an hour. The assignee and
    the desk are told; the work order's version stays as it is."""
    now = clock.now()
    return detail(session, urging.urge(session, actor, order_id, body.comment, now), actor, now)


@router.post("/workorders/{order_id}/feedback", responses=errors(400, 401, 403, 404, 409, 422))
def give_feedback(order_id: OrderId, body: FeedbackRequest,
                  session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    now = clock.now()
    order = feedback_service.give(session, actor, order_id, satisfied=body.satisfied, rating=body.rating,
                                  comment=body.comment, expected_version=body.expected_version, now=now)
    return detail(session, order, actor, now)


class HandoverRequest(Body):
    to: str = Field(min_length=1, max_length=64, description="the username of the dispatcher taking it over")
    comment: str = Field(default="", max_length=5000, description="why, for the timeline and the new desk")
    expected_version: Version | None = None


@router.post("/workorders/{order_id}/handover", responses=errors(400, 401, 403, 404, 409, 422))
def hand_over(order_id: OrderId, body: HandoverRequest,
              session: SessionDep, actor: ActorDep, clock: ClockDep) -> WorkOrderPublic:
    """移交 (首接负责制): the first-contact dispatcher, or a supervisor, hands the work order to another dispatcher,
    who becomes its first contact and is told; the timeline keeps the handover."""
    now = clock.now()
    order = handover.hand_over(session, actor, order_id, to=body.to, comment=body.comment,
                               expected_version=body.expected_version, now=now)
    return detail(session, order, actor, now)

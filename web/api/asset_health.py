"""A device's health file (设备健康档案): GET /api/v1/assets/{asset_id}.

Registered last under /assets/: the routes with fixed names there (labels.pdf, import) match first.
"""
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import Field

from engine.places import health
from web.deps import ActorDep, ClockDep, SessionDep
from web.public import Public, Timestamp, errors

router = APIRouter(tags=["assets"])
AssetId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the device's id")]  # ids are 32-bit in the database


class AssetOrderPublic(Public):
    id: int
    number: str
    process: str
    state: str
    title: str
    created_at: Timestamp
    closed_at: Timestamp | None
    repaired_at: Timestamp | None = Field(description="a repair: the last time it was resolved")


class PartCountPublic(Public):
    part: str
    count: int


class RepeatFaultPublic(Public):
    raised: bool = Field(description="at least `failures` failures within `within_days` up to now")
    failures_in_span: int
    failures: int
    within_days: float
    notified_at: Timestamp | None = Field(description="when the supervisors were last told")


class AssetHealthPublic(Public):
    """The device, its figures (over all its work orders) and the work orders the caller may see, newest first.

    A failure is a repair work order not cancelled. MTBF = operating time in the last 12 months (from the
    later of the window's start and commissioning to now) / failures reported in them; MTTR = mean of
    (last resolved, or closed − reported) over those failures repaired, in calendar hours and in working
    hours on the repair process's working calendar."""

    id: int
    asset_no: str
    name: str
    asset_class: str
    location_id: int | None
    place: str | None
    department: str | None
    team: str | None
    model: str
    manufacturer: str
    supplier: str
    contractor: str
    commissioned_on: date | None
    warranty_end: date | None
    status: str
    work_orders_total: int
    rounds: int = Field(description="preventive maintenance work orders")
    labour_minutes: int | float
    parts_used: int
    parts: list[PartCountPublic]
    window_start: Timestamp
    failures_12_months: int
    operating_hours: float
    mtbf_hours: float | None
    repaired: int
    mttr_hours: float | None
    mttr_working_hours: float | None
    working_calendar: str
    repeat_fault: RepeatFaultPublic
    work_orders: list[AssetOrderPublic]


@router.get("/assets/{asset_id:int}", responses=errors(401, 404, 422))  # a number: /assets/import is not one
def asset_health(asset_id: AssetId, session: SessionDep, actor: ActorDep, clock: ClockDep) -> AssetHealthPublic:
    """The device's health file. Logistics staff see every device, clinical users their department's
    and the shared ones (404 for another's)."""
    return health.health_file(session, actor, asset_id, clock.now())

"""A device's health file (设备健康档案): GET /api/v1/assets/{asset_id}; PATCH changes its register entry.

Registered last under /assets/: the routes with fixed names there (labels.pdf, import) match first.
"""
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from engine.places import assets, health
from web.api.assets import MANAGERS, AssetOut, Status
from web.deps import ActorDep, ClockDep, RowId, SessionDep, require_roles
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


class AssetPatch(BaseModel):
    """What to change; what is left out stays. `null` clears a place, department, team or date."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=100)
    asset_class: str | None = Field(default=None, max_length=48, description="a class's value or label")
    location_code: str | None = Field(default=None, max_length=64, description="the new place, by its code")
    location_id: RowId | None = Field(default=None, description="or by its id")
    department: str | None = Field(default=None, max_length=100, description="by name, made if new")
    team: str | None = Field(default=None, max_length=100, description="by name, made if new")
    model: str | None = Field(default=None, max_length=100)
    manufacturer: str | None = Field(default=None, max_length=100)
    supplier: str | None = Field(default=None, max_length=100)
    contractor: str | None = Field(default=None, max_length=100)
    commissioned_on: date | None = None
    warranty_end: date | None = None
    status: Status | None = Field(default=None, description="in_service, under_repair or retired")


class AssetChanged(AssetOut):
    changes: dict[str, dict[str, Any]] = Field(
        description='each field changed, {"from": ..., "to": ...}, as read: the place by its full name, the team by name')


@router.patch("/assets/{asset_id:int}", dependencies=[require_roles(*MANAGERS)], responses=errors(401, 403, 404, 422))
def change_asset(asset_id: AssetId, body: AssetPatch, session: SessionDep, actor: ActorDep) -> AssetChanged:
    """Move, retire, rename or hand a device to another team (admin, logistics). Checked by the rules of
    adding one; any problem is a 422 naming its field, and nothing is changed."""
    given = body.model_dump(exclude_unset=True)
    for name in ("name", "asset_class", "status"):  # these are never empty: null is "not given"
        if given.get(name, "") is None:
            given.pop(name)
    health.visible(session, actor, asset_id)  # 404 for no such device
    device, changes = assets.change(session, asset_id, given)
    return AssetChanged(**assets.present(session, [device])[0], changes=changes)

"""The equipment register (设备台账): /api/v1/assets, its .xlsx import and export, and the device classes.

Anyone signed in reads the register; admins and logistics staff add to it, one
device or a sheet at a time. A device's own page (its health file) lives elsewhere:
no route here takes a path parameter under /assets.
"""
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.places import assets, classes
from web.deps import ROW_ID_MAX, ActorDep, ClockDep, RowId, SessionDep, UploadDep, require_roles
from web.public import errors, files

router = APIRouter(tags=["equipment"], responses=errors(401, 422))
MANAGERS = ("admin", "logistics")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_BYTES = 5_000_000
SHEET_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}}
Status = Literal["in_service", "under_repair", "retired"]


class AssetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset_no: str = Field(min_length=1, max_length=64, description="the hospital's asset number, unique")
    name: str = Field(min_length=1, max_length=100)
    asset_class: str = Field(max_length=48, description="a class of GET /equipment/classes (its value or label)")
    location_code: str | None = Field(default=None, max_length=64, description="the place, by its code")
    location_id: RowId | None = Field(default=None, description="or by its id")
    department: str | None = Field(default=None, max_length=100, description="the department responsible (made if new)")
    team: str | None = Field(default=None, max_length=100, description="the team that keeps it (made if new)")
    model: str = Field(default="", max_length=100)
    manufacturer: str = Field(default="", max_length=100)
    supplier: str = Field(default="", max_length=100)
    contractor: str = Field(default="", max_length=100, description="the maintenance contractor (维保单位)")
    commissioned_on: date | None = None
    warranty_end: date | None = None
    status: Status = "in_service"


class AssetOut(BaseModel):
    id: int
    asset_no: str
    name: str
    asset_class: str
    location_id: int | None
    location_code: str
    place: str = Field(description="the place's full name, e.g. 本部 / 住院楼 / 5F")
    department: str
    team: str
    model: str
    manufacturer: str
    supplier: str
    contractor: str
    commissioned_on: date | None
    warranty_end: date | None
    status: str


class AssetsOut(BaseModel):
    items: list[AssetOut]
    total: int
    limit: int
    offset: int


class ImportOut(BaseModel):
    added: int


class ClassOut(BaseModel):
    value: str
    label: dict[str, str]
    category: str | None


class ClassesOut(BaseModel):
    classes: list[ClassOut]
    repeat_fault: dict = Field(description="failures within a span that make a device a repeat fault")


def _filters(asset_class: Annotated[str | None, Query(max_length=48)] = None, status: Status | None = None,
             location_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="this place and everything under it")] = None,
             team: Annotated[str | None, Query(max_length=100, description="the team's name")] = None,
             q: Annotated[str | None, Query(max_length=200, description="in the number or the name")] = None) -> assets.Filters:
    return assets.Filters(asset_class=asset_class, status=status, location_id=location_id, team=team, q=q)


FiltersDep = Annotated[assets.Filters, Depends(_filters)]


@router.get("/assets")
def list_assets(session: SessionDep, actor: ActorDep, filters: FiltersDep,
                limit: Annotated[int, Query(ge=1, le=assets.MAX_PAGE)] = 50,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> AssetsOut:
    devices, total = assets.search(session, filters, limit=limit, offset=offset)
    return AssetsOut(items=[AssetOut(**row) for row in assets.present(session, devices)], total=total,
                     limit=limit, offset=offset)


@router.post("/assets", status_code=201, dependencies=[require_roles(*MANAGERS)], responses=errors(400, 403))
def create_asset(body: AssetCreate, session: SessionDep, clock: ClockDep) -> AssetOut:
    device = assets.add(session, **body.model_dump(), now=clock.now())
    return AssetOut(**assets.present(session, [device])[0])


# The role check (a route dependency, solved first) refuses before the sheet is read.
@router.post("/assets/import", dependencies=[require_roles(*MANAGERS)], responses=errors(400, 403, 413),
             openapi_extra=SHEET_BODY)
def import_assets(session: SessionDep, clock: ClockDep, form: UploadDep) -> ImportOut:
    """An .xlsx sheet, header in row 1 (资产编号 名称 类别 位置编码 责任科室 班组 型号 厂家 供应商 维保单位 启用日期
    保修截止 状态, or asset_no name class location_code ...): every device added, or none and each bad row named."""
    sheet = form.get("file")
    if not isinstance(sheet, UploadFile):
        raise Invalid(FIELDS_INVALID, [problem("file", "file_missing")])
    data = sheet.file.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        raise Invalid(FIELDS_INVALID, [problem("file", "sheet_too_large", mb=MAX_SHEET_BYTES // 1_000_000)])
    return ImportOut(added=assets.import_xlsx(session, data, now=clock.now()))


@router.get("/assets/export.xlsx", response_class=Response,
            responses=files(XLSX, description="the register as a sheet that imports again"))
def export_assets(session: SessionDep, actor: ActorDep, filters: FiltersDep) -> Response:
    data = assets.export_xlsx(session, filters)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="assets.xlsx"'})


@router.get("/equipment/classes")
def device_classes(actor: ActorDep) -> ClassesOut:
    equipment = classes.current()
    return ClassesOut(classes=[ClassOut(value=c.value, label=c.label.model_dump(), category=c.category)
                               for c in equipment.classes],
                      repeat_fault={"failures": equipment.repeat_fault.failures, "within": equipment.repeat_fault.within})

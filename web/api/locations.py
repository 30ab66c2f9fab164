"""The location tree (位置): /api/v1/locations.

Anyone signed in reads it (a flat list ordered by path, so a client draws the tree from it);
admins add nodes one at a time or import a whole tree from an .xlsx or CSV file, and rename, move,
close or reopen a node (PATCH).
"""
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_
from sqlmodel import select
from starlette.datastructures import UploadFile

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.places import location_sheet, locations
from engine.storage.models import Location
from web.deps import ActorDep, RowId, SessionDep, UploadDep, require_roles
from web.public import Public, errors

router = APIRouter(tags=["locations"], responses=errors(401, 422))
MANAGE = errors(400, 403)
NO_NUL = r"^[^\x00]*$"  # a database text cannot hold NUL
FILE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


class LocationPublic(Public):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    full_name: str
    depth: int


class LocationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=64, pattern=NO_NUL)
    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    kind: str = Field(max_length=16, description="campus, building, floor, room or area (or 院区, 楼栋, 楼层, 房间, 区域)")
    parent_code: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    parent_id: RowId | None = None


class ImportPublic(Public):
    created: int
    by_kind: dict[str, int]


@router.get("/locations")
def list_locations(
    session: SessionDep, actor: ActorDep,
    under: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="only this node and everything under it")] = None,
    q: Annotated[str | None, Query(max_length=100, pattern=NO_NUL, description="code or name contains")] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
) -> list[LocationPublic]:
    """Every node, flat, in tree order (a parent before its children)."""
    query = select(Location).where(Location.active == True)  # noqa: E712 - SQL, not Python truth
    if under is not None:
        query = query.where(locations.within(Location.id, session, locations.get(session, under, "under").id))
    if q:
        needle = q.strip().lower()
        query = query.where(or_(func.lower(Location.code).contains(needle, autoescape=True),
                                func.lower(Location.name).contains(needle, autoescape=True)))
    if kind:
        wanted = location_sheet.kind_of(kind)
        if wanted not in locations.KINDS:
            raise Invalid(FIELDS_INVALID, [problem("kind", "kind", value=kind)])
        query = query.where(Location.kind == wanted)
    # Sorted here, not by the database: '/' sorts before digits in every database's byte order, not every collation.
    return sorted(session.exec(query).all(), key=lambda node: node.path)


@router.post("/locations", status_code=201, dependencies=[require_roles("admin")], responses=MANAGE)
def create_location(body: LocationCreate, session: SessionDep) -> LocationPublic:
    parent = None
    if body.parent_id is not None:
        parent = locations.get(session, body.parent_id, "parent_id")
    if body.parent_code:
        by_code = session.exec(select(Location).where(Location.code == body.parent_code.strip())).first()
        if by_code is None or not by_code.active or (parent is not None and by_code.id != parent.id):
            raise Invalid(FIELDS_INVALID, [problem("parent_code", "parent_unknown", value=body.parent_code)
                                           if by_code is None or not by_code.active else problem("parent_code", "parents_differ")])
        parent = by_code
    return locations.add(session, code=body.code, name=body.name, kind=location_sheet.kind_of(body.kind), parent=parent)


# The role check (a route dependency, solved first) refuses before the file is read.
@router.post("/locations/import", status_code=201, dependencies=[require_roles("admin")], responses=MANAGE,
             openapi_extra=FILE_BODY)
def import_locations(session: SessionDep, form: UploadDep) -> ImportPublic:
    """An .xlsx or UTF-8 CSV file with the columns code, name, kind, parent_code (or 编码, 名称, 类型, 上级编码).
    All rows or none: a bad row answers 422 with `errors` naming every bad row by its row number
    (the header is row 1)."""
    sheet = form.get("file")
    if not isinstance(sheet, UploadFile):
        raise Invalid(FIELDS_INVALID, [problem("file", "file_missing")])
    return location_sheet.import_file(session, sheet.file.read())


class LocationPatch(BaseModel):
    """What to change; what is left out stays."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=NO_NUL)
    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=NO_NUL, description="unique")
    parent_id: RowId | None = Field(default=None, description="move it under this node (null: make it a root)")
    parent_code: str | None = Field(default=None, max_length=64, pattern=NO_NUL, description="or under the node of this code")
    active: bool | None = Field(default=None, description="false closes it (409 while open places or devices in use "
                                                          "are under it); true reopens it")


class LocationChanged(LocationPublic):
    active: bool


@router.patch("/locations/{location_id:int}", dependencies=[require_roles("admin")], responses=errors(400, 403, 404, 409))
def change_location(body: LocationPatch, session: SessionDep,
                    location_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> LocationChanged:
    """Rename, recode, move or close a place. A rename or a move carries down to every place under it
    (their full names, as work orders show them); a closed place is offered nowhere and takes no new reports,
    while the work orders filed there keep it."""
    given = body.model_dump(exclude_unset=True)
    parent = locations.KEEP
    if given.get("parent_code"):
        parent = session.exec(select(Location).where(Location.code == body.parent_code.strip(),
                                                     Location.active == True)).first()  # noqa: E712
        if parent is None or ("parent_id" in given and body.parent_id != parent.id):
            raise Invalid(FIELDS_INVALID, [problem("parent_code", "parent_unknown", value=body.parent_code)
                                           if parent is None else problem("parent_code", "parents_differ")])
    elif "parent_id" in given:
        parent = None if body.parent_id is None else locations.get(session, body.parent_id, "parent_id")
    return locations.change(session, location_id, code=body.code, name=body.name, parent=parent, active=body.active)

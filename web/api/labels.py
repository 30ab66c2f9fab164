"""QR codes for scan to report (扫码报修): one device's or one place's code as a PNG, and printable
A4 sheets of labels for a part of the hospital.

The sheets are fixed paths (/assets/labels.pdf): this router is registered before any
/assets/{asset_id} route, which would otherwise take "labels.pdf" for an id.
"""
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from engine.errors import NotFound
from engine.places import labels, locations
from engine.places.assets import STATUSES
from engine.storage.models import Asset, Location
from web import label_sheet, scan
from web.deps import ROW_ID_MAX, ActorDep, SessionDep, SettingsDep, require_roles
from web.public import errors, files

router = APIRouter(tags=["labels"], responses=errors(401, 403, 404, 422))
Id = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
QueryId = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)]
PNG = files("image/png", description="the QR code: its scan URL, 8 pixels a module")
PDF = files("application/pdf", description="an A4 sheet of labels, 24 a page")
PRINTERS = require_roles("admin", "logistics")


@router.get("/assets/labels.pdf", response_class=Response, responses=PDF, dependencies=[PRINTERS])
def asset_labels(
    request: Request, session: SessionDep, settings: SettingsDep,
    location_id: Annotated[QueryId, Query(description="a building, floor or room: every device in it")] = None,
    asset_class: Annotated[str | None, Query(max_length=48, pattern=r"^[^\x00]*$")] = None,
    status: Annotated[Literal[STATUSES] | None, Query(description="default: every device not retired")] = None,
) -> Response:
    """Labels for the devices matching the filters, by asset number; each carries the code of
    `/s/a/{asset_no}`, the device's name, asset number and place. At most 2,000 (422 beyond)."""
    chosen = labels.of_assets(session, location_id=location_id, asset_class=asset_class or None, status=status)
    return _sheet(chosen, scan.base_url(request, settings), "device-labels")


@router.get("/locations/labels.pdf", response_class=Response, responses=PDF, dependencies=[PRINTERS])
def location_labels(
    request: Request, session: SessionDep, settings: SettingsDep,
    under: Annotated[QueryId, Query(description="a campus, building or floor; default: the whole tree")] = None,
    kind: Literal[locations.KINDS] = "room",
) -> Response:
    """Labels for the places of `kind` (rooms by default) under a node, each with the code of `/s/l/{code}`."""
    chosen = labels.of_locations(session, under=under, kind=kind)
    return _sheet(chosen, scan.base_url(request, settings), f"{kind}-labels")


@router.get("/assets/{asset_id}/qr.png", response_class=Response, responses=PNG)
def asset_qr(asset_id: Id, request: Request, session: SessionDep, settings: SettingsDep, actor: ActorDep) -> Response:
    """The device's scan-to-report code: `/s/a/{asset_no}` under HOUQIN_PUBLIC_URL."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound("no_device", id=asset_id)
    return _png(scan.base_url(request, settings) + scan.path_for("asset", asset.asset_no))


@router.get("/locations/{location_id}/qr.png", response_class=Response, responses=PNG)
def location_qr(location_id: Id, request: Request, session: SessionDep, settings: SettingsDep,
                actor: ActorDep) -> Response:
    """The place's scan-to-report code: `/s/l/{code}` under HOUQIN_PUBLIC_URL."""
    node = session.get(Location, location_id)
    if node is None or not node.active:
        raise NotFound("no_location", id=location_id)
    return _png(scan.base_url(request, settings) + scan.path_for("location", node.code))


def _png(url: str) -> Response:
    return Response(scan.png(url), media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _sheet(chosen: list, base_url: str, name: str) -> Response:
    disposition = f'attachment; filename="{name}.pdf"'
    return Response(label_sheet.pdf(chosen, base_url), media_type="application/pdf",
                    headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"})

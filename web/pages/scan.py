"""Scan to report (扫码报修): the URLs printed in QR codes, and the report form they open prefilled.

`/s/a/{asset_no}` (a device) and `/s/l/{code}` (a place) send the phone to the repair form with the
device or place filled in, through the sign-in page first when nobody is signed in (its `next`
brings the phone back here). A device that is not in the register, or is retired, gets a page
saying so, with the plain form one tap away.
"""
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select

from engine.places import locations
from engine.storage.models import Asset, Location
from web.deps import ROW_ID_MAX, SessionDep
from web.i18n import Translator
from web.pages.common import ActorPage, csrf_protect, redirect, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PROCESS = "repair"  # what a scanned code reports: a fault


@router.get("/s/a/{asset_no:path}")
def scan_asset(asset_no: str, request: Request, session: SessionDep, actor: ActorPage):
    asset = _by_key(session, Asset, Asset.asset_no, asset_no)
    if asset is None:
        return _missing(request, actor, 404, "scan.unknown_device", asset_no)
    if asset.status == "retired":
        return _missing(request, actor, 410, "scan.retired_device", asset_no)
    return redirect(f"/submit/{PROCESS}?asset_id={asset.id}")


@router.get("/s/l/{code:path}")
def scan_location(code: str, request: Request, session: SessionDep, actor: ActorPage):
    node = _by_key(session, Location, Location.code, code)
    if node is None or not node.active:
        return _missing(request, actor, 404, "scan.unknown_place", code)
    return redirect(f"/submit/{PROCESS}?location_id={node.id}")


def _by_key(session: Session, model, column, key: str):
    if not key or len(key) > 64 or "\x00" in key:  # longer than any stored key; NUL no database text holds
        return None
    return session.exec(select(model).where(column == key)).first()


def _missing(request: Request, actor, status: int, message_key: str, number: str):
    return render(request, "scan_missing.html", actor, status_code=status, message_key=message_key,
                  number=number[:64], process=PROCESS)


# --- the report form, prefilled ------------------------------------------------------------------

@dataclass
class Prefill:
    """What a scanned code fills in: the ids the form posts back, and how the phone shows them."""
    asset_id: int | None = None
    location_id: int | None = None
    asset: str = ""       # "EL-001 1号电梯"
    asset_class: str = ""
    place: str = ""       # "本部 / 住院楼 / 5F / 512病房": the place named, else the device's
    problem: str = ""     # why the link's device or place is not filled in


def prefill(session: Session, t: Translator, asset_id: int | None, location_id: int | None) -> Prefill | None:
    """The device and place a link (or the form posted back) names; a missing or retired one is
    left out with a word why, and the form still works without it."""
    if asset_id is None and location_id is None:
        return None
    found = Prefill()
    asset = session.get(Asset, asset_id) if asset_id is not None else None
    if asset_id is not None and (asset is None or asset.status == "retired"):
        found.problem = t("scan.device_not_reportable")
    elif asset is not None:
        found.asset_id, found.asset, found.asset_class = asset.id, f"{asset.asset_no} {asset.name}", asset.asset_class
    node = session.get(Location, location_id) if location_id is not None else None
    if location_id is not None and (node is None or not node.active):
        found.problem = found.problem or t("scan.place_unknown")
    elif node is not None:
        found.location_id, found.place = node.id, node.full_name
    if not found.place and asset is not None and found.asset_id and asset.location_id:
        found.place = locations.full_names(session, {asset.location_id}).get(asset.location_id, "")
    return found


def posted_ids(form) -> tuple[int | None, int | None]:
    """The device and place the form posts back; a mangled id becomes 0, which the engine refuses by name."""
    return _id(form.get("asset_id")), _id(form.get("location_id"))


def _id(value) -> int | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= ROW_ID_MAX else 0


def preselect(fields: list, found: Prefill | None) -> None:
    """A device's class preselects the form's `category` when it is one of its choices (an elevator's fault)."""
    for field in fields:
        if found and found.asset_class and field.name == "category" and field.spec.type == "choice" \
                and found.asset_class in (field.spec.choices or []):
            field.value = found.asset_class

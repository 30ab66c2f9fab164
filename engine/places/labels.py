"""What goes on a sheet of QR labels (扫码报修): devices of a part of the tree, or its rooms.

A label names what it is stuck on (a device's name, a room's name), its number (the asset
number, the room's code), and the place around it. A sheet is bounded: a selection larger than
MAX_LABELS is refused before any row is read, so one request cannot print the whole register.
"""
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.places import locations
from engine.places.assets import STATUS_LABELS, STATUSES
from engine.storage.models import Asset, Location

MAX_LABELS = 2000


@dataclass(frozen=True)
class Label:
    kind: str    # "asset" or "location": which scan URL the code carries
    number: str  # the asset number or the room's code (the scan URL's key)
    name: str
    place: str   # the full name of where it is ("" when the register does not say)


def of_assets(session: Session, *, location_id: int | None = None, asset_class: str | None = None,
              status: str | None = None) -> list[Label]:
    """The devices matching the filters, by asset number; a device in a building's room is in the building.
    No status: every device not retired."""
    if status is not None and status not in STATUSES:
        raise Invalid(FIELDS_INVALID, [problem("status", "unknown_asset_status", value=status, statuses=list(STATUSES),
                                               labels=[{"zh": zh, "en": en} for zh, en in STATUS_LABELS.values()])])
    where = [Asset.status == status] if status else [Asset.status != "retired"]
    if asset_class:
        where.append(Asset.asset_class == asset_class)
    if location_id is not None:
        locations.get(session, location_id)  # an unknown place is an error, not an empty sheet
        where.append(locations.within(Asset.location_id, session, location_id))
    _bounded(session.exec(select(func.count()).select_from(Asset).where(*where)).one(), "location_id")
    rows = session.exec(select(Asset.asset_no, Asset.name, Asset.location_id).where(*where).order_by(Asset.asset_no)).all()
    places = locations.full_names(session, {place for _, _, place in rows})
    return [Label("asset", number, name, places.get(place, "")) for number, name, place in rows]


def of_locations(session: Session, *, under: int | None = None, kind: str = "room") -> list[Label]:
    """The active places of `kind` under a node (or the whole tree), by their full name."""
    if kind not in locations.KINDS:
        raise Invalid(FIELDS_INVALID, [problem("kind", "kind", value=kind)])
    where = [Location.kind == kind, Location.active]
    if under is not None:
        locations.get(session, under, field="under")
        where.append(locations.within(Location.id, session, under))
    _bounded(session.exec(select(func.count()).select_from(Location).where(*where)).one(), "under")
    rows = session.exec(select(Location).where(*where).order_by(Location.full_name)).all()
    return [Label("location", row.code, row.name, row.full_name) for row in rows]


def _bounded(count: int, field: str) -> None:
    if count > MAX_LABELS:
        raise Invalid("too_many_labels", [problem(field, "too_many_labels", count=count, max=MAX_LABELS)],
                      count=count, max=MAX_LABELS)
    if count == 0:
        raise Invalid("no_labels", [problem(field, "no_labels")])

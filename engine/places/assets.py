"""The equipment register: each device, where it is and who keeps it."""
from sqlmodel import Session, select

from engine.errors import Invalid
from engine.storage.models import Asset

STATUSES = ("in_service", "under_repair", "retired")


def get(session: Session, asset_id: int, field: str = "asset_id") -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise Invalid(f"device {asset_id} does not exist", [{"field": field, "message": "no such device"}])
    return asset


def reportable(session: Session, asset_id: int, field: str = "asset_id") -> Asset:
    """A device a work order may be about: any but a retired one."""
    asset = get(session, asset_id, field)
    if asset.status == "retired":
        raise Invalid(f"device {asset.asset_no} is retired", [{"field": field, "message": "the device is retired"}])
    return asset


def labels(session: Session, ids: set) -> dict[int, str]:
    """"EL-001 1号电梯" for each device, in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = session.exec(select(Asset.id, Asset.asset_no, Asset.name).where(Asset.id.in_(ids))).all()
    return {asset_id: f"{number} {name}" for asset_id, number, name in rows}

"""The equipment register (设备台账): each device, where it is and who keeps it.

A device is added one at a time (`add`) or many at once from an .xlsx sheet
(`import_xlsx`: all rows or none, every bad row named by its row number), and the
register is written back as the same sheet (`export_xlsx`: Chinese headers and
labels, so what is exported imports again). Every way in is checked by the same
rules (`_checked`) against what is read once beforehand (`_Known`), so a sheet of
thousands of rows takes a handful of queries. Device classes are the equipment
file's (engine.places.classes).
"""
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO

from sqlalchemy import func, or_
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.people.users import department_named, team_named
from engine.places import classes, locations
from engine.storage.models import Asset, Department, Location, Team, WorkOrder
from workflows.equipment import Equipment

STATUSES = ("in_service", "under_repair", "retired")
STATUS_LABELS = {"in_service": ("在用", "In service"), "under_repair": ("维修中", "Under repair"),
                 "retired": ("报废", "Retired")}
# The sheet's columns: the key, the Chinese header (what an export writes) and the English one.
COLUMNS = (
    ("asset_no", "资产编号", "asset_no"), ("name", "名称", "name"), ("asset_class", "类别", "class"),
    ("location_code", "位置编码", "location_code"), ("department", "责任科室", "department"), ("team", "班组", "team"),
    ("model", "型号", "model"), ("manufacturer", "厂家", "manufacturer"), ("supplier", "供应商", "supplier"),
    ("contractor", "维保单位", "contractor"), ("commissioned_on", "启用日期", "commissioned_on"),
    ("warranty_end", "保修截止", "warranty_end"), ("status", "状态", "status"),
)
REQUIRED = ("asset_no", "name", "asset_class")
TEXTS = {"asset_no": 64, "name": 100, "model": 100, "manufacturer": 100, "supplier": 100, "contractor": 100,
         "department": 100, "team": 100}
MAX_ROWS = 20_000  # rows of one sheet: a hospital's register, with room to spare
MAX_EXPORT = 100_000
MAX_PAGE = 200
log = logging.getLogger(__name__)


def get(session: Session, asset_id: int, field: str = "asset_id") -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise Invalid("no_device", [problem(field, "no_device", id=asset_id)], id=asset_id)
    return asset


def reportable(session: Session, asset_id: int, field: str = "asset_id") -> Asset:
    """A device a work order may be about: any but a retired one."""
    asset = get(session, asset_id, field)
    if asset.status == "retired":
        raise Invalid("device_retired", [problem(field, "device_retired", asset_no=asset.asset_no)],
                      asset_no=asset.asset_no)
    return asset


def labels(session: Session, ids: set) -> dict[int, str]:
    """"EL-001 1号电梯" for each device, in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = session.exec(select(Asset.id, Asset.asset_no, Asset.name).where(Asset.id.in_(ids))).all()
    return {asset_id: f"{number} {name}" for asset_id, number, name in rows}


# --- adding ----------------------------------------------------------------------------------------

@dataclass
class _Known:
    """What entries are checked against, read once: the classes, the places named, the numbers taken."""

    equipment: Equipment
    places: dict[str, int] = field(default_factory=dict)  # location code -> id (active nodes)
    taken: set[str] = field(default_factory=set)  # asset numbers in the register (or earlier in the sheet)


def _known(session: Session, codes: set[str], numbers: set[str]) -> _Known:
    known = _Known(classes.current())
    if codes:
        known.places = dict(session.exec(select(Location.code, Location.id)
                                         .where(Location.code.in_(codes), Location.active == True)).all())  # noqa: E712
    if numbers:
        known.taken = set(session.exec(select(Asset.asset_no).where(Asset.asset_no.in_(numbers))).all())
    return known


def add(session: Session, *, asset_no: str, name: str, asset_class: str, now: datetime,
        location_code: str | None = None, location_id: int | None = None, department: str | None = None,
        team: str | None = None, model: str = "", manufacturer: str = "", supplier: str = "", contractor: str = "",
        commissioned_on: date | str | None = None, warranty_end: date | str | None = None,
        status: str = "in_service") -> Asset:
    """A new device of the register. Its place is a location's code or id; its department and team are
    names, made when new (as `houqin user add` does)."""
    entry = {"asset_no": asset_no, "name": name, "asset_class": asset_class, "location_code": location_code,
             "department": department, "team": team, "model": model, "manufacturer": manufacturer,
             "supplier": supplier, "contractor": contractor, "commissioned_on": commissioned_on,
             "warranty_end": warranty_end, "status": status}
    known = _known(session, {str(location_code).strip()} if location_code else set(), {str(asset_no).strip()})
    problems, values = _checked(entry, known)
    if location_id is not None:
        if location_code:
            problems.append(problem("location_id", "place_code_or_id"))
        else:
            try:
                values["location_id"] = locations.get(session, location_id).id
            except Invalid as exc:
                problems += exc.errors
    if problems:
        raise Invalid(FIELDS_INVALID, problems)
    return _store(session, [values], now)[0]


def _checked(entry: dict, known: _Known) -> tuple[list[dict], dict]:
    """What is wrong with one device as given, and its values as stored (names for department and team)."""
    problems, values = [], {}

    def wrong(name: str, code: str, **params) -> None:
        problems.append(problem(name, code, **params))

    for name, limit in TEXTS.items():
        text = _text(entry.get(name))
        if len(text) > limit:
            wrong(name, "too_long", max=limit)
        values[name] = text
    for name in REQUIRED:
        if not _text(entry.get(name)):
            wrong(name, "required")
    if values["asset_no"] in known.taken:
        wrong("asset_no", "asset_no_taken", value=values["asset_no"])
    given_class = _text(entry.get("asset_class"))
    values["asset_class"] = known.equipment.value_of(given_class)
    if given_class and values["asset_class"] is None:
        wrong("asset_class", "unknown_asset_class", value=given_class, classes=list(known.equipment.values()))
    code = _text(entry.get("location_code"))
    values["location_id"] = known.places.get(code) if code else None
    if code and values["location_id"] is None:
        wrong("location_code", "no_location_code", value=code)
    for name in ("commissioned_on", "warranty_end"):
        values[name] = _date(entry.get(name))
        if values[name] is False:
            wrong(name, "not_a_date")
    values["status"] = _status(entry.get("status"))
    if values["status"] is None:
        wrong("status", "unknown_asset_status", value=str(entry.get("status")), statuses=list(STATUSES),
              labels=[{"zh": zh, "en": en} for zh, en in STATUS_LABELS.values()])
    return problems, values


def _store(session: Session, entries: list[dict], now: datetime) -> list[Asset]:
    """Checked entries into the register: the departments and teams they name found, or made, once each."""
    departments = _named(session, Department, {e["department"] for e in entries if e["department"]}, department_named)
    teams = _named(session, Team, {e["team"] for e in entries if e["team"]}, team_named)
    devices = []
    for values in entries:
        values = dict(values)
        department, team = values.pop("department"), values.pop("team")
        devices.append(Asset(**values, department_id=departments.get(department), team_id=teams.get(team),
                             created_at=now))
    session.add_all(devices)
    session.flush()
    return devices


def _named(session: Session, table, names: set[str], make) -> dict[str, int]:
    """Ids by name, the missing ones made (one query, and one insert per new name)."""
    if not names:
        return {}
    found = dict(session.exec(select(table.name, table.id).where(table.name.in_(names))).all())
    for name in names - set(found):
        found[name] = make(session, name, create=True).id
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a number typed into a cell: 1001, not 1001.0
        value = int(value)
    return str(value).strip()


def _date(value) -> date | None | bool:
    """A date from a cell or a field (a date, or ISO text); None when empty; False when not a date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return False


def _status(value) -> str | None:
    text = _text(value) or "in_service"
    if text in STATUSES:
        return text
    return next((key for key, names in STATUS_LABELS.items() if text in names), None)


# --- changing --------------------------------------------------------------------------------------

EDITABLE = ("name", "asset_class", "location_code", "location_id", "department", "team", "model", "manufacturer",
            "supplier", "contractor", "commissioned_on", "warranty_end", "status")


def change(session: Session, asset_id: int, changes: dict) -> tuple[Asset, dict]:
    """Change a device's entry: any of EDITABLE, checked by the rules of `add`, all or nothing. A place is
    given by code or id (None: no place); a department or team by name (made when new; empty: none). Only
    what is changed is checked: a class since dropped from the equipment file does not block a move.
    Returns the device and what changed, as people read it: {field: {"from": ..., "to": ...}}."""
    device = get(session, asset_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(FIELDS_INVALID, [problem(name, "not_changeable") for name in unknown])
    before = present(session, [device])[0]
    code = _text(changes.get("location_code"))
    entry = {**before, **changes, "location_code": code}
    problems, values = _checked(entry, _known(session, {code} if code else set(), set()))
    problems = [p for p in problems if p["field"] in changes]
    if "location_code" in changes or "location_id" in changes:
        if code and changes.get("location_id") is not None:
            problems.append(problem("location_id", "place_code_or_id"))
        elif changes.get("location_id") is not None:
            try:
                values["location_id"] = locations.get(session, changes["location_id"]).id
            except Invalid as exc:
                problems += exc.errors
        changes = {**changes, "location_id": values["location_id"]}
    if problems:
        raise Invalid(FIELDS_INVALID, problems)
    if "department" in changes:
        values["department_id"] = _named(session, Department, {values["department"]} - {""}, department_named) \
            .get(values["department"])
    if "team" in changes:
        values["team_id"] = _named(session, Team, {values["team"]} - {""}, team_named).get(values["team"])
    stored = (set(changes) - {"location_code", "department", "team"}) | ({"department_id", "team_id"} & set(values))
    for name in stored:
        setattr(device, name, values[name])
    session.add(device)
    session.flush()
    after = present(session, [device])[0]
    changed = {name: {"from": before[name], "to": after[name]} for name in after if before[name] != after[name]}
    if changed:
        log.info("device %s changed: %s", device.asset_no, changed)
    return device, changed


# --- status follows the work -------------------------------------------------------------------------

REPAIR = "repair"  # the process whose work orders are failures (as the health file counts them)


def follow_work(session: Session, order) -> None:
    """A device's status follows its repairs (a common CMMS rule): a repair open on a device in service puts
    it under repair; when the last open repair on it closes (any final state), it is in service again. A retired
    device stays retired. At most two queries, and none for a work order not about a device."""
    if order.asset_id is None or order.process != REPAIR:
        return
    with session.no_autoflush:
        device = session.get(Asset, order.asset_id)
    if device is None or device.status == "retired":
        return
    if not order.closed:
        if device.status == "in_service":
            device.status = "under_repair"
            session.add(device)
        return
    if device.status != "under_repair":
        return
    with session.no_autoflush:  # the work order is written where its version is checked, not here
        others = session.exec(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.asset_id == device.id, WorkOrder.process == REPAIR, WorkOrder.id != order.id,
            WorkOrder.closed == False)).one()  # noqa: E712
    if not others:
        device.status = "in_service"
        session.add(device)


# --- the sheet -------------------------------------------------------------------------------------

def import_xlsx(session: Session, data: bytes, *, now: datetime) -> int:
    """Add every device of the sheet (header in row 1, Chinese or English), or none: every bad row is
    named by its row number. Returns how many were added."""
    rows = _rows(data)
    header = [_text(cell) for cell in (rows[0] if rows else [])]
    keys, problems = _columns(header)
    if problems:
        raise Invalid(FIELDS_INVALID, problems)
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(keys, row))
        cells.pop(None, None)
        if all(_text(value) == "" for value in cells.values()):
            continue  # a blank line
        entries.append((number, cells))
    if len(entries) > MAX_ROWS:
        raise Invalid(FIELDS_INVALID, [problem("file", "too_many_devices", count=len(entries), max=MAX_ROWS)])
    known = _known(session, {_text(cells.get("location_code")) for _, cells in entries} - {""},
                   {_text(cells.get("asset_no")) for _, cells in entries} - {""})
    checked = []
    for number, cells in entries:
        found, values = _checked(cells, known)
        problems += [{"row": number, **p} for p in found]
        known.taken.add(values["asset_no"])  # a number twice in the sheet: the second row is wrong
        checked.append(values)
    if problems:
        raise Invalid("nothing_imported", problems, count=len(problems))
    if not checked:
        raise Invalid(FIELDS_INVALID, [problem("file", "empty")])
    _store(session, checked, now)
    return len(checked)


def _rows(data: bytes) -> list[tuple]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(BytesIO(data), read_only=True, data_only=True).active
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(row)
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    except Exception:  # noqa: BLE001 - any unreadable upload is the user's to fix, not a 500
        raise Invalid(FIELDS_INVALID, [problem("file", "not_xlsx")]) from None


def _columns(header: list[str]) -> tuple[list[str | None], list[dict]]:
    """Each column's key from its header (Chinese or English); what is missing or unknown."""
    by_header = {name: key for key, zh, en in COLUMNS for name in (zh, en, key)}
    keys, problems = [], []
    for index, name in enumerate(header, start=1):
        if not name:
            keys.append(None)
            continue
        key = by_header.get(name) or by_header.get(name.lower())
        if key is None:
            problems.append({"row": 1, **problem("file", "unknown_column", value=name,
                                                 columns=[{"zh": zh, "en": en} for _, zh, en in COLUMNS])})
        elif key in keys:
            problems.append({"row": 1, **problem("file", "column_twice", value=name)})
        keys.append(key)
    for key, zh, en in COLUMNS:
        if key in REQUIRED and key not in keys:
            problems.append({"row": 1, **problem("file", "column_missing", column={"zh": zh, "en": en})})
    return keys, problems


def export_xlsx(session: Session, filters: "Filters") -> bytes:
    """The register (as filtered) as a sheet that imports again: Chinese headers, classes and states by their
    Chinese labels, places by their codes."""
    from openpyxl import Workbook

    devices, _ = search(session, filters, limit=MAX_EXPORT, offset=0)
    shown = present(session, devices)
    equipment = classes.current()
    book = Workbook()
    sheet = book.active
    sheet.title = "设备台账"
    sheet.append([zh for _, zh, _ in COLUMNS])
    for device, row in zip(devices, shown):
        kind = equipment.get(device.asset_class)
        sheet.append([device.asset_no, device.name, kind.label.zh if kind else device.asset_class,
                      row["location_code"], row["department"], row["team"], device.model, device.manufacturer,
                      device.supplier, device.contractor, device.commissioned_on, device.warranty_end,
                      STATUS_LABELS[device.status][0] if device.status in STATUS_LABELS else device.status])
    for column in ("K", "L"):  # the dates, shown as dates
        for cell in sheet[column][1:]:
            cell.number_format = "yyyy-mm-dd"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading ---------------------------------------------------------------------------------------

@dataclass
class Filters:
    asset_class: str | None = None
    status: str | None = None
    location_id: int | None = None  # this place and everything under it
    team: str | None = None  # the team's name
    q: str | None = None  # in the number or the name


def search(session: Session, filters: Filters, *, limit: int = 50, offset: int = 0) -> tuple[list[Asset], int]:
    """One page of the register, by number, and how many match: two queries."""
    query = select(Asset)
    if filters.asset_class:
        query = query.where(Asset.asset_class == filters.asset_class)
    if filters.status:
        query = query.where(Asset.status == filters.status)
    if filters.location_id is not None:
        query = query.where(locations.within(Asset.location_id, session, filters.location_id))
    if filters.team:
        query = query.where(Asset.team_id.in_(select(Team.id).where(Team.name == filters.team)))
    if filters.q and filters.q.strip():
        pattern = f"%{filters.q.strip()}%"
        query = query.where(or_(Asset.asset_no.ilike(pattern), Asset.name.ilike(pattern)))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Asset.asset_no).limit(limit).offset(offset)).all()
    return list(rows), total


def present(session: Session, devices: list[Asset]) -> list[dict]:
    """Each device with its place, department and team by name: three queries whatever the number."""
    place_ids = {d.location_id for d in devices if d.location_id is not None}
    places = {row[0]: row[1:] for row in session.exec(
        select(Location.id, Location.code, Location.full_name).where(Location.id.in_(place_ids))).all()} if place_ids else {}
    departments = _names(session, Department, {d.department_id for d in devices})
    teams = _names(session, Team, {d.team_id for d in devices})
    return [{"id": d.id, "asset_no": d.asset_no, "name": d.name, "asset_class": d.asset_class,
             "location_id": d.location_id, "location_code": places.get(d.location_id, ("", ""))[0] or "",
             "place": places.get(d.location_id, ("", ""))[1] or "", "department": departments.get(d.department_id, ""),
             "team": teams.get(d.team_id, ""), "model": d.model, "manufacturer": d.manufacturer,
             "supplier": d.supplier, "contractor": d.contractor, "commissioned_on": d.commissioned_on,
             "warranty_end": d.warranty_end, "status": d.status} for d in devices]


def _names(session: Session, table, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.exec(select(table.id, table.name).where(table.id.in_(ids))).all())

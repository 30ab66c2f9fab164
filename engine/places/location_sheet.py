"""The location tree read from a spreadsheet (.xlsx) or a CSV file: one node per row, all or nothing.

Columns `code, name, kind, parent_code` (or 编码, 名称, 类型, 上级编码); a kind is written in English or
in Chinese (院区, 楼栋, 楼层, 房间, 区域). A parent is a node already stored or another row of the file,
above or below: rows are stored parents first. Every problem is found before anything is stored and
reported by the row number the user sees in the spreadsheet (the header is row 1), with a `code`
naming the kind of problem so that a page can say it in the user's language.
"""
import csv
import io
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlmodel import Session, select

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.places.locations import KINDS, SEPARATOR
from engine.storage.models import Location

MAX_ROWS = 20_000
CODE_MAX, NAME_MAX, FULL_NAME_MAX = 64, 100, 400
PATH_DEEPEST = 360  # a parent's path longer than this leaves no room for a child's id (as locations.add)
HEADERS = {"code": "code", "编码": "code", "name": "name", "名称": "name", "kind": "kind", "类型": "kind",
           "parent_code": "parent_code", "parent": "parent_code", "上级编码": "parent_code"}
KIND_NAMES = {"院区": "campus", "楼栋": "building", "楼宇": "building", "楼层": "floor", "房间": "room", "区域": "area"}
_QUERY_CHUNK = 500  # codes per IN (...) query


@dataclass
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    code: str
    name: str
    kind: str
    parent_code: str


def kind_of(text: str) -> str:
    """`building`, `Building` or 楼栋 → building; anything else is returned as written (and refused later)."""
    text = text.strip()
    return KIND_NAMES.get(text, text.lower())


def import_file(session: Session, data: bytes) -> dict:
    """Store every row of the file, or none: `Invalid` with every bad row when any is bad."""
    return store(session, read(data))


# --- reading ------------------------------------------------------------------------------------

def read(data: bytes) -> list[Row]:
    """The file's rows, by content: an .xlsx workbook (a zip) or UTF-8 CSV text, with or without a BOM."""
    table = _xlsx_rows(data) if data[:4] == b"PK\x03\x04" else _csv_rows(data)
    header = next(table, None)
    columns = {}
    for index, title in enumerate(header or ()):
        key = HEADERS.get(_text(title).lstrip("\ufeff").strip().lower())
        if key and key not in columns:
            columns[key] = index
    missing = [key for key in ("code", "name", "kind") if key not in columns]
    if missing:
        raise Invalid(FIELDS_INVALID, [problem("file", "headers", missing=missing)])
    rows = []
    for number, cells in enumerate(table, start=2):
        values = {key: _text(cells[index]) if index < len(cells) else "" for key, index in columns.items()}
        if not any(values.values()):
            continue  # a blank line between blocks of rows
        if len(rows) == MAX_ROWS:
            raise Invalid(FIELDS_INVALID, [problem("file", "too_many_rows", max=MAX_ROWS)])
        rows.append(Row(number, values["code"], values["name"], kind_of(values["kind"]), values.get("parent_code", "")))
    if not rows:
        raise Invalid(FIELDS_INVALID, [problem("file", "empty")])
    return rows


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
    except Exception:  # noqa: BLE001 - any unreadable upload is the user's to fix, not a 500
        raise _unreadable() from None
    yield first or ()
    try:
        yield from rows
    except Exception:  # noqa: BLE001 - a workbook broken further down
        raise _unreadable() from None


def _csv_rows(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable() from None
    if "\x00" in text:
        raise _unreadable()
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error:
        raise _unreadable() from None


def _unreadable() -> Invalid:
    return Invalid(FIELDS_INVALID, [problem("file", "unreadable")])


def _text(value) -> str:
    """A cell as text: 101 and 101.0 (how a spreadsheet may keep a numeric code) both read "101"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- checking and storing -----------------------------------------------------------------------

def store(session: Session, rows: list[Row]) -> dict:
    existing = _existing(session, {row.code for row in rows} | {row.parent_code for row in rows if row.parent_code})
    errors = []

    def row_problem(row: Row, field: str, code: str, **values) -> None:
        """A problem of one row: the page and the API say it with its row number (web.i18n.problem_text)."""
        errors.append({"row": row.number, "field": field, "code": code, **values})

    in_file = {row.code for row in rows}
    by_code: dict[str, Row] = {}
    for row in rows:
        if not row.code or len(row.code) > CODE_MAX:
            row_problem(row, "code", "code_length", max=CODE_MAX)
        elif row.code in by_code:
            row_problem(row, "code", "code_repeated", value=row.code, other=by_code[row.code].number)
        elif row.code in existing:
            row_problem(row, "code", "code_exists", value=row.code)
        else:
            by_code[row.code] = row
        if not row.name or len(row.name) > NAME_MAX:
            row_problem(row, "name", "name_length", max=NAME_MAX)
        if row.kind not in KINDS:
            row_problem(row, "kind", "kind", value=row.kind)
        parent = row.parent_code
        if parent and parent not in in_file and parent not in existing:
            row_problem(row, "parent_code", "parent_unknown", value=parent)
    if not errors:
        names = _full_names(rows, by_code, existing, row_problem)
        for row in rows:
            if len(names.get(row.code, "")) > FULL_NAME_MAX:
                row_problem(row, "name", "too_deep")
    if errors:
        errors.sort(key=lambda error: error["row"])
        raise Invalid("nothing_imported", errors, count=len(errors))
    return _insert(session, rows, existing, names)


def _existing(session: Session, codes: set[str]) -> dict[str, Location]:
    """The stored nodes with any of these codes, a few queries for however many rows."""
    codes = sorted(code for code in codes if code and len(code) <= CODE_MAX)
    found = {}
    for start in range(0, len(codes), _QUERY_CHUNK):
        chunk = codes[start:start + _QUERY_CHUNK]
        found.update((node.code, node) for node in session.exec(select(Location).where(Location.code.in_(chunk))).all())
    return found


def _full_names(rows, by_code, existing, problem) -> dict[str, str]:
    """Each row's full name, following parents up through the file; a loop of parents is a problem on its rows."""
    names: dict[str, str] = {}
    for row in rows:
        trail, code = [], row.code
        while code in by_code and code not in names:
            if code in trail:
                for looped in trail[trail.index(code):]:
                    if looped not in names:
                        problem(by_code[looped], "parent_code", "parent_loop", value=looped)
                        names[looped] = ""
                break
            trail.append(code)
            code = by_code[code].parent_code
        for code in reversed(trail):
            if code in names:
                continue
            parent = by_code[code].parent_code
            above = names.get(parent) if parent in by_code else existing[parent].full_name if parent else None
            names[code] = f"{above}{SEPARATOR}{by_code[code].name}" if above else by_code[code].name
    return names


def _insert(session: Session, rows: list[Row], existing: dict[str, Location], names: dict[str, str]) -> dict:
    """Parents first, a level at a time: one bulk INSERT gives a level its ids, which go into its children's paths.

    Bulk statements, not one ORM object per row: twenty thousand rooms are stored in seconds."""
    placed = {code: (node.id, node.path, node.depth) for code, node in existing.items()}  # code → id, path, depth
    pending = list(rows)
    counts = {kind: 0 for kind in KINDS}
    while pending:
        level = [row for row in pending if not row.parent_code or row.parent_code in placed]
        if not level:  # cannot happen once `store` has checked the parents; never loop forever
            raise Invalid("not_a_tree")
        for row in level:
            if row.parent_code and len(placed[row.parent_code][1]) > PATH_DEEPEST:
                raise Invalid(FIELDS_INVALID, [{"row": row.number, "field": "parent_code", "code": "too_deep"}])
        values = [{"code": row.code, "name": row.name, "kind": row.kind, "full_name": names[row.code], "path": "",
                   "parent_id": placed[row.parent_code][0] if row.parent_code else None, "active": True,
                   "depth": placed[row.parent_code][2] + 1 if row.parent_code else 0} for row in level]
        ids = dict((code, id_) for id_, code in session.execute(
            insert(Location).returning(Location.id, Location.code), values).all())
        paths = []
        for row in level:
            path = f"{placed[row.parent_code][1] if row.parent_code else '/'}{ids[row.code]}/"
            placed[row.code] = (ids[row.code], path, placed[row.parent_code][2] + 1 if row.parent_code else 0)
            paths.append({"id": ids[row.code], "path": path})
            counts[row.kind] += 1
        session.execute(update(Location), paths)
        done = {row.code for row in level}
        pending = [row for row in pending if row.code not in done]
    return {"created": len(rows), "by_kind": counts}

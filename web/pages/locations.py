"""Admin: the location tree (位置), drawn as an indented list; add a node, or import a whole tree from a file.

Also the place picker of the report form: the places offered, and the place a typed text names.
"""
from fastapi import APIRouter, Depends, Path, Request
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from engine.errors import FIELDS_INVALID, Conflict, HouqinError, Invalid
from engine.places import location_sheet, locations
from engine.storage import unit_of_work
from engine.storage.models import Location
from web.deps import SessionDep
from web.i18n import Translator, has, problem_text
from web.limits import takes_files
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render, roles

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/admin")], include_in_schema=False)
PAGE = "/admin/locations"
ERRORS_SHOWN = 200  # a file with thousands of bad rows: the first ones say what to fix
PICKER_MAX = 5000  # places offered on the report form; any other is found by its code


def tree(session: Session) -> list[Location]:
    """Every active node, parents before their children (see web.api.locations)."""
    return sorted(session.exec(select(Location).where(Location.active == True)).all(),  # noqa: E712
                  key=lambda node: node.path)


def closed(session: Session) -> list[Location]:
    """The places closed, to reopen (they stay on the work orders filed there)."""
    return sorted(session.exec(select(Location).where(Location.active == False)).all(),  # noqa: E712
                  key=lambda node: node.path)


def _show(request: Request, session: Session, actor, status_code: int = 200, problems: list[str] | None = None,
          values=None):
    return render(request, "locations.html", actor, status_code=status_code, nodes=tree(session), kinds=locations.KINDS,
                  problems=problems or [], values=values or {}, closed=closed(session))


@router.get(PAGE)
def locations_page(request: Request, session: SessionDep, actor: ActorPage):
    return _show(request, session, actor)


def _text(form, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@router.post(PAGE)
def add_location(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    t = Translator(language(request, actor))
    values = {name: _text(form, name, 101) for name in ("code", "name", "kind", "parent_code")}
    try:
        parent = None
        if values["parent_code"]:
            parent = session.exec(select(Location).where(Location.code == values["parent_code"])).first()
            if parent is None:
                raise Invalid(FIELDS_INVALID, [{"field": "parent_code", "code": "parent_unknown",
                                                "value": values["parent_code"]}])
        node = locations.add(session, code=values["code"], name=values["name"],
                             kind=location_sheet.kind_of(values["kind"]), parent=parent)
    except HouqinError as exc:
        unit_of_work.rollback(session)
        flash_error(request, t, exc, labels={"code": t("locations.code"), "name": t("locations.name"),
                                             "kind": t("locations.kind"), "parent_code": t("locations.parent_code"),
                                             "parent": t("locations.parent_code")})
        return _show(request, session, actor, 422, values=values)
    flash(request, "ok", t("locations.added", name=node.full_name))
    return redirect(PAGE)


@router.post(f"{PAGE}/import")
@takes_files
def import_locations(request: Request, session: SessionDep, actor: ActorPage, form: FormDep):
    t = Translator(language(request, actor))
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid(FIELDS_INVALID, [{"field": "file", "code": "missing"}])
        counts = location_sheet.import_file(session, upload.file.read())
    except Invalid as exc:
        unit_of_work.rollback(session)  # all or nothing
        return _show(request, session, actor, 422, problems=[said(t, error) for error in exc.errors[:ERRORS_SHOWN]]
                     + ([t("locations.more_problems", n=len(exc.errors) - ERRORS_SHOWN)]
                        if len(exc.errors) > ERRORS_SHOWN else []))
    flash(request, "ok", t("locations.imported", n=counts["created"]))
    return redirect(PAGE)


@router.post(PAGE + "/{location_id:int}")
def change_location(request: Request, session: SessionDep, actor: ActorPage, form: FormDep,
                    location_id: int = Path(ge=1, le=2**31 - 1)):
    """One node's small form: rename, recode, move (a parent's code), or close / reopen (the button pressed)."""
    t = Translator(language(request, actor))
    action = form.get("action")
    name, code, parent_code = (_text(form, field, 101) or None for field in ("name", "code", "parent_code"))
    try:
        parent = locations.KEEP
        if action == "save" and parent_code:
            parent = named_code(session, parent_code)
        node = locations.change(session, location_id, name=name if action == "save" else None,
                                code=code if action == "save" else None, parent=parent,
                                active={"close": False, "open": True}.get(action))
    except Conflict:
        unit_of_work.rollback(session)
        node = session.get(Location, location_id)
        places, devices = locations.contents(session, node)
        flash(request, "error", t("locations.not_empty", name=node.full_name, places=places, devices=devices))
        return redirect(PAGE)
    except HouqinError as exc:
        unit_of_work.rollback(session)
        flash_error(request, t, exc, labels={"code": t("locations.code"), "name": t("locations.name"),
                                             "parent_id": t("locations.parent_code"),
                                             "parent_code": t("locations.parent_code"), "active": t("locations.close")})
        return redirect(PAGE)
    message = {"close": "locations.closed_one", "open": "locations.reopened"}.get(action, "locations.changed")
    flash(request, "ok", t(message, name=node.full_name))
    return redirect(PAGE)


def named_code(session: Session, code: str) -> Location:
    """The open place of a code, or a refusal naming the field."""
    node = session.exec(select(Location).where(Location.code == code, Location.active == True)).first()  # noqa: E712
    if node is None:
        raise Invalid(FIELDS_INVALID, [{"field": "parent_code", "code": "parent_unknown", "value": code}])
    return node


def said(t: Translator, error: dict) -> str:
    """One problem of an import in the user's language: "第 4 行：类型“楼”不是…"."""
    key = f"locations.problem.{error.get('code')}"
    text = t(key, value=error.get("value", ""), other=error.get("other", ""), max=location_sheet.MAX_ROWS) \
        if has(t.language, key) else problem_text(t.language, {k: v for k, v in error.items() if k != "row"})
    return t("locations.row", row=error["row"], problem=text) if "row" in error else text


# --- the place picker of the report form ------------------------------------------------------------

def choices(session: Session) -> list[tuple[str, str]]:
    """(full name, code) of the places a report may name, in tree order; one query."""
    rows = session.exec(select(Location.path, Location.full_name, Location.code)
                        .where(Location.active == True).order_by(Location.id).limit(PICKER_MAX)).all()  # noqa: E712
    return [(full_name, code) for _, full_name, code in sorted(rows)]


def named(session: Session, text: str) -> Location | None:
    """The place a typed text names: its full name as the picker offers it, or its code."""
    text = text.strip()
    if not text:
        return None
    active = Location.active == True  # noqa: E712
    by_code = session.exec(select(Location).where(active, Location.code == text)).first()
    if by_code is not None:
        return by_code
    found = session.exec(select(Location).where(active, Location.full_name == text).limit(2)).all()
    return found[0] if len(found) == 1 else None  # two places of one name: the code says which

"""The equipment register page (设备台账): the devices with filters, one added by hand, a sheet imported,
the list exported. Admins and logistics staff; classes read in the reader's language from the equipment file."""
from math import ceil
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, UploadFile
from sqlmodel import select

from engine.errors import FIELDS_INVALID, HouqinError, Invalid, problem
from engine.places import assets, classes
from engine.storage import unit_of_work
from engine.storage.models import Location
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.limits import takes_files
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render, roles

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/assets")], include_in_schema=False)
PAGE = 50
MAX_SHEET_BYTES = 5_000_000
FIELDS = ("asset_no", "name", "asset_class", "location_code", "department", "team", "model", "manufacturer",
          "supplier", "contractor", "commissioned_on", "warranty_end", "status")


def _query(request: Request) -> dict[str, str]:
    return {name: request.query_params.get(name, "")[:200].strip()
            for name in ("asset_class", "status", "location_id", "team", "q")}


@router.get("/assets")
def register_page(request: Request, session: SessionDep, actor: ActorPage):
    query = _query(request)
    given = request.query_params.get("page", "1")
    page = min(max(1, int(given)), 100_000) if given.isdigit() and len(given) < 7 else 1
    location_id = int(query["location_id"]) if query["location_id"].isdigit() and int(query["location_id"]) < 2**31 else None
    filters = assets.Filters(asset_class=query["asset_class"] or None, status=query["status"] or None,
                             location_id=location_id, team=query["team"] or None, q=query["q"] or None)
    devices, total = assets.search(session, filters, limit=PAGE, offset=(page - 1) * PAGE)
    chosen = {key: value for key, value in query.items() if value}
    places = session.exec(select(Location.id, Location.full_name).where(Location.active == True)  # noqa: E712
                          .where(Location.depth <= 2).order_by(Location.path).limit(500)).all()
    return render(request, "assets.html", actor, devices=assets.present(session, devices), total=total, page=page,
                  pages=max(1, ceil(total / PAGE)), query=query, location_id=location_id, places=places,
                  equipment=classes.current(), statuses=assets.STATUSES,
                  columns=assets.COLUMNS, filtered=urlencode(chosen))


def _run(request: Request, session, actor, change):
    t = Translator(language(request, actor))
    try:
        message = change(t)
    except HouqinError as exc:
        unit_of_work.rollback(session)  # nothing of the request is kept; the page says why
        flash_error(request, t, exc)
    else:
        flash(request, "ok", message)
    return redirect("/assets")


def _text(form, name: str, limit: int = 100) -> str | None:
    value = form.get(name)
    return value.strip()[:limit] or None if isinstance(value, str) else None


@router.post("/assets")
def add_device(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep):
    def change(t):
        given = {name: _text(form, name) for name in FIELDS}
        required = {name: given.pop(name) or "" for name in ("asset_no", "name", "asset_class")}
        device = assets.add(session, **required, **{k: v for k, v in given.items() if v is not None}, now=clock.now())
        return t("assets.added", asset_no=device.asset_no)

    return _run(request, session, actor, change)


@router.post("/assets/import")
@takes_files
def import_sheet(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep):
    def change(t):
        upload = form.get("file")
        if not isinstance(upload, UploadFile) and not hasattr(upload, "file"):
            raise Invalid(FIELDS_INVALID, [problem("file", "choose_xlsx")])
        data = upload.file.read(MAX_SHEET_BYTES + 1)
        if len(data) > MAX_SHEET_BYTES:
            raise Invalid(FIELDS_INVALID, [problem("file", "sheet_too_large", mb=MAX_SHEET_BYTES // 1_000_000)])
        return t("assets.imported", n=assets.import_xlsx(session, data, now=clock.now()))

    return _run(request, session, actor, change)

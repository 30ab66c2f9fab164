"""Submit: pick a process, fill in the form its definition declares, see the new work order."""
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from starlette.datastructures import UploadFile

from engine.errors import Forbidden, HouqinError, Invalid
from engine.orders import attachments, callers, workorders
from engine.people import directory
from engine.published import definitions
from web.deps import ROW_ID_MAX, ClockDep, SessionDep
from web.i18n import Translator, problem_text, said
from web.limits import takes_files
from web.pages import forms, scan
from web.pages import locations as places
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render
from workflows.schema import PRIORITIES, submit_rank

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
TITLE_MAX, TEXT_MAX, LOCATION_MAX = 200, 10000, 200
LinkId = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)]
CALLER = {"user": 64, "name": callers.NAME_MAX, "phone": callers.PHONE_MAX, "department": 100}  # form field: limit


@router.get("/submit")
def pick(request: Request, session: SessionDep, actor: ActorPage):
    processes = [definitions.compiled(session, row.key, row.version).definition for row in definitions.current_rows(session)]
    # The tiles in the order the processes ask for (报修 first), each saying what the user wants to do.
    processes.sort(key=submit_rank)
    return render(request, "submit_pick.html", actor, processes=processes)


def _form_context(session, actor, key: str, t: Translator, values: dict | None = None):
    row = definitions.row(session, key)
    definition = definitions.compiled(session, row.key, row.version).definition
    wanted = {name: definition.fields[name].required for name in forms.creation_fields(definition)}
    return definition, forms.fields_for(definition, wanted, t, values)


def _departments(session, actor) -> list[str]:
    """A dispatcher taking a call files it for the caller's department; others file for their own (the engine
    refuses any other)."""
    if actor.sees_all:
        return [d.name for d, _ in directory.departments(session)]
    return []


def _callers(session, actor) -> list[directory.Person] | None:
    """The desk records phone calls (电话报修): whom it may pick as the caller; None for everybody else, who file as
    themselves."""
    return directory.people(session, active_only=True) if actor.has(callers.TAKERS) else None


def _caller(values: dict) -> callers.Caller | None:
    """The caller the dispatcher named on the form, if any."""
    given = {name: values[f"caller_{name}"] for name in CALLER}
    return callers.Caller(**given) if any(given.values()) else None


@router.get("/submit/{key}")
def form_page(key: str, request: Request, session: SessionDep, actor: ActorPage,
              asset_id: LinkId = None, location_id: LinkId = None):
    """`asset_id` / `location_id`: a scanned QR code's device or place, filled in (web.pages.scan)."""
    t = Translator(language(request, actor))
    definition, fields = _form_context(session, actor, key, t)
    prefill = scan.prefill(session, t, asset_id, location_id)  # a scanned code's device or place: the picker steps aside
    scan.preselect(fields, prefill)
    return render(request, "submit_form.html", actor, definition=definition, fields=fields, priorities=PRIORITIES,
                  departments=_departments(session, actor), values={"priority": "normal"}, errors={},
                  prefill=prefill, places=places.choices(session), callers=_callers(session, actor))


@router.post("/submit/{key}")
@takes_files
def submit(key: str, request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep):
    now = clock.now()
    t = Translator(language(request, actor))
    definition, fields = _form_context(session, actor, key, t)
    values = {name: str(form.get(name, "")).strip()
              for name in ("title", "description", "location", "priority", "department", "place")}
    field_values, errors = forms.read(form, fields, t)
    asset_id, location_id = scan.posted_ids(form)
    place = places.named(session, values["place"][:LOCATION_MAX]) if location_id is None else None
    if values["place"] and location_id is None and place is None:
        errors["place"] = t("locations.place_unknown")
    values |= {f"caller_{name}": str(form.get(f"caller_{name}", "")).strip()[:limit + 1] for name, limit in CALLER.items()}
    for name, limit in (("title", TITLE_MAX), ("description", TEXT_MAX), ("location", LOCATION_MAX)):
        if len(values[name]) > limit:
            errors[name] = t("form.too_long", limit=limit)
    caller = _caller(values)
    status = 422
    if not errors:
        try:
            order = workorders.create(
                session, actor, process=definition.key, title=values["title"], description=values["description"],
                priority=values["priority"] or "normal", department=values["department"] or None,
                location=values["location"], fields=field_values, now=now, asset_id=asset_id,
                location_id=location_id if location_id is not None else (place.id if place else None), caller=caller,
            )
        except Invalid as exc:
            for error in exc.errors:
                name = str(error.get("field", "")).removeprefix("fields.")
                errors["place" if name == "location_id" else name] = problem_text(t.language, error)
            errors.setdefault("_", said(t.language, exc))
        except Forbidden:  # a department or a caller the form did not offer: clinical staff file for their own
            errors["_"], status = t("errors.caller_desk_only" if caller else "submit.own_department_only"), 403
        else:
            flash(request, "ok", t("submit.done", number=order.number))
            _attach_photo(request, session, actor, order.id, form.get("photo"), t, now)
            return redirect(f"/orders/{order.id}")
    return render(request, "submit_form.html", actor, status_code=status, definition=definition, fields=fields,
                  priorities=PRIORITIES, departments=_departments(session, actor), values=values, errors=errors,
                  prefill=scan.prefill(session, t, asset_id, location_id), places=places.choices(session),
                  callers=_callers(session, actor))


def _attach_photo(request, session, actor, order_id: int, photo, t: Translator, now) -> None:
    """The work order stands even if its photo is refused: the message says why, the order page takes another."""
    if not isinstance(photo, UploadFile) or not photo.filename:
        return
    try:
        attachments.save(session, actor, order_id, filename=photo.filename, stream=photo.file, now=now)
    except HouqinError as exc:  # refused before anything was written: the work order is kept
        flash_error(request, t, exc)

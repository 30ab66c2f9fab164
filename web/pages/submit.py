"""Submit: pick a process, fill in the form its definition declares, see the new work order."""
from fastapi import APIRouter, Depends, Request

from starlette.datastructures import UploadFile

from engine.errors import Forbidden, HouqinError, Invalid
from engine.orders import attachments, workorders
from engine.people import directory
from engine.published import definitions
from engine.storage.models import Location
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.limits import takes_files
from web.pages import forms
from web.pages import locations as places
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, flash_error, language, redirect, render
from workflows.schema import PRIORITIES

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
TITLE_MAX, TEXT_MAX, LOCATION_MAX = 200, 10000, 200


@router.get("/submit")
def pick(request: Request, session: SessionDep, actor: ActorPage):
    processes = [definitions.compiled(session, row.key, row.version).definition for row in definitions.current_rows(session)]
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


@router.get("/submit/{key}")
def form_page(key: str, request: Request, session: SessionDep, actor: ActorPage):
    t = Translator(language(request, actor))
    definition, fields = _form_context(session, actor, key, t)
    values = {"priority": "normal", "place": _place_asked(session, request.query_params.get("location_id"))}
    return render(request, "submit_form.html", actor, definition=definition, fields=fields, priorities=PRIORITIES,
                  departments=_departments(session, actor), values=values, errors={}, places=places.choices(session))


@router.post("/submit/{key}")
@takes_files
def submit(key: str, request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep):
    now = clock.now()
    t = Translator(language(request, actor))
    definition, fields = _form_context(session, actor, key, t)
    values = {name: str(form.get(name, "")).strip()
              for name in ("title", "description", "location", "priority", "department", "place")}
    field_values, errors = forms.read(form, fields, t)
    place = places.named(session, values["place"][:LOCATION_MAX])
    if values["place"] and place is None:
        errors["place"] = t("locations.place_unknown")
    for name, limit in (("title", TITLE_MAX), ("description", TEXT_MAX), ("location", LOCATION_MAX)):
        if len(values[name]) > limit:
            errors[name] = t("form.too_long", limit=limit)
    status = 422
    if not errors:
        try:
            order = workorders.create(
                session, actor, process=definition.key, title=values["title"], description=values["description"],
                priority=values["priority"] or "normal", department=values["department"] or None,
                location=values["location"], fields=field_values, now=now,
                location_id=place.id if place else None,
            )
        except Invalid as exc:
            for error in exc.errors:
                name = str(error.get("field", "")).removeprefix("fields.")
                errors["place" if name == "location_id" else name] = error.get("message", "")
            errors.setdefault("_", exc.message)
        except Forbidden:  # a department the form did not offer: clinical staff file for their own
            errors["_"], status = t("submit.own_department_only"), 403
        else:
            flash(request, "ok", t("submit.done", number=order.number))
            _attach_photo(request, session, actor, order.id, form.get("photo"), t, now)
            return redirect(f"/orders/{order.id}")
    return render(request, "submit_form.html", actor, status_code=status, definition=definition, fields=fields,
                  priorities=PRIORITIES, departments=_departments(session, actor), values=values, errors=errors,
                  places=places.choices(session))


def _place_asked(session, location_id) -> str:
    """A link to the form may name the place (?location_id=17): the picker starts on its full name."""
    if not (location_id or "").isdigit() or not 0 < int(location_id) < 2**31:
        return ""
    node = session.get(Location, int(location_id))
    return node.full_name if node is not None and node.active else ""


def _attach_photo(request, session, actor, order_id: int, photo, t: Translator, now) -> None:
    """The work order stands even if its photo is refused: the message says why, the order page takes another."""
    if not isinstance(photo, UploadFile) or not photo.filename:
        return
    try:
        attachments.save(session, actor, order_id, filename=photo.filename, stream=photo.file, now=now)
    except HouqinError as exc:  # refused before anything was written: the work order is kept
        flash_error(request, t, exc)

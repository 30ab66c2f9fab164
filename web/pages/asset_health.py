"""A device's health file as a page (/assets/{id}): its facts, figures, the repeat-fault flag and its
work orders, each linked to its page. The data is the API's (engine.places.health.health_file).
Admins and logistics staff also change the device's entry there (status, place, team, ...)."""
from fastapi import APIRouter, Depends, Path, Request

from engine.errors import HouqinError, Invalid
from engine.places import assets, classes, health
from engine.published import definitions
from engine.storage import unit_of_work
from web.api.asset_health import AssetHealthPublic
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages import locations as places
from web.pages.common import (ActorPage, FormDep, PageForbidden, csrf_protect, flash, flash_error, language, redirect,
                              render)

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
AssetId = Path(ge=1, le=2**31 - 1)  # ids are 32-bit integers in the database
MANAGERS = {"admin", "logistics"}
# The edit form's fields: what the register's page calls them (assets.*), in the form's order.
FORM = ("status", "location_code", "team", "department", "name", "asset_class", "model", "manufacturer", "supplier",
        "contractor", "commissioned_on", "warranty_end")
LABELS = {"status": "assets.status", "location_code": "assets.place", "team": "assets.team",
          "department": "assets.department", "name": "assets.name", "asset_class": "assets.class",
          "model": "assets.model", "manufacturer": "assets.manufacturer", "supplier": "assets.supplier",
          "contractor": "assets.contractor", "commissioned_on": "assets.commissioned_on",
          "warranty_end": "assets.warranty_end", "location_id": "assets.place"}


@router.get("/assets/{asset_id:int}")
def asset_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep, asset_id: int = AssetId):
    t = Translator(language(request, actor))
    file = AssetHealthPublic.model_validate(health.health_file(session, actor, asset_id, clock.now()))
    current = {row.key: definitions.compiled(session, row.key, row.version).definition
               for row in definitions.current_rows(session)}
    processes = {key: t.label(d.title) for key, d in current.items()}
    states = {(key, name): t.label(state.label) for key, d in current.items() for name, state in d.states.items()}
    edit = _edit_form(session, asset_id) if actor.roles & MANAGERS else None
    return render(request, "asset_health.html", actor, asset=file, processes=processes, states=states, edit=edit,
                  kind=_kind(file.asset_class, t))


def _kind(value: str, t: Translator) -> str:
    """The device's class as the equipment file labels it, in the reader's language."""
    try:
        found = classes.current().get(value)
    except Invalid:  # no valid equipment file: the class as written
        found = None
    return t.label(found.label) if found else t.choice(value)


def _edit_form(session, asset_id: int) -> dict:
    """What the edit form offers: the entry as it stands, the places, classes and states to choose from."""
    try:
        kinds = classes.current().classes
    except Invalid:  # no valid equipment file: the class is left as it is
        kinds = []
    entry = assets.present(session, [assets.get(session, asset_id)])[0]
    return {"entry": entry, "places": places.choices(session), "classes": kinds, "statuses": assets.STATUSES,
            "fields": FORM, "labels": LABELS}


@router.post("/assets/{asset_id:int}/edit")
def edit_device(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, asset_id: int = AssetId):
    """The fields the form sends that differ from the entry are changed, all or none."""
    if not actor.roles & MANAGERS:
        raise PageForbidden()
    t = Translator(language(request, actor))
    page = f"/assets/{asset_id}"
    try:
        health.visible(session, actor, asset_id)
        entry = assets.present(session, [assets.get(session, asset_id)])[0]
        given = {name: value.strip()[:200] for name in FORM if isinstance(value := form.get(name), str)}
        changes = {name: value or None for name, value in given.items() if value != _shown(entry[name])}
        _, changed = assets.change(session, asset_id, changes)
    except HouqinError as exc:
        unit_of_work.rollback(session)  # nothing of the form is kept; the page says why
        flash_error(request, t, exc, labels={name: t(key) for name, key in LABELS.items()})
        return redirect(page)
    names = "、".join(dict.fromkeys(t(LABELS.get(name, "assets.place")) for name in changed))  # a move: one "place"
    flash(request, "ok", t("assets.changed", fields=names) if changed else t("assets.unchanged"))
    return redirect(page)


def _shown(value) -> str:
    """A value as the form shows it: dates as YYYY-MM-DD, nothing as empty."""
    return "" if value is None else str(value)

"""The follow-up form (发现问题，发起报修/隐患): from a round's page, the repair or hazard it found,
filed about the round's device and at its place (engine.orders.follow_ups)."""
from fastapi import APIRouter, Depends, Path, Request

from engine.errors import Forbidden, Invalid, NotFound
from engine.orders import follow_ups, workorders
from engine.published import definitions
from web.api import present
from web.deps import ClockDep, SessionDep
from web.i18n import Translator, problem_text, said
from web.pages import forms
from web.pages.common import ActorPage, FormDep, PageForbidden, csrf_protect, flash, language, redirect, render
from workflows.schema import PRIORITIES

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OrderId = Path(ge=1, le=2**31 - 1)
TITLE_MAX, TEXT_MAX = 200, 10000


def _context(session, actor, order_id: int, process: str, t: Translator, values: dict | None = None):
    """The round (404 when not seen), the process asked for (404 when not a follow-up's), its form fields."""
    origin = workorders.get(session, actor, order_id)
    if process not in follow_ups.PROCESSES:
        raise NotFound("no_follow_up", process=process)
    if not follow_ups.may_raise(actor, origin):
        raise PageForbidden()
    row = definitions.row(session, process)
    definition = definitions.compiled(session, row.key, row.version).definition
    wanted = {name: definition.fields[name].required for name in forms.creation_fields(definition)}
    return origin, definition, forms.fields_for(definition, wanted, t, values)


def _page(request, session, actor, origin, definition, fields, values, errors, now, status_code=200):
    shown = present.summaries(session, [origin], now)[0]  # its place and device, named
    return render(request, "follow_up.html", actor, status_code=status_code, origin=shown, definition=definition,
                  fields=fields, priorities=PRIORITIES, values=values, errors=errors)


@router.get("/orders/{order_id}/follow-up/{process}")
def form_page(process: str, request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
              order_id: int = OrderId):
    t = Translator(language(request, actor))
    origin, definition, fields = _context(session, actor, order_id, process, t)
    return _page(request, session, actor, origin, definition, fields, {"priority": "normal"}, {}, clock.now())


@router.post("/orders/{order_id}/follow-up/{process}")
def raise_follow_up(process: str, request: Request, session: SessionDep, actor: ActorPage, form: FormDep,
                    clock: ClockDep, order_id: int = OrderId):
    now = clock.now()
    t = Translator(language(request, actor))
    origin, definition, fields = _context(session, actor, order_id, process, t)
    values = {name: str(form.get(name, "")).strip() for name in ("title", "description", "priority")}
    field_values, errors = forms.read(form, fields, t)
    for name, limit in (("title", TITLE_MAX), ("description", TEXT_MAX)):
        if len(values[name]) > limit:
            errors[name] = t("form.too_long", limit=limit)
    if not errors:
        try:
            order = follow_ups.raise_from(session, actor, origin.id, process=process, title=values["title"],
                                          description=values["description"], priority=values["priority"] or "normal",
                                          fields=field_values, now=now)
        except Invalid as exc:
            for error in exc.errors:
                errors[str(error.get("field", "")).removeprefix("fields.")] = problem_text(t.language, error)
            errors.setdefault("_", said(t.language, exc))
        except Forbidden:
            raise PageForbidden() from None
        else:
            flash(request, "ok", t("rounds.raised", number=order.number, origin=origin.number))
            return redirect(f"/orders/{order.id}")
    return _page(request, session, actor, origin, definition, fields, values, errors, now, status_code=422)

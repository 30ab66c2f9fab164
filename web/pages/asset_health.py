"""A device's health file as a page (/assets/{id}): its facts, figures, the repeat-fault flag and its
work orders, each linked to its page. The data is the API's (engine.places.health.health_file)."""
from fastapi import APIRouter, Depends, Path, Request

from engine.places import health
from engine.published import definitions
from web.api.asset_health import AssetHealthPublic
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages.common import ActorPage, csrf_protect, language, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
AssetId = Path(ge=1, le=2**31 - 1)  # ids are 32-bit integers in the database


@router.get("/assets/{asset_id:int}")
def asset_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep, asset_id: int = AssetId):
    t = Translator(language(request, actor))
    file = AssetHealthPublic.model_validate(health.health_file(session, actor, asset_id, clock.now()))
    current = {row.key: definitions.compiled(session, row.key, row.version).definition
               for row in definitions.current_rows(session)}
    processes = {key: t.label(d.title) for key, d in current.items()}
    states = {(key, name): t.label(state.label) for key, d in current.items() for name, state in d.states.items()}
    return render(request, "asset_health.html", actor, asset=file, processes=processes, states=states)

"""The follow-up call queue (回访): the work orders the desk calls back, each a link to its call form.

Who may open it is the definitions' business (`calls.by`, engine/orders/calls.py), not this page's.
"""
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from engine.errors import Forbidden
from engine.orders import calls
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages import view
from web.pages.common import ActorPage, PageForbidden, csrf_protect, language, render

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PAGE = 50


@router.get("/calls")
def calls_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    t = Translator(language(request, actor))
    now = clock.now()
    try:
        due, total = calls.queue(session, actor, now, limit=PAGE, offset=(page - 1) * PAGE)
    except Forbidden:
        raise PageForbidden() from None
    cards = view.cards(session, [item.order for item in due], t, now)
    return render(request, "calls.html", actor, items=list(zip(cards, due)), total=total, page=page,
                  pages=max(1, -(-total // PAGE)))

"""My inbox (我的待办) and my notifications, as pages.

The inbox page lists every group of `engine.orders.inbox` with the buttons each work order
offers (the reporter's verdict is given on the work order's own page, where the
rating form is). Every page's navigation shows the two counts, and each person's
landing page starts with their inbox (web.pages.common.render).
"""
from fastapi import APIRouter, Depends, Request

from engine.notify import reading as notifications
from engine.orders.inbox import inbox
from engine.storage.models import WorkOrder
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages import view
from web.pages.common import ActorPage, FormDep, csrf_protect, flash, language, redirect, render, safe_next
from web.pages.orders import event_forms

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
SHOWN = 100  # per group on the page; the count says how many wait in all


@router.get("/inbox")
def inbox_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep):
    t = Translator(language(request, actor))
    found = inbox(session, actor)
    shown: list[WorkOrder] = [order for group in found.groups for order in group.orders[:SHOWN]]
    cards = {card.order.id: card for card in view.cards(session, shown, t, clock.now())}
    groups = []
    for group in found.groups:
        items = []
        for order in group.orders[:SHOWN]:
            definition = view.definition(session, order)
            verdict = {definition.feedback.satisfied, definition.feedback.unsatisfied} if definition.feedback else set()
            items.append((cards[order.id], event_forms(found.allowed[order.id], definition, t, skip=verdict)))
        groups.append((group, items))
    return render(request, "inbox.html", actor, groups=groups, total=found.total)


@router.get("/notifications")
def notifications_page(request: Request, session: SessionDep, actor: ActorPage):
    return render(request, "notifications.html", actor, notes=notifications.recent(session, actor.id))


@router.post("/notifications/read")
def mark_read(request: Request, session: SessionDep, actor: ActorPage, form: FormDep, clock: ClockDep):
    """One notification (`id`) or all of them (no id), then back to the list or to the work order it names."""
    raw = form.get("id")
    ids = [int(raw)] if isinstance(raw, str) and raw.isdigit() and 0 < int(raw) <= 2**31 - 1 else None
    if raw is not None and ids is None:
        return redirect("/notifications")
    count = notifications.mark_read(session, actor.id, ids, clock.now())
    if ids is None:
        flash(request, "ok", Translator(language(request, actor))("notifications.marked", n=count))
    return redirect(safe_next(str(form.get("next", "")), "/notifications"))

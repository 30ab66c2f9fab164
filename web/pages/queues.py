"""The lists people work from: my department, the dispatch board, my work, escalations."""
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from engine.orders import boards, workorders
from engine.orders.workorders import Filters
from engine.people import directory
from engine.published import definitions
from engine.storage.models import Department, Team
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages import view
from web.pages import locations as places
from web.pages.common import ActorPage, csrf_protect, language, render, roles
from web.pages.orders import assignee_choices, event_forms
from workflows.schema import PRIORITIES

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PAGE = 50
Text = Annotated[str | None, Query(max_length=200)]


def _with_events(session, actor, orders, t: Translator, now) -> list[tuple[view.Card, list]]:
    cards = view.cards(session, orders, t, now)
    available = workorders.available_for(session, orders, actor)
    return [(card, event_forms(available[card.row.id], view.definition(session, card.row), t)) for card in cards]


def _state_choices(session, process: str | None, t: Translator) -> list[tuple[str, str]]:
    """States to filter by: the chosen process's, or every process's, each named once."""
    rows = [definitions.row(session, process)] if process else definitions.current_rows(session)
    choices: dict[str, str] = {}
    for row in rows:
        for name, spec in definitions.compiled(session, row.key, row.version).definition.states.items():
            choices.setdefault(name, t.label(spec.label))
    return list(choices.items())


@router.get("/department")
def department_page(
    request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
    process: Text = None, state: Text = None, q: Text = None, department: Text = None, place: Text = None,
    late: bool = False, mine: bool = False, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
):
    t = Translator(language(request, actor))
    processes = [(row.key, t.label(definitions.compiled(session, row.key, row.version).definition.title))
                 for row in definitions.current_rows(session)]
    process = process if process in dict(processes) else None
    own = session.get(Department, actor.department_id).name if actor.department_id else None
    departments = [d.name for d, _ in directory.departments(session)] if actor.sees_all else []
    if actor.sees_all:  # may look at any department; an empty choice means all of them
        chosen = department if department in departments else (None if department == "" else own)
    else:
        chosen = own
    only_mine = chosen is None and not actor.sees_all  # no department: the user's own requests
    filters = Filters(process=process, state=state or None, department=chosen, overdue=late, q=q or None,
                      reporter_id=actor.id if mine or only_mine else None, limit=PAGE, offset=(page - 1) * PAGE)
    if place:  # a place of the tree and everything under it; a name that is no place matches nothing
        filters.location_id = getattr(places.named(session, place), "id", -1)
    now = clock.now()
    orders, total = workorders.search(session, actor, filters, now)
    query = {"process": process or "", "state": state or "", "q": q or "", "late": late, "mine": mine or only_mine,
             "place": place or ""}
    return render(
        request, "department.html", actor, cards=view.cards(session, orders, t, now), total=total, page=page,
        pages=max(1, -(-total // PAGE)), processes=processes, states=_state_choices(session, process, t),
        departments=departments, chosen=chosen or "", query=query, filtered=_filtered(query, chosen),
        places=places.choices(session),
    )


def _filtered(query: dict, chosen: str | None) -> str:
    """The list's filters for the pager's links; the department always, as an empty one means all of them."""
    kept = {"q": query["q"], "process": query["process"], "state": query["state"], "department": chosen or ""}
    kept |= {name: "true" for name in ("late", "mine") if query[name]}
    kept |= {"place": query["place"]} if query["place"] else {}
    return urlencode(kept)


@router.get("/dispatch", dependencies=[roles("/dispatch")])
def dispatch_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep):
    t = Translator(language(request, actor))
    now = clock.now()
    unassigned, assigned = boards.unassigned(session, actor), boards.assigned(session, actor)
    return render(
        request, "dispatch.html", actor,
        # waiting: only what this dispatcher can act on (a material request waits for approvals, not for them)
        waiting=[item for item in _with_events(session, actor, unassigned, t, now) if item[1]],
        held=_with_events(session, actor, assigned, t, now),
        people=assignee_choices(session),
        routing=boards.routing_notes(session, unassigned + assigned),  # routed automatically, or waiting, and why
    )


@router.get("/work", dependencies=[roles("/work")])
def work_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep):
    t = Translator(language(request, actor))
    now = clock.now()
    pool = [item for item in _with_events(session, actor, boards.pool_for(session, actor), t, now) if item[1]]
    return render(request, "work.html", actor,
                  items=_with_events(session, actor, boards.assigned_to(session, actor), t, now), pool=pool)


@router.get("/escalations", dependencies=[roles("/escalations")])
def escalations_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep):
    t = Translator(language(request, actor))
    now = clock.now()
    orders = boards.needing_attention(session, actor, now)
    told = view.escalations(session, orders, t)
    risky, risky_total, scored = workorders.search_at_risk(session, actor, Filters(limit=PAGE), now)
    return render(
        request, "escalations.html", actor, items=_with_events(session, actor, orders, t, now), told=told,
        people=assignee_choices(session), can_edit=bool(actor.roles & workorders.EDITORS),
        higher={p: PRIORITIES[i - 1] for i, p in enumerate(PRIORITIES) if i > 0},
        at_risk=[(card, _risk_lines(session, card.row, scored[card.row.id], t))
                 for card in view.cards(session, risky, t, now)],
        at_risk_more=max(risky_total - len(risky), 0),
    )


def _risk_lines(session, order, scored, t: Translator) -> dict:
    """An at-risk order's probability, reason and where the reason comes from, as a supervisor reads them."""
    found = scored.risk
    definition = view.definition(session, order)
    spec = definition.sla.get(found.timer)
    group = found.group
    words = [t.label(definition.title), t.label(spec.label) if spec and spec.label else found.timer]
    if "priority" in group:
        words.append(t(f"priority.{group['priority']}"))
    if group.get("category") is not None:
        words.append(t.choice(group["category"], definition.fault_field()))
    if group.get("team") is not None:
        team = session.get(Team, group["team"])
        words.append(t("risk.team", name=team.name if team else group["team"]))
    if "state" in group and group["state"] in definition.states:
        words.append(t.label(definition.states[group["state"]].label))
    percent = round(found.probability * 100)
    return {"percent": percent, "reason": t("risk.reason", percent=percent),
            "detail": t("risk.detail", timer=words[1], used=round(found.used * 100), similar=found.similar,
                        group=t("common.separator").join(words))}

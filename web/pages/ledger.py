"""The risk ledger page (风险台账): every hazard with its deadline and re-inspections, filtered as the API filters it
(engine.reports.ledger), a page at a time, and downloaded as the quarterly safety review wants it (.xlsx or CSV,
the same file GET /api/v1/ledger/export gives)."""
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from engine.errors import HouqinError
from engine.people import directory
from engine.reports import ledger, periods
from web.api.ledger import export_response
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages import locations as places
from web.pages.common import ActorPage, csrf_protect, flash_error, language, redirect, render, roles

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/ledger")], include_in_schema=False)
Text = Annotated[str | None, Query(max_length=200)]
PAGE = 50
# The filters the page offers besides the ledger's own choice columns; what an export link carries on.
NAMED = ("status", "department", "place", "from", "to")


@router.get("/ledger")
def ledger_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
                page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    t = Translator(language(request, actor))
    found = ledger.ledger_for(session, None)
    asked = _asked(request, found)
    rows, total = [], 0
    try:
        _, rows, total = ledger.page(session, actor, _filters(session, found, asked, limit=PAGE, offset=(page - 1) * PAGE),
                                     clock.now())
    except HouqinError as exc:  # a date that is no date: said on the page, nothing listed
        flash_error(request, t, exc)
    return render(
        request, "ledger.html", actor, title=t.label(found.spec.title), rows=[_shown(found, row, t) for row in rows],
        total=total, page=page, pages=max(1, -(-total // PAGE)), asked=asked, query=urlencode(asked),
        columns=_choice_columns(found, t), headers=[_label(found, name, t) for name in found.spec.columns],
        own_department=found.spec.department_field is None, states=[(name, t.label(spec.label)) for name, spec in found.definition.states.items()],
        departments=[d.name for d, _ in directory.departments(session)], places=places.choices(session),
    )


@router.get("/ledger/export.{format}")
def ledger_export(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
                  format: Literal["xlsx", "csv"]):
    found = ledger.ledger_for(session, None)
    asked = _asked(request, found)
    try:
        return export_response(session, actor, _filters(session, found, asked), format, clock.now())
    except HouqinError as exc:
        flash_error(request, Translator(language(request, actor)), exc)
        return redirect(f"/ledger?{urlencode(asked)}")


def _asked(request: Request, found: ledger.Ledger) -> dict[str, str]:
    """The filters in the query string that the page knows: its named ones and the ledger's choice columns."""
    known = set(NAMED) | {name for name in found.spec.columns if found.definition.fields[name].type == "choice"}
    return {name: value[:200] for name, value in request.query_params.items() if name in known and value}


def _filters(session, found: ledger.Ledger, asked: dict[str, str], *, limit: int = PAGE, offset: int = 0) -> ledger.Filters:
    place = places.named(session, asked["place"]) if asked.get("place") else None
    return ledger.Filters(
        process=found.process, status=asked.get("status"), department=asked.get("department"),
        location_id=-1 if asked.get("place") and place is None else getattr(place, "id", None),  # no such place: none
        fields={name: value for name, value in asked.items() if name not in NAMED},
        start=periods.bound(asked.get("from"), name="from"), end=periods.bound(asked.get("to"), name="to", end=True),
        limit=limit, offset=offset)


def _choice_columns(found: ledger.Ledger, t: Translator) -> list[dict]:
    """The ledger's choice columns as filters: name, label and the choices with theirs."""
    out = []
    for name in found.spec.columns:
        spec = found.definition.fields[name]
        if spec.type == "choice":
            out.append({"name": name, "label": _label(found, name, t),
                        "choices": [(value, t.choice(value)) for value in spec.choices]})
    return out


def _label(found: ledger.Ledger, name: str, t: Translator) -> str:
    spec = found.definition.fields[name]
    return t.label(spec.label) if spec.label else name


def _shown(found: ledger.Ledger, row: dict, t: Translator) -> dict:
    """A ledger row as the page shows it: labels for choices and states, local times."""
    fields = found.definition.fields
    return {
        **row,
        "found_at": _local(row["found_at"]), "deadline": _local(row["deadline"]),
        "closed_out_at": _local(row["closed_out_at"]),
        "status": t.label(row["status_label"]) if row["status_label"] else row["status"],
        "cells": [t.choice(value, fields[name]) if fields[name].type == "choice" and value is not None else (value or "")
                  for name, value in row["fields"].items()],
    }


def _local(moment) -> str:
    return f"{periods.local(moment):%Y-%m-%d %H:%M}" if moment else ""

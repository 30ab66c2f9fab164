"""The appraisal page (绩效考核): the month's work per person and per team (engine.reports.appraisal), and
its spreadsheet, the same file GET /api/v1/appraisal/export gives."""
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from engine.errors import HouqinError
from engine.reports import appraisal
from web.api.appraisal import export_response, month_or_this
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages.common import ActorPage, csrf_protect, flash_error, language, redirect, render, roles

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/appraisal")], include_in_schema=False)
Month = Annotated[str | None, Query(max_length=7)]


@router.get("/appraisal")
def appraisal_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep, month: Month = None):
    t = Translator(language(request, actor))
    month = month_or_this(month, clock.now())
    found = {"people": [], "teams": []}
    try:
        found = appraisal.appraisal(session, actor, month)
    except HouqinError as exc:  # a month that is no month: said on the page, nothing listed
        flash_error(request, t, exc)
    return render(request, "appraisal.html", actor, month=month, people=found["people"], teams=found["teams"])


@router.get("/appraisal/export.xlsx")
def appraisal_export(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep, month: Month = None):
    month = month_or_this(month, clock.now())
    try:
        return export_response(session, actor, month, language(request, actor))
    except HouqinError as exc:
        flash_error(request, Translator(language(request, actor)), exc)
        return redirect("/appraisal")

"""The monthly appraisal (绩效考核): per person and per team, as figures and as the month's spreadsheet."""
import io
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session

from engine.people.users import Actor
from engine.reports import appraisal, periods
from web.api.ledger import XLSX
from web.deps import ActorDep, ClockDep, SessionDep
from web.i18n import Translator, reading
from web.public import AppraisalPublic, errors, files

router = APIRouter(tags=["appraisal"])
Month = Annotated[str | None, Query(max_length=7, description="the local month, e.g. 2026-11 (default: this month)")]
RATE = "0.0%"
# The spreadsheet's columns after the person or team: (figure, is a rate)
COLUMNS = [("done", False), ("points", False), ("on_time_rate", True), ("satisfaction_rate", True),
           ("ratings", False), ("reworked", False), ("rework_rate", True), ("urged", False), ("labour_minutes", False)]


def month_or_this(month: str | None, now: datetime) -> str:
    return month or f"{periods.local(now):%Y-%m}"


@router.get("/appraisal", responses=errors(401, 403, 422))
def get_appraisal(session: SessionDep, actor: ActorDep, clock: ClockDep, month: Month = None) -> AppraisalPublic:
    """The month's work per person and per team: work orders done, on-time rate, satisfaction (real
    ratings only), rework, urged, labour minutes and piece-rate points. Supervisors and leaders see
    everyone; a technician sees their own line and no teams."""
    return appraisal.appraisal(session, actor, month_or_this(month, clock.now()))


@router.get("/appraisal/export", response_class=Response,
            responses={**files(XLSX, description="the month's appraisal as a spreadsheet"), **errors(401, 403, 422)})
def export_appraisal(session: SessionDep, actor: ActorDep, clock: ClockDep, month: Month = None) -> Response:
    """The month's appraisal as an `.xlsx`: one sheet of people, one of teams, in the reader's language
    (Accept-Language)."""
    return export_response(session, actor, month_or_this(month, clock.now()), reading())


def export_response(session: Session, actor: Actor, month: str, language: str) -> Response:
    """The download (the appraisal page's too, in the language the user chose)."""
    t = Translator(language)
    found = appraisal.appraisal(session, actor, month)
    name = f"{t('appraisal.title')}-{month}.xlsx"
    headers = {"Content-Disposition": f"attachment; filename=\"appraisal-{month}.xlsx\"; filename*=UTF-8''{quote(name)}",
               "X-Content-Type-Options": "nosniff"}
    return Response(workbook(found, t), media_type=XLSX, headers=headers)


def workbook(found: dict, t: Translator) -> bytes:
    book = Workbook()
    people = book.active
    people.title = t("appraisal.people")
    _sheet(people, [t("appraisal.col.name"), t("appraisal.col.team")],
           [[row["name"], row["team"] or ""] for row in found["people"]], found["people"], t)
    if found["teams"]:
        _sheet(book.create_sheet(t("appraisal.teams")), [t("appraisal.col.team")],
               [[row["team"]] for row in found["teams"]], found["teams"], t)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet, heading: list[str], names: list[list], rows: list[dict], t: Translator) -> None:
    sheet.append(heading + [t(f"appraisal.col.{key}") for key, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for first, row in zip(names, rows):
        sheet.append(first + [row[key] for key, _ in COLUMNS])
        for offset, (_, rate) in enumerate(COLUMNS):
            if rate:
                sheet.cell(row=sheet.max_row, column=len(first) + offset + 1).number_format = RATE

"""The risk ledger (风险台账): filter it, page through it, export it for the quarterly review."""
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from engine.errors import FIELDS_INVALID, Invalid, problem
from engine.people.users import Actor
from engine.reports import ledger, periods
from web.deps import ActorDep, ClockDep, SessionDep
from web.public import LedgerPublic, errors, files

router = APIRouter(tags=["ledger"])
# Query parameters the routes name; any other one must be a column the ledger declares.
NAMED = {"process", "status", "department", "from", "to", "limit", "offset", "format", "location_id"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(request: Request, process, status, department, limit=50, offset=0, location_id=None) -> ledger.Filters:
    params = request.query_params
    extra = {}
    for name in params.keys():
        if name not in NAMED:
            if len(params.getlist(name)) > 1:
                raise Invalid(FIELDS_INVALID, [problem(name, "repeated")])
            if len(params[name]) > 200 or "\x00" in params[name]:
                raise Invalid(FIELDS_INVALID, [problem(name, "text_too_long_or_nul", max=200)])
            extra[name] = params[name]
    return ledger.Filters(
        process=process, status=status, department=department, fields=extra, limit=limit, offset=offset,
        location_id=location_id,
        start=periods.bound(params.get("from"), name="from"), end=periods.bound(params.get("to"), name="to", end=True),
    )


# No NUL characters: a database text cannot hold them.
Text = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
Place = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="a node of the location tree: it and everything under it")]


@router.get("/ledger", responses=errors(401, 404, 422))
def list_ledger(
    request: Request, session: SessionDep, actor: ActorDep, clock: ClockDep, process: Text = None, status: Text = None,
    department: Text = None, location_id: Place = None,
    start: Annotated[str | None, Query(alias="from", max_length=40, description="a day (2026-07-01) or a time with a zone")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40, description="a day (included) or a time with a zone")] = None,
    limit: Annotated[int, Query(ge=1, le=ledger.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> LedgerPublic:
    """Every work order of the ledger process as a row. Besides the named filters, each declared
    column of choice or text type filters by its name, e.g. `category=fire&risk_level=major`."""
    found, rows, total = ledger.page(session, actor, _filters(request, process, status, department, limit, offset, location_id),
                                     clock.now())
    return {
        "process": found.process, "title": found.spec.title.model_dump(),
        "columns": found.columns(actor.language), "items": rows, "total": total, "limit": limit, "offset": offset,
    }


@router.get("/ledger/export", response_class=Response,
            responses={**files(XLSX, "text/csv; charset=utf-8", description="the ledger as a spreadsheet or CSV"),
                       **errors(401, 404, 422)})
def export_ledger(
    request: Request, session: SessionDep, actor: ActorDep, clock: ClockDep, format: Literal["xlsx", "csv"] = "xlsx",
    process: Text = None, status: Text = None, department: Text = None, location_id: Place = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The filtered ledger as a spreadsheet (`.xlsx`) or CSV (UTF-8 with a byte-order mark), as a download."""
    return export_response(session, actor, _filters(request, process, status, department, location_id=location_id),
                           format, clock.now())


def export_response(session: Session, actor: Actor, filters: ledger.Filters, format: str, now: datetime) -> Response:
    """The ledger rows `filters` pick as a download named for the ledger and the day (the ledger page's too)."""
    found, rows = ledger.every_row(session, actor, filters, now)
    title = found.spec.title.en if actor.language == "en" else found.spec.title.zh
    stamp = f"{periods.local(now):%Y%m%d}"
    disposition = (f'attachment; filename="{found.process}-ledger-{stamp}.{format}"; '
                   f"filename*=UTF-8''{quote(f'{title}-{stamp}.{format}')}")
    headers = {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}
    if format == "csv":
        # Built whole while the session is open (a quarter's ledger is small).
        body = "".join(ledger.to_csv(found, rows, actor.language)).encode("utf-8")
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    return Response(ledger.to_xlsx(found, rows, actor.language), media_type=XLSX, headers=headers)

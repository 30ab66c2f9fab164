"""The cockpit (数据驾驶舱): the engine's dashboard figures, month by month, drawn as charts.

Every number comes from engine.reports.dashboard.figures (its `by_month` for the lines),
so a chart never disagrees with the API; the Excel export is engine.reports.workbook's
workbook of the month, as `houqin report` writes it.
"""
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import select

from engine import settings
from engine.errors import NotFound
from engine.people import directory
from engine.places import classes, health, locations
from engine.published import definitions
from engine.reports import periods, workbook as report
from engine.reports.dashboard import Scope, figures
from engine.reports.fault_trends import fault_trends
from engine.storage.models import Asset
from web.deps import ClockDep, SessionDep
from web.i18n import Translator
from web.pages import charts
from web.pages.common import ActorPage, csrf_protect, language, render, roles
from web.report_sheet import workbook

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/cockpit")], include_in_schema=False)
Text = Annotated[str | None, Query(max_length=100)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def first_month(now: datetime, count: int) -> datetime:
    """The start of the local month `count - 1` months before this one: the last `count` months, this one included."""
    local = now.astimezone(ZoneInfo(settings.timezone()))
    year, month = divmod(local.year * 12 + local.month - 1 - (count - 1), 12)
    return periods.month(f"{year:04d}-{month + 1:02d}")[0]


@router.get("/cockpit")
def cockpit_page(request: Request, session: SessionDep, actor: ActorPage, clock: ClockDep,
                 months: Annotated[int, Query(ge=2, le=24)] = 6, department: Text = None, process: Text = None,
                 level: Literal["building", "floor"] = "building", place: Text = None):
    t = Translator(language(request, actor))
    current = {row.key: definitions.compiled(session, row.key, row.version).definition
               for row in definitions.current_rows(session)}
    titles = {key: t.label(definition.title) for key, definition in current.items()}
    process = process if process in titles else None
    departments = [d.name for d, _ in directory.departments(session)]
    department = department if department in departments else None
    places = locations.upper_levels(session)
    location_id = next((node_id for node_id, code, _ in places if code == place), None)
    now = clock.now()
    since = first_month(now, months)
    scope = Scope(start=since, department=department, process=process, location_id=location_id)
    data = figures(session, actor, scope, now, monthly=True)
    monthly = data["by_month"]
    labels = [m["month"] for m in monthly]
    trend = charts.percent_lines(labels, {
        t("cockpit.on_time"): ("on-time", [m["on_time_rate"] for m in monthly]),
        t("cockpit.satisfaction"): ("satisfaction", [m["satisfaction_rate"] for m in monthly]),
    })
    volume = charts.bars([(m["month"], m["total"]) for m in monthly], keep_order=True)
    by_process = charts.bars([(titles.get(k, k), v) for k, v in data["by_process"].items()])
    by_department = charts.bars([(k or t("cockpit.no_department"), v) for k, v in data["by_department"].items()])
    by_location = charts.bars([(row["location"], row["count"]) for row in data["top_locations"]])
    faults_by = {key: definition.fault_field() for key, definition in current.items()}
    by_category = charts.bars([(f"{t.choice(row['category'], faults_by.get(row['process']))} · "
                                f"{titles.get(row['process'], row['process'])}", row["count"])
                               for row in data["top_categories"]])
    names = {p.username: p.display_name for p in directory.people(session)}
    labour = charts.bars([(names.get(row["technician"], row["technician"] or "—"), row["minutes"])
                          for row in data["labour_by_technician"]])
    faults = fault_trends(session, actor, scope, now, level=level)
    return render(
        request, "cockpit.html", actor, goals=goals_table(data, t), faults=faults, fault_charts=fault_charts(faults, t), overall=data, trend=trend, volume=volume, by_process=by_process,
        by_department=by_department, by_location=by_location, by_category=by_category, labour=labour,
        equipment=classes.current(), devices_open=_open_devices(session, actor, faults),
        months=months, processes=titles, departments=departments, this_month=labels[-1] if labels else "",
        places=places, chosen={"department": department or "", "process": process or "",
                               "place": place if location_id else ""},
    )


def goals_table(data: dict, t: Translator) -> list[dict]:
    """Each target against the period's figure and each month's, as the page words them."""
    monthly = {m["month"]: {row["name"]: row for row in m["targets"]} for m in data["by_month"]}
    rows = []
    for row in data["targets"]:
        amount = lambda value: _amount(row["unit"], value, t)  # noqa: E731
        rows.append({
            "label": t.label(row["label"]), "met": row["met"],
            "target": (t("cockpit.goals.at_most", value=amount(row["target"])) if row["lower_is_better"]
                       else t("cockpit.goals.at_least", value=amount(row["target"]))) if row["target"] is not None else "—",
            "actual": amount(row["actual"]),
            "gap": "" if row["gap"] is None else t("cockpit.goals.ahead" if row["gap"] >= 0 else "cockpit.goals.short",
                                                  by=amount(abs(row["gap"]))),
            "baseline": amount(row["baseline"]),
            "change": _signed(row["unit"], row["change"], t),
            "months": [{"month": name, "value": amount(line[row["name"]]["actual"]), "met": line[row["name"]]["met"]}
                       for name, line in monthly.items()],
        })
    return rows


def _signed(unit: str, change: float | None, t: Translator) -> str:
    """+1.2% or −3.0 分钟; ±0.0% for a change that rounds to nothing."""
    if change is None:
        return ""
    shown = round(abs(change) * 100 if unit == "rate" else abs(change), 1)
    sign = "±" if shown == 0 else "+" if change > 0 else "−"
    return sign + _amount(unit, abs(change), t)


def _amount(unit: str, value: float | None, t: Translator) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if unit == "rate" else t("cockpit.goals.minutes", n=f"{value:.1f}")


def _open_devices(session, actor, faults: dict) -> set[int]:
    """The trends' devices whose health file the reader may open: a department head sees the trends of every
    device their department's work was about, but opens only their own and the shared ones."""
    ids = [line["id"] for line in faults["by_asset"]]
    return {asset.id for asset in session.exec(select(Asset).where(Asset.id.in_(ids))).all() if health.may_see(actor, asset)}


def fault_charts(faults: dict, t: Translator) -> dict:
    """The devices that fail most and take longest to repair, as bars."""
    return {"most": charts.bars([(row["name"], row["failures"]) for row in faults["most_failures"]]),
            "longest": charts.bars([(row["name"], row["mttr_hours"]) for row in faults["longest_repairs"]],
                                   unit=t("health.hours_unit"))}


@router.get("/cockpit/export.xlsx")
def export(session: SessionDep, actor: ActorPage, clock: ClockDep, month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None):
    """The month's figures as the workbook `houqin report` writes, scoped to what the viewer may see."""
    now = clock.now()
    month = month or local_month(now)
    try:
        data = report.month_figures(session, month, actor=actor, now=now)
    except ValueError:
        raise NotFound("no_month", month=month) from None
    return Response(workbook(session, month, data, Translator(actor.language)), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="houqin-{month}.xlsx"'})


def local_month(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(settings.timezone())).strftime("%Y-%m")

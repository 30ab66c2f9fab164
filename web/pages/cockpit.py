"""The cockpit (数据驾驶舱): the engine's dashboard figures, month by month, drawn as charts.

Every number comes from engine.dashboard.figures; a month's line is the same
call scoped to that month, so a chart never disagrees with the API.
"""
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request

from engine import definitions, directory, settings
from engine.clock import clock
from engine.dashboard import Scope, figures
from web.deps import SessionDep
from web.i18n import Translator
from web.pages import charts
from web.pages.common import ActorPage, csrf_protect, language, render, roles

router = APIRouter(dependencies=[Depends(csrf_protect), roles("/cockpit")], include_in_schema=False)
Text = Annotated[str | None, Query(max_length=100)]


def month_starts(now: datetime, count: int) -> list[datetime]:
    """The first instants of the last `count` months in the hospital's time zone, oldest first, plus the next."""
    local = now.astimezone(ZoneInfo(settings.timezone()))
    year, month = local.year, local.month
    starts = []
    for back in range(count - 1, -2, -1):
        y, m = divmod((year * 12 + month - 1) - back, 12)
        starts.append(datetime(y, m + 1, 1, tzinfo=local.tzinfo))
    return starts


def export_link() -> str | None:
    """The Excel export, when the engine can write one (engine.report)."""
    try:
        from engine import report  # noqa: F401
    except ImportError:
        return None
    return "/cockpit/export.xlsx"


@router.get("/cockpit")
def cockpit_page(request: Request, session: SessionDep, actor: ActorPage,
                 months: Annotated[int, Query(ge=2, le=24)] = 6, department: Text = None, process: Text = None):
    t = Translator(language(request, actor))
    titles = {row.key: t.label(definitions.compiled(session, row.key, row.version).definition.title)
              for row in definitions.current_rows(session)}
    process = process if process in titles else None
    departments = [d.name for d, _ in directory.departments(session)]
    department = department if department in departments else None
    starts = month_starts(clock.now(), months)
    overall = figures(session, actor, Scope(start=starts[0], department=department, process=process))
    monthly = [figures(session, actor, Scope(start=a, end=b, department=department, process=process))
               for a, b in zip(starts, starts[1:])]
    labels = [start.strftime("%Y-%m") for start in starts[:-1]]
    trend = charts.percent_lines(labels, {
        t("cockpit.on_time"): ("on-time", [m["on_time_rate"] for m in monthly]),
        t("cockpit.satisfaction"): ("satisfaction", [m["satisfaction_rate"] for m in monthly]),
    })
    volume = charts.bars([(labels[i], m["total"]) for i, m in enumerate(monthly)])
    volume.bars.sort(key=lambda bar: bar.label)
    for index, bar in enumerate(volume.bars):
        bar.y = index * charts.ROW + 4
    by_process = charts.bars([(titles.get(k, k), v) for k, v in overall["by_process"].items()])
    by_department = charts.bars([(k or t("cockpit.no_department"), v) for k, v in overall["by_department"].items()])
    locations = overall.get("top_locations")
    by_location = charts.bars([(row["location"], row["count"]) for row in locations]) if locations else None
    return render(
        request, "cockpit.html", actor, overall=overall, trend=trend, volume=volume, by_process=by_process,
        by_department=by_department, by_location=by_location, months=months, since=starts[0],
        processes=titles, departments=departments, chosen={"department": department or "", "process": process or ""},
        export=export_link(),
    )

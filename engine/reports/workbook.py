"""The month's cockpit figures as a workbook (月度报表) for the logistics meeting and the appraisal.

The numbers are exactly those of `engine.reports.dashboard.figures` for the local month;
each sheet's headings are in Chinese and English.
"""
import io
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session

from engine.people.users import Actor
from engine.reports import periods
from engine.reports.dashboard import Scope, figures

RATE = "0.0%"
# (key in the figures, Chinese, English, is a rate)
SUMMARY = [
    ("total", "工单总数", "Work orders", False),
    ("completed", "已办结", "Completed", False),
    ("completion_rate", "工单完成率", "Completion rate", True),
    (("response_minutes", "median"), "响应时间中位数（分钟，工作时间）", "Median response (working minutes)", False),
    (("response_minutes", "p90"), "响应时间90分位（分钟，工作时间）", "90th percentile response (working minutes)", False),
    ("average_response_minutes", "平均响应时间（分钟，工作时间）", "Average response (working minutes)", False),
    ("on_time_rate", "及时率", "On-time rate", True),
    ("reopen_rate", "返修率", "Reopen rate", True),
    ("urged", "被催办工单", "Work orders urged", False),
    ("urges", "催办次数", "Urges", False),
    ("satisfaction_rate", "满意度（实评）", "Satisfaction (real ratings)", True),
    ("ratings", "实评数", "Real ratings", False),
    ("average_rating", "平均评分", "Average rating", False),
    ("auto_confirmed", "超时自动确认", "Auto-confirmed", False),
    ("auto_confirmed_share", "自动确认占比", "Auto-confirmed share", True),
    ("overdue", "当前逾期", "Overdue now", False),
    ("breached", "曾经逾期", "Missed a deadline", False),
    ("escalated", "升级未办结", "Escalated, open", False),
    ("escalated_total", "升级合计", "Escalated in all", False),
    ("hazards_open", "隐患未销号", "Hazards open", False),
    ("hazards_closed_out", "隐患已销号", "Hazards closed out", False),
    ("labour_minutes", "工时合计（分钟）", "Labour (minutes)", False),
]


def month_figures(session: Session, month: str, *, actor: Actor | None = None, now: datetime) -> dict:
    """The cockpit's figures for a local month `YYYY-MM` (all work orders when `actor` is None)."""
    start, end = periods.month(month)
    return figures(session, actor, Scope(start=start, end=end), now)


def workbook(month: str, data: dict) -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = "概览 Summary"
    _heading(summary, [f"{month} 指标", "Figure", "数值 Value"])
    for key, zh, en, rate in SUMMARY:
        value = data[key[0]][key[1]] if isinstance(key, tuple) else data[key]
        summary.append([zh, en, value])
        if rate:
            summary.cell(row=summary.max_row, column=3).number_format = RATE
    _table(book, "及时率 On time", ["流程 Process", "时限 Timer", "名称 Name", "按时 Met", "已结束 Ended", "及时率 Rate",
                                     "平均用时（分钟） Average (min)"],
           [[t["process"], t["timer"], (t["label"] or {}).get("zh"), t["met"], t["ended"], t["rate"], t["average_minutes"]]
            for t in data["timers"]], rate_column=6)
    _table(book, "响应 Response", ["流程 Process", "时限 Timer", "数量 Count", "平均 Average", "中位数 Median", "90分位 P90"],
           [[key, r["timer"], r["count"], r["average"], r["median"], r["p90"]] for key, r in data["response_by_process"].items()])
    _table(book, "工时 Labour", ["人员 Technician", "工时（分钟） Minutes", "工单数 Work orders"],
           [[r["technician"], r["minutes"], r["work_orders"]] for r in data["labour_by_technician"]])
    _table(book, "故障类别 Faults", ["流程 Process", "类别 Category", "数量 Count"],
           [[r["process"], r["category"], r["count"]] for r in data["top_categories"]])
    _table(book, "故障地点 Locations", ["地点 Location", "数量 Count"],
           [[r["location"], r["count"]] for r in data["top_locations"]])
    _table(book, "科室 Departments", ["科室 Department", "数量 Count"], [[k, v] for k, v in data["by_department"].items()])
    _table(book, "流程 Processes", ["流程 Process", "数量 Count"], [[k, v] for k, v in data["by_process"].items()])
    _table(book, "目标 Targets", ["目标", "Target", "目标值 Target value", "本期 Actual", "达标 Met", "基线 Baseline",
                                  "较基线 Change"],
           [[t["label"]["zh"], t["label"]["en"], t["target"], t["actual"], _met(t["met"]), t["baseline"], t["change"]]
            for t in data["targets"]], rate_column=[3, 4, 6, 7], rate_rows=[t["unit"] == "rate" for t in data["targets"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _heading(sheet, names: list[str]) -> None:
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _met(met: bool | None) -> str:
    return "" if met is None else "达标 Met" if met else "未达标 Missed"


def _table(book: Workbook, title: str, names: list[str], rows: list[list], rate_column: int | list[int] | None = None,
           rate_rows: list[bool] | None = None) -> None:
    """A sheet of `rows`; the `rate_column`s as percentages (in the rows `rate_rows` marks, when given)."""
    sheet = book.create_sheet(title)
    _heading(sheet, names)
    columns = [rate_column] if isinstance(rate_column, int) else rate_column or []
    for index, row in enumerate(rows):
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a location typed by a user stays text, never a formula
        if rate_rows is None or rate_rows[index]:
            for column in columns:
                sheet.cell(row=sheet.max_row, column=column).number_format = RATE


def write(session: Session, month: str, path: Path | None = None, *, now: datetime) -> Path:
    path = Path(path or f"houqin-report-{month}.xlsx")
    path.write_bytes(workbook(month, month_figures(session, month, now=now)))
    return path

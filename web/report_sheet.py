"""The month's cockpit figures as a workbook (月度报表) for the logistics meeting and the appraisal.

The numbers are exactly those of `engine.reports.dashboard.figures` for the local month
(engine.reports.workbook.month_figures); every word is in the reader's language: headings from
the catalogue, processes, timers, states and categories by their definitions' labels, people by
their display names.
"""
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, select

from engine.published import definitions as published
from engine.storage.models import User
from web.i18n import Translator
from workflows.schema import ProcessDefinition

RATE = "0.0%"
# (key in the figures, is a rate): each named by the catalogue's report.figure.<name> (the key's last part)
SUMMARY = [
    ("total", False), ("completed", False), ("completion_rate", True), (("response_minutes", "median"), False),
    (("response_minutes", "p90"), False), ("average_response_minutes", False), ("on_time_rate", True),
    ("reopen_rate", True), ("urged", False), ("urges", False), ("satisfaction_rate", True), ("ratings", False),
    ("average_rating", False), ("auto_confirmed", False), ("auto_confirmed_share", True), ("overdue", False),
    ("breached", False), ("escalated", False), ("escalated_total", False), ("hazards_open", False),
    ("hazards_closed_out", False), ("labour_minutes", False),
]


def workbook(session: Session, month: str, data: dict, t: Translator) -> bytes:
    """The workbook of `data` (month_figures) for a reader of `t`'s language."""
    processes = {row.key: published.compiled(session, row.key, row.version).definition
                 for row in published.current_rows(session)}
    said = _Words(t, processes, _display_names(session, data))
    book = Workbook()
    summary = book.active
    summary.title = t("report.sheet.summary")
    _heading(summary, [t("report.col.figure", month=month), t("report.col.value")])
    for key, rate in SUMMARY:
        name = key[1] if isinstance(key, tuple) else key
        summary.append([t(f"report.figure.{'response_' + name if isinstance(key, tuple) else name}"),
                        data[key[0]][key[1]] if isinstance(key, tuple) else data[key]])
        if rate:
            summary.cell(row=summary.max_row, column=2).number_format = RATE
    _table(book, t("report.sheet.on_time"), [t(f"report.col.{c}") for c in ("process", "timer", "met", "ended", "rate",
                                                                            "average_minutes")],
           [[said.process(r["process"]), t.label(r["label"]) if r["label"] else r["timer"], r["met"], r["ended"],
             r["rate"], r["average_minutes"]] for r in data["timers"]], rate_column=5)
    _table(book, t("report.sheet.response"), [t(f"report.col.{c}") for c in ("process", "timer", "count", "average",
                                                                             "median", "p90")],
           [[said.process(key), said.timer(key, r["timer"]), r["count"], r["average"], r["median"], r["p90"]]
            for key, r in data["response_by_process"].items()])
    _table(book, t("report.sheet.labour"), [t(f"report.col.{c}") for c in ("technician", "minutes", "work_orders")],
           [[said.person(r["technician"]), r["minutes"], r["work_orders"]] for r in data["labour_by_technician"]])
    _table(book, t("report.sheet.faults"), [t(f"report.col.{c}") for c in ("process", "category", "count")],
           [[said.process(r["process"]), said.category(r["process"], r["category"]), r["count"]]
            for r in data["top_categories"]])
    _table(book, t("report.sheet.locations"), [t("report.col.location"), t("report.col.count")],
           [[r["location"], r["count"]] for r in data["top_locations"]])
    _table(book, t("report.sheet.departments"), [t("report.col.department"), t("report.col.count")],
           [[name or t("cockpit.no_department"), count] for name, count in data["by_department"].items()])
    _table(book, t("report.sheet.processes"), [t("report.col.process"), t("report.col.count")],
           [[said.process(key), count] for key, count in data["by_process"].items()])
    _table(book, t("report.sheet.targets"), [t(f"report.col.{c}") for c in ("target", "target_value", "actual", "met",
                                                                           "baseline", "change")],
           [[t.label(r["label"]), r["target"], r["actual"], _met(r["met"], t), r["baseline"], r["change"]]
            for r in data["targets"]], rate_column=[2, 3, 5, 6], rate_rows=[r["unit"] == "rate" for r in data["targets"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class _Words:
    """Internal keys as a reader says them: a process by its title, a timer and a category by their labels."""

    def __init__(self, t: Translator, processes: dict[str, ProcessDefinition], people: dict[str, str]):
        self.t, self.processes, self.people = t, processes, people

    def process(self, key: str) -> str:
        found = self.processes.get(key)
        return self.t.label(found.title) if found else key

    def timer(self, key: str, name: str | None) -> str:
        spec = self.processes[key].sla.get(name) if key in self.processes and name else None
        return self.t.label(spec.label) if spec and spec.label else name or ""

    def category(self, key: str, value: str) -> str:
        found = self.processes.get(key)
        return self.t.choice(value, found.fault_field() if found else None)

    def person(self, username: str | None) -> str:
        return self.people.get(username, username or "")


def _display_names(session: Session, data: dict) -> dict[str, str]:
    usernames = {row["technician"] for row in data["labour_by_technician"] if row["technician"]}
    rows = session.exec(select(User.username, User.display_name).where(User.username.in_(usernames))).all() \
        if usernames else []
    return {username: shown or username for username, shown in rows}


def _heading(sheet, names: list[str]) -> None:
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _met(met: bool | None, t: Translator) -> str:
    return "" if met is None else t("cockpit.goals.met") if met else t("cockpit.goals.missed")


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

"""The month's cockpit figures (月度报表): the numbers of `engine.reports.dashboard.figures` for a local month.

The workbook that holds them, in the reader's language, is written by the web layer (web/report_sheet.py):
the page's export and `houqin report`.
"""
from datetime import datetime

from sqlmodel import Session

from engine.people.users import Actor
from engine.reports import periods
from engine.reports.dashboard import Scope, figures


def month_figures(session: Session, month: str, *, actor: Actor | None = None, now: datetime) -> dict:
    """The cockpit's figures for a local month `YYYY-MM` (all work orders when `actor` is None)."""
    start, end = periods.month(month)
    return figures(session, actor, Scope(start=start, end=end), now)

"""What a what-if is run against: a draft process definition, or a draft calendars file.

A draft is read as publishing would read it (the same checks, each problem at its line and column), and
must stand beside something in force: a process draft needs a published process of the same key, a
calendars draft must still define every calendar a published process names (their work would start on it).
Nothing is stored.
"""
import re
from dataclasses import dataclass

from sqlmodel import Session

from engine.published import definitions
from engine.sla import calendar
from workflows.calendars import BusinessCalendar, CalendarError, load_calendars
from workflows.errors import DefinitionError, Problem
from workflows.schema import ProcessDefinition

_TOP_CALENDARS = re.compile(r"^calendars\s*:", re.M)
_TOP_KEY = re.compile(r"^key\s*:", re.M)
_WHERE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$", re.S)


@dataclass(frozen=True)
class Draft:
    """Either a process (`definition`) or calendars (`calendars`, by name); `text` as given."""

    text: str
    file: str
    definition: ProcessDefinition | None = None
    calendars: dict[str, BusinessCalendar] | None = None

    @property
    def kind(self) -> str:
        return "process" if self.definition is not None else "calendars"


def read(session: Session, text: str, file: str = "<draft>") -> Draft:
    """The draft in `text`; DefinitionError (file:line:col for each problem) when it cannot be simulated."""
    if _looks_like_calendars(text):
        return Draft(text=text, file=file, calendars=_calendars(session, text, file))
    definition = definitions.parse(text, file, session)
    if definitions.latest(session, definition.key) is None:
        raise DefinitionError([Problem(file, 1, 1, f"no published process '{definition.key}' to compare with: a "
                                                   f"what-if replays the history of a process in force")])
    return Draft(text=text, file=file, definition=definition)


def _looks_like_calendars(text: str) -> bool:
    """A calendars file has a top-level `calendars:` and no process `key:` (anything else is read as a process,
    whose loader then names what is wrong). Told from the text, not by parsing it twice."""
    return bool(_TOP_CALENDARS.search(text)) and not _TOP_KEY.search(text)


def _calendars(session: Session, text: str, file: str) -> dict[str, BusinessCalendar]:
    try:
        table = load_calendars(text=text)
    except CalendarError as exc:
        raise DefinitionError([_problem(exc, file)]) from None
    missing = sorted(_in_use(session) - set(table))
    if missing:
        raise DefinitionError([Problem(file, 1, 1, f"calendar '{name}' is used by a published process but not "
                                                   f"defined here") for name in missing])
    return table


def _problem(exc: CalendarError, file: str) -> Problem:
    """A CalendarError's `<calendars>:line:col: message` as a Problem of `file`, with its code and params."""
    message = str(exc)
    match = _WHERE.match(message)
    if match is None:
        return Problem(file, 1, 1, message, exc.code, exc.params)
    return Problem(file, int(match["line"]), int(match["column"]), match["message"], exc.code, exc.params)


def _in_use(session: Session) -> set[str]:
    used = set()
    for row in definitions.current_rows(session):
        definition = definitions.compiled(session, row.key, row.version).definition
        used |= {target.calendar for timer in definition.sla.values() for target in timer.targets.values()}
    return used


def in_force(session: Session) -> dict[str, BusinessCalendar]:
    """The calendars new timers start on now, by name."""
    return calendar.calendars(session, calendar.newest(session))

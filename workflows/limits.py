"""The bounds of the definition language: what Houqin refuses because it could not honour it.

A definition (or a schedule, or a calendars file) is data sent by whoever holds
the designer's role, and everything it declares is later run by the engine on
every work order of its process. Each bound here keeps that work finite and
small, far beyond what a real hospital process needs; each message that
refuses a value names its bound, so the designer knows what to write instead.
"""

# --- the text ------------------------------------------------------------------------------
# The shipped definitions are 3-7 KB; a process thirty times larger still fits.
MAX_TEXT_BYTES = 256 * 1024
# Maps, lists and values inside each other; the shipped files reach 7 (dispatch.rules[0].when.category[0]).
MAX_DEPTH = 32
# The values a document holds once every alias (`*name`) is read as a copy of what it names: an
# alias is a reference, and a few hundred bytes of aliases of aliases stand for billions of values
# that anything walking the document (pydantic, a copy, a dump) would visit one by one.
MAX_NODES = 100_000

# --- what the engine runs --------------------------------------------------------------------
# A span of time: an SLA target, a rung's shift from the due time, an auto-confirmation wait, an
# offer's time to accept, a schedule's interval. Due times are computed by walking the calendar
# day by day, so a span is bounded by days, whatever its unit.
MAX_SPAN_DAYS = 366
MAX_SPAN_MINUTES = MAX_SPAN_DAYS * 24 * 60
# A rung's share of its target (`80%`; past 100% is after the due time): more than 0, at most this.
MAX_RUNG_PERCENT = 1000
# Ladder levels (0 warns, 1 and up escalate); stored per timer as an integer.
MAX_LEVEL = 99
# A guard condition is walked recursively on every decision about its event.
MAX_CONDITION_LENGTH = 1000
MAX_CONDITION_DEPTH = 20
# State and event names appear as they are in the diagram, URLs, the API and the database.
NAME_PATTERN = r"[a-z][a-z0-9_]{0,47}"

# --- what a work order holds -------------------------------------------------------------------
# Every field value is bounded by its declared type, before anything is stored, so that no work
# order can be too large or too deep to send to whoever lists it. A list holds values of one
# scalar type (`items`), never lists; the bounds below are the defaults and the most a definition
# may declare.
LIST_ITEMS = 50
MAX_LIST_ITEMS = 1000
STRING_LENGTH = 500  # a `string` (one line: a supplier's name, a part)
TEXT_LENGTH = 2000  # a `text` (a paragraph: findings, a follow-up call's notes)
MAX_TEXT_LENGTH = 20_000
USER_LENGTH = 64  # a username, as the users table stores it
# Numbers are finite and within what every JSON reader (JavaScript's included) reads exactly.
MAX_NUMBER = 2**53 - 1
# One work order's fields together, as JSON (UTF-8): a hundred form fields fit many times over.
MAX_FIELDS_BYTES = 64 * 1024

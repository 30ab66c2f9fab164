"""JSON columns that every stored row can be read from, whatever it holds.

Field values are bounded before they are stored (workflows.fields), but rows written before
the bounds may hold a value nested thousands of levels deep, tens of megabytes long, or with
numbers no JSON reader takes back (NaN, a 5,000-digit integer). Read as plain JSON, one such
row fails every list it appears in, for everyone. So the columns holding what people typed
(a work order's fields, a history row's data) are read as text and decoded here, within
bounds: a value nested deeper than MAX_DEPTH and a number that is not a finite JSON number are
replaced by a placeholder string, and a text too large to send or too broken to parse becomes
a document holding only the placeholder. Nothing is rewritten in the database; the next
edit of the work order replaces what was unreadable.

Why the text: psycopg decodes JSON columns itself, in the cursor, before SQLAlchemy's result
processing would see them (a RecursionError there has no value to replace), so the column is
selected as `CAST(... AS TEXT)` on every database, and decoded by `_BoundedText` below. The
column stays JSON in the schema. SQL over its contents (`fields['category']`, the cockpit's sums)
reads a row SQLite's JSON functions cannot parse (nested past their depth) as NULL, not as an
error that fails the whole query.
"""
import json
import math

from sqlalchemy import JSON, Text, cast, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# A stored document nested deeper than this is cut here (what is stored reaches 3: a history
# row's {"fields": {"parts": [...]}}).
MAX_DEPTH = 16
# Room for the largest integers JSON readers take exactly (2**53: 16 digits) and a sign.
MAX_INTEGER_DIGITS = 17
UNREADABLE = "[unreadable: stored before values were bounded]"
# The key a whole document that could not be read is kept under, beside nothing else.
UNREADABLE_KEY = "unreadable"


def is_unreadable(value) -> bool:
    """Whether `value` is the placeholder of something that could not be read."""
    return value == UNREADABLE


def decode(text, max_length: int) -> dict:
    """The stored document, every part of it readable and sendable as JSON."""
    if text is None:
        return None
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="replace")
    if len(text) > max_length:
        return {UNREADABLE_KEY: UNREADABLE}
    try:
        value = json.loads(text, parse_constant=_unreadable, parse_float=_float, parse_int=_int)
    except (ValueError, RecursionError):
        return {UNREADABLE_KEY: UNREADABLE}
    if text.count("[") + text.count("{") > MAX_DEPTH:  # else it cannot be nested that deep
        value = _cut(value)
    return value if isinstance(value, dict) else {UNREADABLE_KEY: UNREADABLE}


def _unreadable(_text):
    return UNREADABLE


def _float(text: str):
    number = float(text)
    return number if math.isfinite(number) else UNREADABLE


def _int(text: str):
    return int(text) if len(text) <= MAX_INTEGER_DIGITS else UNREADABLE


def _cut(document):
    """`document` with every list or mapping at MAX_DEPTH replaced by the placeholder (without recursing:
    a stored document may be deeper than Python's stack)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in keys:
            child = node[key]
            if isinstance(child, (dict, list)):
                if depth >= MAX_DEPTH and child:
                    node[key] = UNREADABLE
                else:
                    stack.append((child, depth + 1))
    return document


class _BoundedText(TypeDecorator):
    """The result type of a StoredJSON column read as text: decoded within bounds."""

    impl = Text
    cache_ok = True

    def __init__(self, max_length: int):
        super().__init__()
        self.max_length = max_length

    def process_result_value(self, value, dialect):
        return decode(value, self.max_length)


class _Readable(FunctionElement):
    """A JSON column where the database can parse the row, else NULL."""

    inherit_cache = True

    def __init__(self, column):
        super().__init__(column)
        self.type = JSON()


@compiles(_Readable)
def _as_stored(element, compiler, **kw):
    # PostgreSQL parsed every row when it was stored, with the same parser its operators use.
    return compiler.process(element.clauses, **kw)


@compiles(_Readable, "sqlite")
def _where_valid(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"CASE WHEN json_valid({column}) THEN {column} END"


class StoredJSON(TypeDecorator):
    """A JSON column of mappings, read within bounds: at most `max_length` characters of text, nested at most MAX_DEPTH."""

    impl = JSON
    cache_ok = True

    class Comparator(TypeDecorator.Comparator):
        def operate(self, op, *other, **kwargs):
            if op is operators.getitem:  # fields['category'], data[('fields', 'labour')]
                return type_coerce(_Readable(self.expr), JSON())[other[0]]
            return super().operate(op, *other, **kwargs)

    comparator_factory = Comparator

    def __init__(self, max_length: int):
        super().__init__()
        self.max_length = max_length

    def column_expression(self, column):
        return cast(column, _BoundedText(self.max_length))

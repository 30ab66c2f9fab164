"""Reading YAML that anyone with the designer's role may send: bounded in size, depth and aliases.

ruamel.yaml composes an alias (`*name`) as a reference to the node it names, so
loading a "billion laughs" document is quick and small; the cost comes later,
when anything walks the document as a tree (our `_plain`, pydantic, a copy)
and visits each reference again. So the bound is kept where the document is
composed: while composing, every node counts the values it would have if its
aliases were copies, and the text is refused at the alias that passes the
bound, before anything can walk it. Nesting is bounded there too (composing is
recursive, and so is every walk after it), and an alias inside the node it
names, which no walk could finish, is refused outright. Flow brackets (`[[[...`)
are counted as they are scanned: the scanner looks up to 1024 characters ahead
for a key in each, which deep brackets would make quadratic.

Every refusal is a `LimitExceeded` (a ruamel `MarkedYAMLError`), so callers
report it at its line and column as they report a syntax error.
"""
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, StreamMark
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.scanner import RoundTripScanner

from workflows.limits import MAX_DEPTH, MAX_NODES, MAX_TEXT_BYTES


class LimitExceeded(MarkedYAMLError):
    """The text is beyond what the language reads; `problem` says which bound and `problem_mark` where."""

    def __init__(self, problem: str, mark):
        super().__init__(problem=problem, problem_mark=mark)


def read(text: str):
    """The document in `text` (ruamel's commented maps and lists), or LimitExceeded, or a YAML error."""
    _check_size(text)
    reader = YAML(typ="rt")
    reader.Scanner = _BoundedScanner
    reader.Composer = _BoundedComposer
    reader.max_depth = MAX_DEPTH
    try:
        return reader.load(text)
    except MaxDepthExceededError as exc:
        raise _too_deep(exc.problem_mark) from None


def _too_deep(mark) -> "LimitExceeded":
    return LimitExceeded(f"the values are nested more than {MAX_DEPTH} levels deep; a definition needs far fewer", mark)


def _check_size(text: str) -> None:
    # A text of more characters than the bound has more bytes too; only a shorter one is encoded.
    if len(text) <= MAX_TEXT_BYTES and len(text.encode("utf-8")) <= MAX_TEXT_BYTES:
        return
    within = text.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")
    mark = StreamMark(None, len(within), within.count("\n"), len(within) - within.rfind("\n") - 1)
    raise LimitExceeded(f"the text is larger than {MAX_TEXT_BYTES // 1024} KB ({MAX_TEXT_BYTES} bytes), "
                        "the most a definition may be; it passes that here", mark)


class _BoundedScanner(RoundTripScanner):
    def fetch_flow_collection_start(self, TokenClass, to_push):
        if self.flow_level >= MAX_DEPTH:
            raise _too_deep(self.reader.get_mark())
        super().fetch_flow_collection_start(TokenClass, to_push)


class _BoundedComposer(Composer):
    """ruamel's composer, counting each node as the values it stands for (an alias: all it names)."""

    def __init__(self, loader=None):
        super().__init__(loader)
        self._values = 0  # composed so far, aliases counted as copies
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its values, once it is complete

    def compose_node(self, parent, index):
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            named = self.anchors.get(event.anchor)
            if named is not None:  # an undefined alias is ruamel's own error
                size = self._sizes.get(id(named))
                if size is None:
                    raise LimitExceeded(f"the alias *{event.anchor} is inside the value it names, "
                                        "which would repeat for ever", event.start_mark)
                self._count(size, event)
            return super().compose_node(parent, index)
        before = self._values
        self._count(1, event)
        node = super().compose_node(parent, index)
        if node.anchor is not None:
            self._sizes[id(node)] = self._values - before
        return node

    def _count(self, values: int, event) -> None:
        self._values += values
        if self._values > MAX_NODES:
            raise LimitExceeded(f"the document holds more than {MAX_NODES} values, counting each alias "
                                "(*name) as a copy of what it names; write less, or use fewer aliases",
                                event.start_mark)

"""Guard conditions such as `amount >= 50000 and urgency == "high"`.

A condition comes from a YAML file a designer edits, so it is never handed to
`eval`: it is parsed with Python's own expression grammar and then walked here,
allowing only comparisons, `and`/`or`/`not`, names, literals and lists. Its
length and nesting are bounded (workflows.limits) before and after parsing:
Python's parser and the walk below are both recursive, and a condition is walked
on every decision about its event.
"""
import ast
import operator
from dataclasses import dataclass

from workflows.limits import MAX_CONDITION_DEPTH, MAX_CONDITION_LENGTH

_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class ConditionSyntaxError(ValueError):
    """`message` in English (the command line's); `code` and `params` for the catalogue (`errors.<code>`)."""

    def __init__(self, message: str, offset: int = 0, code: str | None = None, **params):
        self.offset = offset
        self.code, self.params = code, params
        super().__init__(message)


class ConditionFailed(Exception):
    """Raised while evaluating when a value the condition needs is missing or not comparable."""


@dataclass(frozen=True)
class Condition:
    source: str
    tree: ast.Expression

    def names(self) -> set[str]:
        return {node.id for node in ast.walk(self.tree) if isinstance(node, ast.Name)}

    def holds(self, values: dict) -> bool:
        try:
            return bool(_evaluate(self.tree.body, values))
        except ConditionFailed:
            return False


def parse(source: str) -> Condition:
    if len(source) > MAX_CONDITION_LENGTH:
        raise ConditionSyntaxError(f"the condition is {len(source)} characters long; at most {MAX_CONDITION_LENGTH} "
                                   "are allowed: split it over fields, or several events", 0,
                                   "definition_condition_too_long", length=len(source), limit=MAX_CONDITION_LENGTH)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    # ValueError: e.g. a NUL character; MemoryError and RecursionError: "too complex" from Python's parser.
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc) or "it is nested too deeply"
        offset = (exc.offset or 1) - 1 if isinstance(exc, SyntaxError) else 0
        raise ConditionSyntaxError(f"condition '{source}' does not parse: {message}", offset,
                                   "definition_condition_syntax", condition=source, detail=str(message)) from None
    depth = _depth(tree)
    if depth > MAX_CONDITION_DEPTH:
        raise ConditionSyntaxError(f"the condition nests {depth} levels deep; at most {MAX_CONDITION_DEPTH} "
                                   "are allowed: write it flatter", 0, "definition_condition_depth", depth=depth,
                                   limit=MAX_CONDITION_DEPTH)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConditionSyntaxError(
                f"condition '{source}' uses {type(node).__name__}, which is not allowed: "
                "use comparisons, and/or/not, field names, numbers, strings and lists",
                getattr(node, "col_offset", 0),
                "definition_condition_not_allowed", condition=source, node=type(node).__name__,
            )
    return Condition(source, tree)


def _depth(tree: ast.AST) -> int:
    """How deeply the expression nests, found without recursion (so no depth can overflow the stack)."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
    ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, *_COMPARE,
)


def _evaluate(node: ast.AST, values: dict):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if values.get(node.id) is None:
            raise ConditionFailed(f"{node.id} is not set")
        return values[node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(item, values) for item in node.elts]
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise ConditionFailed(f"cannot negate {operand!r}: it is not a number")
        return -operand
    if isinstance(node, ast.BoolOp):
        results = (_evaluate(value, values) for value in node.values)
        return all(results) if isinstance(node.op, ast.And) else any(results)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, values)
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, values)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ConditionFailed(f"cannot compare {left!r} with {right!r}") from None
            left = right
        return True
    raise ConditionFailed(f"unsupported expression {type(node).__name__}")

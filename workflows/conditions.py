"""Guard conditions such as `amount >= 50000 and urgency == "high"`.

A condition comes from a YAML file a designer edits, so it is never handed to
`eval`: it is parsed with Python's own expression grammar and then walked here,
allowing only comparisons, `and`/`or`/`not`, names, literals and lists.
"""
import ast
import operator
from dataclasses import dataclass

_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class ConditionSyntaxError(ValueError):
    def __init__(self, message: str, offset: int = 0):
        self.offset = offset
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
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionSyntaxError(f"condition '{source}' does not parse: {exc.msg}", (exc.offset or 1) - 1)
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConditionSyntaxError(
                f"condition '{source}' uses {type(node).__name__}, which is not allowed: "
                "use comparisons, and/or/not, field names, numbers, strings and lists",
                getattr(node, "col_offset", 0),
            )
    return Condition(source, tree)


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
        return (not operand) if isinstance(node.op, ast.Not) else -operand
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

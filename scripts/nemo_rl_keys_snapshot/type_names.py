"""What the type names of NeMo-RL's annotations mean for a config key, and the small parsing
helpers of annotations."""

from __future__ import annotations

import ast
import json

from .node import Node

WRAPPERS = frozenset({"NotRequired", "Required", "Optional", "Final", "ReadOnly", "Annotated"})
UNIONS = frozenset({"Union"})
MAPPINGS = frozenset({"dict", "Dict", "Mapping", "MutableMapping", "DefaultDict", "OrderedDict"})
SEQUENCES = frozenset({"list", "List", "Sequence", "MutableSequence", "tuple", "Tuple", "set"})
# Type names whose value is a plain YAML scalar, and the kind a snapshot calls it.
SCALARS = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "None": "None",
    "NoneType": "None",
    "Path": "str",
    "PathLike": "str",
    "bytes": "str",
    "PositiveInt": "int",
    "NonNegativeInt": "int",
    "PositiveFloat": "float",
    "NonNegativeFloat": "float",
    "Callable": "any",
    "Literal": "any",
}
OPEN = frozenset({"Any", "object"})


def unsubscripted(expr: ast.expr) -> ast.expr:
    """`X` of `X[...]`; any other expression as it is."""
    return expr.value if isinstance(expr, ast.Subscript) else expr


def forward_reference(text: str) -> ast.expr | None:
    """The annotation a string annotation spells, or None where it is no expression."""
    try:
        return ast.parse(text, mode="eval").body
    except SyntaxError:
        return None


def is_classvar(expr: ast.expr) -> bool:
    target = unsubscripted(expr)
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "ClassVar"


def literal_kind(expr: ast.expr) -> str:
    """A Literal's value as JSON (`"simple"`, `true`, `3`); `any` for what YAML cannot spell."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, int, float, bool)):
        return json.dumps(expr.value)
    if isinstance(expr, ast.Constant) and expr.value is None:
        return "None"
    return "any"


def named_node(name: str, unresolved: set[str]) -> Node:
    """The node of a type name defined outside nemo_rl; names it does not know go to
    `unresolved`."""
    if name in OPEN:
        return Node(open=True, kinds={"any"})
    if name in MAPPINGS:
        return Node(open=True, kinds={"dict"})
    if name in SEQUENCES:
        return Node(item=Node(open=True, kinds={"any"}), kinds={"list"})
    if name not in SCALARS:
        unresolved.add(name)
    return Node(kinds={SCALARS.get(name, "any")})

"""Key trees of NeMo-RL's config classes (TypedDicts, pydantic models) from their annotations."""

from __future__ import annotations

import ast

from .node import Node, union
from .resolve import Module, Resolver
from .source import Source
from .type_names import (
    MAPPINGS,
    SCALARS,
    SEQUENCES,
    UNIONS,
    WRAPPERS,
    forward_reference,
    is_classvar,
    literal_kind,
    named_node,
    unsubscripted,
)

SCHEMA_BASES = frozenset({"TypedDict", "BaseModel"})


class Schema(Resolver):
    """Resolves annotations of NeMo-RL's config classes into key trees, without importing."""

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.class_nodes: dict[tuple[str, str], Node] = {}
        self.unresolved: set[str] = set()

    def class_node(self, mod: Module, name: str) -> Node | None:
        """Key tree of a TypedDict / BaseModel class, or None when the class is not one."""
        key = (mod.name, name)
        if key in self.class_nodes:
            return self.class_nodes[key]
        cls = mod.classes[name]
        node = Node(kinds={"dict"})
        # Registered first: a class that refers to itself ends the recursion.
        self.class_nodes[key] = node
        is_schema, is_model = self._inherit_bases(mod, cls, node)
        if not is_schema:
            del self.class_nodes[key]
            return None
        total = _is_total(cls)
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and (field_name := _config_field(stmt, is_model)):
                self._add_field(mod, node, stmt, field_name, is_model, total)
        return node

    def _inherit_bases(self, mod: Module, cls: ast.ClassDef, node: Node) -> tuple[bool, bool]:
        """Take the fields of the config classes `cls` derives from into `node`; whether `cls`
        is a config class, and whether a pydantic one."""
        is_schema = False
        is_model = False
        for base in cls.bases:
            where = self.resolve_name(mod, unsubscripted(base))
            if isinstance(where, str):
                if where in SCHEMA_BASES:
                    is_schema = True
                    is_model = is_model or where == "BaseModel"
                continue
            base_mod, base_name = where
            if base_name in base_mod.classes:
                inherited = self.class_node(base_mod, base_name)
                if inherited is not None:
                    is_schema = True
                    node.inherit(inherited)
                    is_model = is_model or self.is_model(base_mod, base_name)
        return is_schema, is_model

    def _add_field(
        self, mod: Module, node: Node, stmt: ast.AnnAssign, name: str, is_model: bool, total: bool
    ) -> None:
        child = self.annotation(mod, stmt.annotation)
        if name in node.fields:
            child = union([node.fields[name], child])
        node.fields[name] = child
        node.required_if.pop(name, None)
        if self._field_is_required(mod, stmt, is_model, total):
            node.required.add(name)
        else:
            node.required.discard(name)

    def _field_is_required(
        self, mod: Module, stmt: ast.AnnAssign, is_model: bool, total: bool
    ) -> bool:
        """Pydantic: a field without a default. TypedDict: `Required[...]`, or not
        `NotRequired[...]` in a class with total=True."""
        if is_model:
            return stmt.value is None or self._is_required_field_call(mod, stmt.value)
        wrapper = self._outer_wrapper(mod, stmt.annotation)
        if wrapper == "Required":
            return True
        return total and wrapper != "NotRequired"

    def _is_required_field_call(self, mod: Module, value: ast.expr) -> bool:
        """`Field(...)` or `Field(min_length=1)`: a pydantic field with no default."""
        if not isinstance(value, ast.Call) or self.resolve_name(mod, value.func) != "Field":
            return False
        if value.args and not (
            isinstance(value.args[0], ast.Constant) and value.args[0].value is ...
        ):
            return False
        return not {kw.arg for kw in value.keywords} & {"default", "default_factory"}

    def _outer_wrapper(self, mod: Module, expr: ast.expr | None) -> str | None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            expr = forward_reference(expr.value)
        if not isinstance(expr, ast.Subscript):
            return None
        head = self.head_name(mod, expr.value)
        if head in {"Required", "NotRequired"}:
            return head
        if head in {"Annotated", "ReadOnly"}:
            return self._outer_wrapper(mod, _type_arguments(expr)[0])
        return None

    def annotation(self, mod: Module, expr: ast.expr | None) -> Node:
        if expr is None:
            return Node()
        if isinstance(expr, ast.Constant):
            return self._constant(mod, expr)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            return union([self.annotation(mod, expr.left), self.annotation(mod, expr.right)])
        if isinstance(expr, ast.Subscript):
            return self._subscript(mod, expr)
        if isinstance(expr, (ast.Name, ast.Attribute)):
            return self._named(mod, expr)
        return Node()

    def _constant(self, mod: Module, expr: ast.Constant) -> Node:
        if isinstance(expr.value, str):
            forward = forward_reference(expr.value)
            return Node() if forward is None else self.annotation(mod, forward)
        return Node(kinds={"None"}) if expr.value is None else Node()

    def _named(self, mod: Module, expr: ast.Name | ast.Attribute) -> Node:
        where = self.resolve_name(mod, expr)
        if isinstance(where, str):
            return named_node(where, self.unresolved)
        target, name = where
        if name in target.classes:
            return self._class_annotation(target, name)
        if name in target.aliases:
            return self.annotation(target, target.aliases[name])
        return Node()

    def _class_annotation(self, mod: Module, name: str) -> Node:
        node = self.class_node(mod, name)
        if node is None:
            self.unresolved.add(f"{mod.name}.{name}")
            return Node()
        # NeMo-RL narrows a section to a subclass at run time (policy.generation is a
        # VllmConfig, SGLangConfig...): their keys belong to the section too, but
        # pydantic validates the declared class only, and NeMo-RL fills in some of the
        # subclasses' keys itself (vllm_cfg.skip_tokenizer_init): none is required, and
        # their values' types are not checked (NeMo-RL's own recipes give trtllm_cfg's
        # ints as null and vllm_cfg.env_vars as ints, which MasterConfig accepts).
        subs = [self.class_node(*sub) for sub in self.subclasses(mod, name)]
        if not any(subs):
            return node
        narrowed = union([node, *(sub for sub in subs if sub is not None)])
        for field_name, child in narrowed.fields.items():
            if field_name not in node.fields:
                child.relax()
        return narrowed

    def _subscript(self, mod: Module, expr: ast.Subscript) -> Node:
        head = self.head_name(mod, expr.value)
        args = _type_arguments(expr)
        if head == "Optional":
            return union([self.annotation(mod, args[0]), Node(kinds={"None"})])
        if head in WRAPPERS:
            return self.annotation(mod, args[0])
        if head in UNIONS:
            return union([self.annotation(mod, arg) for arg in args])
        if head == "Literal":
            return Node(kinds={literal_kind(arg) for arg in args})
        return self._container(mod, head, args, expr)

    def _container(self, mod: Module, head: str, args: list[ast.expr], expr: ast.Subscript) -> Node:
        """`dict[...]`, `list[...]` and the like; a scalar or a generic class of NeMo-RL's."""
        if head in MAPPINGS:
            value = self.annotation(mod, args[-1]) if len(args) == 2 else Node(open=True)
            if value.open:
                return Node(open=True, kinds={"dict"})
            return Node(any_key=value, kinds={"dict"})
        if head in SEQUENCES:
            items = [a for a in args if not (isinstance(a, ast.Constant) and a.value is ...)]
            return Node(item=union([self.annotation(mod, a) for a in items]), kinds={"list"})
        if head in SCALARS or head in {"Type", "type", "ClassVar"}:
            return Node(kinds={SCALARS.get(head, "any")})
        # A generic class of our own (rare); its parameters don't change its keys.
        return self.annotation(mod, expr.value)


def _type_arguments(expr: ast.Subscript) -> list[ast.expr]:
    return list(expr.slice.elts) if isinstance(expr.slice, ast.Tuple) else [expr.slice]


def _is_total(cls: ast.ClassDef) -> bool:
    return not any(
        kw.arg == "total" and isinstance(kw.value, ast.Constant) and kw.value.value is False
        for kw in cls.keywords
    )


def _config_field(stmt: ast.AnnAssign, is_model: bool) -> str | None:
    """The config key an annotated class attribute declares, if it declares one."""
    if not isinstance(stmt.target, ast.Name) or is_classvar(stmt.annotation):
        return None
    name = stmt.target.id
    # Pydantic treats underscored attributes as private, not as config keys.
    if is_model and (name.startswith("_") or name == "model_config"):
        return None
    return name

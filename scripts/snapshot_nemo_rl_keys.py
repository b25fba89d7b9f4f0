"""Snapshot the config keys a NeMo-RL release knows, for checking configs without NeMo-RL.

    python scripts/snapshot_nemo_rl_keys.py <nemo-rl tree, checkout or git dir> <release> <out>

Per trainer (DPO, GRPO: their MasterConfigs differ), the keys come from two places, neither of
them imported:

1. The config schema in NeMo-RL's Python source: the trainer's `MasterConfig` and every
   TypedDict / pydantic BaseModel its annotations lead to, across modules of `nemo_rl/` (parsed
   with `ast`). From it also which keys are required once their parent is present (TypedDict
   `NotRequired`/`Required`/`total=False`; a pydantic field without a default; the fields of an
   `Optional[X] = None` section), and the types of values.
2. Every key of the release's example YAMLs (`examples/configs/*.yaml`,
   `examples/configs/recipes/**.yaml`, `examples/nemo_gym/**.yaml`) that are configs of the
   trainer, with the files their `defaults:` chain names: NeMo-RL reads keys its schema does not
   declare. These are optional, of any type.

Output: `#` header lines, then a `[dpo]` and a `[grpo]` section of `<path> <presence> <types>`
lines sorted by path; the format is described in nemotron_align/preflight/nemo_rl_keys/__init__.py.

A plain folder (such as an unpacked release archive, or /opt/nemo-rl in the container) is read as
it is; <release> only names it (NeMo-RL's own version string does not tell main from a release).
With a git checkout or git dir the files are read at <release> as a git revision.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import posixpath
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Trainer -> the module of its MasterConfig. A YAML whose merged top level has the trainer's
# section (`dpo:`, `grpo:`) is an example config of that trainer.
MASTER_CONFIGS = {"dpo": "nemo_rl.algorithms.dpo", "grpo": "nemo_rl.algorithms.grpo"}
# Sections NeMo-RL hands on whole as keyword arguments to another library, which knows more keys
# than the TypedDict declares (and raises on a wrong one): open where the release has them.
PASSED_THROUGH = {
    "policy.dtensor_cfg.automodel_kwargs": "Automodel's from_pretrained(**automodel_kwargs)",
    "policy.dtensor_cfg.moe_parallelizer": "Automodel's MoEParallelizerConfig(**...)",
    "policy.megatron_cfg.optimizer": "Megatron's OptimizerConfig(**...)",
    "policy.megatron_cfg.scheduler": "Megatron's SchedulerConfig(**...)",
}
# All of examples/: a recipe's `defaults:` chain may lead outside the folders above.
READ_ROOTS = ("nemo_rl", "examples")
READ_SUFFIXES = (".py", ".yaml", ".yml")

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
PLAIN_KINDS = frozenset({"int", "float", "str", "bool", "None", "dict", "list", "any"})
OPEN = frozenset({"Any", "object"})
SCHEMA_BASES = frozenset({"TypedDict", "BaseModel"})


def _is_git(root: Path) -> bool:
    """A checkout or a git dir itself; not a plain tree (which may sit inside another repo)."""
    return (root / ".git").exists() or ((root / "HEAD").is_file() and (root / "objects").is_dir())


def _git_commit(root: Path, revision: str) -> str | None:
    probe = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


class Source:
    """Files of one release (the Python package and the example configs), read once."""

    def __init__(self, root: Path, tag: str) -> None:
        self.tag = tag
        self.commit = _git_commit(root, tag) if _is_git(root) else None
        if self.commit:
            present = subprocess.run(
                ["git", "-C", str(root), "ls-tree", "--name-only", self.commit, *READ_ROOTS],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            archive = subprocess.run(
                ["git", "-C", str(root), "archive", "--format=tar", self.commit, *present],
                capture_output=True,
                check=True,
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                self.files = {
                    m.name: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
                    for m in tar.getmembers()
                    if m.isfile() and m.name.endswith(READ_SUFFIXES)
                }
        elif (root / "nemo_rl").is_dir():
            self.files = {
                p.relative_to(root).as_posix(): p.read_text()
                for top in READ_ROOTS
                for p in (root / top).rglob("*")
                if p.is_file() and p.name.endswith(READ_SUFFIXES)
            }
        else:
            raise SystemExit(f"{root}: neither a git repository with {tag} nor a NeMo-RL folder")
        self._yaml: dict[str, Any] = {}

    def yaml(self, path: str) -> Any:
        if path not in self._yaml:
            self._yaml[path] = yaml.load(self.files[path], Loader=YAML_LOADER)
        return self._yaml[path]


@dataclass
class Node:
    """The keys allowed at one config path, the types its value may have, and which of its
    fields NeMo-RL requires once this path is present."""

    fields: dict[str, Node] = field(default_factory=dict)
    any_key: Node | None = None  # the value of dict[str, X]
    item: Node | None = None  # the element of list[X]
    open: bool = False
    kinds: set[str] = field(default_factory=set)  # empty: not known
    required: set[str] = field(default_factory=set)
    # field -> (sibling, its values that make the field required): TypedDict unions told apart by
    # a Literal field, such as `DTensorConfig | DTensorConfigDisabled` by `enabled`.
    required_if: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)

    def merge(self, other: Node) -> None:
        """Take in the keys and types of `other`; required-ness stays with the caller."""
        self.open = self.open or other.open
        self.kinds |= other.kinds
        for name, child in other.fields.items():
            if name in self.fields:
                if self.fields[name] is not child:
                    self.fields[name].merge(child)
            else:
                self.fields[name] = child.copy()
        for attr in ("any_key", "item"):
            theirs = getattr(other, attr)
            if theirs is None:
                continue
            mine = getattr(self, attr)
            if mine is None:
                setattr(self, attr, theirs.copy())
            else:
                mine.merge(theirs)

    def inherit(self, base: Node) -> None:
        self.merge(base)
        self.required |= base.required
        self.required_if.update(base.required_if)

    def relax(self) -> None:
        """Nothing at or below this node is required."""
        self.required.clear()
        self.required_if.clear()
        for child in [*self.fields.values(), self.any_key, self.item]:
            if child is not None:
                child.relax()

    def copy(self) -> Node:
        clone = Node(open=self.open)
        clone.inherit(self)
        return clone

    def presence(self, name: str) -> str:
        if name in self.required:
            return "required"
        if name in self.required_if:
            sibling, values = self.required_if[name]
            return f"required-if:{sibling}={'|'.join(sorted(values))}"
        return "optional"

    def lines(self, prefix: str, presence: str) -> Iterator[str]:
        if prefix:
            yield f"{prefix} {presence} {'|'.join(sorted(_shown_kinds(self.kinds)))}"
        if self.open:
            yield f"{prefix}.* optional any"
            return
        for name, child in self.fields.items():
            yield from child.lines(f"{prefix}.{name}" if prefix else name, self.presence(name))
        if self.any_key is not None:
            yield from self.any_key.lines(f"{prefix}.*", "optional")
        if self.item is not None:
            yield from self.item.lines(f"{prefix}[]", "optional")


def _shown_kinds(kinds: set[str]) -> set[str]:
    return {"any"} if not kinds or "any" in kinds else kinds


@dataclass
class Module:
    name: str
    tree: ast.Module
    is_package: bool
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    aliases: dict[str, ast.expr] = field(default_factory=dict)
    # local name -> (module, name or None for `import a.b as c`)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)


class Schema:
    """Resolves annotations of NeMo-RL's config classes into key trees, without importing."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.modules: dict[str, Module | None] = {}
        self.class_nodes: dict[tuple[str, str], Node] = {}
        self.unresolved: set[str] = set()
        self._subclasses: dict[tuple[str, str], list[tuple[Module, str]]] | None = None

    def module(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        base = name.replace(".", "/")
        found = None
        for path, is_package in ((f"{base}.py", False), (f"{base}/__init__.py", True)):
            if path in self.source.files:
                try:
                    tree = ast.parse(self.source.files[path])
                except SyntaxError as err:
                    print(f"{path}: not parsed ({err})", file=sys.stderr)
                    tree = ast.Module(body=[], type_ignores=[])
                found = Module(name, tree, is_package)
                self._index(found)
                break
        self.modules[name] = found
        return found

    def _index(self, mod: Module) -> None:
        package = mod.name if mod.is_package else mod.name.rpartition(".")[0]

        def visit(body: list[ast.stmt]) -> None:
            for stmt in body:
                if isinstance(stmt, ast.ClassDef):
                    mod.classes[stmt.name] = stmt
                elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    if isinstance(stmt.targets[0], ast.Name):
                        mod.aliases[stmt.targets[0].id] = stmt.value
                elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    if stmt.value is not None:
                        mod.aliases[stmt.target.id] = stmt.value
                elif isinstance(stmt, ast.ImportFrom):
                    origin = stmt.module or ""
                    if stmt.level:
                        parts = package.split(".")
                        parts = parts[: len(parts) - stmt.level + 1]
                        origin = ".".join([*parts, origin] if origin else parts)
                    for alias in stmt.names:
                        mod.imports[alias.asname or alias.name] = (origin, alias.name)
                elif isinstance(stmt, ast.Import):
                    for alias in stmt.names:
                        if alias.asname:
                            mod.imports[alias.asname] = (alias.name, None)
                        else:
                            top = alias.name.split(".")[0]
                            mod.imports[top] = (top, None)
                elif isinstance(stmt, (ast.If, ast.Try)):
                    visit(stmt.body)
                    visit(stmt.orelse)
                    for handler in getattr(stmt, "handlers", []):
                        visit(handler.body)

        visit(mod.tree.body)

    def lookup(self, mod: Module, name: str, depth: int = 0) -> tuple[Module, str] | str:
        """Where `name` is defined: (module, name) inside nemo_rl, else its plain name."""
        if depth > 20:
            return name
        if name in mod.classes or name in mod.aliases:
            return mod, name
        if name in mod.imports:
            origin, attr = mod.imports[name]
            if attr is None or not origin.startswith("nemo_rl"):
                return attr or name
            target = self.module(origin)
            if target is not None:
                return self.lookup(target, attr, depth + 1)
            sub = self.module(f"{origin}.{attr}")
            return (sub, "") if sub is not None else attr
        return name

    def subclasses(self, mod: Module, name: str) -> list[tuple[Module, str]]:
        """Every class in nemo_rl/ derived from mod.name, directly or not."""
        if self._subclasses is None:
            direct: dict[tuple[str, str], list[tuple[Module, str]]] = {}
            for path in sorted(self.source.files):
                if not (path.startswith("nemo_rl/") and path.endswith(".py")):
                    continue
                module_name = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                sub_mod = self.module(module_name)
                if sub_mod is None:
                    continue
                for cls in sub_mod.classes.values():
                    for base in cls.bases:
                        target = base.value if isinstance(base, ast.Subscript) else base
                        where = self.resolve_name(sub_mod, target)
                        if isinstance(where, tuple) and where[1] in where[0].classes:
                            direct.setdefault((where[0].name, where[1]), []).append(
                                (sub_mod, cls.name)
                            )
            self._subclasses = direct
        found: list[tuple[Module, str]] = []
        todo = [(mod.name, name)]
        while todo:
            for sub in self._subclasses.get(todo.pop(), []):
                if sub not in found:
                    found.append(sub)
                    todo.append((sub[0].name, sub[1]))
        return found

    def class_node(self, mod: Module, name: str) -> Node | None:
        """Key tree of a TypedDict / BaseModel class, or None when the class is not one."""
        key = (mod.name, name)
        if key in self.class_nodes:
            return self.class_nodes[key]
        cls = mod.classes[name]
        node = Node(kinds={"dict"})
        # Registered first: a class that refers to itself ends the recursion.
        self.class_nodes[key] = node
        is_schema = False
        is_model = False
        for base in cls.bases:
            target = base.value if isinstance(base, ast.Subscript) else base
            where = self.resolve_name(mod, target)
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
                    is_model = is_model or self._is_model(base_mod, base_name)
        if not is_schema:
            del self.class_nodes[key]
            return None
        total = not any(
            kw.arg == "total" and isinstance(kw.value, ast.Constant) and kw.value.value is False
            for kw in cls.keywords
        )
        for stmt in cls.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            field_name = stmt.target.id
            if _is_classvar(stmt.annotation):
                continue
            # Pydantic treats underscored attributes as private, not as config keys.
            if is_model and (field_name.startswith("_") or field_name == "model_config"):
                continue
            child = self.annotation(mod, stmt.annotation)
            if field_name in node.fields:
                child = _union([node.fields[field_name], child])
            node.fields[field_name] = child
            node.required_if.pop(field_name, None)
            if self._field_is_required(mod, stmt, is_model, total):
                node.required.add(field_name)
            else:
                node.required.discard(field_name)
        return node

    def _field_is_required(
        self, mod: Module, stmt: ast.AnnAssign, is_model: bool, total: bool
    ) -> bool:
        """Pydantic: a field without a default. TypedDict: `Required[...]`, or not
        `NotRequired[...]` in a class with total=True."""
        if is_model:
            return stmt.value is None or _is_required_field_call(self.resolve_name, mod, stmt.value)
        wrapper = self._outer_wrapper(mod, stmt.annotation)
        if wrapper == "Required":
            return True
        return total and wrapper != "NotRequired"

    def _outer_wrapper(self, mod: Module, expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            try:
                expr = ast.parse(expr.value, mode="eval").body
            except SyntaxError:
                return None
        if not isinstance(expr, ast.Subscript):
            return None
        head = self.resolve_name(mod, expr.value)
        head = head if isinstance(head, str) else head[1]
        if head in {"Required", "NotRequired"}:
            return head
        if head in {"Annotated", "ReadOnly"}:
            first = expr.slice.elts[0] if isinstance(expr.slice, ast.Tuple) else expr.slice
            return self._outer_wrapper(mod, first)
        return None

    def _is_model(self, mod: Module, name: str) -> bool:
        for base in mod.classes[name].bases:
            where = self.resolve_name(mod, base)
            if where == "BaseModel":
                return True
            if (
                not isinstance(where, str)
                and where[1] in where[0].classes
                and self._is_model(*where)
            ):
                return True
        return False

    def resolve_name(self, mod: Module, expr: ast.expr) -> tuple[Module, str] | str:
        if isinstance(expr, ast.Name):
            return self.lookup(mod, expr.id)
        if isinstance(expr, ast.Attribute):
            owner = self.resolve_name(mod, expr.value)
            if isinstance(owner, tuple) and owner[1] == "":
                return self.lookup(owner[0], expr.attr)
            if isinstance(expr.value, ast.Name) and expr.value.id in mod.imports:
                origin, attr = mod.imports[expr.value.id]
                if attr is None and origin.startswith("nemo_rl"):
                    target = self.module(origin)
                    if target is not None:
                        return self.lookup(target, expr.attr)
            return expr.attr
        return ""

    def annotation(self, mod: Module, expr: ast.expr | None) -> Node:
        if expr is None:
            return Node()
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, str):
                try:
                    forward = ast.parse(expr.value, mode="eval").body
                except SyntaxError:
                    return Node()
                return self.annotation(mod, forward)
            return Node(kinds={"None"}) if expr.value is None else Node()
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            return _union([self.annotation(mod, expr.left), self.annotation(mod, expr.right)])
        if isinstance(expr, ast.Subscript):
            return self._subscript(mod, expr)
        if isinstance(expr, (ast.Name, ast.Attribute)):
            where = self.resolve_name(mod, expr)
            if isinstance(where, str):
                return _named(where, self.unresolved)
            target, name = where
            if name in target.classes:
                node = self.class_node(target, name)
                if node is None:
                    self.unresolved.add(f"{target.name}.{name}")
                    return Node()
                # NeMo-RL narrows a section to a subclass at run time (policy.generation is a
                # VllmConfig, SGLangConfig...): their keys belong to the section too, but
                # pydantic validates the declared class only, and NeMo-RL fills in some of the
                # subclasses' keys itself (vllm_cfg.skip_tokenizer_init): none is required.
                subs = [self.class_node(*sub) for sub in self.subclasses(target, name)]
                if not any(subs):
                    return node
                narrowed = _union([node, *(sub for sub in subs if sub is not None)])
                for field_name, child in narrowed.fields.items():
                    if field_name not in node.fields:
                        child.relax()
                return narrowed
            if name in target.aliases:
                return self.annotation(target, target.aliases[name])
        return Node()

    def _subscript(self, mod: Module, expr: ast.Subscript) -> Node:
        where = self.resolve_name(mod, expr.value)
        head = where if isinstance(where, str) else where[1]
        args = list(expr.slice.elts) if isinstance(expr.slice, ast.Tuple) else [expr.slice]
        if head == "Optional":
            return _union([self.annotation(mod, args[0]), Node(kinds={"None"})])
        if head in WRAPPERS:
            return self.annotation(mod, args[0])
        if head in UNIONS:
            return _union([self.annotation(mod, arg) for arg in args])
        if head == "Literal":
            return Node(kinds={_literal(arg) for arg in args})
        if head in MAPPINGS:
            value = self.annotation(mod, args[-1]) if len(args) == 2 else Node(open=True)
            if value.open:
                return Node(open=True, kinds={"dict"})
            return Node(any_key=value, kinds={"dict"})
        if head in SEQUENCES:
            items = [a for a in args if not (isinstance(a, ast.Constant) and a.value is ...)]
            return Node(item=_union([self.annotation(mod, a) for a in items]), kinds={"list"})
        if head in SCALARS or head in {"Type", "type", "ClassVar"}:
            return Node(kinds={SCALARS.get(head, "any")})
        # A generic class of our own (rare); its parameters don't change its keys.
        return self.annotation(mod, expr.value)


def _is_classvar(expr: ast.expr) -> bool:
    target = expr.value if isinstance(expr, ast.Subscript) else expr
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "ClassVar"


def _is_required_field_call(resolve: Any, mod: Module, value: ast.expr) -> bool:
    """`Field(...)` or `Field(min_length=1)`: a pydantic field with no default."""
    if not isinstance(value, ast.Call) or resolve(mod, value.func) != "Field":
        return False
    if value.args and not (isinstance(value.args[0], ast.Constant) and value.args[0].value is ...):
        return False
    return not {kw.arg for kw in value.keywords} & {"default", "default_factory"}


def _literal(expr: ast.expr) -> str:
    """A Literal's value as JSON (`"simple"`, `true`, `3`); `any` for what YAML cannot spell."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, (str, int, float, bool)):
        return json.dumps(expr.value)
    if isinstance(expr, ast.Constant) and expr.value is None:
        return "None"
    return "any"


def _named(name: str, unresolved: set[str]) -> Node:
    if name in OPEN:
        return Node(open=True, kinds={"any"})
    if name in MAPPINGS:
        return Node(open=True, kinds={"dict"})
    if name in SEQUENCES:
        return Node(item=Node(open=True, kinds={"any"}), kinds={"list"})
    if name not in SCALARS:
        unresolved.add(name)
    return Node(kinds={SCALARS.get(name, "any")})


def _union(nodes: list[Node]) -> Node:
    """The keys and types of any of `nodes`. A field is required if every variant with fields
    requires it, or, where a Literal field tells the variants apart, if the variant that
    value picks requires it."""
    merged = Node()
    for node in nodes:
        merged.merge(node)
    records = [node for node in nodes if node.fields]
    if not records:
        return merged
    merged.required = set.intersection(*(node.required for node in records))
    tag = _discriminator(records) if len(records) > 1 else None
    for name in merged.fields:
        if name in merged.required:
            continue
        if tag is not None:
            values = frozenset().union(
                *(node.fields[tag].kinds for node in records if name in node.required)
            )
            if values:
                merged.required_if[name] = (tag, values)
        elif len(records) == 1 and name in records[0].required_if:
            merged.required_if[name] = records[0].required_if[name]
    return merged


def _discriminator(records: list[Node]) -> str | None:
    """A field every variant requires, typed by Literals no two variants share."""
    for name in sorted(set.intersection(*(set(node.required) for node in records))):
        kinds = [node.fields[name].kinds for node in records]
        literal_only = all(k and not k & PLAIN_KINDS for k in kinds)
        disjoint = sum(len(k) for k in kinds) == len(set().union(*kinds))
        if literal_only and disjoint:
            return name
    return None


def add_yaml_keys(node: Node, data: Any, top: bool = False) -> None:
    """Keys an example YAML sets that the schema does not declare: known, optional, any type."""
    if node.open:
        return
    if isinstance(data, dict):
        for raw_key, value in data.items():
            key = str(raw_key)
            # NeMo-RL's merge directives, not config keys.
            if (top and key == "defaults") or key == "_override_":
                continue
            if "." in key or "[" in key or not key:
                print(f"skipped YAML key {key!r}", file=sys.stderr)
                continue
            child = node.fields.get(key) or node.any_key
            if child is None:
                child = node.fields[key] = Node()
            add_yaml_keys(child, value)
    elif isinstance(data, list):
        for value in data:
            if isinstance(value, (dict, list)):
                if node.item is None:
                    node.item = Node()
                add_yaml_keys(node.item, value)


def example_yamls(source: Source) -> list[str]:
    return sorted(
        path
        for path in source.files
        if path.endswith((".yaml", ".yml"))
        and (
            (path.startswith("examples/configs/") and path.count("/") == 2)
            or path.startswith(("examples/configs/recipes/", "examples/nemo_gym/"))
        )
    )


def defaults_chain(source: Source, path: str, seen: frozenset[str] = frozenset()) -> list[Any]:
    """A YAML and the files its `defaults:` names, transitively (NeMo-RL's own inheritance)."""
    if path in seen or path not in source.files:
        return []
    data = source.yaml(path)
    if not isinstance(data, dict):
        return []
    chain = [data]
    parents = data.get("defaults") or []
    for parent in [parents] if isinstance(parents, str) else parents:
        if isinstance(parent, str):
            parent_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), parent))
            chain += defaults_chain(source, parent_path, seen | {path})
    return chain


@dataclass
class TrainerSnapshot:
    lines: list[str]
    yamls: list[str]


def snapshot(source: Source) -> tuple[dict[str, TrainerSnapshot], set[str]]:
    """Per trainer: the snapshot lines and the example YAMLs they took keys from."""
    schema = Schema(source)
    chains = {path: defaults_chain(source, path) for path in example_yamls(source)}
    found = {}
    for trainer, module_name in MASTER_CONFIGS.items():
        root = _master_config(schema, module_name)
        yamls = [
            path
            for path, chain in chains.items()
            if trainer in {str(key) for data in chain for key in data}
        ]
        for path in yamls:
            for data in chains[path]:
                add_yaml_keys(root, data, top=True)
        lines = sorted(root.lines("", "required"), key=lambda line: line.split(" ", 1)[0])
        found[trainer] = TrainerSnapshot(lines, yamls)
    return found, schema.unresolved


def _master_config(schema: Schema, module_name: str) -> Node:
    mod = schema.module(module_name)
    if mod is None or "MasterConfig" not in mod.classes:
        raise SystemExit(f"{module_name}.MasterConfig not found at {schema.source.tag}")
    node = schema.class_node(mod, "MasterConfig")
    if node is None:
        raise SystemExit(f"{module_name}.MasterConfig is no TypedDict or BaseModel")
    root = node.copy()  # the YAML keys go into this copy, not into the shared class nodes
    for dotted in PASSED_THROUGH:
        section: Node | None = root
        for name in dotted.split("."):
            section = section.fields.get(name) if section is not None else None
        if section is not None:
            section.open = True
    return root


def render(tag: str, origin: str, trainers: dict[str, TrainerSnapshot]) -> str:
    counts = ", ".join(f"{name} {len(found.yamls)}" for name, found in trainers.items())
    header = [
        f"# Config keys NeMo-RL {tag} knows ({origin}), per trainer.",
        "# Made by scripts/snapshot_nemo_rl_keys.py from the MasterConfig schemas and the keys of",
        f"# the example YAMLs ({counts}). Line format: preflight/nemo_rl_keys/__init__.py.",
    ]
    body = [line for name, found in trainers.items() for line in [f"[{name}]", *found.lines]]
    return "\n".join([*header, *body]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nemo_rl", type=Path, help="NeMo-RL source tree, checkout or git dir")
    parser.add_argument("tag", help="release name: v0.7.0, main (in a checkout: a revision)")
    parser.add_argument("out", type=Path, help="file to write")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the YAMLs used")
    args = parser.parse_args(argv)
    source = Source(args.nemo_rl, args.tag)
    trainers, unresolved = snapshot(source)
    if args.verbose:
        for name, found in trainers.items():
            print(f"{name}: " + "\n  ".join(found.yamls), file=sys.stderr)
    if unresolved:
        print(f"types read as plain values: {', '.join(sorted(unresolved))}", file=sys.stderr)
    origin = f"commit {source.commit}" if source.commit else "a plain folder"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(args.tag, origin, trainers))
    sizes = ", ".join(f"{name} {len(found.lines)}" for name, found in trainers.items())
    print(f"{args.out}: {sizes} paths", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a name used in NeMo-RL's source is defined, found by parsing modules, not importing."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field

from .source import Source
from .type_names import unsubscripted


@dataclass
class Module:
    """One parsed module of nemo_rl/ and the names it defines or imports at its top level."""

    name: str
    tree: ast.Module
    is_package: bool
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    aliases: dict[str, ast.expr] = field(default_factory=dict)
    # local name -> (module, name or None for `import a.b as c`)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _index_body(mod: Module, package: str, body: list[ast.stmt]) -> None:
    """Classes, aliases and imports of `body`, also those under `if` and `try`."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            mod.classes[stmt.name] = stmt
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            _index_alias(mod, stmt)
        elif isinstance(stmt, ast.ImportFrom):
            _index_import_from(mod, package, stmt)
        elif isinstance(stmt, ast.Import):
            _index_import(mod, stmt)
        elif isinstance(stmt, (ast.If, ast.Try)):
            _index_body(mod, package, stmt.body)
            _index_body(mod, package, stmt.orelse)
            for handler in getattr(stmt, "handlers", []):
                _index_body(mod, package, handler.body)


def _index_alias(mod: Module, stmt: ast.Assign | ast.AnnAssign) -> None:
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            mod.aliases[stmt.targets[0].id] = stmt.value
    elif isinstance(stmt.target, ast.Name) and stmt.value is not None:
        mod.aliases[stmt.target.id] = stmt.value


def _index_import_from(mod: Module, package: str, stmt: ast.ImportFrom) -> None:
    origin = stmt.module or ""
    if stmt.level:
        parts = package.split(".")
        parts = parts[: len(parts) - stmt.level + 1]
        origin = ".".join([*parts, origin] if origin else parts)
    for alias in stmt.names:
        mod.imports[alias.asname or alias.name] = (origin, alias.name)


def _index_import(mod: Module, stmt: ast.Import) -> None:
    for alias in stmt.names:
        if alias.asname:
            mod.imports[alias.asname] = (alias.name, None)
        else:
            top = alias.name.split(".")[0]
            mod.imports[top] = (top, None)


class Resolver:
    """The modules of nemo_rl/, parsed once, and where their names lead."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.modules: dict[str, Module | None] = {}
        self._subclasses: dict[tuple[str, str], list[tuple[Module, str]]] | None = None

    def module(self, name: str) -> Module | None:
        if name in self.modules:
            return self.modules[name]
        base = name.replace(".", "/")
        found = None
        for path, is_package in ((f"{base}.py", False), (f"{base}/__init__.py", True)):
            if path in self.source.files:
                found = Module(name, self._parse(path), is_package)
                _index_body(found, name if is_package else name.rpartition(".")[0], found.tree.body)
                break
        self.modules[name] = found
        return found

    def _parse(self, path: str) -> ast.Module:
        try:
            return ast.parse(self.source.files[path])
        except SyntaxError as err:
            print(f"{path}: not parsed ({err})", file=sys.stderr)
            return ast.Module(body=[], type_ignores=[])

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

    def head_name(self, mod: Module, expr: ast.expr) -> str:
        """The name `expr` resolves to, wherever it is defined."""
        where = self.resolve_name(mod, expr)
        return where if isinstance(where, str) else where[1]

    def is_model(self, mod: Module, name: str) -> bool:
        """Whether class `name` derives from pydantic's BaseModel, directly or not."""
        for base in mod.classes[name].bases:
            where = self.resolve_name(mod, base)
            if where == "BaseModel":
                return True
            if (
                not isinstance(where, str)
                and where[1] in where[0].classes
                and self.is_model(*where)
            ):
                return True
        return False

    def subclasses(self, mod: Module, name: str) -> list[tuple[Module, str]]:
        """Every class in nemo_rl/ derived from mod.name, directly or not."""
        if self._subclasses is None:
            self._subclasses = self._direct_subclasses()
        found: list[tuple[Module, str]] = []
        todo = [(mod.name, name)]
        while todo:
            for sub in self._subclasses.get(todo.pop(), []):
                if sub not in found:
                    found.append(sub)
                    todo.append((sub[0].name, sub[1]))
        return found

    def _direct_subclasses(self) -> dict[tuple[str, str], list[tuple[Module, str]]]:
        """(module, class) -> the classes in nemo_rl/ that name it as a base."""
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
                    where = self.resolve_name(sub_mod, unsubscripted(base))
                    if isinstance(where, tuple) and where[1] in where[0].classes:
                        direct.setdefault((where[0].name, where[1]), []).append((sub_mod, cls.name))
        return direct

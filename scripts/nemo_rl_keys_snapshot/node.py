"""The key tree of a config section, and the union of several (a field typed `A | B`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

PLAIN_KINDS = frozenset({"int", "float", "str", "bool", "None", "dict", "list", "any"})


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
        """Nothing at or below this node is required or of a checked type: known keys only."""
        self.required.clear()
        self.required_if.clear()
        self.kinds = {"any"}
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


def union(nodes: list[Node]) -> Node:
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
    _add_required_if(merged, records)
    return merged


def _add_required_if(merged: Node, records: list[Node]) -> None:
    """The fields of `merged` that only some variants of `records` require."""
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


def _discriminator(records: list[Node]) -> str | None:
    """A field every variant requires, typed by Literals no two variants share."""
    for name in sorted(set.intersection(*(set(node.required) for node in records))):
        kinds = [node.fields[name].kinds for node in records]
        literal_only = all(k and not k & PLAIN_KINDS for k in kinds)
        disjoint = sum(len(k) for k in kinds) == len(set().union(*kinds))
        if literal_only and disjoint:
            return name
    return None

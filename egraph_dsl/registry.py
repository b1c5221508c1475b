"""Rulesets are libraries: named, tagged values composed with ``+`` and kept in a registry.

The library registers its own rulesets (``rulesets/``) with the same public API a user calls:
``register(RuleSet("mine", [...], tags={"custom"}))``. Duplicate names are rejected; queries
select by name and by tags (include / exclude).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .errors import RulesetError
from .rules import Claim, Rule


@dataclass(frozen=True)
class RuleSet:
    """A named collection of rules with tags; ``a + b`` is their union (names must not clash)."""

    name: str
    rules: tuple[Rule, ...]
    tags: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""

    def __init__(self, name: str, rules: Iterable[Rule] = (), tags: Iterable[str] = (), doc: str = "") -> None:
        rules_t = tuple(rules)
        for r in rules_t:
            if not isinstance(r, Rule):
                raise RulesetError(f"ruleset {name!r}: {r!r} is not a Rule (build rules with egraph_dsl.rewrite)")
        seen: dict[str, Rule] = {}
        for r in rules_t:
            if r.name in seen and seen[r.name] != r:
                raise RulesetError(f"ruleset {name!r}: two different rules are named {r.name!r}")
            seen[r.name] = r
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "rules", tuple(seen.values()))
        object.__setattr__(self, "tags", frozenset(tags))
        object.__setattr__(self, "doc", doc)

    def __add__(self, other: RuleSet) -> RuleSet:
        if not isinstance(other, RuleSet):
            return NotImplemented
        return RuleSet(f"{self.name}+{other.name}", self.rules + other.rules, self.tags | other.tags)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise RulesetError(f"ruleset {self.name!r} has no rule {name!r}; it has {[r.name for r in self.rules]}")

    def without_claims(self, *claims: Claim) -> RuleSet:
        return RuleSet(self.name, [r for r in self.rules if r.claim not in claims], self.tags, self.doc)


class Registry:
    """Named rulesets. ``default_registry`` holds the shipped ones; make your own for isolation."""

    def __init__(self) -> None:
        self._sets: dict[str, RuleSet] = {}

    def register(self, ruleset: RuleSet, *, replace: bool = False) -> RuleSet:
        if not isinstance(ruleset, RuleSet):
            raise RulesetError(f"register() takes a RuleSet, got {type(ruleset).__name__}")
        if ruleset.name in self._sets and not replace:
            raise RulesetError(f"a ruleset named {ruleset.name!r} is already registered; "
                               "pick another name (or pass replace=True)")
        self._sets[ruleset.name] = ruleset
        return ruleset

    def unregister(self, name: str) -> None:
        self.get(name)
        del self._sets[name]

    def get(self, name: str) -> RuleSet:
        try:
            return self._sets[name]
        except KeyError:
            raise RulesetError(f"unknown ruleset {name!r}; registered: {', '.join(sorted(self._sets)) or 'none'}") from None

    def names(self) -> list[str]:
        return sorted(self._sets)

    def __contains__(self, name: object) -> bool:
        return name in self._sets

    def __iter__(self) -> Iterator[RuleSet]:
        return iter(self._sets.values())

    def query(self, include: Iterable[str] = (), exclude: Iterable[str] = (), require: Iterable[str] = ()) -> RuleSet:
        """Rulesets having any ``include`` tag (all if empty) and every ``require`` tag, minus ``exclude``d."""
        inc, exc, req = set(include), set(exclude), set(require)
        chosen = [rs for rs in self._sets.values()
                  if (not inc or rs.tags & inc) and req <= rs.tags and not rs.tags & exc]
        return combine(chosen, name="+".join(rs.name for rs in chosen) or "empty")

    def resolve(self, spec: RulesetSpec) -> RuleSet:
        """A RuleSet from a name, a RuleSet, a rule, or a list of those."""
        if isinstance(spec, RuleSet):
            return spec
        if isinstance(spec, Rule):
            return RuleSet(spec.name, [spec])
        if isinstance(spec, str):
            if spec.startswith("tag:"):
                return self.query(include=[spec[4:]])
            return self.get(spec)
        if isinstance(spec, (list, tuple)):
            parts = [self.resolve(s) for s in spec]
            return combine(parts, name="+".join(p.name for p in parts))
        raise RulesetError(f"cannot use {spec!r} as a ruleset: give a name, a RuleSet, a Rule or a list of them")


RulesetSpec = str | RuleSet | Rule | Sequence["str | RuleSet | Rule"]


def combine(sets: Iterable[RuleSet], name: str = "combined") -> RuleSet:
    rules: list[Rule] = []
    tags: set[str] = set()
    for rs in sets:
        rules.extend(rs.rules)
        tags |= rs.tags
    return RuleSet(name, rules, tags)


default_registry = Registry()


def register(ruleset: RuleSet, *, replace: bool = False, registry: Registry | None = None) -> RuleSet:
    """Register ``ruleset`` in the default registry (or ``registry``); returns it."""
    return (registry or default_registry).register(ruleset, replace=replace)

"""Rulesets are libraries: named, tagged values composed with ``+`` and kept in a registry.

The library registers its own rulesets (``rulesets/``) with the same public API a user calls:
``register(RuleSet("mine", [...], tags={"custom"}))``. Names are validated and duplicates
rejected; queries select by name and by tags (include / exclude), and an unknown tag is an
error, not an empty selection. The façade property-tests the rules of rulesets the library does
not ship once, at first use, unless they were registered with ``check_rules=False`` (or
``EGRAPH_DSL_CHECK_RULES=0`` is set; see ``proofs/first_use.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .errors import RulesetError
from .rules import Rule


@dataclass(frozen=True)
class RuleSet:
    """A named collection of rules with tags; ``a + b`` is their union (names must not clash)."""

    name: str
    rules: tuple[Rule, ...]
    tags: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""

    def __init__(self, name: str, rules: Iterable[Rule] = (), tags: Iterable[str] = (), doc: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise RulesetError(f"a ruleset name must be a non-empty string, got {name!r}")
        if isinstance(tags, str):
            raise RulesetError(f"ruleset {name!r}: tags must be a collection of strings, got the string {tags!r} "
                               f"(write tags={{{tags!r}}})")
        tag_set = frozenset(tags)
        for tag in tag_set:
            if not isinstance(tag, str) or not TAG.fullmatch(tag):
                raise RulesetError(f"ruleset {name!r}: tag {tag!r} is not a tag (letters, digits, _ . - only)")
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
        object.__setattr__(self, "tags", tag_set)
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


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*(\+[A-Za-z_][A-Za-z0-9_.-]*)*")  # words, joined by + in combinations
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def check_name(name: object) -> str:
    """``name`` if it can name a registered ruleset, else a RulesetError saying why."""
    if not isinstance(name, str):
        raise RulesetError(f"ruleset names are strings, got {type(name).__name__} {name!r}")
    if not NAME.fullmatch(name):
        raise RulesetError(f"{name!r} is not a valid ruleset name: start with a letter or _, then letters, digits, "
                           "_ . - (no spaces, slashes or ':'; '+' only between the names of combined rulesets)")
    return name


class Registry:
    """Named rulesets. ``default_registry`` holds the shipped ones; make your own for isolation."""

    def __init__(self) -> None:
        self._sets: dict[str, RuleSet] = {}
        self._unchecked: set[str] = set()  # registered with check_rules=False

    def register(self, ruleset: RuleSet, *, replace: bool = False, check_rules: bool = True) -> RuleSet:
        """Add ``ruleset``; ``check_rules=False`` opts it out of the property test at first use."""
        if not isinstance(ruleset, RuleSet):
            raise RulesetError(f"register() takes a RuleSet, got {type(ruleset).__name__}")
        check_name(ruleset.name)
        if ruleset.name in self._sets and not replace:
            raise RulesetError(f"a ruleset named {ruleset.name!r} is already registered; "
                               "pick another name (or pass replace=True)")
        self._sets[ruleset.name] = ruleset
        self._unchecked.discard(ruleset.name)
        if not check_rules:
            self._unchecked.add(ruleset.name)
        return ruleset

    def unregister(self, name: str) -> None:
        self.get(name)
        del self._sets[name]
        self._unchecked.discard(name)

    def get(self, name: str) -> RuleSet:
        if not isinstance(name, str):
            raise RulesetError(f"ruleset names are strings, got {type(name).__name__} {name!r}")
        try:
            return self._sets[name]
        except KeyError:
            raise RulesetError(f"unknown ruleset {name!r}; registered: {', '.join(sorted(self._sets)) or 'none'}") from None

    def checks_rules(self, name: str) -> bool:
        """Whether the registered ruleset ``name`` wants its rules checked at first use."""
        return name in self._sets and name not in self._unchecked

    def tags(self) -> list[str]:
        """Every tag some registered ruleset carries."""
        return sorted(set().union(*(rs.tags for rs in self._sets.values())))

    def _known_tags(self, tags: Iterable[str], role: str) -> set[str]:
        wanted = set(tags)
        for tag in sorted(wanted, key=str):
            if not isinstance(tag, str):
                raise RulesetError(f"tags are strings, got {type(tag).__name__} {tag!r}")
        unknown = wanted - set(self.tags())
        if unknown:
            raise RulesetError(f"unknown tag(s) {', '.join(map(repr, sorted(unknown)))} to {role}; "
                               f"known tags: {', '.join(self.tags()) or 'none'}")
        return wanted

    def names(self) -> list[str]:
        return sorted(self._sets)

    def __contains__(self, name: object) -> bool:
        return name in self._sets

    def __iter__(self) -> Iterator[RuleSet]:
        return iter(self._sets.values())

    def select(self, include: Iterable[str] = (), exclude: Iterable[str] = (), require: Iterable[str] = ()) -> list[RuleSet]:
        """The rulesets :meth:`query` combines; an unknown ``include`` or ``require`` tag is an error."""
        inc = self._known_tags(include, "include")
        req = self._known_tags(require, "require")
        exc = set(exclude)
        return [rs for rs in self._sets.values()
                if (not inc or rs.tags & inc) and req <= rs.tags and not rs.tags & exc]

    def query(self, include: Iterable[str] = (), exclude: Iterable[str] = (), require: Iterable[str] = ()) -> RuleSet:
        """Rulesets having any ``include`` tag (all if empty) and every ``require`` tag, minus ``exclude``d."""
        chosen = self.select(include, exclude, require)
        return combine(chosen, name="+".join(rs.name for rs in chosen) or "empty")

    def parts(self, spec: RulesetSpec) -> list[RuleSet]:
        """The rulesets ``spec`` names, before :meth:`resolve` combines them (registered ones as registered)."""
        if isinstance(spec, RuleSet):
            return [spec]
        if isinstance(spec, Rule):
            return [RuleSet(spec.name, [spec])]
        if isinstance(spec, str):
            if spec.startswith("tag:"):
                tag = spec[4:]
                if not tag:
                    raise RulesetError(f"{spec!r} names no tag; known tags: {', '.join(self.tags()) or 'none'}")
                return self.select(include=[tag])
            return [self.get(spec)]
        if isinstance(spec, (list, tuple)):
            return [part for s in spec for part in self.parts(s)]
        raise RulesetError(f"cannot use {spec!r} as a ruleset: give a name, a RuleSet, a Rule or a list of them")

    def resolve(self, spec: RulesetSpec) -> RuleSet:
        """A RuleSet from a name, a ``"tag:..."`` query, a RuleSet, a rule, or a list of those."""
        if isinstance(spec, RuleSet):
            return spec
        if isinstance(spec, Rule):
            return RuleSet(spec.name, [spec])
        if isinstance(spec, str):
            if spec.startswith("tag:"):
                chosen = self.parts(spec)
                return combine(chosen, name="+".join(rs.name for rs in chosen) or "empty")
            return self.get(spec)
        if isinstance(spec, (list, tuple)):
            parts = [self.resolve(s) for s in spec]
            return combine(parts, name="+".join(p.name for p in parts) or "empty")
        raise RulesetError(f"cannot use {spec!r} as a ruleset: give a name, a RuleSet, a Rule or a list of them")


RulesetSpec = str | RuleSet | Rule | Sequence["str | RuleSet | Rule"]


def combine(sets: Iterable[RuleSet], name: str = "combined") -> RuleSet:
    """One RuleSet of the rules and tags of ``sets`` (a name left empty becomes ``empty``)."""
    rules: list[Rule] = []
    tags: set[str] = set()
    for rs in sets:
        rules.extend(rs.rules)
        tags |= rs.tags
    return RuleSet(name or "empty", rules, tags)


default_registry = Registry()


def register(ruleset: RuleSet, *, replace: bool = False, registry: Registry | None = None,
             check_rules: bool = True) -> RuleSet:
    """Register ``ruleset`` in the default registry (or ``registry``); returns it.

    Its rules are property-tested once when a ruleset selection first uses them (cached by rule
    hash); ``check_rules=False`` opts out (as does the environment variable EGRAPH_DSL_CHECK_RULES=0).
    """
    return (registry or default_registry).register(ruleset, replace=replace, check_rules=check_rules)

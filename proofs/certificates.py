"""Stored proof certificates: ``<directory>/<ruleset>.json``, tied to each rule's hash.

The shipped ones live in ``proofs/certificates``; ``egraph-dsl prove --write --dir DIR`` writes
into a directory the user names, never into the installed package by default. A certificate is
current when it lists exactly the ruleset's rules with their present hashes; otherwise
:func:`stale` explains what changed and says how to regenerate it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from egraph_dsl.errors import EgraphDslError
from egraph_dsl.registry import RuleSet

from .prove import RuleProof, rule_hash

DIRECTORY = Path(__file__).parent / "certificates"
FORMAT = "egraph-dsl-proof-certificate/1"
FIX = "run `egraph-dsl prove --write --dir {directory} {name}` (or `python -m egraph_dsl.proofs.cli prove ...`)"
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


class CertificateError(EgraphDslError, ValueError):
    """A ruleset name that cannot be a certificate file name, or a directory that cannot hold them."""


def path_for(name: str, directory: Path | None = None) -> Path:
    """``directory/<name>.json``; names that could lead elsewhere (``..``, ``/``) are refused."""
    folder = directory or DIRECTORY
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or ".." in name:
        raise CertificateError(f"ruleset name {name!r} cannot be a certificate file name: use letters, digits "
                               "and _ . + - (no path separators, no '..')")
    path = folder / f"{name}.json"
    if path.resolve().parent != folder.resolve():
        raise CertificateError(f"the certificate of {name!r} would be written outside {folder}; refused")
    return path


def target_directory(path: str | Path) -> Path:
    """The directory ``prove --write`` writes into, created if only it is missing."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CertificateError(f"--dir {path}: not a directory")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise CertificateError(f"--dir {path}: its parent directory {folder.parent} does not exist")
        folder.mkdir()
    return folder


def existing_directory(path: str | Path) -> Path:
    """A directory certificates are read from; it must exist."""
    folder = Path(path)
    if not folder.is_dir():
        raise CertificateError(f"--dir {path}: no such directory")
    return folder


def write(name: str, proofs: Iterable[RuleProof], directory: Path | None = None) -> Path:
    """Write the certificate of ruleset ``name`` (sorted keys, stable order for clean diffs)."""
    path = path_for(name, directory)
    data = {"format": FORMAT, "ruleset": name, "rules": [p.to_json() for p in proofs]}
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def load(name: str, directory: Path | None = None) -> dict[str, Any] | None:
    path = path_for(name, directory)
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def stale(ruleset: RuleSet, directory: Path | None = None) -> list[str]:
    """Why the stored certificate of ``ruleset`` is not current (empty when it is)."""
    fix = FIX.format(name=ruleset.name, directory=_shown(directory or DIRECTORY))
    data = load(ruleset.name, directory)
    if data is None:
        return [f"ruleset {ruleset.name!r} has no certificate at {path_for(ruleset.name, directory)}; {fix}"]
    stored = {r["rule"]: r["hash"] for r in data.get("rules", [])}
    problems = []
    for rule in ruleset.rules:
        if rule.name not in stored:
            problems.append(f"{ruleset.name}/{rule.name}: no certificate; {fix}")
        elif stored[rule.name] != rule_hash(rule):
            problems.append(f"{ruleset.name}/{rule.name}: the rule changed since it was proved "
                            f"(hash {stored[rule.name]} != {rule_hash(rule)}); {fix}")
    for name in sorted(set(stored) - {r.name for r in ruleset.rules}):
        problems.append(f"{ruleset.name}/{name}: certificate for a rule that no longer exists; {fix}")
    return problems


def results(name: str, directory: Path | None = None) -> dict[str, str]:
    """Rule name -> stored proof result (proved / refuted / unknown)."""
    data = load(name, directory) or {}
    return {r["rule"]: r["result"] for r in data.get("rules", [])}


def _shown(directory: Path) -> str:
    """``directory`` relative to the current directory when it is below it (as a user would type it)."""
    try:
        return str(directory.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(directory)

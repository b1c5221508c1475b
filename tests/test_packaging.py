"""pyproject's explicit package list names every package folder, so ``pip install`` ships them all."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    folders = {"egraph_dsl": ROOT / "egraph_dsl"} | {name: ROOT / path for name, path in setuptools["package-dir"].items()}
    found = set()
    for package, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join([package, *parts]))
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert {"egraph_dsl.facade", "egraph_dsl.facade.viz", "egraph_dsl.backends"} <= found

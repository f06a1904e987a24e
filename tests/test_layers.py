"""The package layers of the README's Layout table hold: a package imports only the packages
listed for it there, and no two packages import each other (read from the source with ast, so
an import inside a function counts too)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "earlyphase"

#: What each package may import (``__init__`` is the top-level package: its version).
ALLOWED: dict[str, set[str]] = {
    "stats": set(),
    "engine": {"stats"},
    "designs": {"engine", "stats"},
    "simulate": {"designs", "engine", "stats"},
    "data": {"stats"},
    "datasets": {"data"},
    "tables": {"data", "stats"},
    "figures": {"data", "designs", "engine", "stats"},
    "protocol": {"__init__", "designs", "engine", "figures", "stats"},
    "report": {"__init__", "data", "figures", "stats", "tables"},
    "conduct": {"data", "designs", "engine", "protocol", "report", "stats"},
    "demo": {"datasets", "designs", "protocol", "report", "stats", "tables"},
}


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        pkg = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] != "earlyphase":
                    continue
                target = parts[1] if len(parts) > 1 else "__init__"
                if target != pkg:
                    graph[pkg].add(target)
    return graph


def test_packages_import_only_lower_layers() -> None:
    graph = _imports()
    for pkg, targets in graph.items():
        if pkg in ("cli", "__init__", "__main__"):
            continue  # the command line sits on top of everything
        assert pkg in ALLOWED, f"{pkg}: a new package; give it a row in the Layout table"
        extra = targets - ALLOWED[pkg]
        assert not extra, f"{pkg} imports {sorted(extra)}, above its layer"


def test_no_two_packages_import_each_other() -> None:
    graph = _imports()
    for pkg, targets in graph.items():
        for other in targets:
            assert pkg not in graph.get(other, set()), f"{pkg} and {other} import each other"

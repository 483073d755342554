"""The layers `docs/design.md` draws are the package's real imports: every import points down the table.

The table lists every module (a folder counts as one); a module may import
only modules listed after it. An import inside a function counts as much as
one at the top: it is still a dependency, only a later one. A new module that
the table does not place fails here, so the drawing cannot fall behind.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests import dbtools

PACKAGE = dbtools.REPO / "echelon_seed"
DESIGN = dbtools.REPO / "docs" / "design.md"


def _table_order() -> list[str]:
    """The modules of the layer table, top to bottom and left to right."""
    text = DESIGN.read_text(encoding="utf-8")
    table = "|" + text.split("### Layers", 1)[1].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    rows = table.splitlines()[2:]
    order: list[str] = []
    for row in rows:
        cells = row.strip("|").split("|")
        order += re.findall(r"`([\w/]+)`", cells[1])
    return order


def _key(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return f"{relative.parts[0]}/" if len(relative.parts) > 1 else relative.stem


def _imported(path: Path) -> set[str]:
    """The package's own modules that `path` imports, as table keys."""
    package = list(path.relative_to(dbtools.REPO).with_suffix("").parts[:-1])
    return _imported_source(path.read_text(encoding="utf-8"), package)


def _imported_source(source: str, package: list[str]) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            names = [".".join([*module, alias.name]) for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "echelon_seed" or len(parts) < 2:
                continue
            target = PACKAGE / parts[1]
            if target.is_dir():
                found.add(f"{parts[1]}/")
            elif target.with_suffix(".py").is_file():
                found.add(parts[1])
    return found


def _modules() -> dict[str, list[Path]]:
    modules: dict[str, list[Path]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue  # the package's face: it hands the verbs on, on first use
        modules.setdefault(_key(path), []).append(path)
    return modules


def test_every_module_has_a_place_in_the_layer_table() -> None:
    order = _table_order()

    assert len(order) == len(set(order)), [m for m in order if order.count(m) > 1]
    assert sorted(set(_modules()) - set(order)) == []
    assert sorted(set(order) - set(_modules())) == []


def test_every_import_points_down_the_layer_table() -> None:
    rank = {module: i for i, module in enumerate(_table_order())}
    upward = [
        f"{path.relative_to(dbtools.REPO)} imports {target} (listed above it)"
        for module, paths in _modules().items()
        for path in paths
        for target in sorted(_imported(path) - {module})
        if rank[target] < rank[module]
    ]

    assert upward == []


def test_the_check_sees_imports_in_functions_relative_and_into_folders() -> None:
    # What the two tests above stand on: an import the parser missed would pass them silently.
    source = "import os\nfrom .engines.database import open_database\n\ndef f():\n    from . import urls, version\n"

    assert _imported_source(source, ["echelon_seed"]) == {"engines/", "urls", "version"}
    assert _imported_source("from .. import urls\n", ["echelon_seed", "engines"]) == {"urls"}

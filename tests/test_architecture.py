"""The import graph of photosearch holds the layers of docs/architecture.md.

Every import is read from the source with ``ast``, at module level and inside functions alike (a
lazy import is still a dependency), so the rules hold whether or not a code path ran.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "photosearch"

# Lowest first: a unit may import its own modules and those of lower ranks, never a unit of its
# own rank or above. (photosearch.core.resources, .units and .errors are shared leaves below
# everything.)
LAYERS: list[tuple[str, ...]] = [
    ("photosearch.core.resources", "photosearch.core.units", "photosearch.core.errors"),
    ("photosearch.core.library",),
    ("photosearch.core.vision",),
    ("photosearch.core.text",),
    ("photosearch.core.indexing", "photosearch.core.teach"),
    ("photosearch.core.search",),
    ("photosearch.core.evaluation",),
    ("photosearch.core.audit",),
    ("photosearch.gui",),
    ("photosearch.cli",),  # the entry point: ``photosearch gui`` starts the GUI
    ("photosearch.__main__",),
]
PACKAGE_INITS = {"photosearch", "photosearch.core"}  # docstring-only packages above the units

MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(name: str, node: ast.ImportFrom, is_package: bool) -> list[str]:
    if node.level:
        base = name.split(".")[: len(name.split(".")) + is_package - node.level]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [
        f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules() else target
        for alias in node.names
    ]


@cache
def imports() -> dict[str, frozenset[str]]:
    """Each photosearch module -> the photosearch modules it imports, anywhere in its body."""
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules().items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.update(_imported(name, node, path.name == "__init__.py"))
        graph[name] = frozenset(m for m in found if m in modules() and m != name)
    return graph


def unit(module: str) -> tuple[int, str] | None:
    """(rank, unit) of a module, None for the docstring-only package inits."""
    for rank, units in enumerate(LAYERS):
        for u in units:
            if module == u or module.startswith(u + "."):
                return rank, u
    return None


def test_every_module_is_in_a_layer():
    assert [m for m in modules() if unit(m) is None and m not in PACKAGE_INITS] == []


def test_no_import_goes_up_or_sideways():
    wrong = []
    for module, targets in imports().items():
        source = unit(module)
        for target in targets:
            dest = unit(target)
            if source is None or dest is None or dest[1] == source[1]:
                continue
            if dest[0] >= source[0]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_core_never_imports_cli_or_gui_and_text_never_imports_audit():
    def leaks(prefix: str, banned: tuple[str, ...]) -> list[str]:
        return [
            f"{m} -> {t}"
            for m, targets in imports().items()
            if m.startswith(prefix)
            for t in targets
            if t.startswith(banned)
        ]

    assert leaks("photosearch.core", ("photosearch.cli", "photosearch.gui")) == []
    assert leaks("photosearch.core.text", ("photosearch.core.audit",)) == []
    # The CLI reaches Qt only through ``photosearch gui``, so every other command runs headless.
    assert leaks("photosearch.cli", ("photosearch.gui",)) == [
        "photosearch.cli.gui_cmd -> photosearch.gui.app"
    ]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules():
    assert _cycles({m: set(t) for m, t in imports().items()}) == []


def test_no_import_cycle_between_packages():
    """Within a unit too: the sub-packages (vision.models, ...) and the unit's own modules."""

    def package(module: str) -> str:
        parent = module.rpartition(".")[0]
        leaf = modules()[module].name != "__init__.py"
        # photosearch.__main__, core.resources, core.units: nodes of their own (their parent
        # package holds only a docstring or the version)
        return parent if leaf and parent not in PACKAGE_INITS else module

    graph: dict[str, set[str]] = {}
    for module, targets in imports().items():
        graph.setdefault(package(module), set()).update(package(t) for t in targets)
    for name, targets in graph.items():
        targets.discard(name)
    assert _cycles(graph) == []


def _lines(module: str) -> int:
    return len(modules()[module].read_text(encoding="utf-8").splitlines())


def test_modules_stay_small():
    over = {m: _lines(m) for m in modules() if _lines(m) > MAX_LINES}
    assert over == {}, f"split these modules (over {MAX_LINES} lines): {over}"


SQL_STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|PRAGMA)\s", re.ASCII)


def _sql_strings(module: str) -> list[str]:
    """The string literals of a module (f-string parts included) that start an SQL statement."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and SQL_STATEMENT.match(node.value)
    ]


def test_sql_lives_in_the_library_package():
    outside = {
        m: _sql_strings(m)
        for m in modules()
        if not m.startswith("photosearch.core.library") and _sql_strings(m)
    }
    assert outside == {}
    assert _sql_strings("photosearch.core.library.photo_sync")  # the check sees SQL


def test_the_checks_see_a_known_edge():
    """The graph is real: the indexer imports the scanner (guards the parser against going blind)."""
    assert "photosearch.core.indexing.scanner" in imports()["photosearch.core.indexing.indexer"]

"""The rooms of docs/ARCHITECTURE.md, held: who may import whom, no import cycle, one
writer of the manifest. Read from the source with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "exoextract"

SCIENCE = (
    "clean",
    "detrend",
    "periods",
    "search",
    "features",
    "synthetic",
    "lcio",
    "lightcurve",
    "filenames",
    "filefacts",
    "ephemeris_match",
)
EXECUTION = (
    "runner",
    "supervisor",
    "jobqueue",
    "dask_executor",
    "child",
    "runfolder",
    "checkpoint",
    "merge",
    "plan",
    "archive",
    "cli",
    "progress",
    "worker",
    "attempts",
    "policy",
)


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """The exoextract modules ``path`` imports (a ``from package import module`` counts
    the module); top-level only skips imports inside functions and TYPE_CHECKING blocks."""
    tree = ast.parse(path.read_text())
    nodes: list[ast.AST] = []
    if top_level_only:
        for node in tree.body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            nodes.extend(ast.walk(node))
    else:
        nodes = list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("exoextract"):
                continue
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_path = PACKAGE.parent / candidate.replace(".", "/")
                if as_path.with_suffix(".py").exists() or (as_path / "__init__.py").exists():
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("exoextract"))
    return found


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = _name(path)
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = _imports(path, top_level_only) - ancestors - {name}
    return graph


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_graph_is_read() -> None:
    graph = _graph(top_level_only=True)
    assert "exoextract.runfolder" in graph["exoextract.runner"]
    assert "exoextract.search.box" in graph["exoextract.search"]


def test_no_import_cycle_at_module_level() -> None:
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for other in sorted(graph.get(module, ())):
            if other not in graph:
                continue
            if state.get(other) == 1:
                return [*path[path.index(other) :], other]
            if not state.get(other) and (cycle := visit(other)):
                return cycle
        state[module] = 2
        path.pop()
        return None

    for module in sorted(graph):
        if not state.get(module):
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("room", SCIENCE)
def test_science_rooms_do_not_reach_the_execution_rooms(room: str) -> None:
    graph = _graph(top_level_only=False)
    for module, deps in graph.items():
        if _room(module) != room:
            continue
        reached = sorted(d for d in deps if _room(d) in EXECUTION)
        assert not reached, f"{module} imports {reached}"


def test_the_archive_room_knows_no_science_and_no_runner() -> None:
    graph = _graph(top_level_only=False)
    forbidden = {*SCIENCE, "sources", "runner", "supervisor", "runfolder", "merge", "cli"}
    forbidden -= {"lcio"}  # it opens the files the archive sends, to check them
    for module, deps in graph.items():
        if _room(module) == "archive":
            reached = sorted(d for d in deps if _room(d) in forbidden)
            assert not reached, f"{module} imports {reached}"


def test_only_the_front_doors_import_the_runner() -> None:
    graph = _graph(top_level_only=False)
    importers = sorted(m for m, deps in graph.items() if "exoextract.runner" in deps)
    assert importers == ["exoextract.cli", "exoextract.demo"]


def test_only_the_run_folder_writes_the_manifest() -> None:
    writers = sorted(
        _name(path)
        for path in PACKAGE.rglob("*.py")
        if "save_manifest(" in path.read_text() or "MANIFEST, " in path.read_text()
    )
    assert writers == ["exoextract.runfolder"]

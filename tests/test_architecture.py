"""The rooms of docs/architecture.md, held: the package's folders are its rooms, who may
import whom, no import cycle, one writer of the manifest. Read from the source with ``ast``;
nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "exoextract"

# The rooms are the package's folders; the few modules at the top are the vocabulary every
# room speaks. A new module goes into a folder (a test below says so).
ROOMS = {
    "cli": "the front door: options, commands, rendering, the demo",
    "run": "a run: plan, drive an executor, checkpoint, merge; the run folder and its readers",
    "execution": "killable processes: the local pool, Dask, children, retries, limits",
    "archive": "batched searches and downloads from the archive",
    "sources": "a task's light curve: local files, synthetic stars, the archive",
    "star": "one star in a worker: its task, the pool's entry, the extraction",
    "lightcurves": "light-curve files: reading, names, headers, lightkurve's cache",
    "science": "cleaning, detrending, the period search, vetting, synthetic stars",
    "features": "the feature families and the rows they make",
    "report": "the HTML report and a star's diagnostic sheet",
    "settings": "the settings object, its layers (defaults, TOML, flags), what changes results",
}
SHARED = {"__init__", "__main__", "errors", "targets", "catalogs", "plugins"}
SCIENCE = ("science", "features", "lightcurves")


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
    """The folder a module lives in ("" for the shared modules at the top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ROOMS) else ""


def test_every_module_lives_in_a_room() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(ROOMS)
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == SHARED, f"modules outside a room: {sorted(top - SHARED)}"


def test_the_graph_is_read() -> None:
    graph = _graph(top_level_only=True)
    assert "exoextract.run.folder" in graph["exoextract.run.runner"]
    assert "exoextract.science.search.box" in graph["exoextract.science.search"]


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
def test_the_science_knows_nothing_of_runs_and_processes(room: str) -> None:
    """Light curves in, numbers out: no run, executor, archive, source, report or CLI; of
    the star room only the task's data types (``star.task``)."""
    graph = _graph(top_level_only=False)
    forbidden = {"run", "execution", "archive", "sources", "report", "cli"}
    for module, deps in graph.items():
        if _room(module) != room:
            continue
        reached = sorted(
            d for d in deps
            if _room(d) in forbidden or (_room(d) == "star" and d != "exoextract.star.task")
        )  # fmt: skip
        assert not reached, f"{module} imports {reached}"


def test_the_archive_room_knows_no_science_and_no_run() -> None:
    graph = _graph(top_level_only=False)
    forbidden = {"science", "features", "sources", "run", "cli", "report"}
    for module, deps in graph.items():
        if _room(module) == "archive":
            reached = sorted(d for d in deps if _room(d) in forbidden)
            assert not reached, f"{module} imports {reached}"


def test_the_executors_see_opaque_payloads() -> None:
    """The pool, retries and limits know no science; the workers' preload (it loads what a
    worker needs, on purpose) and the Dask executor (it names the task function and the
    archive's direct fetch) are the two that reach further."""
    graph = _graph(top_level_only=False)
    forbidden = {"science", "features", "lightcurves", "sources", "star", "archive", "run",
                 "cli", "report"}  # fmt: skip
    reaching = {"exoextract.execution.preload", "exoextract.execution.dask_cluster"}
    for module, deps in graph.items():
        if _room(module) == "execution" and module not in reaching:
            reached = sorted(d for d in deps if _room(d) in forbidden)
            assert not reached, f"{module} imports {reached}"


def test_only_the_front_doors_import_the_runner() -> None:
    graph = _graph(top_level_only=False)
    importers = sorted(m for m, deps in graph.items() if "exoextract.run.runner" in deps)
    assert importers == ["exoextract", "exoextract.cli.commands", "exoextract.cli.demo"]


def test_only_the_run_folder_writes_the_manifest() -> None:
    writers = sorted(
        _name(path)
        for path in PACKAGE.rglob("*.py")
        if "save_manifest(" in path.read_text() or "MANIFEST, " in path.read_text()
    )
    assert writers == ["exoextract.run.folder"]

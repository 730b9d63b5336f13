"""What the archive processes run: one batched search or one file transfer per call.

Each process keeps one :class:`~exoextract.archive.client.ArchiveClient` (one kept-alive
connection) for its whole life and honours the run's shared pause. Like the CPU workers,
these functions return plain outcome mappings, never raise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exoextract.archive import records
from exoextract.archive.client import ArchiveClient, Connection, Gate
from exoextract.archive.products import Product, Request
from exoextract.archive.search import search, target_name
from exoextract.archive.transfer import download
from exoextract.execution.isolation import WorkerConfig, worker_init
from exoextract.lightcurves.cache import check_fits
from exoextract.star.entry import guarded


@dataclass
class _Process:
    """This archive process's own: the run's shared pause and its one client."""

    gate: Gate = field(default_factory=Gate)
    client: ArchiveClient | None = None


_here = _Process()


@dataclass(frozen=True)
class SearchJob:
    connection: Connection
    request: Request
    cache_root: str
    mission: str
    targets: tuple[tuple[str, int], ...]  # (target id, number)


@dataclass(frozen=True)
class FileJob:
    connection: Connection
    cache_root: str
    product: Product
    timeout: float = 300.0


def init(config: WorkerConfig, gate_value: Any) -> None:
    """Pool initializer: the CPU workers' hygiene, plus the run's shared pause."""
    worker_init(config)
    _here.gate = Gate(gate_value)


def client_for(connection: Connection) -> ArchiveClient:
    """This process's client (made once; again only if the archive's address changes)."""
    if _here.client is None or _here.client.connection != connection:
        if _here.client is not None:
            _here.client.close()
        _here.client = ArchiveClient(connection, _here.gate)
    return _here.client


def run_search(job: SearchJob) -> dict[str, Any]:
    client = client_for(job.connection)
    before = client.calls

    def work() -> dict[str, Any]:
        found = search(client, job.mission, job.targets, job.request)
        root = Path(job.cache_root)
        for key, number in job.targets:
            name = target_name(job.mission, number)
            records.save(root, job.mission, job.request, name, found[key])
        return {"found": {k: v.to_dict() for k, v in found.items()}}

    outcome = guarded(work)
    outcome.setdefault("data", {})
    outcome["data"] = {**(outcome["data"] or {}), "calls": client.calls - before}
    return outcome


def run_transfer(job: FileJob) -> dict[str, Any]:
    client = client_for(job.connection)
    return guarded(lambda: fetch_file(client, job.product, Path(job.cache_root), job.timeout))


def fetch_file(
    client: ArchiveClient, product: Product, root: Path, timeout: float
) -> dict[str, Any]:
    """Download one product into the cache; a bad file already there is moved aside."""
    dest = product.path(root)
    notes: list[str] = []
    repaired = 0
    if dest.exists():
        problem = cached_problem(dest, product.size)
        if problem is None:
            return {"bytes": 0, "notes": notes, "repaired": 0}
        dest.replace(dest.with_name(f".{dest.name}.corrupt-{int(time.time())}"))
        notes.append(f"cached {dest.name} was {problem}; moved aside and downloaded again")
        repaired = 1
    url = client.connection.download_url(product.uri)
    size = download(client, url, dest, product.size, time.monotonic() + timeout)
    return {"bytes": size, "notes": notes, "repaired": repaired}


def cached_problem(path: Path, expected: int | None) -> str | None:
    check = check_fits(path)
    if check.bad:
        return check.problem
    if expected and check.size != expected:
        return f"{check.size} bytes, not the archive's {expected}"
    return None

"""``exoextract plan``: what a run would fetch from the archive, and how long it would take.

The targets are searched exactly as a run searches them (batches of ``search_batch``, up
to ``max_downloads`` at once, answers recorded in the cache so the run that follows asks
nothing again); nothing but the smallest missing file is downloaded — once, to measure
what one transfer costs here. The estimate is then:

* downloads: every file not yet in the cache costs the measured per-request latency plus
  its size at the measured bandwidth, ``max_downloads`` at a time;
* compute: each star's CPU seconds from its baseline, interpolated between the seconds per
  star that ``make bench`` measures (one Kepler quarter 0.17 s, two years 3.5 s, four years
  9.1 s; one TESS sector 0.12 s, two sectors a year apart 1.6 s), ``workers`` at a time.

A run overlaps the two, so it takes about the longer of them.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exoextract.archive import options, records
from exoextract.archive.client import ArchiveClient
from exoextract.archive.jobs import fetch_file
from exoextract.archive.products import Product
from exoextract.archive.search import Found, search, target_name
from exoextract.settings import Settings

# (baseline days, CPU seconds per star, every signal) measured by make bench's section 4 on
# a 2-core machine (docs/speed.md's table): a quarter, two and four years of Kepler; a TESS
# sector, two sectors a year apart
CPU_ANCHORS = {
    "Kepler": ((90.0, 0.21), (730.0, 2.3), (1460.0, 5.6)),
    "TESS": ((27.0, 0.15), (365.0, 1.2)),
}
SEGMENT_DAYS = {"Kepler": 93.0, "K2": 80.0, "TESS": 27.4}


@dataclass(frozen=True)
class StarPlan:
    """One star's answer: its files (and those already cached), or why it has none."""

    target_id: str
    mission: str | None
    products: tuple[Product, ...] = ()
    cached: tuple[bool, ...] = ()
    missing: str | None = None

    @property
    def bytes(self) -> int:
        return sum(p.size or 0 for p in self.products)

    @property
    def bytes_to_fetch(self) -> int:
        return sum(p.size or 0 for p, c in zip(self.products, self.cached, strict=True) if not c)

    @property
    def files_to_fetch(self) -> int:
        return sum(1 for c in self.cached if not c)

    @property
    def baseline_days(self) -> float:
        numbers = [n for p in self.products if (n := _segment_number(p.segment)) is not None]
        if not numbers or self.mission is None:
            return 0.0
        return (max(numbers) - min(numbers) + 1) * SEGMENT_DAYS.get(self.mission, 30.0)


@dataclass
class Transfer:
    """One measured download: seconds for a file of ``size`` bytes."""

    filename: str
    size: int
    seconds: float


@dataclass
class Inventory:
    """Everything ``plan`` prints; ``to_dict`` for ``--json``."""

    stars: list[StarPlan]
    api_calls: int
    search_seconds: float  # wall time of the searches
    call_seconds: float  # the requests' own time, summed
    connections: int
    workers: int
    transfer: Transfer | None = None
    searched: int = 0  # stars asked of the archive (the rest had a fresh record)
    warnings: list[str] = field(default_factory=list)
    keep_files: bool = True  # --keep-files: downloads stay in the cache
    in_flight: int = 0  # stars whose files a run holds at once (workers + downloads ahead)
    disk_free: int | None = None  # free bytes where the cache is

    @property
    def found(self) -> list[StarPlan]:
        return [s for s in self.stars if s.missing is None]

    @property
    def not_found(self) -> list[StarPlan]:
        return [s for s in self.stars if s.missing is not None]

    def reasons(self) -> Counter[str]:
        return Counter(_general(s.missing or "") for s in self.not_found)

    def per_mission(self) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for star in self.found:
            row = table[star.mission or "?"]
            row["stars"] += 1
            row["files"] += len(star.products)
            row["bytes"] += star.bytes
            row["bytes_to_fetch"] += star.bytes_to_fetch
            row["files_to_fetch"] += star.files_to_fetch
        return {k: dict(v) for k, v in sorted(table.items())}

    @property
    def seconds_per_call(self) -> float:
        return self.call_seconds / self.api_calls if self.api_calls else 0.0

    def download_seconds(self) -> float | None:
        """Files still to fetch, at the measured cost, ``connections`` at a time."""
        files = sum(s.files_to_fetch for s in self.found)
        size = sum(s.bytes_to_fetch for s in self.found)
        if files == 0:
            return 0.0
        if self.transfer is None:
            return None
        latency = min(self.seconds_per_call, self.transfer.seconds)
        rate = self.transfer.size / max(self.transfer.seconds - latency, 1e-3)
        return (files * latency + size / rate) / max(self.connections, 1)

    def disk_needed(self) -> int:
        """Bytes the run adds to the cache at its fullest: every file still to fetch when
        files are kept, else the ``in_flight`` biggest stars' files to fetch."""
        sizes = sorted((s.bytes_to_fetch for s in self.found), reverse=True)
        return sum(sizes if self.keep_files else sizes[: max(self.in_flight, 1)])

    def disk_fits(self) -> bool | None:
        return None if self.disk_free is None else self.disk_needed() <= self.disk_free

    def compute_seconds(self) -> float:
        cpu = sum(cpu_seconds(s.mission, s.baseline_days) for s in self.found)
        return cpu / max(self.workers, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stars": len(self.stars),
            "found": len(self.found),
            "not_found": len(self.not_found),
            "not_found_reasons": dict(self.reasons()),
            "not_found_examples": [
                {"target_id": s.target_id, "reason": s.missing} for s in self.not_found[:20]
            ],
            "per_mission": self.per_mission(),
            "api_calls": self.api_calls,
            "search_seconds": round(self.search_seconds, 2),
            "stars_searched": self.searched,
            "measured_transfer": None
            if self.transfer is None
            else {
                "file": self.transfer.filename,
                "bytes": self.transfer.size,
                "seconds": round(self.transfer.seconds, 3),
            },
            "estimated_download_seconds": _round(self.download_seconds()),
            "estimated_compute_seconds": round(self.compute_seconds(), 1),
            "connections": self.connections,
            "workers": self.workers,
            "keep_files": self.keep_files,
            "disk_needed_bytes": self.disk_needed(),
            "disk_free_bytes": self.disk_free,
            "warnings": self.warnings,
        }

    def urls(self, settings: Settings) -> list[str]:
        """Download addresses of every file not in the cache (for curl or wget)."""
        connection = options.connection(settings)
        return [
            connection.download_url(p.uri)
            for s in self.found
            for p, cached in zip(s.products, s.cached, strict=True)
            if not cached
        ]


def cpu_seconds(mission: str | None, baseline_days: float) -> float:
    """CPU seconds per star at this baseline: a power law through the two measured anchors
    around it (the last two beyond the longest measured)."""
    anchors = CPU_ANCHORS["TESS" if mission == "TESS" else "Kepler"]
    days = max(baseline_days, anchors[0][0])
    index = next((i for i in range(1, len(anchors)) if days <= anchors[i][0]), len(anchors) - 1)
    (d0, s0), (d1, s1) = anchors[index - 1], anchors[index]
    return s0 * (days / d0) ** (math.log(s1 / s0) / math.log(d1 / d0))


def take_inventory(
    stars: Sequence[tuple[str, str | None, int]],
    settings: Settings,
    workers: int,
    measure: bool = True,
) -> Inventory:
    """Search every (target id, mission, number) as a run would; see the module doc."""
    root = options.cache_root(settings)
    request = options.request(settings)
    answers: dict[str, Found] = {}
    asked: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for key, mission, number in stars:
        if mission is None:
            answers[key] = Found(missing=f"{key}: no mission — add a mission column or --mission")
            continue
        name = target_name(mission, number)
        found = records.load(root, mission, request, name, settings.mast_search_days)
        if found is None:
            asked[mission].append((key, number))
        else:
            answers[key] = found
    batches = [
        (mission, pairs[i : i + settings.search_batch])
        for mission, pairs in asked.items()
        for i in range(0, len(pairs), settings.search_batch)
    ]
    local = threading.local()
    clients: list[ArchiveClient] = []
    lock = threading.Lock()

    def one(batch: tuple[str, list[tuple[str, int]]]) -> dict[str, Found]:
        if not hasattr(local, "client"):
            local.client = ArchiveClient(options.connection(settings))
            with lock:
                clients.append(local.client)
        mission, pairs = batch
        found = search(local.client, mission, pairs, request)
        for key, number in pairs:
            records.save(root, mission, request, target_name(mission, number), found[key])
        return found

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max(1, settings.max_downloads)) as pool:
            for batch_answers in pool.map(one, batches):
                answers.update(batch_answers)
        seconds = time.monotonic() - started
        calls = sum(c.calls for c in clients)
        call_seconds = sum(c.call_seconds for c in clients)
    finally:
        for client in clients:
            client.close()
    plans = []
    for key, mission, _ in stars:
        found = answers[key]
        absent = set(records.missing_files(found, root))
        cached = tuple(p not in absent for p in found.products)
        plans.append(StarPlan(key, mission, found.products, cached, found.missing))
    inventory = Inventory(
        plans,
        calls,
        seconds,
        call_seconds,
        settings.max_downloads,
        workers,
        searched=sum(map(len, asked.values())),
    )
    if measure:
        inventory.transfer = _measure(inventory, settings, root, inventory.warnings)
    if inventory.transfer is not None:  # the timed file is in the cache now
        inventory.stars = [
            StarPlan(
                s.target_id,
                s.mission,
                s.products,
                tuple(
                    c or p.filename == inventory.transfer.filename
                    for p, c in zip(s.products, s.cached, strict=True)
                ),
                s.missing,
            )
            for s in inventory.stars
        ]
    return inventory


def _measure(
    inventory: Inventory, settings: Settings, root: Path, warnings: list[str]
) -> Transfer | None:
    """Download the smallest file still missing, timing it (it stays in the cache)."""
    missing = [
        p
        for s in inventory.found
        for p, cached in zip(s.products, s.cached, strict=True)
        if not cached and p.size
    ]
    if not missing:
        return None
    smallest = min(missing, key=lambda p: p.size or 0)
    client = ArchiveClient(options.connection(settings))
    started = time.monotonic()
    try:
        fetch_file(client, smallest, root, settings.download_timeout)
    except Exception as error:  # the estimate goes without it; the plan itself stands
        warnings.append(f"could not time a download ({type(error).__name__}: {error})")
        return None
    finally:
        client.close()
    return Transfer(smallest.filename, smallest.size or 0, time.monotonic() - started)


def _segment_number(segment: str) -> int | None:
    match = re.match(r"^[QCS](\d+)", segment)
    return int(match.group(1)) if match else None


def _general(reason: str) -> str:
    """A reason with the target's own id taken out, for grouping."""
    return re.sub(r"\b(KIC|TIC|EPIC) \d+\b", "…", reason)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

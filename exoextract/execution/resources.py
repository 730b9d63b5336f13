"""How many workers this machine can take: CPUs and memory, cgroup limits included.

The rule (documented in docs/guides/workers.md): one worker per usable CPU, but no more than fit in
80 % of the available memory at the per-worker budget (``max_memory_per_worker``, or
1.5 GiB, a TESS or Kepler target with lightkurve and TLS loaded plus headroom), and at
least one. On a free Colab (2 vCPUs, ~12 GB) that is 2, not the 12 the old notebooks used.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

DEFAULT_WORKER_BUDGET = int(1.5 * 2**30)
# the fewest bytes a worker holds once it has imported what it needs (lightkurve, numpy,
# the kernels), and how many workers per CPU are worth starting (the archive's waits run in
# their own processes: a CPU worker beyond a few per core only queues)
WORKER_FLOOR_BYTES = 300 * 2**20
WORKERS_PER_CPU = 4


def usable_cpus() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux: psutil's affinity where it exists, else every CPU
        try:
            cpus = len(psutil.Process().cpu_affinity())
        except (AttributeError, psutil.Error):
            cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return max(1, cpus)


def _cgroup_cpu_quota() -> float | None:
    try:
        text = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except OSError:
        return None
    if len(text) == 2 and text[0] != "max":
        return float(text[0]) / float(text[1])
    return None


def available_memory() -> int | None:
    """Bytes this process may still use: available memory, lowered by a cgroup limit."""
    available: int | None
    try:
        available = int(psutil.virtual_memory().available)
    except (psutil.Error, OSError):
        available = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            room = int(limit) - used
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def default_workers(max_memory_per_worker: int | None = None) -> int:
    cpus = usable_cpus()
    memory = available_memory()
    if memory is None:
        return cpus
    budget = max_memory_per_worker or DEFAULT_WORKER_BUDGET
    return max(1, min(cpus, int(0.8 * memory // budget)))


def worker_limit() -> int:
    """The most local workers this machine can start and keep: ``WORKERS_PER_CPU`` per
    usable CPU, and no more than its available memory holds at ``WORKER_FLOOR_BYTES``."""
    limit = WORKERS_PER_CPU * usable_cpus()
    memory = available_memory()
    if memory is not None:
        limit = min(limit, int(0.9 * memory // WORKER_FLOOR_BYTES))
    return max(1, limit)

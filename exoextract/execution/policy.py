"""The executor's :class:`~exoextract.execution.attempts.Policy`, derived once from a run's
settings, and the early start of the local pool's worker server.

Light on purpose (no pandas, no science): the command line calls :func:`warm_workers` as
soon as it has the settings, so the forkserver loads what every worker needs (lightkurve,
the compiled kernels: most of a small run's wall time) while this process imports the rest.
"""

from __future__ import annotations

from exoextract.execution.attempts import Policy
from exoextract.execution.isolation import LIGHTKURVE_ENV, TLS_BACKEND_ENV
from exoextract.execution.resources import default_workers, usable_cpus, worker_limit
from exoextract.execution.supervisor import warm_up
from exoextract.settings import Settings

PRELOAD = ("exoextract.execution.preload",)  # what the forkserver imports once for every worker


def policy_for(settings: Settings) -> Policy:
    """How hard the executor tries; the workers are the setting's, or what the memory
    allows."""
    return Policy(
        workers=local_workers(settings),
        timeout=settings.timeout,
        retries=settings.retries,
        backoff_base=settings.backoff_base,
        backoff_max=settings.backoff_max,
        max_tasks_per_worker=settings.max_tasks_per_worker,
        quarantine_after=settings.quarantine_after,
        pool_rebuilds=settings.pool_rebuilds,
        kill_grace=settings.kill_grace,
        stop_grace=settings.stop_grace,
        stall_margin=settings.stall_margin,
        max_memory=settings.max_memory_per_worker,
        preload=PRELOAD,
        preload_env=(
            (TLS_BACKEND_ENV, settings.tls_backend),
            (LIGHTKURVE_ENV, "1" if settings.extra_features else "0"),
        ),
    )


def local_workers(settings: Settings) -> int:
    """The setting's workers, or what the memory allows; on this machine (the local pool)
    at most what it can start (:func:`exoextract.execution.resources.worker_limit`)."""
    if not settings.workers:
        return default_workers(settings.max_memory_per_worker)
    if settings.executor != "local":
        return settings.workers
    return min(settings.workers, worker_limit())


def workers_note(settings: Settings) -> str | None:
    """The line that says --workers was capped, or None."""
    workers = local_workers(settings)
    if settings.workers and workers < settings.workers:
        return (
            f"--workers {settings.workers} is more than this machine can start "
            f"({worker_limit()} at most: {usable_cpus()} CPU(s) and its free memory); "
            f"running {workers}"
        )
    return None


def warm_workers(settings: Settings, policy: Policy | None = None) -> None:
    """Start the local pool's forkserver and its preload now (a no-op for Dask, and when
    it already runs)."""
    if settings.executor == "local":
        warm_up(policy or policy_for(settings))

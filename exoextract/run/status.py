"""What a run folder says about its run, while it goes and after: ``exoextract status``.

Nothing here writes: the manifest gives the plan and the sessions, the checkpoint files
give what is done (only their key, status and error columns are read), and the last
session's process id says whether the run is alive on this machine. Rate and ETA come
from the checkpoint files written since the last session started.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from exoextract.errors import CheckpointError
from exoextract.run.checkpoint import CheckpointStore
from exoextract.run.folder import load_manifest

# The settings a person checking a run wants to see; the rest are in manifest.json.
SHOWN_SETTINGS = (
    "source",
    "data_dir",
    "workers",
    "timeout",
    "retries",
    "max_memory_per_worker",
    "chunk_size",
    "bls_mode",
    "tls_mode",
    "period_min",
    "period_max",
)
RETRYABLE = ("failed", "timed_out", "crashed", "memory_exceeded", "quarantined")
_NUMBER = re.compile(r"\d+(\.\d+)?")


@dataclass
class FailureGroup:
    """Targets that ended the same way: status, error type and message pattern."""

    status: str
    error_type: str
    message: str  # the first message seen, as an example
    count: int
    targets: list[str] = field(default_factory=list)  # the first few


@dataclass
class RunStatus:
    run_dir: Path
    run_id: str
    state: str  # running | complete | interrupted | stopped
    pid: int | None
    created: str
    updated: str
    total: int
    done: int
    counts: dict[str, int]
    failures: list[FailureGroup]
    rate_per_minute: float | None  # stars a minute
    eta_seconds: float | None
    sessions: int
    settings: dict[str, Any]
    features_path: Path | None
    stars: int = 0  # ``total`` and ``counts`` are rows (candidates); these are stars
    star_counts: dict[str, int] = field(default_factory=dict)

    @property
    def left(self) -> int:
        return max(self.total - self.done, 0)

    @property
    def not_ok(self) -> int:
        return sum(n for s, n in self.counts.items() if s in RETRYABLE)

    @property
    def resume_command(self) -> str | None:
        """What to type next: resume an unfinished run, or retry its failures."""
        if self.state == "running":
            return None
        if self.state != "complete":
            return f"exoextract resume {self.run_dir}"
        if self.not_ok:
            return f"exoextract resume {self.run_dir} --retry-failed"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "run_id": self.run_id,
            "state": self.state,
            "pid": self.pid,
            "created": self.created,
            "updated": self.updated,
            "total": self.total,
            "done": self.done,
            "left": self.left,
            "counts": dict(sorted(self.counts.items())),
            "stars": self.stars,
            "star_counts": dict(sorted(self.star_counts.items())),
            "failures": [vars(g) for g in self.failures],
            "rate_per_minute": self.rate_per_minute,
            "eta_seconds": self.eta_seconds,
            "sessions": self.sessions,
            "settings": self.settings,
            "features_path": str(self.features_path) if self.features_path else None,
            "resume_command": self.resume_command,
        }


def run_status(run_dir: str | Path, now: dt.datetime | None = None) -> RunStatus:
    """Where a run stands, read from its manifest and checkpoints only (safe while the
    run goes on in another process).

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    now : datetime, optional
        The time to measure the rate and the time left against (default: now).

    Returns
    -------
    RunStatus
        Its state (``running``, ``complete``, ``interrupted``, ``stopped``, ...), counts by
        status in rows and stars, grouped failure reasons, rate and time left, and the
        command to type next.

    Raises
    ------
    RunDirError
        ``run_dir`` is not a run folder.

    Examples
    --------
    >>> status = run_status(run_dir)
    >>> status.state, status.stars, status.resume_command
    ('complete', 2, None)
    """
    run_dir = Path(run_dir)
    manifest = load_manifest(run_dir)
    now = now or dt.datetime.now(dt.UTC)
    outcomes, finished_at = _outcomes(CheckpointStore(run_dir))
    counts = Counter(outcomes.column("status").to_pylist()) if outcomes.num_rows else Counter()
    progress = manifest.get("progress") or {}
    total = int(progress.get("targets") or manifest.get("input", {}).get("rows") or 0)
    done = int(sum(counts.values()))
    sessions = manifest.get("sessions") or []
    last = sessions[-1] if sessions else {}
    pid = last.get("pid")
    state = str(manifest.get("status", "interrupted"))
    if state == "running" and not _alive(pid, last):
        state = "stopped"  # the process died without writing its end (SIGKILL, dead notebook)
    star_counts: Counter[str] = Counter()
    seen: set[Any] = set()
    for star, status in zip(
        outcomes.column("target_id").to_pylist() if outcomes.num_rows else [],
        outcomes.column("status").to_pylist() if outcomes.num_rows else [],
        strict=True,
    ):
        if star not in seen:
            seen.add(star)
            star_counts[status] += 1
    stars = int(progress.get("stars") or 0)
    stars_done = sum(star_counts.values())
    if not stars:  # a run folder from before stars were counted
        stars = stars_done if state == "complete" else max(total, done)
    rate, eta = _rate(last, finished_at, now, stars - stars_done, running=state == "running")
    features = run_dir / "features.parquet"
    settings = dict(manifest.get("settings") or {})
    if last.get("workers"):
        settings["workers"] = last["workers"]  # what the session used, not 0 = automatic
    return RunStatus(
        run_dir=run_dir,
        run_id=str(manifest.get("run_id", "")),
        state=state,
        pid=pid,
        created=str(manifest.get("created", "")),
        updated=str(manifest.get("updated", "")),
        total=max(total, done),
        done=done,
        counts=dict(counts),
        failures=failure_groups(outcomes),
        rate_per_minute=rate,
        eta_seconds=eta,
        sessions=len(sessions),
        settings={k: settings.get(k) for k in SHOWN_SETTINGS if k in settings},
        features_path=features if state == "complete" and features.exists() else None,
        stars=max(stars, stars_done),
        star_counts=dict(star_counts),
    )


def failure_groups(outcomes: pa.Table, examples: int = 3) -> list[FailureGroup]:
    """Targets that did not succeed, grouped by status, error type and message with the
    numbers taken out (so 'no light curve for KIC 1' and '... KIC 2' are one reason);
    largest group first."""
    if not outcomes.num_rows:
        return []
    groups: dict[tuple[str, str, str], FailureGroup] = {}
    rows = zip(
        outcomes.column("key").to_pylist(),
        outcomes.column("status").to_pylist(),
        outcomes.column("error_type").to_pylist(),
        outcomes.column("message").to_pylist(),
        strict=True,
    )
    for key, status, error_type, message in rows:
        if status == "ok":
            continue
        text = " ".join(str(message or "").split())
        pattern = _NUMBER.sub("N", text)
        group = groups.setdefault(
            (status, str(error_type or ""), pattern),
            FailureGroup(status, str(error_type or ""), text, 0),
        )
        group.count += 1
        if len(group.targets) < examples:
            group.targets.append(str(key))
    return sorted(groups.values(), key=lambda g: (-g.count, g.status, g.message))


def finished_over_time(run_dir: str | Path) -> list[tuple[float, int]]:
    """(file time, stars) of every checkpoint file: when stars finished."""
    return _outcomes(CheckpointStore(Path(run_dir)))[1]


def _outcomes(store: CheckpointStore) -> tuple[pa.Table, list[tuple[float, int]]]:
    """(key, status, error_type, message of every finished target, a later file winning;
    (file time, stars) per checkpoint file)."""
    wanted = ["key", "status", "error_type", "message", "target_id"]
    latest: dict[str, tuple[str, Any, Any, Any]] = {}
    finished_at: list[tuple[float, int]] = []
    for path in store.files():
        try:
            handle = pq.ParquetFile(path)
            names = set(handle.schema_arrow.names)
            table = handle.read(columns=[c for c in wanted if c in names])
            stamp = path.stat().st_mtime
        except FileNotFoundError:  # replaced by the running process between list and read
            continue
        except Exception as error:  # pragma: no cover - atomic writes prevent this
            raise CheckpointError(
                f"checkpoint {path} is unreadable ({error}) — move it away and resume"
            ) from None
        columns = {
            c: table.column(c).to_pylist() if c in names else [None] * table.num_rows
            for c in wanted
        }
        for key, status, kind, message, star in zip(*(columns[c] for c in wanted), strict=True):
            latest[key] = (status, kind, message, star)
        stars = columns["target_id"]
        finished_at.append((stamp, len(set(stars)) if any(stars) else table.num_rows))
    keys = list(latest)
    return (
        pa.table(
            {
                "key": keys,
                "status": [latest[k][0] for k in keys],
                "error_type": [latest[k][1] for k in keys],
                "message": [latest[k][2] for k in keys],
                "target_id": [latest[k][3] for k in keys],
            }
        ),
        finished_at,
    )


def _alive(pid: Any, session: dict[str, Any]) -> bool:
    """Whether the session's process still runs here (started before the session did,
    so a recycled pid does not count)."""
    if not isinstance(pid, int) or session.get("ended"):
        return False
    try:
        process = psutil.Process(pid)
        started = _parse(session.get("started"))
        return started is None or process.create_time() <= started.timestamp() + 5
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _rate(
    session: dict[str, Any],
    finished_at: list[tuple[float, int]],
    now: dt.datetime,
    left: int,
    running: bool,
) -> tuple[float | None, float | None]:
    """Stars per minute over the last session, and seconds left at that rate."""
    started = _parse(session.get("started"))
    if started is None:
        return None, None
    since = started.timestamp()
    recent = [(t, n) for t, n in finished_at if t >= since]
    rows = sum(n for _, n in recent)
    end = now.timestamp() if running else max((t for t, _ in recent), default=since)
    elapsed = end - since
    if rows == 0 or elapsed <= 0:
        return None, None
    rate = rows / elapsed * 60.0
    eta = left / rate * 60.0 if running and left > 0 else None
    return round(rate, 2), None if eta is None else round(eta, 1)


def _parse(stamp: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return None

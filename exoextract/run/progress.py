"""Progress reporting on stderr: a rich bar on a terminal, plain lines everywhere else.

The runner calls a :class:`Progress`; notebooks can pass their own. Colab shell cells, CI
logs and ``nohup`` are not terminals, so they get one plain line every
``progress_interval`` seconds instead of a bar that floods the log.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol, TextIO

from exoextract.errors import InputError
from exoextract.execution.attempts import Outcome


class Progress(Protocol):
    def start(self, total: int, done: int, workers: int, run_dir: str, rows: int = 0) -> None: ...

    def advance(self, outcome: Outcome) -> None: ...

    def log(self, message: str) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    def start(self, total: int, done: int, workers: int, run_dir: str, rows: int = 0) -> None:
        pass

    def advance(self, outcome: Outcome) -> None:
        pass

    def log(self, message: str) -> None:
        pass

    def finish(self) -> None:
        pass


def _stars(stars: int, rows: int) -> str:
    """'10 stars (21 candidates)': the work is counted in stars, the table in rows."""
    text = f"{stars} star{'s' if stars != 1 else ''}"
    if rows and rows != stars:
        text += f" ({rows} candidates)"
    return text


class _Counts:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.started_at = time.monotonic()
        self.new = 0
        self.statuses: Counter[str] = Counter()

    def reset(self, total: int, done: int) -> None:
        self.total, self.done, self.new = total, done, 0
        self.started_at = time.monotonic()

    def add(self, outcome: Outcome) -> None:
        self.done += 1
        self.new += 1
        self.statuses[outcome.status] += 1

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "ok")

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started_at
        return self.new / elapsed * 60 if elapsed > 0 else 0.0

    def eta(self) -> str:
        per_minute = self.rate()
        if per_minute <= 0:
            return "?"
        seconds = (self.total - self.done) / per_minute * 60
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


class PlainProgress:
    """One line every ``interval`` seconds (and at the end) on a non-terminal stream."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.counts = _Counts()
        self._last = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, total: int, done: int, workers: int, run_dir: str, rows: int = 0) -> None:
        self.counts.reset(total, done)
        self._last = time.monotonic()
        already = f", {done} already done" if done else ""
        self._print(
            f"exoextract: {_stars(total, rows)}{already}, {workers} worker(s), run folder {run_dir}"
        )

    def advance(self, outcome: Outcome) -> None:
        self.counts.add(outcome)
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._line()

    def _line(self) -> None:
        c = self.counts
        self._print(
            f"progress: {c.done}/{c.total} stars done, {c.failed} not ok, "
            f"{c.rate():.1f} stars/min, eta {c.eta()}"
        )

    def log(self, message: str) -> None:
        self._print(f"note: {message}")

    def finish(self) -> None:
        self._line()


class RichProgress:
    """A live bar with done, failed, rate and ETA, for interactive terminals."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.counts = _Counts()
        self._bar: Any = None
        self._task: Any = None

    def start(self, total: int, done: int, workers: int, run_dir: str, rows: int = 0) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.counts.reset(total, done)
        self.console.print(
            f"[bold]exoextract[/]: {_stars(total, rows)}, {workers} worker(s), run folder {run_dir}"
        )
        self._bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} not ok"),
            TextColumn("{task.fields[rate]} stars/min"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            "extracting", total=total, completed=done, failed=0, rate="0.0"
        )

    def advance(self, outcome: Outcome) -> None:
        self.counts.add(outcome)
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=self.counts.done,
                failed=self.counts.failed,
                rate=f"{self.counts.rate():.1f}",
            )

    def log(self, message: str) -> None:
        self.console.print(f"[yellow]note[/]: {message}")

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class FileProgress(PlainProgress):
    """Timestamped plain lines appended to a log file: the start, every target that did not
    succeed (with its reason), a progress line every ``interval`` seconds, notes and the
    end. Each line is flushed, so the file is complete up to a kill."""

    def __init__(self, path: str | Path, interval: float = 10.0) -> None:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        except OSError as error:
            raise InputError(
                f"cannot write the log file {path}: {error.strerror or error} — "
                "choose a writable --log-file"
            ) from None
        super().__init__(stream=handle, interval=interval)

    def _print(self, text: str) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        print(f"{stamp} {text}", file=self.stream, flush=True)

    def advance(self, outcome: Outcome) -> None:
        if outcome.status != "ok":
            message = " ".join(str(outcome.message or "").split())[:300]
            self._print(f"target {outcome.key}: {outcome.status} {outcome.error_type}: {message}")
        super().advance(outcome)

    def write(self, text: str) -> None:
        """A line of the caller's own (the run's result)."""
        self._print(text)

    def finish(self) -> None:
        super().finish()
        counts = ", ".join(f"{s} {n}" for s, n in sorted(self.counts.statuses.items()))
        self._print(f"finished this session: {counts or 'nothing computed'}")

    def close(self) -> None:
        self.stream.close()


class TeeProgress:
    """Several progress reports at once (the terminal and a log file)."""

    def __init__(self, *reports: Progress) -> None:
        self.reports = reports

    def start(self, total: int, done: int, workers: int, run_dir: str, rows: int = 0) -> None:
        for r in self.reports:
            r.start(total, done, workers, run_dir, rows)

    def advance(self, outcome: Outcome) -> None:
        for r in self.reports:
            r.advance(outcome)

    def log(self, message: str) -> None:
        for r in self.reports:
            r.log(message)

    def finish(self) -> None:
        for r in self.reports:
            r.finish()


def auto_progress(interval: float = 10.0, quiet: bool = False) -> Progress:
    if quiet:
        return NullProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress(interval=interval)

"""``exoextract demo``: synthetic stars written as archive FITS files, run end to end.

Nothing is downloaded: the stars are generated (:mod:`exoextract.science.synthetic`), written in
the archive's Kepler and TESS formats to one ``demo-inputs`` folder beside the runs (the
same stars each time, kept so that they can be plotted later), and processed by the real
pipeline with the ``local`` source, so the demo exercises what a real run does.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exoextract.errors import InputError
from exoextract.run.progress import Progress
from exoextract.run.runner import RunResult, start_run
from exoextract.science.synthetic import StarSpec, spec_for, write_fits
from exoextract.settings import Settings

TESS_IDS = tuple(range(90000100, 90000116))  # 4 of each kind (kind = id % 4)
KEPLER_IDS = (9000200, 9000201, 9000202, 9000203)


@dataclass
class DemoResult:
    run: RunResult
    stars: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recovered(self) -> int:
        return sum(1 for s in self.stars if s["recovered"])

    @property
    def with_signal(self) -> int:
        return sum(1 for s in self.stars if s["injected_period"] is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "stars": self.stars,
            "recovered": self.recovered,
            "with_signal": self.with_signal,
        }


def demo_specs(n: int) -> list[StarSpec]:
    ids = [(i, "TESS") for i in TESS_IDS] + [(i, "Kepler") for i in KEPLER_IDS]
    return [spec_for(number, mission) for number, mission in ids[:n]]


def run_demo(
    out_dir: str | Path | None,
    settings: Settings,
    n: int = 20,
    progress: Progress | None = None,
    runs_root: str | Path = "runs",
) -> DemoResult:
    specs = demo_specs(n)
    # The inputs stay beside the run, so that `exoextract plot` can redraw its stars later;
    # they are the same stars every time, so every demo shares one folder of them.
    root = Path(out_dir).resolve().parent if out_dir else Path(runs_root)
    inputs = root / "demo-inputs"
    archive = inputs / "archive"
    try:
        archive.mkdir(parents=True, exist_ok=True)
        _write_missing(specs, archive)
    except OSError as error:
        raise InputError(
            f"cannot write the demo's stars to {inputs}: {error.strerror or error} — choose "
            "another --out"
        ) from None
    rows = [["target", "label", "injected_period"]]
    for spec in specs:
        prefix = "TIC" if spec.mission == "TESS" else "KIC"
        period = f"{spec.period:.5f}" if spec.has_transit else ""
        rows.append([f"{prefix} {spec.number}", spec.kind, period])
    csv_path = inputs / f"demo_targets_{len(specs)}.csv"
    text = "".join(",".join(row) + "\n" for row in rows)
    if not csv_path.exists() or csv_path.read_text() != text:
        partial = csv_path.with_suffix(".csv.part")
        partial.write_text(text)
        os.replace(partial, csv_path)
    run = start_run(
        csv_path,
        settings.replace(source="local", data_dir=str(archive)),
        out_dir=out_dir,
        progress=progress,
        runs_root=runs_root,
    )
    return DemoResult(run=run, stars=_compare(specs, run))


def _write_missing(specs: list[StarSpec], archive: Path) -> None:
    """Write the stars' files that the shared folder does not hold yet (each file moved in
    whole, so a demo running beside this one never reads half a file)."""
    with tempfile.TemporaryDirectory(dir=archive.parent) as tmp:
        for spec in specs:
            for path in write_fits(spec, Path(tmp)):
                target = archive / path.relative_to(tmp)
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)


def _compare(specs: list[StarSpec], run: RunResult) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if run.features_path is not None:
        table = pd.read_parquet(run.features_path)
        found = {
            str(row["target_id"]): {str(k): v for k, v in row.items()}
            for row in table.to_dict("records")
        }
    rows = []
    for spec in specs:
        target = f"{'TIC' if spec.mission == 'TESS' else 'KIC'} {spec.number}"
        row = found.get(target, {})
        injected = spec.period if spec.has_transit else None
        tls = _number(row.get("tls_period"))
        bls = _number(row.get("bls_period"))
        rows.append(
            {
                "target_id": target,
                "mission": spec.mission,
                "kind": spec.kind,
                "injected_period": injected,
                "tls_period": tls,
                "bls_period": bls,
                "tls_sde": _number(row.get("tls_sde")),
                "transit_like": _number(row.get("vet_transit_like")),
                "recovered": injected is not None and _matches(injected, tls, spec.kind),
            }
        )
    return rows


def _matches(injected: float, found: float | None, kind: str) -> bool:
    """Within 1 %; for an eclipsing binary half the period also counts (equal eclipses)."""
    if found is None:
        return False
    ratios = (1.0, 0.5) if kind == "eb" else (1.0,)
    return any(abs(found - injected * r) <= 0.01 * injected * r for r in ratios)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number

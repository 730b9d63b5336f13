"""``make bench-science``: does the catalogue find transits, and only transits?

A few hundred synthetic stars with known answers, at Kepler (one quarter, 29.4-minute
cadence) and TESS (one sector, 2-minute cadence): planets over a grid of periods and of
signal-to-noise ratios from 5 to 50, eclipsing binaries, quiet and variable stars without
transits. Each star goes through, in the same run:

* ``exoextract``: its cleaning (1-day flattening window) and its BLS, TLS and vetting
  families, TLS with the configured backend;
* ``TLS defaults``: what notebooks do — ``lc.remove_nans().normalize().flatten()`` with
  lightkurve's default window, then ``transitleastsquares(...).power()`` with its defaults
  (one thread, for a fair time);
* ``exoextract, exact TLS``: the same as the first on a subset, with TLS's exact ``fused``
  backend, to check what its default approximate backend costs in recall.

The signal-to-noise ratio of a planet is its depth over the white noise per cadence times
the square root of the number of cadences in transit (planets get white noise only, so the
ratio means what it says; binaries and variable stars keep the generator's red noise).

A transit is recovered when the star is detected and the period is within 1 % of the
injected one; a half or double period is counted apart. Two detection rules, for both
pipelines: ``sde`` is TLS's SDE >= 9; ``vetted`` adds the standard checks — odd and even
transits within 5 sigma, at least 3 transits with data — from each pipeline's own output
(exoextract's ``vet_transit_like`` also requires a box to fit better than a sinusoid,
from its BLS harmonic test; TLS alone has no such test). The false alarm rate is the
fraction of stars without transits that are detected. Every signal of a star is scored
too (signals.parquet): a planet found as a later signal counts, and so does a false alarm
there. The real stars are ``make bench-real``'s (bench/real.py).

The long-baseline set (:func:`long_population`: two and four years of Kepler, two TESS
sectors a year apart) reports recall by period band, by the SNR of the noise each star leaves
after its own variability is removed (:func:`mes`, as Kepler's MES) beside the white-noise
SNR the set is built on, the goals, and where each missed planet was lost. Its planets on
spotted hosts also run once with the generator's own spot model
divided out instead of the one exoextract fits (:func:`true_spots`; ``--no-true-spots``
skips it): the recall a perfect spot model would reach, a ceiling for that part of the
cleaning, never a result.

``python bench/science.py`` (216 stars) takes about 11 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import math
import os
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
# real light curves of WASP-18 (TESS) and Kepler-90 (Kepler), where a data folder has them
SHARED = Path(os.environ.get("EXOEXTRACT_REAL_DATA", REPO.parent / "shared" / "data"))
console = Console(width=140)
SNR_BINS = (5, 7, 10, 15, 25, 50)
SDE_THRESHOLD = 9.0
CADENCE = {"TESS": 2.0 / 1440.0, "Kepler": 0.0204335}
SPAN = {"TESS": 26.4, "Kepler": 89.0}
PERIODS = {"TESS": (0.8, 8.0), "Kepler": (1.0, 20.0)}


# ---------------------------------------------------------------- the population
def population(per_bin: int, others: int, seed: int = 2026) -> list[dict[str, Any]]:
    from exoextract.science.synthetic import StarSpec, spec_for

    rng = np.random.default_rng(seed)
    stars: list[dict[str, Any]] = []
    number = 80_000_000
    for mission in ("TESS", "Kepler"):
        low, high = PERIODS[mission]
        for snr in SNR_BINS:
            for _ in range(per_bin):
                number += 1
                period = float(np.exp(rng.uniform(np.log(low), np.log(high))))
                duration = 13 / 24 * (period / 365.25) ** (1 / 3) * float(rng.uniform(0.7, 1.1))
                noise = float(
                    rng.uniform(4e-4, 1.2e-3) if mission == "TESS" else rng.uniform(8e-5, 2.5e-4)
                )
                in_transit = SPAN[mission] / period * duration / CADENCE[mission]
                depth = snr * noise / math.sqrt(in_transit)
                spec = StarSpec(
                    number=number,
                    mission=mission,
                    kind="planet",
                    period=period,
                    t0=float(rng.uniform(0.1, period)),
                    depth=depth,
                    duration=duration,
                    noise=noise,
                    red_noise=0.0,
                    seed=number,
                )
                stars.append({"spec": spec, "snr": snr})
        for kind, offset in (("eb", 1), ("quiet", 3), ("variable", 2)):
            found = 0
            candidate = 81_000_000 + offset + (0 if mission == "TESS" else 400_000)
            while found < others:
                candidate += 4
                spec = spec_for(candidate, mission)
                if spec.kind == kind:
                    stars.append({"spec": replace(spec, first_segment=1), "snr": None})
                    found += 1
    return stars


def noise_population(per_mission: int) -> list[dict[str, Any]]:
    """Quiet stars only (no transit, no variability), for the false-alarm rate of the fast
    search's SDE beside TLS's own search (:func:`sde_calibration`)."""
    from exoextract.science.synthetic import spec_for

    stars: list[dict[str, Any]] = []
    for mission, start in (("TESS", 87_000_000), ("Kepler", 88_000_000)):
        candidate, found = start, 0
        while found < per_mission:
            candidate += 1
            spec = spec_for(candidate, mission)
            if spec.kind == "quiet":
                stars.append({"spec": replace(spec, first_segment=1), "snr": None, "noise": True})
                found += 1
    return stars


# ---------------------------------------------------------------- long baselines
# (name, mission, segments, step between segments, period bands in days)
LONG_CASES = (
    ("Kepler, 2 years", "Kepler", 8, 1, ((1, 10), (10, 50), (50, 150), (150, 240), (240, 360))),
    ("Kepler, 4 years", "Kepler", 16, 1, ((1, 10), (10, 50), (50, 150), (150, 300))),
    ("TESS, 2 sectors a year apart", "TESS", 2, 13, ((0.8, 4), (4, 10))),
)
LONG_SNR = (12, 20)
TRUE_SPOTS = "exoextract, true spots"  # diagnostic: the generator's spot model divided out
TOP_PEAKS = 10  # a missed planet not among this many of the search's peaks: the search lost it
MISSES = (
    "not among the search's highest peaks",
    "among them, another period reported",
    "half or twice the period",
    "at its period, not vetted",
)


def long_population(per_band: int, others: int, seed: int = 2027) -> list[dict[str, Any]]:
    """Planets per (case, period band, SNR), half of them on spotted stars; then quiet,
    variable, spotted and eclipsing-binary stars per case. Spots evolve: groups grow, decay,
    drift and rotate differentially over the baseline (exoextract.science.synthetic.spot_model)."""
    from exoextract.science.synthetic import StarSpec, make_segments, spec_for

    rng = np.random.default_rng(seed)
    stars: list[dict[str, Any]] = []
    number = 82_000_000
    for case, mission, segments, step, bands in LONG_CASES:
        kepler = mission != "TESS"
        for low, high in bands:
            for snr in LONG_SNR:
                for index in range(per_band):
                    number += 1
                    period = float(np.exp(rng.uniform(np.log(low), np.log(high))))
                    duration = 13 / 24 * (period / 365.25) ** (1 / 3) * float(rng.uniform(0.7, 1.1))
                    noise = float(
                        rng.uniform(8e-5, 2.5e-4) if kepler else rng.uniform(4e-4, 1.2e-3)
                    )
                    spec = StarSpec(
                        number=number,
                        mission=mission,
                        kind="planet",
                        period=period,
                        t0=float(rng.uniform(0.1, min(period, 60.0))),
                        depth=1e-3,
                        duration=duration,
                        noise=noise,
                        red_noise=0.0,
                        segments=segments,
                        segment_step=step,
                        seed=number,
                    )
                    if index % 2:
                        spec = _spotted(spec, rng, noise)
                    times = np.concatenate([np.asarray(g["time"]) for g in make_segments(spec)])
                    phase = np.abs(
                        (times - times[0] - spec.t0 + 0.5 * period) % period - 0.5 * period
                    )
                    in_transit = max(int(np.sum(phase < 0.5 * duration)), 1)
                    depth = snr * noise / math.sqrt(in_transit)
                    transits = len(
                        np.unique(
                            np.floor(
                                (times[phase < 0.5 * duration] - times[0] - spec.t0) / period + 0.5
                            )
                        )
                    )
                    stars.append(
                        {
                            "spec": replace(spec, depth=depth),
                            "snr": snr,
                            "case": case,
                            "band": (low, high),
                            "transits": transits,
                            "kind": "planet",
                        }
                    )
        for kind, offset in (("quiet", 3), ("variable", 2), ("spotted", 3), ("eb", 1)):
            found = 0
            candidate = 83_000_000 + offset + 1000 * len(stars)
            while found < others:
                candidate += 4
                spec = spec_for(candidate, mission)
                if spec.kind != kind.replace("spotted", "quiet"):
                    continue
                spec = replace(spec, segments=segments, segment_step=step, first_segment=1)
                if kind == "spotted":
                    spec = _spotted(spec, rng, spec.noise, strong=True)
                if kind == "eb":  # periods across the long baseline's range
                    period = float(np.exp(rng.uniform(np.log(1.0), np.log(60.0))))
                    spec = replace(
                        spec, period=period, duration=13 / 24 * (period / 365.25) ** (1 / 3) * 1.3
                    )
                stars.append({"spec": spec, "snr": None, "case": case, "band": None, "kind": kind})
                found += 1
    return stars


SHORT_PERIODS = (0.52, 0.58, 0.73, 0.95, 1.3, 1.8, 2.4, 3.4)  # days, on four years
SHORT_SNR = (17, 35)


def short_period_population(seed: int = 2028) -> list[dict[str, Any]]:
    """Four years of Kepler, quiet hosts, one planet each at 0.5-3.5 d (SNR 17 and 35): the
    periods where a fold of many short rows once read past them and mislabelled its trial
    periods, and where TLS's own grid stops (0.60 d for a Sun-like star)."""
    from exoextract.science.synthetic import StarSpec, make_segments

    rng = np.random.default_rng(seed)
    stars: list[dict[str, Any]] = []
    number = 84_000_000
    for period in SHORT_PERIODS:
        for snr in SHORT_SNR:
            number += 1
            duration = 13 / 24 * (period / 365.25) ** (1 / 3) * float(rng.uniform(0.8, 1.1))
            noise = float(rng.uniform(8e-5, 2.5e-4))
            spec = StarSpec(number=number, mission="Kepler", kind="planet", period=period,
                            t0=float(rng.uniform(0.05, period)), depth=1e-3, duration=duration,
                            noise=noise, red_noise=0.0, segments=16, seed=number)  # fmt: skip
            times = np.concatenate([np.asarray(g["time"]) for g in make_segments(spec)])
            phase = np.abs((times - times[0] - spec.t0 + 0.5 * period) % period - 0.5 * period)
            depth = snr * noise / math.sqrt(max(int(np.sum(phase < 0.5 * duration)), 1))
            stars.append({"spec": replace(spec, depth=depth), "snr": snr, "kind": "planet"})
    return stars


def summarise_short_periods(stars: list[dict[str, Any]], results: dict[int, Any]) -> None:
    """Each four-year short-period planet: the signal at its period, flagged, and whether
    any period is reported twice on its star."""
    table = Table(title="Four years of Kepler, planets at 0.5-3.5 d: the signal at each "
                  "planet's period (within 0.1 %)")  # fmt: skip
    for name in ("period d", "SNR", "signal", "flagged", "signals", "a period twice"):
        table.add_column(name, justify="right")
    found = flagged = twice = 0
    for star in stars:
        data = results[star["spec"].number]["exoextract"]
        signals = data["signals"]
        truth = star["spec"].period
        at = [i + 1 for i, (p, _, _) in enumerate(signals)
              if math.isfinite(p) and abs(p / truth - 1) < 1e-3]  # fmt: skip
        flag = any(signals[i - 1][2] for i in at)
        periods = sorted(p for p, kind, _ in signals if kind != "single" and math.isfinite(p))
        again = any(b / a - 1 < 1e-3 for a, b in itertools.pairwise(periods))
        found += bool(at)
        flagged += flag
        twice += again
        table.add_row(f"{truth:g}", str(star["snr"]), ", ".join(map(str, at)) or "NOT FOUND",
                      "yes" if flag else "no", str(len(signals)),
                      "YES" if again else "no")  # fmt: skip
    console.print(table)
    console.print(
        f"four years, 0.5-3.5 d: {found}/{len(stars)} at their period, {flagged}/{len(stars)} "
        f"flagged; stars with a period reported twice: {twice}"
    )


def _spotted(spec: Any, rng: np.random.Generator, noise: float, strong: bool = False) -> Any:
    """The star with evolving starspots: 0.2-3 % on spotted field stars, 5-50x the noise
    on planet hosts; rotation 1-30 d, spot groups changing over 10-60 d."""
    amplitude = (
        float(np.exp(rng.uniform(np.log(0.002), np.log(0.03))))
        if strong
        else float(np.exp(rng.uniform(np.log(5.0), np.log(50.0)))) * noise
    )
    return replace(
        spec,
        spot_amplitude=amplitude,
        spot_period=float(np.exp(rng.uniform(np.log(1.0), np.log(30.0)))),
        spot_lifetime=float(rng.uniform(10.0, 60.0)),
    )


def summarise_long(stars: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    labels = ["exoextract", "exoextract, exhaustive", "TLS defaults"]

    def score(chosen: list[dict[str, Any]], label: str, wanted: str, truth: bool) -> str:
        scored = [
            verdict(s["spec"].period if truth else None, results[s["spec"].number][label],
                    "vetted")
            for s in chosen
            if label in results[s["spec"].number]
        ]  # fmt: skip
        return f"{scored.count(wanted)}/{len(scored)}" if scored else "-"

    table = Table(
        title="Long baselines: recall (vetted) of planets at SNR "
        f"{' and '.join(map(str, LONG_SNR))} by period band (half on spotted stars); "
        "false alarms (vetted) on stars without transits"
    )
    for name in ("light curve", "periods d / stars", "n", "2-3 transits", *labels):
        table.add_column(name, justify="right")
    for case, _, _, _, bands in LONG_CASES:
        for low, high in bands:
            chosen = [s for s in stars if s["case"] == case and s["band"] == (low, high)]
            n_few = sum(1 for s in chosen if s["transits"] <= 3)
            cells = [score(chosen, label, "recovered", True) for label in labels]
            table.add_row(case, f"{low:g}-{high:g}", str(len(chosen)), str(n_few), *cells)
        for kind in ("quiet", "variable", "spotted"):
            chosen = [s for s in stars if s["case"] == case and s.get("kind") == kind]
            cells = [score(chosen, label, "false alarm", False) for label in labels]
            table.add_row(case, kind, str(len(chosen)), "-", *cells)
    console.print(table)
    planets = [s for s in stars if s["snr"] is not None]
    few = [s for s in planets if s["transits"] <= 3]
    spotted = [s for s in planets if s["spec"].spot_amplitude > 0]
    empty = [s for s in stars if s.get("kind") in ("quiet", "variable", "spotted")]
    quiet_spotted = [s for s in stars if s.get("kind") in ("quiet", "spotted")]
    binaries = [s for s in stars if s.get("kind") == "eb"]
    lines = Table(title="Long baselines: the goals (exoextract, vetted; TLS defaults where run)")
    for name in ("what", "exoextract", "TLS defaults", "goal"):
        lines.add_column(name, justify="right")
    rows = [
        ("recall, every planet (SNR >= 12, P <= half the baseline)", planets, "recovered", True,
         ">= 95 %"),
        ("recall, planets on spotted stars", spotted, "recovered", True, ""),
        ("recall, planets with 2-3 transits", few, "recovered", True, ">= 80 %"),
        ("false alarms, quiet and spotted stars", quiet_spotted, "false alarm", False, "<= 2 %"),
        ("false alarms, quiet, variable and spotted", empty, "false alarm", False, ""),
    ]  # fmt: skip
    for name, chosen, wanted, truth, goal in rows:
        lines.add_row(name, _share(score(chosen, "exoextract", wanted, truth)),
                      _share(score(chosen, "TLS defaults", wanted, truth)), goal)  # fmt: skip
    flagged = [
        s for s in binaries if results[s["spec"].number]["exoextract"]["vetted"]
    ]  # fmt: skip
    lines.add_row("eclipsing binaries flagged planet-like", f"{len(flagged)}/{len(binaries)}",
                  "", "0")  # fmt: skip
    console.print(lines)
    by_mes(planets, quiet_spotted, results)
    misses(planets, results)
    spot_ceiling(spotted, results)
    timing = Table(title="Long baselines: seconds per star (one core), mean (stars)")
    timing.add_column("light curve")
    for label in labels:
        timing.add_column(label, justify="right")
    for case, *_ in LONG_CASES:
        row = [case]
        for label in labels:
            times = [
                results[s["spec"].number][label]["seconds"]
                for s in stars
                if s["case"] == case and label in results[s["spec"].number]
            ]
            row.append(f"{np.mean(times):.1f} ({len(times)})" if times else "-")
        timing.add_row(*row)
    console.print(timing)


MES_BINS = ((0.0, 7.0), (7.0, 10.0), (10.0, 15.0), (15.0, 25.0), (25.0, math.inf))


def by_mes(
    planets: list[dict[str, Any]],
    empty: list[dict[str, Any]],
    results: dict[int, dict[str, Any]],
) -> None:
    """Recall against the SNR of the noise each star leaves after its own variability is
    removed (:func:`mes`, as Kepler's MES), beside the white-noise SNR the set is built on;
    the restated goals; the strongest signal and every signal (signals.parquet)."""

    def rate(chosen: list[dict[str, Any]], every: bool, truth: bool = True) -> str:
        wanted = "recovered" if truth else "false alarm"
        found = [results[s["spec"].number]["exoextract"] for s in chosen]
        scored = [
            verdict_any(s["spec"].period if truth else None, f)
            if every
            else verdict(s["spec"].period if truth else None, f, "vetted")
            for s, f in zip(chosen, found, strict=True)
        ]
        return _share(f"{scored.count(wanted)}/{len(scored)}") if scored else "-"

    measured = [s for s in planets if math.isfinite(results[s["spec"].number].get("mes", math.nan))]
    table = Table(title="Long baselines: recall by the SNR of the noise the star leaves after "
                  "cleaning (MES-like), P <= half the baseline")  # fmt: skip
    for name in ("MES", "n", "white-noise SNR (mean)", "strongest signal", "every signal"):
        table.add_column(name, justify="right")
    for low, high in MES_BINS:
        chosen = [s for s in measured if low <= results[s["spec"].number]["mes"] < high]
        snr = np.mean([s["snr"] for s in chosen]) if chosen else math.nan
        table.add_row(f"{low:g}-{high:g}", str(len(chosen)), f"{snr:.1f}",
                      rate(chosen, False), rate(chosen, True))  # fmt: skip
    console.print(table)
    goals = Table(title="Long baselines: the goals restated (MES-like SNR)")
    for name in ("what", "strongest signal", "every signal", "goal"):
        goals.add_column(name, justify="right")
    strong = [s for s in measured if results[s["spec"].number]["mes"] >= 10]
    few = [s for s in planets if s["transits"] <= 3]
    goals.add_row("recall at MES >= 10", rate(strong, False), rate(strong, True), ">= 95 %")
    goals.add_row("recall, 2-3 transits", rate(few, False), rate(few, True), ">= 80 %")
    goals.add_row("false alarms, quiet and spotted stars", rate(empty, False, False),
                  rate(empty, True, False), "<= 2 %")  # fmt: skip
    console.print(goals)


def miss(truth: float, found: dict[str, Any]) -> str | None:
    """Where a planet was lost by exoextract (one of MISSES), or None if recovered."""
    outcome = verdict(truth, found, "vetted")
    if outcome == "recovered":
        return None
    period = found["period"]
    if math.isfinite(period) and abs(period / truth - 1) <= 0.01:
        return MISSES[3]
    if outcome == "alias":
        return MISSES[2]
    among = found.get("peak_rank") not in (-1, None)  # None: the search did not run
    return MISSES[1] if among else MISSES[0]


def misses(planets: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """Where exoextract's missed planets were lost, per light curve and host."""
    table = Table(
        title=f"Long baselines: where exoextract's misses were lost (the search's {TOP_PEAKS} "
        "highest distinct peaks; quiet / spotted hosts)"
    )
    for name in ("light curve", "missed", *MISSES):
        table.add_column(name, justify="right")
    for case, *_ in LONG_CASES:
        counts = {name: [0, 0] for name in ("missed", *MISSES)}
        for star in (s for s in planets if s["case"] == case):
            where = miss(star["spec"].period, results[star["spec"].number]["exoextract"])
            if where is not None:
                spotted = int(star["spec"].spot_amplitude > 0)
                counts[where][spotted] += 1
                counts["missed"][spotted] += 1
        table.add_row(case, *(f"{q} / {s}" for q, s in counts.values()))
    console.print(table)


def spot_ceiling(spotted: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """Planets on spotted hosts recovered with exoextract's spot model and with the
    generator's own divided out instead (:func:`true_spots`): how much recall a perfect
    spot model could win back."""
    chosen = [s for s in spotted if TRUE_SPOTS in results[s["spec"].number]]
    if not chosen:
        return
    table = Table(
        title="Long baselines: planets on spotted hosts (vetted), with exoextract's spot model "
        "and with the generator's own (a ceiling, not a result)"
    )
    for name in ("light curve", "n", "exoextract", TRUE_SPOTS):
        table.add_column(name, justify="right")
    for case in [c for c, *_ in LONG_CASES] + ["all"]:
        here = [s for s in chosen if case in ("all", s["case"])]
        cells = [_rate(here, results, label, "recovered") for label in ("exoextract", TRUE_SPOTS)]
        table.add_row(case, str(len(here)), *cells)
    console.print(table)


def _share(cell: str) -> str:
    if "/" not in cell:
        return cell
    hits, total = (int(x) for x in cell.split("/"))
    return f"{cell} ({100.0 * hits / total:.0f} %)" if total else cell


# ---------------------------------------------------------------- one star, three ways
def run_star(payload: dict[str, Any]) -> dict[str, Any]:
    """Both pipelines on one star (runs in a worker). Returns plain numbers."""
    from exoextract.features import FeatureContext
    from exoextract.science.clean import clean_lightcurve
    from exoextract.science.synthetic import make_lightcurve
    from exoextract.settings import load_settings
    from exoextract.star.rows import first_row

    spec = payload["spec"]
    lc = make_lightcurve(spec)
    out: dict[str, Any] = {"status": "ok", "data": {}}
    data = out["data"]
    for label, overrides in payload["pipelines"]:
        settings = load_settings(
            None,
            {"run_stats": False, "run_variability": False, "run_known": False, **overrides},
        )
        start = time.perf_counter()
        with true_spots(spec) if label == TRUE_SPOTS else contextlib.nullcontext():
            cleaned = clean_lightcurve(lc, settings)
        ctx = FeatureContext.of(cleaned, settings)
        row = first_row(ctx)  # a plain target list's row: the star's signal 1
        first = ctx.shared.get("first_search") or {}  # the first search, before any rule
        data[label] = {
            "peak_rank": peak_rank(ctx, spec.period) if spec.kind == "planet" else None,
            "signals": [
                (s["signal_period"], s["signal_kind"], s.get("vet_transit_like") == 1.0)
                for s in ctx.shared.get("signals") or ()
            ],
            "period": row["tls_period"],
            "sde": first.get("tls_sde", math.nan),
            "sde_period": first.get("tls_period", math.nan),
            "snr": row["tls_snr"],
            "depth_snr": row["vet_depth_snr"],
            "snr_red": row["vet_depth_snr_red"],
            "chi2_red": row["vet_depth_chi2_red"],
            "vetted": row["vet_transit_like"] == 1.0,
            "seconds": time.perf_counter() - start,
        }
    if payload["baseline"]:
        data["TLS defaults"] = tls_defaults(lc)
    if payload.get("mes"):
        data["mes"] = mes(spec)
    return out


def mes(spec: Any) -> float:
    """The planet's SNR against the noise its star leaves once exoextract has removed the
    star's own variability (as Kepler's multiple event statistic): the injected depth times
    the square root of the transits with data, over the scatter of transit-long means of the
    same star cleaned without the planet."""
    from exoextract.science.clean import arrays, clean_lightcurve
    from exoextract.science.synthetic import make_lightcurve, segment_times
    from exoextract.settings import load_settings

    cleaned = clean_lightcurve(make_lightcurve(replace(spec, depth=0.0)), load_settings())
    assert cleaned.flat is not None  # None only in a subset of a star's points
    time, flux, _ = arrays(cleaned.flat)
    duration = spec.duration
    index = np.floor((time - time.min()) / duration).astype(np.int64)
    counts = np.bincount(index)
    full = counts >= 0.5 * np.median(counts[counts > 0])
    means = np.bincount(index, weights=flux)[full] / counts[full]
    scatter = 1.4826 * float(np.median(np.abs(means - np.median(means))))
    origin = float(segment_times(spec, spec.first_segment)[0])
    phase = np.abs((time - origin - spec.t0 + 0.5 * spec.period) % spec.period - 0.5 * spec.period)
    epochs = np.unique(
        np.floor((time[phase < 0.5 * duration] - origin - spec.t0) / spec.period + 0.5)
    )
    mean_depth = spec.depth * (1.0 - 0.15)  # the generator's trapezoid: 15 % ingress each side
    return mean_depth * math.sqrt(max(epochs.size, 1)) / scatter if scatter > 0 else math.nan


@contextlib.contextmanager
def true_spots(spec: Any) -> Any:
    """Within: cleaning divides out the generator's own spot model of ``spec`` (its rotation
    period given, whatever the star's window) in place of the one exoextract fits. A
    diagnostic of the benchmark only; nothing outside the generator knows these spots."""
    from exoextract.science import detrend
    from exoextract.science.synthetic import segment_times, spot_model

    origin = float(segment_times(spec, spec.first_segment)[0])

    def divided(time: np.ndarray, flux: np.ndarray, *_: Any, **__: Any) -> np.ndarray:
        spots = spot_model(spec, time - origin)
        return spots * float(np.median(flux / spots))

    saved = detrend.rotation_to_model, detrend.rotation_model
    detrend.rotation_to_model = lambda *_: (spec.spot_period, 1)
    detrend.rotation_model = divided
    try:
        yield
    finally:
        detrend.rotation_to_model, detrend.rotation_model = saved


def peak_rank(ctx: Any, period: float) -> int | None:
    """Where ``period`` ranks (0: highest) among the ``TOP_PEAKS`` highest distinct peaks
    of the star's box search; -1 if not among them, None where the search did not run."""
    from exoextract.science.search import Spectrum, peak_indices

    spectrum = ctx.shared.get("box_spectrum")
    if not isinstance(spectrum, Spectrum):
        return None
    peaks = peak_indices(spectrum.power, spectrum.periods, TOP_PEAKS, 0.01)
    near = [i for i, p in enumerate(spectrum.periods[peaks]) if abs(p / period - 1) < 0.01]
    return near[0] if near else -1


def notebook_tls(lc: Any) -> Any:
    """The notebook way on a light curve: lightkurve's default flattening, then TLS with
    its defaults (one thread); TLS's result object."""
    from transitleastsquares import transitleastsquares

    from exoextract.lightcurves.lightcurve import LightCurve

    if isinstance(lc, LightCurve):
        lc = lc.to_lightkurve()  # the notebook's object, with its flatten()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        flat = lc.remove_nans().normalize().flatten()
        t = np.asarray(flat.time.value, dtype=float)
        y = np.asarray(flat.flux.value, dtype=float)
        dy = np.asarray(flat.flux_err.value, dtype=float)
        return transitleastsquares(t, y, dy, verbose=False).power(
            use_threads=1, show_progress_bar=False, verbose=False
        )


def tls_defaults(lc: Any) -> dict[str, float]:
    start = time.perf_counter()
    result = notebook_tls(lc)
    sde = float(result.SDE)
    vetted = (
        sde >= SDE_THRESHOLD
        and not float(result.odd_even_mismatch) >= 5.0
        and float(result.distinct_transit_count) >= 3
    )
    return {
        "period": float(result.period),
        "sde": sde,
        "vetted": bool(vetted),
        "seconds": time.perf_counter() - start,
    }


# ---------------------------------------------------------------- scoring
def verdict(truth: float | None, found: dict[str, float], rule: str) -> str:
    detected = math.isfinite(found["sde"]) and found["sde"] >= SDE_THRESHOLD
    if rule == "vetted":
        detected = bool(found["vetted"])
    if not detected:
        return "missed"
    if truth is None:
        return "false alarm"
    period = found["period"] if rule == "vetted" else found.get("sde_period", found["period"])
    for ratio, name in ((1.0, "recovered"), (0.5, "alias"), (2.0, "alias")):
        if abs(period - truth * ratio) <= 0.01 * truth * ratio:
            return name
    return "wrong period"


def verdict_any(truth: float | None, found: dict[str, Any]) -> str:
    """The same verdict over every flagged signal of the star (signals.parquet): recovered
    if one is at the period, a false alarm if a star without transits has any."""
    flagged = [period for period, _, flag in found.get("signals") or () if flag]
    if not flagged:
        return "missed"
    if truth is None:
        return "false alarm"
    if any(math.isfinite(p) and abs(p / truth - 1) <= 0.01 for p in flagged):
        return "recovered"
    return "wrong period"


def every_signal(stars: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """Recall and false alarms counted on every flagged signal of a star, not only the
    strongest (exoextract): later signals must not add false alarms."""
    table = Table(title="exoextract: the strongest signal (features.parquet) and every signal "
                  "(signals.parquet), vetted")  # fmt: skip
    for name in ("stars", "n", "strongest", "every signal"):
        table.add_column(name, justify="right")
    planets = [s for s in stars if s["snr"] is not None and s["snr"] >= 10]
    empty = [s for s in stars if s["spec"].kind in ("quiet", "variable")]
    binaries = [s for s in stars if s["spec"].kind == "eb"]
    for name, chosen, truth, wanted in (
        ("planets, SNR >= 10: recall", planets, True, "recovered"),
        ("quiet and variable: false alarms", empty, False, "false alarm"),
    ):
        found = [results[s["spec"].number]["exoextract"] for s in chosen]
        first = [verdict(s["spec"].period if truth else None, f, "vetted")
                 for s, f in zip(chosen, found, strict=True)]  # fmt: skip
        every = [verdict_any(s["spec"].period if truth else None, f)
                 for s, f in zip(chosen, found, strict=True)]  # fmt: skip
        table.add_row(name, str(len(chosen)), f"{first.count(wanted)}", f"{every.count(wanted)}")
    flagged = [
        any(flag for _, _, flag in results[s["spec"].number]["exoextract"].get("signals") or ())
        for s in binaries
    ]
    vetted = [results[s["spec"].number]["exoextract"]["vetted"] for s in binaries]
    table.add_row("binaries flagged", str(len(binaries)), str(sum(vetted)), str(sum(flagged)))
    console.print(table)


def sde_calibration(stars: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """tls_sde of the fast search beside TLS's own search on stars without transits: the
    share at TLS's usual threshold and the quantiles, quiet and variable stars apart."""
    full = "exoextract, exhaustive"
    table = Table(title="tls_sde on stars without transits: fast search versus TLS's own "
                  "search (exhaustive), same stars")  # fmt: skip
    for name in ("stars", "n", "fast >= 9", "full >= 9", "fast >= 10", "fast median / 90 %",
                 "full median / 90 %"):  # fmt: skip
        table.add_column(name, justify="right")
    for kind in ("quiet", "variable"):
        for mission in ("TESS", "Kepler"):
            chosen = [
                s for s in stars
                if s["spec"].kind == kind and s["spec"].mission == mission
                and full in results[s["spec"].number]
            ]  # fmt: skip
            if not chosen:
                continue
            fast = np.array([results[s["spec"].number]["exoextract"]["sde"] for s in chosen])
            exact = np.array([results[s["spec"].number][full]["sde"] for s in chosen])
            table.add_row(
                f"{kind}, {mission}",
                str(len(chosen)),
                str(int(np.sum(fast >= SDE_THRESHOLD))),
                str(int(np.sum(exact >= SDE_THRESHOLD))),
                str(int(np.sum(fast >= 10))),
                f"{np.median(fast):.2f} / {np.percentile(fast, 90):.2f}",
                f"{np.median(exact):.2f} / {np.percentile(exact, 90):.2f}",
            )
    console.print(table)


def summarise(
    stars: list[dict[str, Any]], results: dict[int, dict[str, Any]], columns: list[tuple[str, str]]
) -> None:
    noise = [s for s in stars if s.get("noise")]
    stars = [s for s in stars if not s.get("noise")]
    recall = Table(
        title="Recall of injected transits: period within 1 % (1/2 or 2x aliases "
        "in brackets), per signal-to-noise bin, both missions"
    )
    recall.add_column("SNR")
    recall.add_column("stars", justify="right")
    for label, rule in columns:
        recall.add_column(f"{label}\n({rule})", justify="right")
    planets = [s for s in stars if s["snr"] is not None]
    for snr in (*SNR_BINS, ">=10"):
        chosen = [s for s in planets if (s["snr"] >= 10 if snr == ">=10" else s["snr"] == snr)]
        cells = []
        for label, rule in columns:
            scored = [
                verdict(s["spec"].period, results[s["spec"].number][label], rule)
                for s in chosen
                if label in results[s["spec"].number]
            ]
            if not scored:
                cells.append("-")
                continue
            hit = scored.count("recovered") / len(scored)
            alias = scored.count("alias") / len(scored)
            cells.append(f"{hit:.0%} ({alias:.0%})")
        recall.add_row(str(snr), str(len(chosen)), *cells)
    console.print(recall)

    alarms = Table(
        title=f"False alarms on stars without transits (detection: SDE >= {SDE_THRESHOLD:g})"
    )
    alarms.add_column("stars")
    alarms.add_column("n", justify="right")
    for label, rule in columns:
        alarms.add_column(f"{label}\n({rule})", justify="right")
    for kinds in (("quiet",), ("variable",), ("quiet", "variable")):
        chosen = [s for s in stars if s["spec"].kind in kinds]
        cells = []
        for label, rule in columns:
            scored = [
                verdict(None, results[s["spec"].number][label], rule)
                for s in chosen
                if label in results[s["spec"].number]
            ]
            cells.append(f"{scored.count('false alarm') / len(scored):.1%}" if scored else "-")
        alarms.add_row(" + ".join(kinds), str(len(chosen)), *cells)
    binaries = [s for s in stars if s["spec"].kind == "eb"]
    cells = []
    for label, rule in columns:
        scored = [
            verdict(s["spec"].period, results[s["spec"].number][label], rule)
            for s in binaries
            if label in results[s["spec"].number]
        ]
        good = scored.count("recovered") + scored.count("alias")
        cells.append(f"{good / len(scored):.0%} at P or P/2" if scored else "-")
    alarms.add_row("eclipsing binaries (flagged)", str(len(binaries)), *cells)
    console.print(alarms)

    backends(stars, results)
    every_signal(stars, results)
    sde_calibration(stars + noise, results)

    timing = Table(title="Seconds per star (one core), mean")
    timing.add_column("pipeline")
    timing.add_column("TESS sector", justify="right")
    timing.add_column("Kepler quarter", justify="right")
    for label in dict(columns):
        row = [label]
        for mission in ("TESS", "Kepler"):
            times = [
                results[s["spec"].number][label]["seconds"]
                for s in stars
                if s["spec"].mission == mission and label in results[s["spec"].number]
            ]
            row.append(f"{np.mean(times):.2f}" if times else "-")
        timing.add_row(*row)
    console.print(timing)


def _rate(
    chosen: list[dict[str, Any]],
    results: dict[int, dict[str, Any]],
    label: str,
    outcome: str,
    truth: bool = True,
) -> str:
    scored = [
        verdict(s["spec"].period if truth else None, results[s["spec"].number][label], "vetted")
        for s in chosen
    ]
    return f"{scored.count(outcome)}/{len(scored)}" if scored else "-"


def backends(stars: list[dict[str, Any]], results: dict[int, dict[str, Any]]) -> None:
    """The TLS backend choice: approximate default versus exact, on the very same stars."""
    exact = "exoextract, exact TLS"
    both = [s for s in stars if exact in results[s["spec"].number]]
    if not both:
        return
    table = Table(
        title=f"TLS backend on the same {len(both)} stars: recall (vetted) at SNR "
        ">= 10, false alarms, seconds per star"
    )
    for name in (
        "backend",
        "recall SNR >= 10",
        "recall SNR 7",
        "false alarms",
        "s / TESS sector",
        "s / Kepler quarter",
    ):
        table.add_column(name, justify="right")
    high = [s for s in both if s["snr"] is not None and s["snr"] >= 10]
    seven = [s for s in both if s["snr"] == 7]
    none = [s for s in both if s["spec"].kind in ("quiet", "variable")]
    for label, name in (
        ("exoextract", "fused-pl (approximate, default)"),
        (exact, "fused (exact)"),
    ):
        times = {
            m: [results[s["spec"].number][label]["seconds"] for s in both if s["spec"].mission == m]
            for m in ("TESS", "Kepler")
        }
        table.add_row(
            name,
            _rate(high, results, label, "recovered"),
            _rate(seven, results, label, "recovered"),
            _rate(none, results, label, "false alarm", truth=False),
            f"{np.mean(times['TESS']):.2f}",
            f"{np.mean(times['Kepler']):.2f}",
        )
    console.print(table)


def _literal(text: str) -> Any:
    """A --set value: JSON where it parses (true, 4, "x"), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-bin", type=int, default=12, help="planets per (mission, SNR) bin")
    parser.add_argument(
        "--others", type=int, default=12, help="binaries, quiet and variable stars per mission"
    )
    parser.add_argument(
        "--exact-every",
        type=int,
        default=3,
        help="run the exact TLS backend on every n-th star (0: never)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--long-per-band", type=int, default=3, help="long baselines: planets per band and SNR"
    )
    parser.add_argument(
        "--long-others", type=int, default=4, help="long baselines: quiet and variable per case"
    )
    parser.add_argument(
        "--exhaustive-every",
        type=int,
        default=6,
        help="long baselines: also run the exhaustive search on every n-th star (0: never; "
        "never on 4 years, about 7 minutes a star)",
    )
    parser.add_argument(
        "--no-exhaustive", action="store_true", help="short set: skip 0.1's exhaustive search"
    )
    parser.add_argument("--no-long", action="store_true", help="skip the long-baseline set")
    parser.add_argument(
        "--no-short-periods",
        action="store_true",
        help="skip the four-year stars with planets at 0.5-3.5 d (16 stars, ~6 min on 2 cores)",
    )
    parser.add_argument(
        "--noise-stars",
        type=int,
        default=100,
        help="short set: quiet stars per mission for the SDE's false-alarm rate, fast and "
        "TLS's own search (0: none)",
    )
    parser.add_argument("--no-short", action="store_true", help="skip the short-baseline set")
    parser.add_argument(
        "--long-baseline-every",
        type=int,
        default=6,
        help="long baselines: the TLS-defaults baseline on every n-th TESS star and every "
        "(6n)-th two-year star (0: never; never on 4 years; ~8 minutes a two-year star)",
    )
    parser.add_argument(
        "--no-true-spots",
        action="store_true",
        help="long baselines: skip the run with the generator's spot model divided out",
    )
    parser.add_argument("--set", action="append", default=[], help="exoextract setting k=v")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the TLS-defaults baseline (quicker)"
    )
    args = parser.parse_args()

    from exoextract.execution.supervisor import Policy, Supervisor
    from exoextract.settings import Settings

    backend = Settings().tls_backend
    stars = [] if args.no_short else population(args.per_bin, args.others)
    if not args.no_short and not args.no_exhaustive:
        stars += noise_population(args.noise_stars)
    tasks = []
    exhaustive = {"bls_mode": "full", "tls_mode": "full"}
    overrides = {k: _literal(v) for k, v in (item.split("=", 1) for item in args.set)}
    for i, star in enumerate(stars):
        pipelines: list[tuple[str, dict[str, Any]]] = [
            ("exoextract", {"tls_backend": backend, **overrides})
        ]
        if not args.no_exhaustive:
            pipelines.append(("exoextract, exhaustive", exhaustive))
        if args.exact_every and i % args.exact_every == 0 and not star.get("noise"):
            pipelines.append(("exoextract, exact TLS", {"tls_backend": "fused"}))
        tasks.append(
            (
                str(star["spec"].number),
                {
                    "spec": star["spec"],
                    "pipelines": pipelines,
                    "baseline": not args.no_baseline and not star.get("noise"),
                },
            )
        )
    long_stars = [] if args.no_long else long_population(args.long_per_band, args.long_others)
    for i, star in enumerate(long_stars):
        long_pipelines: list[tuple[str, dict[str, Any]]] = [("exoextract", dict(overrides))]
        if not args.no_true_spots and star["snr"] is not None and star["spec"].spot_amplitude:
            long_pipelines.append((TRUE_SPOTS, dict(overrides)))
        not_four_years = star["case"] != "Kepler, 4 years"
        if args.exhaustive_every and i % args.exhaustive_every == 0 and not_four_years:
            long_pipelines.append(("exoextract, exhaustive", exhaustive))
        every = args.long_baseline_every  # two-year stars cost TLS defaults ~8 min each
        every = every * (6 if star["case"] == "Kepler, 2 years" else 1)
        baseline = bool(every) and not args.no_baseline and i % every == 1 and not_four_years
        tasks.append(
            (
                str(star["spec"].number),
                {
                    "spec": star["spec"],
                    "pipelines": long_pipelines,
                    "baseline": baseline,
                    "mes": star["snr"] is not None,
                },
            )
        )
    short_periods = [] if args.no_short_periods else short_period_population()
    for star in short_periods:
        tasks.append(
            (
                str(star["spec"].number),
                {"spec": star["spec"], "pipelines": [("exoextract", dict(overrides))],
                 "baseline": False},
            )
        )  # fmt: skip
    tasks.sort(key=lambda task: -len(task[1]["pipelines"]) * task[1]["spec"].segments)
    console.print(
        f"{len(stars)} synthetic stars, {args.workers} workers, TLS backend "
        f"{backend!r} (exact 'fused' too on one star in {args.exact_every}); "
        f"{len(long_stars)} long-baseline stars"
    )
    started = time.perf_counter()
    results: dict[int, dict[str, Any]] = {}
    policy = Policy(
        workers=args.workers, timeout=900.0, retries=0, preload=("exoextract.execution.preload",)
    )
    with Supervisor(run_star, policy) as sup:
        for outcome in sup.run(tasks):
            if outcome.ok and outcome.data is not None:
                results[int(outcome.key)] = dict(outcome.data)
            else:
                console.print(f"star {outcome.key}: {outcome.status} {outcome.message}")
    stars = [s for s in stars if s["spec"].number in results]
    long_stars = [s for s in long_stars if s["spec"].number in results]
    console.print(f"done in {time.perf_counter() - started:.0f} s")
    columns = [("exoextract", "vetted"), ("exoextract", "sde")]
    if not args.no_baseline:
        columns += [("TLS defaults", "vetted"), ("TLS defaults", "sde")]
    if args.exact_every:
        columns.insert(2, ("exoextract, exact TLS", "vetted"))
    if not args.no_exhaustive:
        columns[2:2] = [("exoextract, exhaustive", "vetted"), ("exoextract, exhaustive", "sde")]
    if stars:
        summarise(stars, results, columns)
    if long_stars:
        summarise_long(long_stars, results)
    short_periods = [s for s in short_periods if s["spec"].number in results]
    if short_periods:
        summarise_short_periods(short_periods, results)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()

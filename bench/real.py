"""``make bench-real``: the real stars, blind, beside the notebook way, in one run.

Ten stars with published planets (Kepler, K2, TESS; the data folder's README lists their
files): each goes through exoextract with its default settings and no catalog period, and
through the TLS-defaults baseline (``lc.flatten()`` then ``transitleastsquares(...).power()``
with its defaults, one thread). For each published planet the table says whether it was
reported — as which signal (signals.parquet's number and kind), at its period within 1 % —
and whether it was flagged planet-like, with the rule that decided; single transits are
checked as single events of their depth (within 30 %) that no reported period pairs with
another event. Stars without a planet in the files must not be flagged. Then: which
``max_signals`` would have found each planet, and the seconds a star's later signals cost
beside its first.

Run from the repository: ``make bench-real`` (``python bench/real.py --no-baseline`` skips
the notebook way, which takes minutes on four years of Kepler).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import multiprocessing as mp
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EXOEXTRACT_REAL_DATA", REPO.parent / "shared" / "data"))
CATALOG = REPO / "tests" / "data" / "real_candidates.csv"  # their published planets
console = Console(width=170)
PERIOD_TOLERANCE = 0.01
DEPTH_TOLERANCE = 0.3


@dataclass(frozen=True)
class Planet:
    name: str
    period: float  # days (published)
    depth: float  # fraction (published, approximate)
    transits: int  # transits in the files
    note: str = ""

    @property
    def single(self) -> bool:
        return self.transits == 1


@dataclass(frozen=True)
class Star:
    name: str
    mission: str
    number: int
    files: tuple[str, ...]  # globs under the data folder
    planets: tuple[Planet, ...]
    note: str = ""
    catalog: Path | None = CATALOG  # its rows' candidates (None: one row, no ephemeris)


STARS = (
    Star("WASP-18", "TESS", 100100827, ("tess/*0000000100100827*_lc.fits",),
         (Planet("b", 0.94145, 0.010, 28),)),
    Star("Kepler-90", "Kepler", 11442793, ("kepler/0114/011442793/*.fits",),
         (Planet("d", 59.74, 3.6e-4, 4), Planet("g", 210.61, 3.6e-3, 1),
          Planet("h", 331.60, 6.6e-3, 1),
          Planet("e", 91.94, 4.2e-4, 2, "its transits at BKJD 318.2 and 502.1; the one "
                 "between falls in Q4's gap (373-443)")),
         "b, c, i (about 100 ppm) and f's single transit are below detection"),
    Star("Kepler-8", "Kepler", 6922244, ("kepler/0069/006922244/*.fits",),
         (Planet("b", 3.52254, 7.7e-3, 370),)),
    Star("Kepler-10", "Kepler", 11904151, ("kepler/0119/011904151/*.fits",),
         (Planet("b", 0.837495, 1.5e-4, 100), Planet("c", 45.29485, 3.6e-4, 2))),
    Star("GJ 1243", "Kepler", 9726699, ("kepler/0097/009726699/*.fits",), (),
         "spots at 0.59 d and flares, no transit: nothing may be flagged"),
    Star("K2-3", "K2", 201367065, ("k2/*201367065*.fits",),
         (Planet("b", 10.05449, 1.2e-3, 8), Planet("c", 24.6465, 8e-4, 4),
          Planet("d", 44.5563, 5.4e-4, 2))),
    Star("WASP-126", "TESS", 25155310, ("tess/*0000000025155310*_lc.fits",),
         (Planet("b", 3.2888, 6e-3, 8),)),
    Star("WASP-100", "TESS", 38846515, ("tess/*0000000038846515*_lc.fits",),
         (Planet("b", 2.849375, 7e-3, 10),)),
    Star("TOI-216", "TESS", 55652896, ("tess/*00055652896*_lc.fits",),
         (Planet("c", 34.55, 1.5e-2, 1), Planet("b", 17.09, 2.4e-3, 2,
                 "grazing; one of its two transits falls in the sector's first hour")),
         "strong timing variations"),
    Star("TOI-2266", "TESS", 8348911, ("tess/*0000000008348911*_lc.fits",),
         (Planet("b", 2.326214, 2.7e-3, 31),)),
)  # fmt: skip


FLAGS = ("not_transit_like", "stellar_eclipse", "centroid_offset")  # and DR25's nt, ss, co
DR25 = {"not_transit_like": "koi_fpflag_nt", "stellar_eclipse": "koi_fpflag_ss",
        "centroid_offset": "koi_fpflag_co"}  # fmt: skip


def koi_stars() -> list[Star]:
    """The Kepler quarters of KOI stars (with their DR25 rows) and of stars with no KOI."""
    from exoextract.targets import read_targets

    out: list[Star] = []
    for name, catalog in (("koi_fp_sample.csv", True), ("kepler_no_koi_sample.csv", False)):
        path = SHARED / "catalogs" / name
        if not path.exists():
            continue
        for target in read_targets(path, None, None, False).targets:
            kic = f"{target.number:09d}"
            out.append(Star(target.key if catalog else f"KIC {target.number}", "Kepler",
                            target.number, (f"kepler/{kic[:4]}/{kic}/*.fits",), (),
                            catalog=path if catalog else None))  # fmt: skip
    return out


def files_of(star: Star) -> list[str]:
    return sorted(str(p) for pattern in star.files for p in SHARED.glob(pattern))


# ---------------------------------------------------------------- one star, in a worker
def exoextract_star(star: Star) -> dict[str, Any]:
    """The star through exoextract with its default settings, its rows those of the catalog
    of its published planets (the tests' real_candidates.csv); the signals are blind."""
    from exoextract.settings import load_settings
    from exoextract.star.extract import load_star
    from exoextract.star.rows import star_rows
    from exoextract.star.task import Candidate, Task
    from exoextract.targets import read_targets

    settings = load_settings(None, {})
    catalog = read_targets(star.catalog, None, None, False).targets if star.catalog else []
    listed = [t for t in catalog if t.number == star.number]
    candidates = tuple(
        Candidate(t.key, t.period, t.t0, t.duration, t.depth, dict(t.row)) for t in listed
    ) or (Candidate(star.name),)
    task = Task(star.name, star.name, star.mission, star.number, settings, candidates,
                paths=tuple(files_of(star)))  # fmt: skip
    started = time.process_time()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        loaded = load_star(task)
        table = star_rows(loaded.ctx, task.candidates)
    seconds = time.process_time() - started
    row = next(iter(table.rows.values()))
    first = loaded.ctx.shared.get("first_search_seconds", math.nan)
    per_signal = ("bls", "tls", "vet", "centroid", "quality", "planet", "fp", "views")
    spent = sum(row.get(f"seconds_{f}", 0.0) for f in per_signal)
    return {
        "seconds": seconds,
        "signals": table.signals,
        "rows": {key: _kept(r) for key, r in table.rows.items()},
        "seconds_search": first,
        "seconds_signals": row.get("seconds_signals", 0.0) + spent - first,
        "searches": row.get("signals_searches", math.nan),
    }


def _kept(row: dict[str, Any]) -> dict[str, Any]:
    names = ("match", "match_signal", "match_factor", "match_reason", "tls_period", "bls_period",
             "vet_transit_like", "vet_reason", "known_period", "known_t0",
             *(f"fp_{f}{end}" for f in FLAGS for end in ("", "_reason")))  # fmt: skip
    return {name: row.get(name) for name in names}


def baseline_star(star: Star) -> dict[str, Any]:
    """The notebook way: stitch, flatten with lightkurve's defaults, TLS with its own."""
    from science import notebook_tls

    from exoextract.lightcurves.lightcurve import stitch
    from exoextract.lightcurves.read import read_lightcurve

    started = time.process_time()
    try:
        result = notebook_tls(stitch([read_lightcurve(p) for p in files_of(star)]))
    except Exception as error:  # the notebook way fails on this star: say so in the table
        return {
            "seconds": time.process_time() - started,
            "error": f"{type(error).__name__}: {error}",
        }
    return {
        "seconds": time.process_time() - started,
        "period": float(result.period),
        "sde": float(result.SDE),
        "transits": float(result.distinct_transit_count),
        "odd_even": float(result.odd_even_mismatch),
    }


def run(job: tuple[str, Star]) -> tuple[str, str, dict[str, Any]]:
    from exoextract.execution.isolation import limit_threads_env

    limit_threads_env()
    kind, star = job
    worker = exoextract_star if kind == "exoextract" else baseline_star
    return kind, star.name, worker(star)


# ---------------------------------------------------------------- scoring
def match(planet: Planet, signals: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The signal that is this planet: at its period or a multiple its aliases allow (a
    single event: of its depth)."""
    for signal in signals:
        if planet.single:
            if signal["signal_kind"] == "single" and (
                abs(signal["signal_depth"] / planet.depth - 1) < DEPTH_TOLERANCE
            ):
                return signal
        elif multiple(planet, signal):
            return signal
    return None


def multiple(planet: Planet, signal: dict[str, Any]) -> int:
    """k where the signal's period is k times the planet's (1: at its period) and the data
    allow the planet's period too (k - 1 <= signal_aliases: the transits in between fell in
    gaps); 0 otherwise."""
    period = signal["signal_period"]
    if not math.isfinite(period):
        return 0
    k = max(1, round(period / planet.period))
    within = abs(period / (k * planet.period) - 1) < PERIOD_TOLERANCE
    return k if within and k - 1 <= signal.get("signal_aliases", 0) else 0


def paired(planet: Planet, signals: list[dict[str, Any]], star: Star) -> bool:
    """Whether a reported period is the separation of this single transit and another
    (a periodic or pair signal of about its depth)."""
    return any(
        s["signal_kind"] != "single"
        and abs(s["signal_depth"] / planet.depth - 1) < DEPTH_TOLERANCE
        and not any(multiple(p, s) for p in star.planets)
        for s in signals
    )


def baseline_verdict(planet: Planet, found: dict[str, Any] | None) -> str:
    if found is None:
        return "not run"
    if "error" in found:
        return f"failed ({found['error']})"
    at = abs(found["period"] / planet.period - 1) < PERIOD_TOLERANCE
    flagged = found["sde"] >= 9 and found["transits"] >= 3 and not found["odd_even"] >= 5
    return f"{'at' if at else 'not at'} its period, SDE {found['sde']:.1f}" + (
        ", flagged" if at and flagged else ""
    )


def report(results: dict[tuple[str, str], dict[str, Any]], baseline: bool) -> None:
    table = Table(title="Real stars, blind: each published planet (exoextract defaults; the "
                  "notebook way beside it)")  # fmt: skip
    for name in ("star", "planet", "P d", "transits", "found as", "flagged", "why",
                 "s", "TLS defaults (notebook way)", "s"):  # fmt: skip
        table.add_column(name, overflow="fold")
    need: list[int] = []
    tallies = {"wanted": 0, "reported": 0, "flagged": 0, "singles": 0, "singles ok": 0,
               "others": 0}  # fmt: skip
    for star in STARS:
        ours = results.get(("exoextract", star.name))
        theirs = results.get(("baseline", star.name))
        if ours is None:
            table.add_row(star.name, "-", "", "", "not run", "", "", "", "", "")
            continue
        signals = ours["signals"]
        seconds = f"{ours['seconds']:.1f}"
        base_seconds = f"{theirs['seconds']:.0f}" if theirs else "-"
        if not star.planets:
            flagged = [s for s in signals if s.get("vet_transit_like") == 1.0]
            verdict = "none flagged" if not flagged else f"{len(flagged)} FLAGGED"
            base = "-" if theirs is None else (
                f"failed ({theirs['error']})" if "error" in theirs
                else f"P {theirs['period']:.3f}, SDE {theirs['sde']:.1f}"
            )  # fmt: skip
            table.add_row(star.name, "(none)", "", "", f"{len(signals)} signal(s)", verdict,
                          star.note, seconds, base, base_seconds)  # fmt: skip
        for planet in star.planets:
            found = match(planet, signals)
            if found is None:
                label, flag, why = "NOT FOUND", "", planet.note or star.note
            else:
                need.append(int(found["signal"]))
                label = f"#{int(found['signal'])} {found['signal_kind']}"
                if math.isfinite(found["signal_period"]):
                    label += f" at {found['signal_period']:.5f} d"
                    k = multiple(planet, found)
                    label += f" ({k} x P, P among its aliases)" if k > 1 else ""
                value = found.get("vet_transit_like")
                flag = "yes" if value == 1.0 else ("no" if value == 0.0 else "-")
                why = str(found.get("vet_reason") or "")[:90]
            if planet.single:
                tallies["singles"] += 1
                ok = found is not None and not paired(planet, signals, star)
                tallies["singles ok"] += int(ok)
                flag = "single, not paired" if ok else ("PAIRED" if found else "")
            else:
                tallies["wanted"] += 1
                tallies["reported"] += int(found is not None)
                tallies["flagged"] += int(found is not None and flag == "yes")
            table.add_row(star.name, planet.name, f"{planet.period:g}", str(planet.transits),
                          label, flag, why, seconds, baseline_verdict(planet, theirs)
                          if baseline else "-", base_seconds)  # fmt: skip
            seconds = base_seconds = ""
        others = [
            s for s in signals
            if s.get("vet_transit_like") == 1.0 and not any(multiple(p, s) for p in star.planets)
        ]  # fmt: skip
        if star.planets and others:
            tallies["others"] += len(others)
            periods = ", ".join(f"{s['signal_period']:.3f}" for s in others)
            table.add_row(star.name, "(no planet)", "", "", f"{len(others)} signal(s)",
                          f"FLAGGED at {periods} d", "", "", "", "")  # fmt: skip
    console.print(table)
    console.print(
        f"planets with 2 or more transits: {tallies['reported']}/{tallies['wanted']} reported "
        f"at their period, {tallies['flagged']}/{tallies['wanted']} flagged; single transits: "
        f"{tallies['singles ok']}/{tallies['singles']} reported as single events, not paired; "
        f"signals flagged that are no published planet: {tallies['others']}"
    )
    if need:
        counts = ", ".join(
            f"{k}: {sum(1 for n in need if n <= k)}/{len(need)}" for k in (1, 2, 3, 4, 5)
        )
        console.print(f"planets found within the first k signals (max_signals = k): {counts}")
    rows_table(results)
    costs = Table(title="CPU seconds per star: the first search beside each later one")
    for name in ("star", "signals", "first search (bls+tls+vet) s", "later searches",
                 "later signals s", "per later search s"):  # fmt: skip
        costs.add_column(name, justify="right")
    for star in STARS:
        ours = results.get(("exoextract", star.name))
        if ours is None:
            continue
        searches = int(ours["searches"]) if math.isfinite(ours["searches"]) else 0
        each = ours["seconds_signals"] / searches if searches else math.nan
        costs.add_row(star.name, str(len(ours["signals"])), f"{ours['seconds_search']:.2f}",
                      str(searches), f"{ours['seconds_signals']:.2f}", f"{each:.2f}")  # fmt: skip
    console.print(costs)


def rows_table(results: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Each published planet's row of features.parquet (the catalog beside the files):
    whether it is its planet's signal, its catalog ephemeris measured, or nothing; and
    whether any row carries a period no signal of its star has."""
    table = Table(title="Each catalog row (features.parquet): the planet's own signal, its "
                  "catalog ephemeris measured, or nothing")  # fmt: skip
    for name in ("star", "row", "is", "its period d", "catalog P d", "own period",
                 "flagged", "how"):  # fmt: skip
        table.add_column(name, overflow="fold")
    tally = {"found": 0, "own": 0, "stray": 0}
    for star in STARS:
        ours = results.get(("exoextract", star.name))
        if ours is None:
            continue
        periods = [s["signal_period"] for s in ours["signals"] if _finite(s["signal_period"])]
        for key, row in ours["rows"].items():
            kind = row["match"]
            period = row["tls_period"] if _finite(row["tls_period"]) else row["bls_period"]
            catalog = row.get("known_period")
            signal = None
            if kind == "signal" and _finite(row["match_signal"]):
                signal = ours["signals"][int(row["match_signal"]) - 1]
            own = "-"
            if signal is not None and _finite(catalog):
                tally["found"] += 1
                if signal["signal_kind"] == "single":
                    offset = abs(signal["signal_t0"] - float(row.get("known_t0") or math.nan))
                    ok = offset < signal["signal_duration"]
                else:
                    factor = row["match_factor"] if _finite(row["match_factor"]) else 1.0
                    ok = abs(period / (factor * catalog) - 1) < PERIOD_TOLERANCE
                tally["own"] += int(ok)
                own = "yes" if ok else "NO"
            stray = _finite(period) and not (
                any(abs(period / p - 1) < 1e-3 for p in periods)
                or (kind == "catalog" and abs(period / catalog - 1) < 1e-3)
            )  # fmt: skip
            tally["stray"] += int(stray)
            what = (
                kind
                if signal is None
                else f"signal {int(row['match_signal'])} ({signal['signal_kind']})"
            )
            flag = row.get("vet_transit_like")
            table.add_row(star.name, key, what, "-" if not _finite(period) else f"{period:.5f}",
                          "-" if not _finite(catalog) else f"{catalog:g}",
                          own + (" STRAY PERIOD" if stray else ""),
                          "yes" if flag == 1.0 else ("no" if flag == 0.0 else "-"),
                          str(row.get("match_reason") or "")[:100])  # fmt: skip
    console.print(table)
    console.print(
        f"catalog rows matched to a signal: {tally['found']}, carrying their own planet's "
        f"period (or epoch, for a single event): {tally['own']}/{tally['found']}; rows with a "
        f"period no signal of their star has (outside their catalog ephemeris): {tally['stray']}"
    )


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def koi_table(results: dict[tuple[str, str], dict[str, Any]], stars: list[Star]) -> None:
    """Each KOI of the shared quarters, blind: found at its period or not, DR25's flags
    beside ours; and whether any star without a KOI has a signal flagged planet-like."""
    from exoextract.targets import read_targets

    table = Table(title="KOI stars (one Kepler quarter each), blind: exoextract's false-"
                  "positive flags, DR25's in brackets (* where they differ)")  # fmt: skip
    for name in ("KOI", "DR25", "found as", "planet-like", "nt", "ss", "co", "ours: why"):
        table.add_column(name, overflow="fold")
    agree = {flag: [0, 0] for flag in FLAGS}
    tally = {"fp": 0, "fp caught": 0, "planets": 0, "planets clean": 0}
    no_koi = [0, 0]
    for star in stars:
        ours = results.get(("exoextract", star.name))
        if ours is None:
            continue
        if star.catalog is None:
            no_koi[1] += 1
            no_koi[0] += any(s.get("vet_transit_like") == 1.0 for s in ours["signals"])
            continue
        [target] = [t for t in read_targets(star.catalog, None, None, False).targets
                    if t.key == star.name]  # fmt: skip
        row = ours["rows"][star.name]
        dr25 = str(target.row.get("koi_disposition"))
        found = row["match"] == "signal"
        flags = [row.get(f"fp_{f}") for f in FLAGS]
        cells = []
        for flag, mine in zip(FLAGS, flags, strict=True):
            truth = float(target.row.get(DR25[flag]) or 0)
            same = mine == truth
            if found:
                agree[flag][0] += int(same)
                agree[flag][1] += 1
            text = "-" if not _finite(mine) else f"{mine:.0f}"
            cells.append(f"{text} ({truth:.0f})" + ("" if same else " *"))
        if dr25 == "FALSE POSITIVE" and found:
            tally["fp"] += 1
            tally["fp caught"] += int(1.0 in flags and row["vet_transit_like"] != 1.0)
        elif found:
            tally["planets"] += 1
            tally["planets clean"] += int(row["vet_transit_like"] == 1.0 and 1.0 not in flags)
        raised = [f for f, v in zip(FLAGS, flags, strict=True) if v == 1.0]
        why = "; ".join(str(row.get(f"fp_{f}_reason"))[:70] for f in raised) or "-"
        flag = row["vet_transit_like"]
        table.add_row(star.name, dr25.lower(), "its signal" if found else row["match"],
                      "yes" if flag == 1.0 else "no", *cells, why)  # fmt: skip
    console.print(table)
    console.print(
        f"DR25 false positives found at their period: {tally['fp caught']}/{tally['fp']} carry "
        f"an fp_ flag and are not planet-like; confirmed and candidate KOIs found: "
        f"{tally['planets clean']}/{tally['planets']} planet-like with no fp_ flag; flags "
        "agreeing with DR25 on the KOIs found: "
        + ", ".join(f"{f} {a}/{n}" for f, (a, n) in agree.items())
        + f"; stars with no KOI flagged planet-like: {no_koi[0]}/{no_koi[1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-baseline", action="store_true", help="skip the notebook way")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    stars = [s for s in STARS if files_of(s)]
    if not stars:
        console.print(f"bench-real: skipped, no real light curves under {SHARED}")
        return
    kois = [s for s in koi_stars() if files_of(s)]
    jobs = [("exoextract", s) for s in stars + kois]
    if not args.no_baseline:
        jobs += [("baseline", s) for s in stars]
    jobs.sort(key=lambda job: -len(files_of(job[1])) * (10 if job[0] == "baseline" else 1))
    started = time.perf_counter()
    with mp.get_context("forkserver").Pool(args.workers) as pool:
        done = pool.map(run, jobs, chunksize=1)
    results = {(kind, name): data for kind, name, data in done}
    console.print(
        f"{len(stars)} real stars and {len(kois)} Kepler quarters of KOI and no-KOI stars in "
        f"{time.perf_counter() - started:.0f} s"
    )
    report(results, not args.no_baseline)
    if kois:
        koi_table(results, kois)


if __name__ == "__main__":
    main()

"""Light-curve sources: local archive layouts, explicit paths, synthetic stars."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from exoextract.errors import CorruptFileError, InputError, NoDataError
from exoextract.science.synthetic import StarSpec, write_fits
from exoextract.settings import load_settings
from exoextract.sources import get_source
from exoextract.sources.local import index_folder, locate
from exoextract.star.task import Candidate, Task
from exoextract.targets import Target

from conftest import KEPLER90_DIR, WASP18


def target(mission: str | None, number: int, path: str | None = None) -> Target:
    prefix = {"Kepler": "KIC", "K2": "EPIC", "TESS": "TIC", None: ""}[mission]
    ident = f"{prefix} {number}".strip()
    return Target(key=ident, target_id=ident, mission=mission, number=number, line=2, path=path)


def task_for(t: Target, paths: tuple[str, ...], **settings: object) -> Task:
    return Task(
        key=t.key,
        target_id=t.target_id,
        mission=t.mission,
        number=t.number,
        settings=load_settings(None, settings),
        paths=paths,
        candidates=(Candidate(key=t.key),),
    )


def test_local_finds_archive_and_cache_layouts(tmp_path: Path, shared_data: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(shared_data / "kepler", root / "kepler")
    cache = root / "mastDownload" / "TESS" / "tess2018234235059-s0002-0000000100100827-0121-s"
    cache.mkdir(parents=True)
    shutil.copy(WASP18, cache)
    (root / ".kplr000000001-2009350155506_llc.fits").write_bytes(b"")  # hidden: ignored
    index = index_folder(root)
    assert len(index[("Kepler", 11442793)]) == 3
    assert index[("TESS", 100100827)] == [str(cache / WASP18.name)]
    assert ("Kepler", 1) not in index


def test_local_kepler90_three_quarters_are_stitched(shared_data: Path) -> None:
    settings = load_settings(None, {"data_dir": str(shared_data)})
    kic = target("Kepler", 11442793)
    found = locate([kic], settings, Path("."))
    assert len(found[kic.key]) == 3
    fetched = get_source("local").fetch(task_for(kic, found[kic.key], data_dir=str(shared_data)))
    time = np.asarray(fetched.lc.time)
    assert np.all(np.diff(time) > 0)
    assert time.min() < 270 and time.max() > 530  # quarters 3 to 5
    assert len(fetched.lc) > 9000
    assert abs(np.nanmedian(fetched.lc.flux) - 1) < 1e-3  # each quarter normalised


def test_bare_id_matches_any_mission(shared_data: Path) -> None:
    settings = load_settings(None, {"data_dir": str(shared_data)})
    bare = target(None, 100100827)
    assert locate([bare], settings, Path("."))[bare.key] == (str(WASP18),)


def test_path_column_with_glob_relative_to_csv(tmp_path: Path, shared_data: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for f in KEPLER90_DIR.glob("*.fits"):
        shutil.copy(f, folder / f.name)
    kic = target("Kepler", 11442793, path="mine/*.fits")
    found = locate([kic], load_settings(), tmp_path)
    assert len(found[kic.key]) == 3


def test_local_needs_a_data_dir() -> None:
    with pytest.raises(InputError, match="the local source needs --data-dir"):
        locate([target("TESS", 1)], load_settings(), Path("."))
    with pytest.raises(InputError, match="data folder /nope does not exist — check --data-dir"):
        locate([target("TESS", 1)], load_settings(None, {"data_dir": "/nope"}), Path("."))


def test_no_files_is_no_data(tmp_path: Path) -> None:
    t = target("TESS", 7)
    with pytest.raises(NoDataError, match="no light-curve file for TIC 7 under"):
        get_source("local").fetch(task_for(t, (), data_dir=str(tmp_path)))


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    spec = StarSpec(number=9, mission="TESS", segments=1, seed=1)
    path = write_fits(spec, tmp_path)[0]
    path.write_bytes(path.read_bytes()[:8640])  # cut right after the headers
    t = target("TESS", 9)
    with pytest.raises(CorruptFileError, match="truncated or corrupt"):
        get_source("local").fetch(task_for(t, (str(path),)))


def test_synthetic_source_is_deterministic() -> None:
    t = target("TESS", 100)
    a = get_source("synthetic").fetch(task_for(t, ()))
    b = get_source("synthetic").fetch(task_for(t, ()))
    np.testing.assert_array_equal(a.lc.flux, b.lc.flux)
    assert a.files == () and a.notes == ()


# ---------------------------------------------------------------- high-level products
K2SFF = "hlsp_k2sff_k2_lightcurve_201367065-c01_kepler_v1_llc.fits"
DATA_ALERT = "hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits"


def test_high_level_products_are_found_by_name_and_read(shared_data: Path) -> None:
    settings = load_settings(None, {"data_dir": str(shared_data)})
    k2, tess = target("K2", 201367065), target("TESS", 55652896)
    found = locate([k2, tess], settings, Path("."))
    assert [Path(p).name for p in found[k2.key]] == [K2SFF]
    assert [Path(p).name for p in found[tess.key]] == [DATA_ALERT]
    lc = get_source("local").fetch(task_for(k2, found[k2.key])).lc
    assert lc.meta["AUTHOR"] == "K2SFF"
    time = np.asarray(lc.time)
    assert 1975 < time.min() < 1980 and len(lc) > 3000  # BKJD from the T column, FCOR flux
    assert get_source("local").fetch(task_for(tess, found[tess.key])).lc.meta["AUTHOR"] == "SPOC"


def test_several_products_of_one_sector_give_one_light_curve(
    tmp_path: Path, shared_data: Path
) -> None:
    """The data-alert file beside a SPOC file of the same sector and star: one is read."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    alert = shared_data / "tess" / DATA_ALERT
    spoc = folder / "tess2018206045859-s0001-0000000055652896-0120-s_lc.fits"
    shutil.copy(alert, folder / DATA_ALERT)
    shutil.copy(alert, spoc)  # the same photometry under the SPOC pipeline's own name
    t = target("TESS", 55652896)
    paths = locate([t], load_settings(None, {"data_dir": str(folder)}), Path("."))[t.key]
    assert len(paths) == 2
    fetched = get_source("local").fetch(task_for(t, paths))
    assert fetched.files == (str(spoc),)  # the official pipeline's product
    assert np.all(np.diff(np.asarray(fetched.lc.time)) > 0)  # not stitched onto itself


def test_a_file_of_another_kind_says_what_it_is(tmp_path: Path) -> None:
    from astropy.io import fits

    path = tmp_path / "ktwo201367065-c01_llc.fits"
    header = fits.Header(
        {
            "TELESCOP": "Kepler",
            "ORIGIN": "NASA/Ames",
            "CREATOR": "TargetPixelExporterPipelineModule",
        }
    )
    table = fits.BinTableHDU.from_columns([fits.Column("TIME", "D", array=np.arange(10.0))])
    fits.HDUList([fits.PrimaryHDU(header=header), table]).writeto(path)
    t = target("K2", 201367065)
    with pytest.raises(CorruptFileError, match="a target pixel file, not a light curve"):
        get_source("local").fetch(task_for(t, (str(path),)))
    path.unlink()
    header["CREATOR"] = "someone's own photometry"
    header["TELESCOP"] = "nothing we know"
    fits.HDUList([fits.PrimaryHDU(header=header), table]).writeto(path)
    with pytest.raises(CorruptFileError, match="not a light-curve product lightkurve knows"):
        get_source("local").fetch(task_for(t, (str(path),)))


def test_an_official_file_without_the_asked_flux_column_says_so(shared_data: Path) -> None:
    t = target("TESS", 55652896)
    task = task_for(t, (str(shared_data / "tess" / DATA_ALERT),), flux_column="kspsap_flux")
    with pytest.raises(CorruptFileError, match=r"without a KSPSAP_FLUX column .*set flux_column"):
        get_source("local").fetch(task)


def test_raw_k2_is_read_with_a_pointer_to_corrected_products(tmp_path: Path) -> None:
    spec = StarSpec(number=211000009, mission="K2", segments=1, seed=3)
    path = write_fits(spec, tmp_path)[0]
    fetched = get_source("local").fetch(task_for(target("K2", 211000009), (str(path),)))
    assert len(fetched.notes) == 1
    assert "raw K2 photometry" in fetched.notes[0]
    assert "--author K2SFF or --author EVEREST" in fetched.notes[0]


def test_one_truncated_quarter_is_left_out_and_named(shared_data: Path, tmp_path: Path) -> None:
    """A real fault: one of Kepler-8's sixteen quarters cut short on disk. The star is
    measured on the fifteen that read; the row and the run's warnings name the bad file."""
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from exoextract.cli.commands import app

    star = tmp_path / "data" / "kepler" / "0069" / "006922244"
    shutil.copytree(shared_data / "kepler" / "0069" / "006922244", star)
    files = sorted(star.glob("*.fits"))
    assert len(files) == 16
    bad = files[5]
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 3])
    t = target("Kepler", 6922244)
    fetched = get_source("local").fetch(task_for(t, tuple(str(p) for p in files)))
    assert len(fetched.files) == 15 and bad.name not in {Path(p).name for p in fetched.files}
    assert fetched.unreadable == (bad.name,)
    assert any(note.startswith(f"{bad.name} left out: ") for note in fetched.notes)

    targets = tmp_path / "targets.csv"
    targets.write_text("kepid\n6922244\n")
    out = tmp_path / "run"
    args = ["--data-dir", str(tmp_path / "data"), "--no-tls", "--no-bls", "--json"]
    done = CliRunner().invoke(app, ["run", str(targets), "--out", str(out), *args])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["counts"] == {"ok": 1}
    assert any(bad.name in w and "left out" in w for w in summary["warnings"])
    row = pd.read_parquet(out / "features.parquet").iloc[0]
    assert (row["n_files"], row["n_files_unreadable"], row["files_unreadable"]) == (
        15.0,
        1.0,
        bad.name,
    )

"""``exoextract plan``: what a run of a CSV would fetch from the archive, and how long it
would take, without running it."""

from __future__ import annotations

import shutil
from pathlib import Path

from exoextract.archive.inventory import Inventory
from exoextract.errors import ArchiveUnreachable, InputError, TransientError
from exoextract.run.plan import group_stars, read_input
from exoextract.settings import Settings


def archive_plan(
    csv_path: str | Path, settings: Settings, measure: bool = True, urls: Path | None = None
) -> Inventory:
    """``exoextract plan``: search every star of the CSV in batches, as a run would, and
    estimate the run (see :mod:`exoextract.archive.inventory`); ``urls``: write the
    download addresses of the files not yet cached, one per line."""
    from exoextract.archive.inventory import take_inventory
    from exoextract.archive.options import stage_config
    from exoextract.execution.policy import local_workers

    targets = read_input(csv_path, settings)
    stars = [(s[0].target_id, s[0].mission, s[0].number) for s in group_stars(targets.targets)]
    workers = local_workers(settings)
    try:
        inventory = take_inventory(stars, settings, workers, measure)
    except TransientError as error:
        where = settings.mast_url or "mast.stsci.edu"
        first = ": ".join((str(error).splitlines() or [""])[0].split(": ")[:2])[:120]
        raise ArchiveUnreachable(
            f"the archive at {where} could not be reached ({first}) — check the network "
            "(or --mast-url), then run plan again"
        ) from None
    inventory.warnings[:0] = list(targets.warnings)
    config = stage_config(settings, workers)
    inventory.keep_files = settings.keep_files
    inventory.in_flight = workers + config.ahead + settings.chunk_size  # chunk: checkpoint
    inventory.disk_free = _free_bytes(config.cache_root)
    if urls is not None:
        try:
            urls.write_text("".join(f"{u}\n" for u in inventory.urls(settings)))
        except OSError as error:
            raise InputError(
                f"cannot write {urls}: {error.strerror or error} — choose another --urls file"
            ) from None
    return inventory


def _free_bytes(path: Path) -> int | None:
    """Free bytes on the disk that holds ``path`` (its nearest existing parent)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None

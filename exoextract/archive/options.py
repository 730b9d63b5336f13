"""The archive's options, derived once from the run's settings."""

from __future__ import annotations

from pathlib import Path

from exoextract.archive.client import DEFAULT_SERVER, Connection
from exoextract.archive.products import Request
from exoextract.archive.stage import StageConfig
from exoextract.lightcurves.read import quiet_import_lightkurve
from exoextract.settings import Settings


def cache_root(settings: Settings) -> Path:
    """lightkurve's download cache (``cache_dir`` to choose another)."""
    if settings.cache_dir:
        return Path(settings.cache_dir).expanduser()
    lk = quiet_import_lightkurve()
    return Path(lk.config.get_cache_dir())


def connection(settings: Settings) -> Connection:
    return Connection(settings.mast_url or DEFAULT_SERVER, settings.http_timeout)


def request(settings: Settings) -> Request:
    return Request(settings.mast_author, settings.mast_exptime, tuple(settings.mast_segments))


def stage_config(settings: Settings, workers: int, download: bool = True) -> StageConfig:
    """Downloads run up to two targets per CPU worker, plus one per connection, ahead."""
    return StageConfig(
        connection=connection(settings),
        request=request(settings),
        cache_root=cache_root(settings),
        slots=settings.max_downloads,
        batch=settings.search_batch,
        timeout=settings.download_timeout,
        search_days=settings.mast_search_days,
        ahead=2 * workers + settings.max_downloads,
        download=download,
    )

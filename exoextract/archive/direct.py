"""One target's files fetched in this process: for a diagnostic sheet, and for a Dask
worker that downloads its own target (the search was batched on the client)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from exoextract.archive import options, records
from exoextract.archive.client import ArchiveClient, Gate
from exoextract.archive.jobs import fetch_file
from exoextract.archive.products import Product
from exoextract.archive.search import search, target_name
from exoextract.errors import NoDataError
from exoextract.settings import Settings


@dataclass
class Files:
    paths: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: int = 0


def fetch_one(
    settings: Settings,
    key: str,
    mission: str | None,
    number: int,
    products: Sequence[Product] = (),
    gate: Gate | None = None,
) -> Files:
    """Search (unless ``products`` are given) and download what the cache lacks."""
    if mission is None:
        raise NoDataError(f"{key}: no mission — add a mission column or --mission")
    root = options.cache_root(settings)
    request = options.request(settings)
    client = ArchiveClient(options.connection(settings), gate)
    deadline = time.monotonic() + settings.download_timeout
    try:
        if not products:
            name = target_name(mission, number)
            found = records.load(root, mission, request, name, settings.mast_search_days)
            if found is None:
                found = search(client, mission, [(key, number)], request)[key]
                records.save(root, mission, request, name, found)
            if found.missing is not None:
                raise NoDataError(found.missing)
            products = found.products
        files = Files()
        for product in products:
            left = max(1.0, deadline - time.monotonic())
            done = fetch_file(client, product, root, left)
            files.notes.extend(done["notes"])
            files.repaired += done["repaired"]
            files.paths.append(str(product.path(root)))
        return files
    finally:
        client.close()

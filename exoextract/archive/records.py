"""What a search found, kept beside the downloaded files so a repeated run asks nothing.

A target's answer (its products with their sizes, or why it has none) is written into the
cache as ``exoextract-searches/<request>/<mission>/<target_name>.json`` after each search.
A run that finds a fresh record (younger than ``mast_search_days``, made for the same
author, exposure and segments) and every recorded file in the cache at its recorded size
makes no archive request for that target; a missing or short file is downloaded from the
recorded address without searching again. Files that are present but corrupt are found
when they are read, moved aside and downloaded again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path

from exoextract.archive.products import Product, Request
from exoextract.archive.search import Found

FOLDER = "exoextract-searches"
DAY = 86_400.0


def request_key(request: Request) -> str:
    """A folder name per set of search options ('author-any_exptime-long_segments-1-2')."""
    segments = "-".join(str(s) for s in request.segments) or "all"
    text = f"author-{request.author or 'default'}_exptime-{request.exptime or 'any'}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{text}_segments-{segments}")[:120]


def record_path(root: Path, mission: str, request: Request, name: str) -> Path:
    return root / FOLDER / request_key(request) / mission / f"{name}.json"


def save(root: Path, mission: str, request: Request, name: str, found: Found) -> None:
    """Write atomically; a cache that cannot be written only costs a search next time."""
    path = record_path(root, mission, request, name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"searched": time.time(), **found.to_dict()}))
        os.replace(tmp, path)
    with contextlib.suppress(OSError):
        tmp.unlink()


def load(root: Path, mission: str, request: Request, name: str, max_days: float) -> Found | None:
    """The recorded answer, if there is one younger than ``max_days`` (0: never)."""
    if max_days <= 0:
        return None
    try:
        data = json.loads(record_path(root, mission, request, name).read_text())
        if time.time() - float(data["searched"]) > max_days * DAY:
            return None
        return Found.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def missing_files(found: Found, root: Path) -> list[Product]:
    """The products not in the cache at their listed size (presence only: no read)."""
    absent = []
    for product in found.products:
        try:
            size = product.path(root).stat().st_size
        except OSError:
            absent.append(product)
            continue
        if size == 0 or (product.size and size != product.size):
            absent.append(product)
    return absent

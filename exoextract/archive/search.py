"""Searching the archive for many targets at once.

One observation query names every target of a batch (the portal takes a list of values per
filter); one product request then lists the files of up to :data:`OBSIDS_PER_CALL` of those
observations (many moderate joins answer faster than one huge one). The products are chosen
locally with lightkurve's rules (:mod:`exoextract.archive.products`). A target the archive
does not have is known from the batch's own answer: lightkurve's fallback to a cone search
through a name resolver (which cannot be redirected, and fails offline) is never needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exoextract.archive.client import ArchiveClient
from exoextract.archive.products import Product, Request, filters, one_per_segment, select

OBSIDS_PER_CALL = 500


@dataclass(frozen=True)
class Found:
    """One target's answer: the files its light curve is made of, or why there are none."""

    products: tuple[Product, ...] = ()
    missing: str | None = None

    @property
    def size(self) -> int:
        return sum(p.size or 0 for p in self.products)

    def to_dict(self) -> dict[str, Any]:
        return {"products": [p.to_dict() for p in self.products], "missing": self.missing}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Found:
        return cls(
            tuple(Product.from_dict(p) for p in data.get("products") or ()),
            data.get("missing"),
        )


def target_name(mission: str, number: int) -> str:
    """The archive's own target_name: kplr/ktwo plus nine digits; TESS ids unpadded."""
    if mission == "Kepler":
        return f"kplr{number:09d}"
    if mission == "K2":
        return f"ktwo{number:09d}"
    return str(number)


def search(
    client: ArchiveClient,
    mission: str,
    targets: Sequence[tuple[str, int]],
    request: Request,
) -> dict[str, Found]:
    """{target id: Found} for (target id, number) pairs of one mission, in two requests
    (more for very large batches or paged answers)."""
    names = {target_name(mission, number): key for key, number in targets}
    observations = client.observations(filters(mission, list(names), request))
    obsids = sorted({str(o["obsid"]) for o in observations})
    rows: list[dict[str, Any]] = []
    for start in range(0, len(obsids), OBSIDS_PER_CALL):
        rows.extend(client.products(obsids[start : start + OBSIDS_PER_CALL]))
    chosen = select(observations, rows, mission, request)
    observed = {str(o.get("target_name")) for o in observations}
    answers: dict[str, Found] = {}
    for name, key in names.items():
        products = one_per_segment(chosen.get(name, []))
        if products:
            answers[key] = Found(tuple(products))
        elif name in observed:
            answers[key] = Found(
                missing=f"MAST has {mission} data for {key}, but no light curve matches "
                "mast_author/mast_exptime/mast_segments"
            )
        else:
            asked = request.describe()
            answers[key] = Found(
                missing=f"MAST has no {mission} light curve for {key}"
                + (f" ({asked})" if asked else "")
            )
    return answers

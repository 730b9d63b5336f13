"""A local fake of the MAST archive, enough for lightkurve 2.6 and astroquery 0.4.11.

It serves a folder of archive-named light-curve files (Kepler, K2, TESS) through the exact
endpoints ``search_lightcurve(...)`` and a product download use (FACTS.md):

* ``POST /portal/Mashup/Mashup.asmx/columnsconfig`` — column descriptions;
* ``POST /api/v0/invoke`` — ``Mast.Caom.Filtered`` (observations) and ``Mast.Caom.Products``;
* ``GET|HEAD /api/v0.1/Download/file?uri=...`` — the files.

Faults can be switched on per file (downloads) or per target (searches), for a number of
requests: added latency, a stall mid-body, HTTP 503, a connection reset, a body cut short,
an empty body, an HTML error page with status 200, and bytes that differ from the size the
product table announces. It counts requests in flight (HTTP/1.0: one request per
connection), so tests can check the client's connection budget.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from astropy.io import fits

FAULTS = ("latency", "stall", "503", "reset", "cut", "empty", "html200", "size")
PATTERNS = (
    (re.compile(r"^kplr(\d{9})-(\d+)_llc\.fits$"), "Kepler"),
    (re.compile(r"^ktwo(\d{9})-c(\d+)_llc\.fits$"), "K2"),
    (re.compile(r"^tess(\d+)-s(\d{4})-(\d{16})-(\d{4})-s_lc\.fits$"), "TESS"),
)
OBS_FIELDS = [
    ("obsid", "string"),
    ("obs_id", "string"),
    ("obs_collection", "string"),
    ("project", "string"),
    ("provenance_name", "string"),
    ("target_name", "string"),
    ("dataproduct_type", "string"),
    ("t_exptime", "double"),
    ("t_min", "double"),
    ("t_max", "double"),
    ("sequence_number", "int"),
    ("s_ra", "double"),
    ("s_dec", "double"),
    ("instrument_name", "string"),
    ("dataRights", "string"),
]
PRODUCT_FIELDS = [
    ("obsID", "string"),
    ("obs_id", "string"),
    ("obs_collection", "string"),
    ("dataproduct_type", "string"),
    ("description", "string"),
    ("type", "string"),
    ("dataURI", "string"),
    ("productType", "string"),
    ("productGroupDescription", "string"),
    ("project", "string"),
    ("productFilename", "string"),
    ("size", "int"),
    ("parent_obsid", "string"),
    ("dataRights", "string"),
    ("calib_level", "int"),
]


@dataclass
class Product:
    """One light-curve file as the archive describes it (one observation each)."""

    mission: str
    number: int
    segment: int | None
    path: Path
    obsid: str

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def target_name(self) -> str:
        if self.mission == "Kepler":
            return f"kplr{self.number:09d}"
        if self.mission == "K2":
            return f"ktwo{self.number:09d}"
        return str(self.number)

    @property
    def obs_id(self) -> str:
        if self.mission == "TESS":
            return self.filename.removesuffix("_lc.fits")
        if self.mission == "K2":
            return f"ktwo{self.number:09d}-c{self.segment or 0:02d}_lc"
        return f"kplr{self.number:09d}_lc_Q{self.segment or 0}"

    @property
    def data_uri(self) -> str:
        if self.mission == "TESS":
            return f"mast:TESS/product/{self.filename}"
        ident = f"{self.number:09d}"
        kind = "kepler" if self.mission == "Kepler" else "k2"
        return (
            f"mast:{self.mission}/url/missions/{kind}/lightcurves/{ident[:4]}/{ident}/"
            f"{self.filename}"
        )

    def observation(self) -> dict[str, Any]:
        tess = self.mission == "TESS"
        return {
            "obsid": self.obsid,
            "obs_id": self.obs_id,
            "obs_collection": self.mission,
            "project": self.mission,
            "provenance_name": "SPOC" if tess else self.mission,
            "target_name": self.target_name,
            "dataproduct_type": "timeseries",
            "t_exptime": 120.0 if tess else 1800.0,
            "t_min": 58350.0 if tess else 55000.0,
            "t_max": 58377.0 if tess else 55090.0,
            "sequence_number": self.segment if self.mission != "Kepler" else None,
            "s_ra": 10.0,
            "s_dec": -20.0,
            "instrument_name": "Photometer",
            "dataRights": "PUBLIC",
        }

    def product(self, size: int) -> dict[str, Any]:
        description = (
            "Light curves"
            if self.mission == "TESS"
            else f"Lightcurve Long Cadence (CLC) - Q{self.segment or 0}"
        )
        return {
            "obsID": self.obsid,
            "obs_id": self.obs_id,
            "obs_collection": self.mission,
            "dataproduct_type": "timeseries",
            "description": description,
            "type": "S",
            "dataURI": self.data_uri,
            "productType": "SCIENCE",
            "productGroupDescription": "Minimum Recommended Products",
            "project": self.mission,
            "productFilename": self.filename,
            "size": size,
            "parent_obsid": self.obsid,
            "dataRights": "PUBLIC",
            "calib_level": 3,
        }


@dataclass
class Fault:
    kind: str
    remaining: int  # requests it still applies to; -1: all of them
    seconds: float = 1.0


def scan(root: Path) -> list[Product]:
    """Every archive-named light curve under root, with its quarter, campaign or sector."""
    products = []
    for path in sorted(p for p in root.rglob("*.fits") if not p.name.startswith(".")):
        for pattern, mission in PATTERNS:
            match = pattern.match(path.name)
            if not match:
                continue
            if mission == "TESS":
                number, segment = int(match.group(3)), int(match.group(2))
            else:
                number = int(match.group(1))
                header = fits.getheader(path)
                segment = (
                    header.get("QUARTER")
                    if mission == "Kepler"
                    else header.get("CAMPAIGN", int(match.group(2)))
                )
            products.append(
                Product(mission, number, segment, path, obsid=str(90_000_000 + len(products)))
            )
            break
    return products


class FakeMast:
    """Start with ``with FakeMast(folder) as mast: ... mast.url ...``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.products = scan(self.root)
        self.faults: dict[str, list[Fault]] = {}
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: Counter[str] = Counter()
        self.downloads: Counter[str] = Counter()
        self.stopping = threading.Event()
        self.file_latency = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------- control
    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeMast:
        handler = type("Handler", (_Handler,), {"mast": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeMast:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_fault(self, name: str, kind: str, times: int = 1, seconds: float = 1.0) -> None:
        """Fault the next ``times`` requests for a file name (downloads) or a MAST
        target_name such as 'kplr011442793' or '100100827' (searches); -1: every one."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose from {FAULTS}")
        with self.lock:
            self.faults.setdefault(name, []).append(Fault(kind, times, seconds))

    def take_fault(self, name: str) -> Fault | None:
        with self.lock:
            for fault in self.faults.get(name, []):
                if fault.remaining != 0:
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    return fault
        return None

    # ------------------------------------------------------------- archive
    def filtered(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for product in self.products:
            obs = product.observation()
            if all(
                str(obs.get(f["paramName"])) in [str(v) for v in f["values"]]
                for f in filters
                if isinstance(f.get("values"), list)
                and f["values"]
                and not isinstance(f["values"][0], dict)
            ):
                rows.append(obs)
        return rows

    def products_of(self, obsids: list[str]) -> list[dict[str, Any]]:
        return [p.product(p.path.stat().st_size) for p in self.products if p.obsid in obsids]

    def by_uri(self, uri: str) -> Product | None:
        return next((p for p in self.products if p.data_uri == uri), None)


def _table(rows: list[dict[str, Any]], fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "status": "COMPLETE",
        "msg": "",
        "data": rows,
        "fields": [{"name": n, "type": t} for n, t in fields],
        "paging": {
            "page": 1,
            "pageSize": max(1, len(rows)),
            "pagesFiltered": 1,
            "rows": len(rows),
            "rowsFiltered": len(rows),
            "rowsTotal": len(rows),
        },
    }


def _columns(fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {name: {"text": name, "type": kind, "vot.datatype": kind} for name, kind in fields}


class _Handler(BaseHTTPRequestHandler):
    mast: FakeMast

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    # ------------------------------------------------------------- plumbing
    def _enter(self) -> None:
        self._counted = True
        with self.mast.lock:
            self.mast.in_flight += 1
            self.mast.max_in_flight = max(self.mast.max_in_flight, self.mast.in_flight)

    def _leave(self) -> None:
        """Stop counting this request. Called just before its last write or reset: the client
        cannot start another request before that arrives, so a request whose handler thread
        has not been scheduled again yet is not counted twice."""
        if getattr(self, "_counted", False):
            self._counted = False
            with self.mast.lock:
                self.mast.in_flight -= 1

    def _json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self._leave()
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str) -> None:
        self._leave()
        self.send_error(code, message)

    def _reset(self) -> None:
        self._leave()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _sleep(self, seconds: float) -> None:
        self.mast.stopping.wait(seconds)

    # ------------------------------------------------------------- endpoints
    def do_POST(self) -> None:
        self._enter()
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            if self.path.startswith("/portal/Mashup/Mashup.asmx/columnsconfig"):
                self.mast.requests["columnsconfig"] += 1
                name = parse_qs(body).get("colConfigId", [""])[0]
                fields = PRODUCT_FIELDS if "Products" in name else OBS_FIELDS
                self._json(_columns(fields))
                return
            if self.path.startswith("/api/v0/invoke"):
                request = json.loads(unquote(parse_qs(body, keep_blank_values=True)["request"][0]))
                self._invoke(request)
                return
            self._error(404, "not found")
        finally:
            self._leave()

    def _invoke(self, request: dict[str, Any]) -> None:
        service = request.get("service")
        self.mast.requests[str(service)] += 1
        params = request.get("params") or {}
        if service == "Mast.Caom.Filtered":
            filters = params.get("filters") or []
            names = [
                v
                for f in filters
                if f.get("paramName") == "target_name"
                for v in f.get("values", [])
            ]
            fault = self.mast.take_fault(str(names[0])) if names else None
            if fault is not None and self._search_fault(fault):
                return
            self._json(_table(self.mast.filtered(filters), OBS_FIELDS))
        elif service == "Mast.Caom.Products":
            obsids = str(params.get("obsid", "")).split(",")
            self._json(_table(self.mast.products_of(obsids), PRODUCT_FIELDS))
        else:
            self._json({"status": "ERROR", "msg": f"fake MAST does not serve {service}"})

    def _search_fault(self, fault: Fault) -> bool:
        """Apply a fault to a search; True if the response was already sent."""
        if fault.kind == "latency":
            self._sleep(fault.seconds)
            return False
        if fault.kind == "503":
            self._error(503, "Service Unavailable")
            return True
        if fault.kind == "reset":
            self._reset()
            return True
        if fault.kind == "stall":
            self._sleep(fault.seconds)
            return False
        return False

    def do_HEAD(self) -> None:
        self._download(head=True)

    def do_GET(self) -> None:
        self._download(head=False)

    def _download(self, head: bool) -> None:
        self._enter()
        try:
            query = parse_qs(urlparse(self.path).query)
            product = self.mast.by_uri(query.get("uri", [""])[0])
            if not self.path.startswith("/api/v0.1/Download/file") or product is None:
                self._error(404, "no such product")
                return
            self.mast.downloads[product.filename] += 1
            if self.mast.file_latency:
                self._sleep(self.mast.file_latency)
            data = product.path.read_bytes()
            fault = self.mast.take_fault(product.filename)
            kind = fault.kind if fault else None
            if kind == "latency" and fault is not None:
                self._sleep(fault.seconds)
            if kind == "503":
                self._error(503, "Service Unavailable")
                return
            if kind == "reset":
                self._reset()
                return
            if kind == "html200":
                data = b"<!DOCTYPE html><html><body><h1>Internal error</h1></body></html>"
            elif kind == "empty":
                data = b""
            elif kind == "size":
                data = data[:-4000]  # consistent HTTP, but not the size the archive lists
            announced = len(product.path.read_bytes()) if kind == "cut" else len(data)
            self.send_response(200)
            self.send_header("Content-Type", "application/fits")
            self.send_header("Content-Length", str(announced))
            self.end_headers()
            if head:
                self._leave()
                return
            if kind == "cut":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self._reset()
                return
            if kind == "stall" and fault is not None:
                self.wfile.write(data[: len(data) // 3])
                self.wfile.flush()
                self._sleep(fault.seconds)
                self._reset()
                return
            self._leave()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._leave()

"""A local fake of the MAST archive, enough for lightkurve 2.6, astroquery 0.4.11 and
exoextract's own batched client.

It serves a folder of archive-named light-curve files (Kepler, K2, TESS and the high-level
products K2SFF, EVEREST, K2SC, QLP, TESS-SPOC and the TESS data-alert files) through the
endpoints ``search_lightcurve(...)``, a product download and exoextract use:

* ``POST /portal/Mashup/Mashup.asmx/columnsconfig`` — column descriptions;
* ``POST /api/v0/invoke`` — ``Mast.Caom.Filtered`` (observations: discrete filters take a
  list of values, continuous ones a min/max) and ``Mast.Caom.Products`` (many obsids
  joined by commas), both paged as MAST pages them;
* ``GET|HEAD /api/v0.1/Download/file?uri=...`` — the files.

Like the archive, a Kepler star's long-cadence quarters are one observation with a product
per quarter; every other file is an observation of its own. Products can also be listed
without a file (:meth:`FakeMast.add_listing`), for searches over thousands of targets.

It answers like a distant archive when asked: ``api_latency`` seconds per API call,
``file_latency`` seconds before a file's first byte and ``bandwidth`` bytes per second per
transfer. It speaks HTTP/1.1 with keep-alive and counts API calls per service, downloads
per file, requests in flight and connections open (their maxima too), so tests can check
the client's connection budget.

Faults can be switched on per file (downloads), per target (searches naming it) or per
service (``Mast.Caom.Filtered``, ``Mast.Caom.Products``), for a number of requests: added
latency, a stall mid-body, HTTP 503 or 429 (optionally with ``Retry-After``), a connection
reset, a body cut short, an empty body, an HTML error page with status 200, and bytes that
differ from the size the product table announces.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from astropy.io import fits

FAULTS = ("latency", "stall", "503", "429", "reset", "cut", "empty", "html200", "size")
SERVICES = ("Mast.Caom.Filtered", "Mast.Caom.Products")
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
CONTINUOUS = {name for name, kind in OBS_FIELDS if kind == "double"}
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

# file name -> (project, author, exposure s, id group, segment group); segment None: header
_D = r"(\d+)"
NAMES: tuple[tuple[re.Pattern[str], str, str, float, int, int | None], ...] = (
    (re.compile(r"^kplr(\d{9})-\d+_llc\.fits$"), "Kepler", "Kepler", 1800.0, 1, None),
    (re.compile(r"^kplr(\d{9})-\d+_slc\.fits$"), "Kepler", "Kepler", 60.0, 1, None),
    (re.compile(r"^ktwo(\d{9})-c(\d{2,3})_llc\.fits$"), "K2", "K2", 1800.0, 1, 2),
    (re.compile(r"^ktwo(\d{9})-c(\d{2,3})_slc\.fits$"), "K2", "K2", 60.0, 1, 2),
    (re.compile(r"^tess\d+-s(\d{4})-(\d{16})-\d{4}-s_lc\.fits$"), "TESS", "SPOC", 120.0, 2, 1),
    (
        re.compile(r"^tess\d+-s(\d{4})-(\d{16})-\d{4}-a_fast-lc\.fits$"),
        "TESS",
        "SPOC",
        20.0,
        2,
        1,
    ),
    (
        re.compile(r"^hlsp_k2sff_k2_lightcurve_(\d{9})-c(\d{2,3})_kepler_v1_llc\.fits$"),
        "K2",
        "K2SFF",
        1800.0,
        1,
        2,
    ),
    (
        re.compile(r"^hlsp_everest_k2_llc_(\d{9})-c(\d{2,3})_kepler_v2\.0_lc\.fits$"),
        "K2",
        "EVEREST",
        1800.0,
        1,
        2,
    ),
    (
        re.compile(r"^hlsp_k2sc_k2_llc_(\d{9})-c(\d{2,3})_kepler_v2_lc\.fits$"),
        "K2",
        "K2SC",
        1800.0,
        1,
        2,
    ),
    (
        re.compile(r"^hlsp_qlp_tess_ffi_s(\d{4})-(\d{16})_tess_v01_llc\.fits$"),
        "TESS",
        "QLP",
        1800.0,
        2,
        1,
    ),
    (
        re.compile(r"^hlsp_tess-spoc_tess_phot_(\d{16})-s(\d{4})_tess_v1_lc\.fits$"),
        "TESS",
        "TESS-SPOC",
        1800.0,
        1,
        2,
    ),
    (
        re.compile(r"^hlsp_tess-data-alerts_tess_phot_(\d{11})-s(\d{2})_tess_v1_lc\.fits$"),
        "TESS",
        "TESS-DATA-ALERTS",
        120.0,
        1,
        2,
    ),
)


@dataclass
class Product:
    """One light-curve file as the archive lists it."""

    project: str
    number: int
    segment: int | None  # quarter, campaign (as the archive numbers it) or sector
    filename: str
    author: str
    exptime: float
    size: int
    path: Path | None = None  # None: listed only (a search can see it, a download cannot)
    obsid: str = ""

    @property
    def hlsp(self) -> bool:
        return self.filename.startswith("hlsp_")

    @property
    def target_name(self) -> str:
        if self.project == "Kepler":
            return f"kplr{self.number:09d}"
        if self.project == "K2":
            return f"ktwo{self.number:09d}"
        return str(self.number)

    @property
    def obs_collection(self) -> str:
        return "HLSP" if self.hlsp else self.project

    @property
    def obs_id(self) -> str:
        if self.hlsp:
            return re.sub(r"_l?lc\.fits$", "", self.filename)
        if self.project == "TESS":
            fast = self.filename.endswith("_fast-lc.fits")
            return self.filename.removesuffix("_fast-lc.fits" if fast else "_lc.fits") + (
                "_fast" if fast else ""
            )
        if self.project == "K2":
            return f"ktwo{self.number:09d}-c{self.segment or 0:02d}_lc"
        kind = "lc" if self.exptime > 100 else "sc"
        return f"kplr{self.number:09d}_{kind}_Q111111111111111111"  # one per star and cadence

    @property
    def data_uri(self) -> str:
        if self.hlsp:
            return f"mast:HLSP/{self.author.lower()}/{self.filename}"
        if self.project == "TESS":
            return f"mast:TESS/product/{self.filename}"
        ident = f"{self.number:09d}"
        kind = "kepler" if self.project == "Kepler" else "k2"
        return (
            f"mast:{self.project}/url/missions/{kind}/lightcurves/{ident[:4]}/{ident}/"
            f"{self.filename}"
        )

    def observation(self) -> dict[str, Any]:
        tess = self.project == "TESS"
        return {
            "obsid": self.obsid,
            "obs_id": self.obs_id,
            "obs_collection": self.obs_collection,
            "project": self.project,
            "provenance_name": self.author,
            "target_name": self.target_name,
            "dataproduct_type": "timeseries",
            "t_exptime": self.exptime,
            "t_min": 58350.0 + 27 * (self.segment or 0) if tess else 55000.0,
            "t_max": 58377.0 + 27 * (self.segment or 0) if tess else 56500.0,
            "sequence_number": None if self.project == "Kepler" else self.segment,
            "s_ra": 10.0,
            "s_dec": -20.0,
            "instrument_name": "Photometer",
            "dataRights": "PUBLIC",
        }

    def product(self) -> dict[str, Any]:
        if self.project == "Kepler":
            cadence = "Long Cadence (CLC)" if self.exptime > 100 else "Short Cadence (CSC)"
            description = f"Lightcurve {cadence} - Q{self.segment or 0}"
        else:
            description = "Light curves"
        return {
            "obsID": self.obsid,
            "obs_id": self.obs_id,
            "obs_collection": self.obs_collection,
            "dataproduct_type": "timeseries",
            "description": description,
            "type": "S",
            "dataURI": self.data_uri,
            "productType": "SCIENCE",
            "productGroupDescription": "Minimum Recommended Products",
            "project": self.project,
            "productFilename": self.filename,
            "size": self.size,
            "parent_obsid": self.obsid,
            "dataRights": "PUBLIC",
            "calib_level": 3,
        }


def describe(path: Path, quarter: int | None = None) -> Product | None:
    """The product a file is, by its archive name (a Kepler quarter from the header, or
    ``quarter`` for a file that is only listed)."""
    for pattern, project, author, exptime, id_group, segment_group in NAMES:
        match = pattern.match(path.name)
        if not match:
            continue
        number = int(match.group(id_group))
        if segment_group is not None:
            segment = int(match.group(segment_group))
        elif quarter is not None:
            segment = quarter
        else:
            segment = fits.getheader(path).get("QUARTER")
        return Product(project, number, segment, path.name, author, exptime, 0, path)
    return None


def scan(root: Path) -> list[Product]:
    """Every archive-named light curve under root."""
    found = []
    for path in sorted(p for p in root.rglob("*.fits") if not p.name.startswith(".")):
        product = describe(path)
        if product is not None:
            product.size = path.stat().st_size
            found.append(product)
    return found


@dataclass
class Fault:
    kind: str
    remaining: int  # requests it still applies to; -1: all of them
    seconds: float = 1.0
    retry_after: float | None = None


@dataclass
class Counts:
    """What the fake was asked, under its lock."""

    requests: Counter[str] = field(default_factory=Counter)  # API calls per service
    downloads: Counter[str] = field(default_factory=Counter)  # GETs per file
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0
    max_connections: int = 0
    connections_opened: int = 0
    log: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, what)


class FakeMast:
    """Start with ``with FakeMast(folder) as mast: ... mast.url ...``."""

    def __init__(
        self,
        root: str | Path | None = None,
        api_latency: float = 0.0,
        file_latency: float = 0.0,
        bandwidth: float | None = None,
        max_pagesize: int | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.api_latency = api_latency
        self.file_latency = file_latency
        self.bandwidth = bandwidth  # bytes per second per transfer; None: as fast as it goes
        self.max_pagesize = max_pagesize
        self.products: list[Product] = []
        self._by_target: dict[str, list[Product]] = defaultdict(list)
        self._by_obsid: dict[str, list[Product]] = defaultdict(list)
        self._by_uri: dict[str, Product] = {}
        self._obsids: dict[str, str] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.lock = threading.Lock()
        self.counts = Counts()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if self.root is not None:
            for product in scan(self.root):
                self._add(product)

    # ------------------------------------------------------------- what it holds
    def _add(self, product: Product) -> None:
        obsid = self._obsids.setdefault(product.obs_id, str(90_000_000 + len(self._obsids)))
        product.obsid = obsid
        self.products.append(product)
        self._by_target[product.target_name].append(product)
        self._by_obsid[obsid].append(product)
        self._by_uri[product.data_uri] = product

    def add_file(self, path: Path) -> Product:
        """Serve one more file (named as the archive names it)."""
        product = describe(path)
        if product is None:
            raise ValueError(f"{path.name} is not an archive file name the fake knows")
        product.size = path.stat().st_size
        with self.lock:
            self._add(product)
        return product

    def add_named(self, filename: str, size: int, quarter: int | None = None) -> Product:
        """List a product by its archive file name, without a file (``quarter`` for Kepler)."""
        product = describe(Path(filename), quarter)
        if product is None:
            raise ValueError(f"{filename} is not an archive file name the fake knows")
        product.path, product.size = None, size
        with self.lock:
            self._add(product)
        return product

    def add_listing(
        self,
        project: str,
        number: int,
        segment: int,
        size: int,
        author: str | None = None,
        exptime: float | None = None,
    ) -> Product:
        """List a product that has no file: searches find it, downloads get 404."""
        author = author or {"Kepler": "Kepler", "K2": "K2", "TESS": "SPOC"}[project]
        if project == "TESS":
            filename = f"tess2019000000000-s{segment:04d}-{number:016d}-0100-s_lc.fits"
        elif project == "K2":
            filename = f"ktwo{number:09d}-c{segment:02d}_llc.fits"
        else:
            filename = f"kplr{number:09d}-{2009000000000 + segment}_llc.fits"
        default_exptime = 120.0 if project == "TESS" else 1800.0
        product = Product(
            project, number, segment, filename, author, exptime or default_exptime, size
        )
        with self.lock:
            self._add(product)
        return product

    # ------------------------------------------------------------- control
    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> Counter[str]:
        return self.counts.requests

    @property
    def downloads(self) -> Counter[str]:
        return self.counts.downloads

    @property
    def max_in_flight(self) -> int:
        return self.counts.max_in_flight

    @property
    def max_connections(self) -> int:
        return self.counts.max_connections

    @property
    def api_calls(self) -> int:
        """Every API request (column configs, searches, product lists), not downloads."""
        return sum(self.counts.requests.values())

    def reset_counts(self) -> None:
        with self.lock:
            self.counts = Counts(connections=self.counts.connections)

    def start(self) -> FakeMast:
        handler = type("Handler", (_Handler,), {"mast": self})
        self._server = _Server(("127.0.0.1", 0), handler)
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

    def add_fault(
        self,
        name: str,
        kind: str,
        times: int = 1,
        seconds: float = 1.0,
        retry_after: float | None = None,
    ) -> None:
        """Fault the next ``times`` requests for a file name (downloads), a MAST
        target_name such as 'kplr011442793' or '100100827' (searches naming it), or a
        service name (every call of it); -1: every one. ``retry_after`` adds that header to
        a 503 or 429 (a 429 always has one: ``seconds`` by default)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose from {FAULTS}")
        if kind == "429" and retry_after is None:
            retry_after = seconds
        with self.lock:
            self.faults.setdefault(name, []).append(Fault(kind, times, seconds, retry_after))

    def take_fault(self, *names: str) -> Fault | None:
        with self.lock:
            for name in names:
                for fault in self.faults.get(name, []):
                    if fault.remaining != 0:
                        if fault.remaining > 0:
                            fault.remaining -= 1
                        return fault
        return None

    # ------------------------------------------------------------- archive
    def filtered(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names: list[str] | None = None
        rest = []
        for f in filters:
            if f.get("paramName") == "target_name":
                names = [str(v) for v in f.get("values") or []]
            else:
                rest.append(f)
        with self.lock:
            pool = (
                [p for n in names for p in self._by_target.get(n, [])]
                if names is not None
                else list(self.products)
            )
        rows: dict[str, dict[str, Any]] = {}
        for product in pool:
            obs = product.observation()
            if product.obsid not in rows and all(_matches(obs, f) for f in rest):
                rows[product.obsid] = obs
        return list(rows.values())

    def products_of(self, obsids: list[str]) -> list[dict[str, Any]]:
        with self.lock:
            return [p.product() for o in obsids for p in self._by_obsid.get(o.strip(), [])]

    def by_uri(self, uri: str) -> Product | None:
        with self.lock:
            return self._by_uri.get(uri)

    # ------------------------------------------------------------- bookkeeping
    def note(self, what: str) -> None:
        with self.lock:
            self.counts.log.append((time.monotonic(), what))

    def _count(self, attribute: str, peak: str, step: int) -> None:
        with self.lock:
            value = getattr(self.counts, attribute) + step
            setattr(self.counts, attribute, value)
            setattr(self.counts, peak, max(getattr(self.counts, peak), value))


def _matches(obs: dict[str, Any], flt: dict[str, Any]) -> bool:
    values = flt.get("values") or []
    if not values:
        return True
    value = obs.get(flt.get("paramName", ""))
    if isinstance(values[0], dict):  # continuous: [{"min": a, "max": b}]
        if value is None:
            return False
        return float(values[0]["min"]) <= float(value) <= float(values[0]["max"])
    return str(value).lower() in {str(v).lower() for v in values}


def _table(
    rows: list[dict[str, Any]], fields: list[tuple[str, str]], page: int, pagesize: int
) -> dict[str, Any]:
    pages = max(1, -(-len(rows) // pagesize))
    return {
        "status": "COMPLETE",
        "msg": "",
        "data": rows[(page - 1) * pagesize : page * pagesize],
        "fields": [{"name": n, "type": t} for n, t in fields],
        "paging": {
            "page": page,
            "pageSize": pagesize,
            "pagesFiltered": pages,
            "rows": len(rows[(page - 1) * pagesize : page * pagesize]),
            "rowsFiltered": len(rows),
            "rowsTotal": len(rows),
        },
    }


def _columns(fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {name: {"text": name, "type": kind, "vot.datatype": kind} for name, kind in fields}


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its kept-alive connection is not an error worth a trace."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    mast: FakeMast
    protocol_version = "HTTP/1.1"  # keep-alive: a client may reuse its connection

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    # ------------------------------------------------------------- plumbing
    def setup(self) -> None:
        super().setup()
        self.mast._count("connections", "max_connections", 1)
        with self.mast.lock:
            self.mast.counts.connections_opened += 1

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.mast._count("connections", "max_connections", -1)

    def _enter(self) -> None:
        self._counted = True
        self.mast._count("in_flight", "max_in_flight", 1)

    def _leave(self) -> None:
        """Stop counting this request. Called just before its last write or reset: the client
        cannot start another request before that arrives, so a request whose handler thread
        has not been scheduled again yet is not counted twice."""
        if getattr(self, "_counted", False):
            self._counted = False
            self.mast._count("in_flight", "max_in_flight", -1)

    def _json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self._leave()
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: int, message: str, retry_after: float | None = None) -> None:
        body = f"<html><body><h1>{code} {message}</h1></body></html>".encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        if retry_after is not None:
            self.send_header("Retry-After", str(max(0, round(retry_after))))
        self._leave()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

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
            self.mast.note(self.path.split("?")[0])
            if self.mast.api_latency:
                self._sleep(self.mast.api_latency)
            if self.path.startswith("/portal/Mashup/Mashup.asmx/columnsconfig"):
                with self.mast.lock:
                    self.mast.counts.requests["columnsconfig"] += 1
                name = parse_qs(body).get("colConfigId", [""])[0]
                fields = PRODUCT_FIELDS if "Products" in name else OBS_FIELDS
                self._json(_columns(fields))
                return
            if self.path.startswith("/api/v0/invoke"):
                request = json.loads(unquote(parse_qs(body, keep_blank_values=True)["request"][0]))
                self._invoke(request)
                return
            self._error(404, "not found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self._leave()

    def _invoke(self, request: dict[str, Any]) -> None:
        service = str(request.get("service"))
        with self.mast.lock:
            self.mast.counts.requests[service] += 1
        params = request.get("params") or {}
        pagesize = int(request.get("pagesize") or 50_000)
        if self.mast.max_pagesize:
            pagesize = min(pagesize, self.mast.max_pagesize)
        page = int(request.get("page") or 1)
        if service == "Mast.Caom.Filtered":
            filters = params.get("filters") or []
            names = [
                str(v)
                for f in filters
                if f.get("paramName") == "target_name"
                for v in f.get("values", [])
            ]
            fault = self.mast.take_fault(service, *names)
            if fault is not None and self._search_fault(fault):
                return
            self._json(_table(self.mast.filtered(filters), OBS_FIELDS, page, pagesize))
        elif service == "Mast.Caom.Products":
            fault = self.mast.take_fault(service)
            if fault is not None and self._search_fault(fault):
                return
            obsids = str(params.get("obsid", "")).split(",")
            self._json(_table(self.mast.products_of(obsids), PRODUCT_FIELDS, page, pagesize))
        else:
            self._json({"status": "ERROR", "msg": f"fake MAST does not serve {service}"})

    def _search_fault(self, fault: Fault) -> bool:
        """Apply a fault to an API call; True if the response was already sent."""
        if fault.kind in ("latency", "stall"):
            self._sleep(fault.seconds)
            return False
        if fault.kind in ("503", "429"):
            reason = "Service Unavailable" if fault.kind == "503" else "Too Many Requests"
            self._error(int(fault.kind), reason, fault.retry_after)
            return True
        if fault.kind == "reset":
            self._reset()
            return True
        if fault.kind == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"status": "COMPLETE", "data": [')
            self.wfile.flush()
            self._reset()
            return True
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
            if (
                not self.path.startswith("/api/v0.1/Download/file")
                or product is None
                or product.path is None
            ):
                self._error(404, "no such product")
                return
            if not head:
                self.mast.note(product.filename)
                with self.mast.lock:
                    self.mast.counts.downloads[product.filename] += 1
            if self.mast.file_latency:
                self._sleep(self.mast.file_latency)
            data = product.path.read_bytes()
            fault = None if head else self.mast.take_fault(product.filename)
            kind = fault.kind if fault else None
            if kind == "latency" and fault is not None:
                self._sleep(fault.seconds)
            if kind in ("503", "429") and fault is not None:
                reason = "Service Unavailable" if kind == "503" else "Too Many Requests"
                self._error(int(kind), reason, fault.retry_after)
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
            announced = product.size if kind == "cut" else len(data)
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
            self._send_body(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self._leave()

    def _send_body(self, data: bytes) -> None:
        """The whole body, at ``bandwidth`` bytes per second if one is set."""
        rate = self.mast.bandwidth
        if not rate:
            self._leave()
            self.wfile.write(data)
            return
        step = 1 << 16
        started = time.monotonic()
        for offset in range(0, len(data), step):
            if offset + step >= len(data):
                self._leave()
            self.wfile.write(data[offset : offset + step])
            ahead = (offset + step) / rate - (time.monotonic() - started)
            if ahead > 0 and offset + step < len(data):
                self._sleep(ahead)
        self._leave()

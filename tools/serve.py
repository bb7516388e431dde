"""Loopback HTTP/1.1 test server: byte ranges, latency, fault injection, request log."""
# SPDX-License-Identifier: MIT
#
# Standard library only (Python 3.9+, tested with 3.11), so it runs without the venv
# (C tests started by CTest can launch it with the system python3).
#
# What it is for
# --------------
# lazycogs reads Cloud-Optimized GeoTIFFs with HTTP range requests.  Its
# tests need a server that answers ranges exactly as RFC 9110 prescribes,
# that can be slowed down (time-to-first-byte latency) and that can misbehave
# on demand (503/429 with Retry-After, connection resets, short bodies,
# stalls, servers that ignore Range) so that retry, timeout and validation
# code paths can be exercised deterministically.  Every request is recorded
# (connection id, method, path, Range header, status, body bytes sent, fault)
# so tests can check *how* the client talked to the server, e.g. that it
# reused a keep-alive connection or merged neighbouring ranges.
#
# Three ways to use it
# --------------------
# * CLI:     tools/serve.py DIR [--port 0] [--host 127.0.0.1] [--latency-ms N]
#                              [--faults SPEC] [--log FILE] [--port-file FILE]
#            prints "serving DIR at http://127.0.0.1:PORT" once listening
#            (and writes PORT to --port-file if given), exits with status 0
#            on SIGTERM / SIGINT.
# * Module:  with LoopbackServer(root, latency_ms=50, faults="503,first=1")
#            as srv: ... srv.url, srv.log, srv.set_faults(...)
# * pytest:  the http_server / http_world fixtures in tests/python/conftest.py.
#
# HTTP behaviour (RFC 9110)
# -------------------------
# * GET and HEAD on regular files below DIR; HTTP/1.1 persistent connections
#   with exact Content-Length on every response (no chunked encoding).
# * "Accept-Ranges: bytes" on every file response.
# * Range (GET only; RFC 9110 14.2 says a server MUST ignore Range on other
#   methods, so HEAD always describes the full representation):
#     bytes=a-b, bytes=a-, bytes=-n, unit compared case-insensitively,
#     optional whitespace around commas, empty list elements skipped.
#     last-pos past EOF is clamped; a suffix longer than the file selects the
#     whole file.  Satisfiable -> 206 with "Content-Range: bytes a-b/size".
#     None satisfiable -> 416 with "Content-Range: bytes */size".
#     Syntactically invalid (or another unit, or several Range header lines)
#     -> header ignored, 200 with the full body.
#     Several satisfiable ranges -> a multipart/byteranges 206, parts in the
#     order requested, neither merged nor reordered (so a client's own range
#     coalescing is what shows up in the log).  If only one of several ranges
#     is satisfiable, a plain single-part 206 is sent (RFC 9110 15.3.7.2).
#     A zero-length file has no expressible Content-Range, so a suffix range
#     on it is answered with 200 and an empty body.
# * Missing file or directory -> 404.  A path that tries to leave DIR
#   ("..", also percent-encoded, or a symlink pointing outside) -> 403.
# * Files are served without validators (no ETag / Last-Modified), so there is
#   no conditional-request (If-Range etc.) handling to get wrong.
#
# Fault SPEC grammar
# ------------------
#   SPEC  := "" | RULE (";" RULE)*         whitespace around tokens is ignored
#   RULE  := KIND ("," KEY "=" VALUE)*
#   KIND  := "503" | "429" | any status 400..599 | "reset" | "truncate"
#            | "stall" | "ignore-range" | "delay" | "redirect"
#   KEYs  (values must not contain "," or ";"):
#     path=GLOB      fnmatch pattern on the percent-decoded URL path without
#                    query, e.g. "*.tif" or "/a/b/B04.tif" (default "*")
#     method=M       only GET or only HEAD requests (default: both)
#     ranged=yes|no  only requests with / without a Range header
#                    (default: either; "ignore-range" implies ranged=yes)
#     first=N        fire on the first N requests this rule sees, then never
#     every=N        fire on every N-th request this rule sees (N, 2N, ...)
#     prob=P         fire with probability P in [0, 1] ...
#     seed=S         ... drawn from random.Random(S) (default seed 0), so even
#                    random faults repeat for the same request sequence
#                    (at most one of first / every / prob; none = always)
#     retry_after=S  Retry-After value in seconds for status kinds
#                    (default 1 for 429 and 503, no header for other statuses)
#     seconds=S      stall: how long to hang before closing (default 10);
#                    delay: extra wait before the response starts (default 1)
#     bytes=N        reset / truncate / stall: body bytes sent before the
#                    fault strikes (default: half of the body, rounded down)
#     location=URL   redirect: answer 302 with Location URL + request target
#   Kinds:
#     503, 429, 4xx/5xx  answer with that status, a short text body and, for
#                        429/503 or when retry_after is given, Retry-After;
#                        the connection stays usable (keep-alive).
#     reset        headers and `bytes` of the body, then the TCP connection
#                  is reset (SO_LINGER 0 + close -> RST).
#     truncate     headers announce the full Content-Length, only `bytes` of
#                  the body follow, then an orderly close (FIN).
#     stall        headers and `bytes` of the body, then nothing for `seconds`,
#                  then close.
#     ignore-range answer 200 with the whole file although Range was sent.
#     delay        wait `seconds` before the (otherwise normal) response.
#     redirect     answer 302 Found to location + the request target.
#   reset / truncate / stall responses carry "Connection: close".  Status
#   faults apply whether or not the file exists; the others only to files.
#   Evaluation: for each request the rules are tried in order.  A rule "sees"
#   a request when the request reaches it (no earlier rule fired) and matches
#   its path/method/ranged filters; the first rule that fires decides the
#   fault.  Counters (first/every) and random generators restart whenever the
#   rules are replaced.  Example:
#     "503,path=*.tif,first=2,retry_after=0; reset,every=5,bytes=100"
#
# Control endpoint (never logged, never delayed, never faulted)
# -------------------------------------------------------------
#   GET    /__control/ping            -> "ok" (readiness probe)
#   GET    /__control/faults          -> current rules, canonical SPEC text
#   PUT    /__control/faults  (body)  -> replace rules (POST works too);
#                                        400 with the reason if SPEC is bad
#   DELETE /__control/faults          -> remove all rules
#   GET    /__control/latency         -> current latency in ms
#   PUT    /__control/latency (body)  -> set latency in ms (POST works too)
#   GET    /__control/log[?min=N[&timeout=S]]
#                                     -> request log as JSON lines; with min,
#                                        first wait (up to S s, default 5) until
#                                        at least N entries exist
#   DELETE /__control/log             -> clear the in-memory log (the --log
#                                        file keeps the full history)
#
# Request log entry (one JSON object per line in --log FILE and in .log)
#   {"seq": arrival number of the request (1, 2, ... over all connections;
#    control requests are not counted),
#    "time": unix seconds when the request line was read, "conn": connection
#    id (1, 2, ... per accepted TCP connection), "conn_time": unix seconds
#    when that connection was accepted, "method", "path" (request
#    target as sent), "range" (Range header or null), "amz" (the x-amz-*
#    request headers but the security token), "auth" (the Authorization
#    scheme, e.g. "Bearer" or "AWS4-HMAC-SHA256", or null), "status", "bytes"
#    (body bytes actually written to the socket), "fault" (kind or null),
#    "duration_ms"}
#   An entry is added once the response has been written (or abandoned),
#   so a client that has just read a response may briefly not see its entry:
#   use LoopbackServer.wait_for_log(n), LoopbackServer.settled_log() (every
#   request that arrived is over) or GET /__control/log?min=n.  The
#   file gets entries in completion order; .log and GET /__control/log give
#   them in arrival (seq) order.  clear_log() does not reset seq.

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import mimetypes
import os
import random
import re
import selectors
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator, List, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = [
    "FaultRule",
    "LoopbackServer",
    "format_faults",
    "parse_faults",
    "parse_range_header",
    "resolve_ranges",
    "main",
]

CONTROL_PREFIX = "/__control/"
CHUNK = 64 * 1024  # write granularity of the body faults and multipart heads

# --------------------------------------------------------------------------
# Fault rules
# --------------------------------------------------------------------------

BODY_FAULTS = ("reset", "truncate", "stall")
NAMED_KINDS = BODY_FAULTS + ("ignore-range", "delay", "redirect")
_INT_KEYS = ("first", "every", "seed", "bytes")
_FLOAT_KEYS = ("prob", "retry_after", "seconds")


@dataclass
class FaultRule:
    """One parsed rule of a fault SPEC (see the module header for grammar).

    `seen` counts the requests this rule has seen; it drives first/every.
    """

    kind: str
    path: str = "*"
    method: Optional[str] = None
    ranged: Optional[bool] = None
    first: Optional[int] = None
    every: Optional[int] = None
    prob: Optional[float] = None
    seed: int = 0
    retry_after: Optional[float] = None
    seconds: Optional[float] = None
    nbytes: Optional[int] = None
    location: Optional[str] = None
    seen: int = field(default=0, compare=False)
    rng: random.Random = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def status(self) -> Optional[int]:
        """The HTTP status for status kinds ("503", "429", ...), else None."""
        return int(self.kind) if self.kind.isdigit() else None

    def matches(self, method: str, path: str, has_range: bool) -> bool:
        """Whether the request passes this rule's filters."""
        if self.method is not None and method != self.method:
            return False
        ranged = self.ranged
        if ranged is None and self.kind == "ignore-range":
            ranged = True  # ignoring an absent Range header is no fault
        if ranged is not None and has_range != ranged:
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def fires(self) -> bool:
        """Count one more seen request and decide whether the fault applies."""
        self.seen += 1
        if self.first is not None:
            return self.seen <= self.first
        if self.every is not None:
            return self.seen % self.every == 0
        if self.prob is not None:
            return self.rng.random() < self.prob
        return True

    def retry_after_header(self) -> Optional[str]:
        """Retry-After header value for status kinds, or None for no header."""
        if self.status is None:
            return None
        value = self.retry_after
        if value is None and self.status in (429, 503):
            value = 1
        if value is None:
            return None
        return _num(value)

    def text(self) -> str:
        """Canonical SPEC text of this rule (parse_faults(text) round-trips)."""
        parts = [self.kind]
        if self.path != "*":
            parts.append(f"path={self.path}")
        if self.method is not None:
            parts.append(f"method={self.method}")
        if self.ranged is not None:
            parts.append(f"ranged={'yes' if self.ranged else 'no'}")
        for key in ("first", "every", "prob"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={_num(value)}")
        if self.prob is not None or self.seed != 0:
            parts.append(f"seed={self.seed}")
        if self.retry_after is not None:
            parts.append(f"retry_after={_num(self.retry_after)}")
        if self.seconds is not None:
            parts.append(f"seconds={_num(self.seconds)}")
        if self.nbytes is not None:
            parts.append(f"bytes={self.nbytes}")
        if self.location is not None:
            parts.append(f"location={self.location}")
        return ",".join(parts)


def _num(value: float) -> str:
    """Format a number without a pointless ".0" (Retry-After wants integers)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_faults(spec: Optional[str]) -> List[FaultRule]:
    """Parse a fault SPEC into rules; raise ValueError with a reason if bad.

    None or an empty / whitespace-only SPEC means "no faults".
    """
    rules: List[FaultRule] = []
    if spec is None:
        return rules
    for raw_rule in spec.split(";"):
        raw_rule = raw_rule.strip()
        if not raw_rule:
            continue  # tolerate "a;;b" and a trailing ";"
        tokens = [t.strip() for t in raw_rule.split(",")]
        kind = tokens[0].lower()
        if kind.isdigit():
            if not 400 <= int(kind) <= 599:
                raise ValueError(f"fault status must be 400..599: {kind!r}")
        elif kind not in NAMED_KINDS:
            raise ValueError(
                f"unknown fault kind {kind!r} (want a 4xx/5xx status or one "
                f"of {', '.join(NAMED_KINDS)})")
        args: dict = {}
        for token in tokens[1:]:
            if not token:
                continue
            key, sep, value = token.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise ValueError(f"expected KEY=VALUE in rule {raw_rule!r}: "
                                 f"{token!r}")
            if key in args or (key == "bytes" and "nbytes" in args):
                raise ValueError(f"duplicate key {key!r} in rule {raw_rule!r}")
            try:
                if key == "path":
                    args["path"] = value
                elif key == "location":
                    args["location"] = value
                elif key == "method":
                    if value.upper() not in ("GET", "HEAD"):
                        raise ValueError("method must be GET or HEAD")
                    args["method"] = value.upper()
                elif key == "ranged":
                    if value.lower() not in ("yes", "no", "1", "0",
                                             "true", "false"):
                        raise ValueError("ranged must be yes or no")
                    args["ranged"] = value.lower() in ("yes", "1", "true")
                elif key in _INT_KEYS:
                    number = int(value, 10)
                    if number < 0 or (key in ("first", "every")
                                      and number == 0):
                        raise ValueError(f"{key} out of range")
                    args["nbytes" if key == "bytes" else key] = number
                elif key in _FLOAT_KEYS:
                    number = float(value)
                    if not number >= 0 or number == float("inf"):
                        raise ValueError(f"{key} must be a finite number >= 0")
                    if key == "prob" and number > 1:
                        raise ValueError("prob must be in [0, 1]")
                    args[key] = number
                else:
                    raise ValueError(f"unknown key {key!r}")
            except ValueError as exc:
                raise ValueError(f"bad {token!r} in rule {raw_rule!r}: "
                                 f"{exc}") from None
        selectors = [k for k in ("first", "every", "prob") if k in args]
        if len(selectors) > 1:
            raise ValueError(f"rule {raw_rule!r} has more than one of "
                             f"first/every/prob")
        rules.append(FaultRule(kind=kind, **args))
    return rules


def format_faults(rules: Sequence[FaultRule]) -> str:
    """Canonical SPEC text for a list of rules ("" for none)."""
    return "; ".join(rule.text() for rule in rules)


# --------------------------------------------------------------------------
# Range header (RFC 9110 section 14)
# --------------------------------------------------------------------------

_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")

# A parsed range-spec: (first, last) with last None for "a-", or (None, n)
# for the suffix form "-n".
RangeSpec = Tuple[Optional[int], Optional[int]]


def parse_range_header(value: str) -> Optional[List[RangeSpec]]:
    """Parse a Range header value; None if it is not a valid bytes range set.

    Returns the range-specs in request order without resolving them against a
    file size (see resolve_ranges).
    """
    unit, sep, range_set = value.strip().partition("=")
    if not sep or unit.lower() != "bytes":
        return None  # missing "=", or another range unit: ignore the header
    specs: List[RangeSpec] = []
    for element in range_set.split(","):
        element = element.strip(" \t")
        if not element:
            continue  # RFC 9110 5.6.1.2: empty list elements are ignored
        match = _RANGE_SPEC.fullmatch(element)
        if match is None:
            return None
        if match.group(3) is not None:
            specs.append((None, int(match.group(3))))
        else:
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) else None
            if last is not None and last < first:
                return None  # RFC 9110 14.1.1: such an int-range is invalid
            specs.append((first, last))
    return specs or None


def resolve_ranges(specs: Sequence[RangeSpec],
                   size: int) -> List[Tuple[int, int]]:
    """Turn range-specs into satisfiable (start, end_inclusive) byte ranges.

    Unsatisfiable specs are dropped (RFC 9110 14.1.3); last-pos past the end
    is clamped and an over-long suffix selects the whole representation.
    """
    out: List[Tuple[int, int]] = []
    for first, last in specs:
        if first is None:  # suffix "-n"
            if last == 0 or size == 0:
                continue
            out.append((max(size - last, 0), size - 1))
        else:
            if first >= size:
                continue
            end = size - 1 if last is None else min(last, size - 1)
            out.append((first, end))
    return out


# --------------------------------------------------------------------------
# Request handler
# --------------------------------------------------------------------------

# A response body piece: literal bytes, or (offset, length) of the file.
Piece = Union[bytes, Tuple[int, int]]


class _Handler(BaseHTTPRequestHandler):
    """Serves one TCP connection (possibly many keep-alive requests)."""

    protocol_version = "HTTP/1.1"  # enables persistent connections
    server_version = "lazycogs-serve/1"
    # Idle keep-alive connections are dropped after this many seconds so a
    # long-running CLI server does not accumulate threads for leaked clients.
    timeout = 300

    server: "_ThreadedServer"

    def __init__(self, request, client_address, server, conn_id: int,
                 accepted: float):
        self.conn_id = conn_id
        self.accepted = accepted
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY
        # Nagle + delayed ACK can add ~40 ms to small responses.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # noqa: A002
        """Silence the default stderr access log; we keep our own log."""

    # ---- dispatch ---------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        started = time.time()
        path = urlsplit(self.path).path
        body = self._read_request_body()
        if body is None:
            return  # malformed framing; connection already marked for close
        if path.startswith(CONTROL_PREFIX):
            self._control(path[len(CONTROL_PREFIX):], body)
            return
        # Arrival order across all connections; the log is kept in this order
        # although entries are completed (and written to the file) out of it.
        self.seq = self.server.owner._next_seq()
        try:
            if self.command not in ("GET", "HEAD"):
                self._simple(405, b"method not allowed\n",
                             {"Allow": "GET, HEAD"})
                self._record(started, 405, len(b"method not allowed\n"),
                             None)
                return
            self._serve_file(started, path)
        finally:
            # Logged by now, or never (the client went away mid-answer).
            self.server.owner._request_done()

    def _read_request_body(self) -> Optional[bytes]:
        """Read (and for GET/HEAD discard) a request body to keep the
        connection's framing in sync; supports Content-Length and chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    self._simple(400, b"bad chunked body\n")
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                             b""):
                        pass  # skip trailers
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline(65537)  # CRLF after the chunk
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._simple(400, b"bad Content-Length\n")
            return None
        return self.rfile.read(n)

    # ---- helpers ----------------------------------------------------------

    def _simple(self, status: int, body: bytes,
                headers: Optional[dict] = None,
                content_type: str = "text/plain; charset=utf-8") -> None:
        """Send a small complete response; the connection stays usable."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _record(self, started: float, status: int, nbytes: int,
                fault: Optional[str]) -> None:
        self.server.owner._append_log({
            "seq": self.seq,
            "time": round(started, 6),
            "conn": self.conn_id,
            "conn_time": round(self.accepted, 6),
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range"),
            # Which auth-related headers came (values of secrets are not
            # logged: only whether Authorization was present, and its scheme).
            "amz": {k.lower(): v for k, v in self.headers.items()
                    if k.lower().startswith("x-amz-")
                    and k.lower() != "x-amz-security-token"},
            "auth": (self.headers.get("Authorization") or "").split(" ")[0]
                    or None,
            "status": status,
            "bytes": nbytes,
            "fault": fault,
            "duration_ms": round((time.time() - started) * 1000.0, 3),
        })

    def _resolve(self, url_path: str) -> Tuple[int, Optional[str]]:
        """Map a URL path to a file below the root: (200, path) or (403|404,
        None).  Decodes percent-escapes once, refuses ".." segments and
        anything whose real path (symlinks resolved) is outside the root."""
        root = self.server.owner.root_real
        decoded = unquote(url_path)
        if "\x00" in decoded:
            return 404, None
        segments = decoded.replace("\\", "/").split("/")
        if ".." in segments:
            return 403, None
        rel = "/".join(s for s in segments if s not in ("", "."))
        real = os.path.realpath(os.path.join(root, rel))
        if os.path.commonpath([real, root]) != root:
            return 403, None
        if not os.path.isfile(real):
            return 404, None
        return 200, real

    # ---- file responses ---------------------------------------------------

    def _serve_file(self, started: float, url_path: str) -> None:
        owner = self.server.owner
        decoded_path = unquote(url_path)
        range_values = self.headers.get_all("Range") or []
        rule = owner._choose_fault(self.command, decoded_path,
                                   bool(range_values))
        fault = rule.kind if rule else None

        # Time to first byte: the global latency plus a "delay" fault.  The
        # wait is on the stop event so stop() never waits for it.
        wait = owner.latency_ms / 1000.0
        if rule is not None and rule.kind == "delay":
            wait += 1.0 if rule.seconds is None else rule.seconds
        if wait > 0:
            owner._stop_event.wait(wait)

        if rule is not None and rule.kind == "redirect":
            # 302 to the same path under another base URL (another host).
            body = b"moved\n"
            self._simple(302, body, {"Location": (rule.location or "")
                                     + self.path})
            self._record(started, 302, len(body), fault)
            return

        if rule is not None and rule.status is not None:
            body = f"injected fault {rule.status}\n".encode()
            headers = {}
            retry_after = rule.retry_after_header()
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            self._simple(rule.status, body, headers)
            sent = 0 if self.command == "HEAD" else len(body)
            self._record(started, rule.status, sent, fault)
            return

        status, real = self._resolve(url_path)
        f = None
        if real is not None:
            try:
                f = open(real, "rb")
            except OSError:  # unreadable, or vanished since _resolve
                status = 403 if os.path.exists(real) else 404
        if f is None:
            body = b"forbidden\n" if status == 403 else b"not found\n"
            self._simple(status, body)
            self._record(started, status,
                         0 if self.command == "HEAD" else len(body), fault)
            return

        with f:
            size = os.fstat(f.fileno()).st_size
            ctype = mimetypes.guess_type(real)[0] or "application/octet-stream"
            status, headers, pieces = self._plan(
                size, ctype, range_values,
                ignore_range=(fault == "ignore-range"))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            length = sum(len(p) if isinstance(p, bytes) else p[1]
                         for p in pieces)
            self.send_header("Content-Length", str(length))
            if rule is not None and rule.kind in BODY_FAULTS:
                # The connection is going to be broken anyway; tell
                # well-behaved clients not to reuse it.
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                pieces, length = [], 0

            limit = None
            if rule is not None and rule.kind in BODY_FAULTS:
                limit = length // 2 if rule.nbytes is None else min(
                    rule.nbytes, length)
            sent, broken = self._write_pieces(f, pieces, limit)

        if rule is not None and rule.kind in BODY_FAULTS and not broken:
            self._apply_body_fault(rule)
        self._record(started, status, sent, fault)

    def _plan(self, size: int, ctype: str, range_values: List[str],
              ignore_range: bool) -> Tuple[int, list, List[Piece]]:
        """Decide status, headers and body pieces for a file of `size`."""
        base = [("Content-Type", ctype), ("Accept-Ranges", "bytes")]
        full = (200, base, [(0, size)])
        if self.command != "GET" or ignore_range or not range_values:
            return full
        if len(range_values) != 1:
            return full  # several Range lines: not a valid ranges-specifier
        specs = parse_range_header(range_values[0])
        if specs is None:
            return full  # invalid syntax or unknown unit: ignore (RFC 9110)
        ranges = resolve_ranges(specs, size)
        if not ranges:
            if size == 0 and any(first is None and last
                                 for first, last in specs):
                # "-n" on an empty file is satisfiable but has no valid
                # Content-Range; the RFC lets us ignore Range instead.
                return full
            return (416, [("Content-Range", f"bytes */{size}"),
                          ("Accept-Ranges", "bytes"),
                          ("Content-Type", "text/plain; charset=utf-8")], [])
        if len(ranges) == 1:
            start, end = ranges[0]
            return (206, base + [("Content-Range",
                                  f"bytes {start}-{end}/{size}")],
                    [(start, end - start + 1)])
        boundary = "lazycogs-" + uuid.uuid4().hex
        pieces: List[Piece] = []
        for i, (start, end) in enumerate(ranges):
            # Each delimiter after the first is preceded by the CRLF that
            # ends the previous part's data (RFC 2046 5.1.1).
            lead = "" if i == 0 else "\r\n"
            head = (f"{lead}--{boundary}\r\n"
                    f"Content-Type: {ctype}\r\n"
                    f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n")
            pieces.append(head.encode("ascii"))
            pieces.append((start, end - start + 1))
        pieces.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
        return (206, [("Content-Type",
                       f"multipart/byteranges; boundary={boundary}"),
                      ("Accept-Ranges", "bytes")], pieces)

    def _write_pieces(self, f, pieces: List[Piece],
                      limit: Optional[int]) -> Tuple[int, bool]:
        """Write body pieces, at most `limit` bytes if given.

        Returns (bytes written, whether the client went away).  Bytes are
        counted per completed write, so the log reflects what really left.
        """
        sent = 0
        try:
            for piece in pieces:
                if limit is None and not isinstance(piece, bytes):
                    n, complete = self._send_file_piece(f, piece)
                    sent += n
                    if not complete:
                        self.close_connection = True
                        return sent, True
                    continue
                for chunk in _iter_piece(f, piece):
                    if limit is not None and sent + len(chunk) > limit:
                        chunk = chunk[:limit - sent]
                    if chunk:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                    if limit is not None and sent >= limit:
                        return sent, False
        except OSError:
            self.close_connection = True
            return sent, True
        return sent, False

    def _send_file_piece(self, f, piece: Tuple[int, int]) -> Tuple[int, bool]:
        """Send a range of the file with sendfile(2): (bytes sent, whether all).

        The bytes go from the page cache to the socket without passing
        through Python: a benchmark's client shares this machine's cores
        with the server, and should not pay for the server's copies.
        """
        offset, length = piece
        f.seek(offset)
        try:
            n = self.connection.sendfile(f, offset, length)
        except OSError:
            # The client went away; socket.sendfile leaves the file's
            # position after what it sent.
            return f.tell() - offset, False
        return n, n == length  # fewer: the file shrank while being served

    def _apply_body_fault(self, rule: FaultRule) -> None:
        """Break the connection after the partial body has been written."""
        self.close_connection = True
        if rule.kind == "stall":
            self.server.owner._stop_event.wait(
                10.0 if rule.seconds is None else rule.seconds)
        elif rule.kind == "reset":
            # SO_LINGER with a zero timeout turns close() into an RST.  The
            # rfile holds a reference to the socket, so close it first or
            # close() would only drop a reference.
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.rfile.close()
                self.connection.close()
            except OSError:
                pass
        # truncate (and stall, once over): socketserver closes with a FIN.

    # ---- control endpoint -------------------------------------------------

    def _control(self, name: str, body: bytes) -> None:
        owner = self.server.owner
        method = self.command
        query = parse_qs(urlsplit(self.path).query)
        if name == "ping" and method in ("GET", "HEAD"):
            self._simple(200, b"ok\n")
        elif name == "faults":
            if method in ("GET", "HEAD"):
                self._simple(200, (owner.faults + "\n").encode())
            elif method in ("PUT", "POST", "DELETE"):
                spec = "" if method == "DELETE" else body.decode("utf-8",
                                                                 "replace")
                try:
                    owner.set_faults(spec)
                except ValueError as exc:
                    self._simple(400, f"{exc}\n".encode())
                    return
                self._simple(200, (owner.faults + "\n").encode())
            else:
                self._simple(405, b"method not allowed\n")
        elif name == "latency":
            if method in ("GET", "HEAD"):
                self._simple(200, f"{_num(owner.latency_ms)}\n".encode())
            elif method in ("PUT", "POST"):
                try:
                    owner.set_latency(float(body.decode().strip()))
                except ValueError as exc:
                    self._simple(400, f"bad latency: {exc}\n".encode())
                    return
                self._simple(200, f"{_num(owner.latency_ms)}\n".encode())
            else:
                self._simple(405, b"method not allowed\n")
        elif name == "log":
            if method in ("GET", "HEAD"):
                try:
                    want = int(query.get("min", ["0"])[0])
                    timeout = float(query.get("timeout", ["5"])[0])
                except ValueError:
                    self._simple(400, b"bad min / timeout\n")
                    return
                entries = owner.wait_for_log(want, timeout) if want else \
                    owner.log
                text = "".join(json.dumps(e, sort_keys=True) + "\n"
                               for e in entries)
                self._simple(200, text.encode(),
                             content_type="application/x-ndjson")
            elif method == "DELETE":
                owner.clear_log()
                self._simple(200, b"cleared\n")
            else:
                self._simple(405, b"method not allowed\n")
        else:
            self._simple(404, b"unknown control endpoint\n")


def _iter_piece(f, piece: Piece) -> Iterator[bytes]:
    """Yield the bytes of one body piece in chunks of at most CHUNK."""
    if isinstance(piece, bytes):
        for i in range(0, len(piece), CHUNK):
            yield piece[i:i + CHUNK]
        return
    offset, length = piece
    f.seek(offset)
    while length > 0:
        data = f.read(min(CHUNK, length))
        if not data:
            raise OSError("file shrank while being served")
        length -= len(data)
        yield data


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------


class _ThreadedServer(socketserver.ThreadingMixIn, HTTPServer):
    """A thread per connection, with the connections tracked so stop() can
    close idle keep-alive sockets and join every thread."""

    daemon_threads = True
    block_on_close = False  # we join our own tracked threads in stop()
    request_queue_size = 1024  # listen backlog; >= 200 concurrent connects
    allow_reuse_address = True

    def __init__(self, address, owner: "LoopbackServer"):
        self.owner = owner
        self._conn_ids = itertools.count(1)
        self._conns: dict = {}
        self._conns_lock = threading.Lock()
        # stop_accepting() writes to this pair to wake accept_loop at once
        # (socketserver's serve_forever polls, adding up to a poll interval
        # to every stop, which adds up over a test suite).
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_done = threading.Event()
        super().__init__(address, _Handler)

    def accept_loop(self) -> None:
        """Accept connections until stop_accepting() (replaces
        serve_forever: no polling, immediate wake-up on stop)."""
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self, selectors.EVENT_READ)
                sel.register(self._wake_r, selectors.EVENT_READ)
                while True:
                    for key, _ in sel.select():
                        if key.fileobj is self._wake_r:
                            return
                        self._handle_request_noblock()
        finally:
            self._accept_done.set()

    def stop_accepting(self, timeout: float = 5.0) -> None:
        """End accept_loop and wait for it to finish."""
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._accept_done.wait(timeout)

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS
        # lookup that can take seconds; loopback needs none of that.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        conn_id = next(self._conn_ids)
        thread = threading.Thread(
            target=self._connection_thread,
            args=(request, client_address, conn_id, time.time()),
            name=f"serve-{self.server_address[1]}-conn-{conn_id}", daemon=True)
        with self._conns_lock:
            self._conns[conn_id] = (request, thread)
        thread.start()

    def _connection_thread(self, request, client_address, conn_id,
                           accepted) -> None:
        try:
            _Handler(request, client_address, self, conn_id, accepted)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._conns_lock:
                self._conns.pop(conn_id, None)

    def handle_error(self, request, client_address) -> None:
        # Clients vanishing mid-request is routine in fault tests; only
        # report real bugs.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> List[threading.Thread]:
        """Shut down every open connection socket (wakes threads blocked in
        recv/send) and return the connection threads to join."""
        with self._conns_lock:
            conns = list(self._conns.values())
        for sock, _ in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return [thread for _, thread in conns]


class LoopbackServer:
    """The test server, in-process (behaviour: see the module header).

    Usage::

        with LoopbackServer(root, latency_ms=20, faults="503,first=1") as srv:
            fetch(srv.url + "/cogs/x/red.tif")      # or srv.url_for(relpath)
            srv.set_faults("reset,every=3")         # change rules at runtime
            srv.set_latency(0)
            entries = srv.wait_for_log(2)           # or srv.log
            srv.clear_log()

    port=0 lets the kernel pick a free port (read it from .port / .url after
    start()).  log_path, if given, receives every entry as a JSON line.
    """

    def __init__(self, root, port: int = 0, latency_ms: float = 0,
                 faults: Optional[str] = None, log_path=None,
                 host: str = "127.0.0.1"):
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(self.root)
        self.root_real = os.path.realpath(self.root)
        self.host = host
        self._requested_port = int(port)
        self._lock = threading.Lock()
        self._log_cond = threading.Condition(self._lock)
        self._log: List[dict] = []
        self._seq = 0
        self._ndone = 0  # requests with a seq that are over (logged or not)
        self._rules: List[FaultRule] = []
        self.latency_ms = 0.0
        self.set_latency(latency_ms)
        self.set_faults(faults)
        self.log_path = os.fspath(log_path) if log_path is not None else None
        self._log_file = None
        self._stop_event = threading.Event()
        self._httpd: Optional[_ThreadedServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle --------------------------------------------------------

    def start(self) -> "LoopbackServer":
        """Bind, start the accept loop in a daemon thread, return self."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stop_event.clear()
        httpd = _ThreadedServer((self.host, self._requested_port), self)
        if self.log_path is not None:
            with self._lock:
                self._log_file = open(self.log_path, "w", encoding="utf-8")
        self._httpd = httpd
        self._thread = threading.Thread(
            target=self._httpd.accept_loop,
            name=f"serve-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, break open connections, join all threads, close
        the listening socket and the log file.  Safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.stop_accepting()       # no new connections from here on
        self._stop_event.set()       # wakes latency / delay / stall waits
        threads = httpd.close_connections()
        httpd.server_close()         # releases the port
        self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> "LoopbackServer":
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The bound TCP port (the real one when constructed with port 0)."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. http://127.0.0.1:40123."""
        return f"http://{self.host}:{self.port}"

    def url_for(self, relpath) -> str:
        """URL of a file given by its path relative to the root."""
        rel = os.fspath(relpath).replace(os.sep, "/").lstrip("/")
        return f"{self.url}/{quote(rel)}"

    # ---- faults and latency -----------------------------------------------

    def set_faults(self, spec: Optional[str]) -> None:
        """Replace the fault rules (ValueError if SPEC is bad; "" or None
        removes all).  Counters and random generators restart."""
        rules = parse_faults(spec)
        with self._lock:
            self._rules = rules

    @property
    def faults(self) -> str:
        """The current rules as canonical SPEC text."""
        with self._lock:
            return format_faults(self._rules)

    def set_latency(self, latency_ms: float) -> None:
        """Set the time-to-first-byte delay applied to every file request."""
        latency_ms = float(latency_ms)
        if not latency_ms >= 0 or latency_ms == float("inf"):
            raise ValueError("latency must be a finite number >= 0")
        self.latency_ms = latency_ms

    def _choose_fault(self, method: str, path: str,
                      has_range: bool) -> Optional[FaultRule]:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, has_range) and rule.fires():
                    return rule
        return None

    # ---- request log ------------------------------------------------------

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _request_done(self) -> None:
        with self._lock:
            self._ndone += 1
            self._log_cond.notify_all()

    def _append_log(self, entry: dict) -> None:
        with self._lock:
            # Keep the in-memory log in arrival (seq) order: a response can
            # complete after one that arrived later, e.g. when its thread is
            # descheduled between its last write and this call.
            i = len(self._log)
            while i > 0 and self._log[i - 1]["seq"] > entry["seq"]:
                i -= 1
            self._log.insert(i, entry)
            if self._log_file is not None:
                self._log_file.write(json.dumps(entry, sort_keys=True) + "\n")
                self._log_file.flush()
            self._log_cond.notify_all()

    @property
    def log(self) -> List[dict]:
        """A copy of the in-memory request log of completed requests, in
        arrival order (by "seq")."""
        with self._lock:
            return [dict(e) for e in self._log]

    def clear_log(self) -> None:
        """Forget the in-memory log (the log file keeps everything)."""
        with self._lock:
            self._log.clear()

    def settled_log(self, timeout: float = 5.0) -> List[dict]:
        """Wait until every request that has arrived is over, so in the log
        (or `timeout` passes), and return a copy of the log.  An entry is
        added after its response has been written, so a client can have its
        answer (and a test go on to read or clear the log) before the entry
        is there."""
        deadline = time.monotonic() + timeout
        with self._log_cond:
            while self._ndone < self._seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._log_cond.wait(remaining)
            return [dict(e) for e in self._log]

    def wait_for_log(self, count: int, timeout: float = 5.0) -> List[dict]:
        """Wait until the log holds at least `count` entries (or `timeout`
        passes) and return a copy of it."""
        deadline = time.monotonic() + timeout
        with self._log_cond:
            while len(self._log) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._log_cond.wait(remaining)
            return [dict(e) for e in self._log]


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the server until SIGTERM / SIGINT; return the exit status."""
    parser = argparse.ArgumentParser(
        description="Loopback HTTP/1.1 test server with byte ranges, latency "
                    "and fault injection (see the header of this file for "
                    "the fault SPEC grammar and control endpoint).")
    parser.add_argument("dir", help="directory to serve")
    parser.add_argument("--port", type=int, default=0,
                        help="TCP port; 0 picks a free one (default)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1)")
    parser.add_argument("--latency-ms", type=float, default=0,
                        help="delay before each response starts")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help='fault rules, e.g. "503,first=2;reset,every=5"')
    parser.add_argument("--port-file", default=None, metavar="FILE",
                        help="once listening, write the port number to FILE "
                             "(for harnesses that cannot read stdout)")
    parser.add_argument("--log", default=None, metavar="FILE",
                        help="write the request log as JSON lines to FILE "
                             "(truncated at start)")
    args = parser.parse_args(argv)
    try:
        parse_faults(args.faults)
    except ValueError as exc:
        parser.error(f"--faults: {exc}")
    if not os.path.isdir(args.dir):
        parser.error(f"not a directory: {args.dir}")

    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = LoopbackServer(args.dir, port=args.port, host=args.host,
                            latency_ms=args.latency_ms, faults=args.faults,
                            log_path=args.log)
    try:
        server.start()
    except OSError as exc:
        print(f"serve.py: cannot listen on {args.host}:{args.port}: {exc}",
              file=sys.stderr)
        return 1
    if args.port_file:
        # write-then-rename, so a reader never sees a half-written number
        tmp = f"{args.port_file}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="ascii") as out:
            out.write(f"{server.port}\n")
        os.replace(tmp, args.port_file)
    # Test harnesses parse this line to learn the port; flush immediately.
    # It comes last, so when it appears the port file exists as well.
    print(f"serving {args.dir} at {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A loopback HTTPS server speaking HTTP/2 (ALPN h2, HTTP/1.1 fallback) for
tests: hypercorn running a tiny ASGI app that serves the files of a
directory with single byte ranges, and logs every request.

It runs in a subprocess, killed at stop(): asyncio would otherwise wait up
to 30 s for the TLS close_notify of connections libcurl keeps in its
process-wide pool.

    with H2Server(root, certfile, keyfile, delay=0.02) as srv:
        srv.url            # https://127.0.0.1:PORT
        srv.log()          # [{"path", "http_version", "client_port",
                           #   "status", "range", "in_flight"}]
        srv.max_in_flight()  # most requests being answered at once
        srv.clear_log()
"""
# SPDX-License-Identifier: MIT
from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None, size: int):
    """(first, last) inclusive for a single-range header (RFC 9110 14.1.2),
    None for no/unparsable header (serve it all), "unsatisfiable" for 416."""
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None or (m[1] == "" and m[2] == ""):
        return None  # ignore what we do not understand, as RFC 9110 allows
    if m[1] == "":  # suffix range: the last N bytes
        n = int(m[2])
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    first = int(m[1])
    last = size - 1 if m[2] == "" else min(int(m[2]), size - 1)
    if m[2] != "" and int(m[2]) < first:
        return None  # invalid range: ignored
    if first >= size:
        return "unsatisfiable"
    return first, last


class H2Server:
    """Parent side: starts the server subprocess and reads its log."""

    def __init__(self, root, certfile, keyfile, delay: float = 0.0,
                 log_path=None):
        self.args = [sys.executable, __file__, "--root", str(root),
                     "--cert", str(certfile), "--key", str(keyfile),
                     "--delay", str(delay)]
        self.log_path = Path(log_path or Path(certfile).with_name("h2.log"))
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "H2Server":
        self.log_path.write_text("")
        self.proc = subprocess.Popen(
            self.args + ["--log", str(self.log_path)],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # the port, once listening
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"h2 server did not start: {line!r}")
        self.port = int(line)
        self.url = f"https://127.0.0.1:{self.port}"
        # Wait until hypercorn accepts connections on the socket.
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                return self
            except OSError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError("h2 server does not accept connections")

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self) -> list[dict]:
        return [json.loads(x) for x in self.log_path.read_text().splitlines()]

    def wait_for_log(self, n: int, timeout: float = 5.0) -> list[dict]:
        # A request is logged just before its answer is sent.
        deadline = time.monotonic() + timeout
        while len(log := self.log()) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return log

    def max_in_flight(self) -> int:
        return max((e["in_flight"] for e in self.log()), default=0)

    def clear_log(self):
        self.log_path.write_text("")


class _App:
    """Child side: the ASGI app."""

    def __init__(self, root: Path, delay: float, log_path: Path):
        self.root = root.resolve()
        self.delay = delay  # seconds each answer waits, so requests overlap
        self.log_path = log_path
        self.in_flight = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        self.in_flight += 1  # one event loop thread: no lock needed
        entry_in_flight = self.in_flight
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            status, headers, body, rng = self._answer(scope)
        finally:
            self.in_flight -= 1
        with open(self.log_path, "a") as f:
            f.write(json.dumps({
                "path": scope["path"], "http_version": scope["http_version"],
                "client_port": scope["client"][1], "status": status,
                "range": rng, "in_flight": entry_in_flight}) + "\n")
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status,
                    "headers": headers})
        await send({"type": "http.response.body",
                    "body": body if scope["method"] != "HEAD" else b""})

    def _answer(self, scope):
        hdrs = {k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in scope["headers"]}
        rng = hdrs.get("range")
        path = (self.root / unquote(scope["path"]).lstrip("/")).resolve()
        if (scope["method"] not in ("GET", "HEAD") or
                not path.is_relative_to(self.root) or not path.is_file()):
            return 404, [], b"not found\n", rng
        data = path.read_bytes()
        r = parse_range(rng, len(data))
        base = [(b"accept-ranges", b"bytes")]
        if r is None:
            return 200, base, data, rng
        if r == "unsatisfiable":
            return 416, base + [
                (b"content-range", f"bytes */{len(data)}".encode())], b"", rng
        first, last = r
        return 206, base + [(b"content-range",
                             f"bytes {first}-{last}/{len(data)}".encode())
                            ], data[first:last + 1], rng


def main():
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    ap = argparse.ArgumentParser()
    for name in ("root", "cert", "key", "log"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--delay", type=float, default=0.0)
    args = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns it now
    config.certfile, config.keyfile = args.cert, args.key
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = config.errorlog = None
    print(port, flush=True)
    asyncio.run(serve(_App(Path(args.root), args.delay, Path(args.log)),
                      config))


if __name__ == "__main__":
    main()

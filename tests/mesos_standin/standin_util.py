"""TEST-ONLY STAND-IN, NOT MESOS: shared plumbing of the Mesos 1.11 imitation (logging, durations, addresses,
ZooKeeper, and a small threaded HTTP server that can also stream chunked RecordIO responses).

Why a module of its own: the master and the agent modules both need it, and neither may import
`mesos_standin.py` (that file runs as `__main__`, a second import would load a second copy of everything).
"""
from __future__ import annotations

import json
import os
import queue
import re
import select
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping

STANDIN_VERSION = "1.11.0-standin"
BANNER = "mesos-standin: TEST-ONLY STAND-IN, NOT MESOS"
# The HTTP `Server` header of every answer: nobody reading a capture can mistake it for Mesos.
SERVER_HEADER = f"mesos-standin/{STANDIN_VERSION} (TEST-ONLY STAND-IN, NOT MESOS)"


def log(msg: str) -> None:
    """One line on stderr, which systemd sends to the journal."""
    print(f"{time.strftime('%H:%M:%S')} mesos-standin[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Durations (stout's Duration::parse: a number directly followed by a unit).
# ---------------------------------------------------------------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "mins": 60.0, "hrs": 3600.0, "days": 86400.0,
          "weeks": 604800.0}


def parse_duration(text: str) -> float:
    """`1secs`, `500ms`, `5mins` -> seconds. Raises ValueError worded like stout for anything else.

    Why: Mesos duration flags (--allocation_interval, --offer_timeout, --executor_shutdown_grace_period...)
    are written this way in the role's templates; a value Mesos would refuse must not be silently accepted.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]+)\s*", text)
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"Invalid duration '{text}'")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    """Seconds -> stout's way of printing a Duration (`3secs`, `500ms`), for log lines."""
    if seconds >= 1 and float(seconds).is_integer():
        return f"{int(seconds)}secs"
    if seconds >= 1:
        return f"{seconds:g}secs"
    return f"{seconds * 1000:g}ms"


# ---------------------------------------------------------------------------------------------------------
# Addresses and ZooKeeper URLs.
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZkUrl:
    """A parsed `zk://[user:password@]host:port,.../path`."""

    servers: str
    path: str
    auth: str | None = None


def read_indirect(value: str) -> str:
    """Mesos accepts `file:///path` for --zk/--master: the file holds the real value."""
    if value.startswith("file://"):
        return Path(value[len("file://"):]).read_text().strip()
    return value


def parse_zk_url(url: str) -> ZkUrl:
    """Parse a ZooKeeper URL as Mesos does (the error texts follow zookeeper::URL::parse)."""
    if not url.startswith("zk://"):
        raise ValueError("Expecting 'zk://' at the beginning of the URL")
    rest = url[len("zk://"):]
    auth = None
    if "@" in rest.split("/", 1)[0]:
        auth, rest = rest.split("@", 1)
    if "/" not in rest:
        raise ValueError("Expecting '/' at the end of the server list")
    servers, path = rest.split("/", 1)
    if not servers:
        raise ValueError("Expecting at least one server")
    return ZkUrl(servers, "/" + path.rstrip("/") if path else "/", auth)


def parse_master_address(value: str) -> tuple[str, int]:
    """`host:port` (or `host`, port 5050) -> (host, port)."""
    value = value.strip()
    if value.startswith("master@"):
        value = value[len("master@"):]
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, 5050
    return host, int(port)


def own_address(flags: Mapping[str, str]) -> tuple[str, str]:
    """(hostname, ip) this daemon advertises: --hostname/--advertise_ip/--ip, else the host's name."""
    hostname = flags.get("hostname") or socket.getfqdn()
    ip = flags.get("advertise_ip") or flags.get("ip")
    if not ip or ip == "0.0.0.0":
        try:
            ip = socket.gethostbyname(socket.gethostname())
        except OSError:
            ip = "127.0.0.1"
    return hostname, ip


def ip_to_int(ip: str) -> int:
    """MasterInfo.ip is the IPv4 address as a little-endian integer (network byte order in memory)."""
    parts = [int(p) for p in ip.split(".")]
    return parts[0] | parts[1] << 8 | parts[2] << 16 | parts[3] << 24


def zk_client(url: ZkUrl) -> Any:
    """A started kazoo client (python3-kazoo, imported only here); retries until ZooKeeper answers."""
    from kazoo.client import KazooClient  # pylint: disable=import-outside-toplevel

    auth = [("digest", url.auth)] if url.auth else None
    while True:
        client = KazooClient(hosts=url.servers, timeout=10.0, auth_data=auth)
        try:
            client.start(timeout=15)
            return client
        except Exception as err:  # noqa: BLE001 - keep trying like Mesos does
            log(f"waiting for ZooKeeper {url.servers}: {err}")
            client.close()
            time.sleep(2)


def zk_leader(client: Any, path: str) -> dict[str, Any] | None:
    """MasterInfo of the leading master: the `json.info_` child with the lowest sequence number."""
    try:
        children = [c for c in client.get_children(path) if c.startswith("json.info_")]
    except Exception:  # noqa: BLE001 - no node yet, connection lost: no leader known
        return None
    for child in sorted(children, key=lambda c: c.rsplit("_", 1)[-1]):
        try:
            data, dummy = client.get(f"{path}/{child}")
            return {**json.loads(data), "_znode": child}
        except Exception:  # noqa: BLE001 - the node went away between list and read
            continue
    return None


# ---------------------------------------------------------------------------------------------------------
# HTTP server: JSON/text answers, plus chunked streams for the scheduler API's SUBSCRIBE.
# ---------------------------------------------------------------------------------------------------------

class Stream:
    """A chunked HTTP response fed from a queue: `put(bytes)` writes one chunk, `close()` ends the response.

    Why a queue: events are produced by other threads (allocator, status updates) while the request thread
    owns the socket; the queue keeps per-stream order and never blocks the producer.
    """

    _CLOSE = object()

    def __init__(self, on_close: Callable[[], None] | None = None) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self.on_close = on_close
        self.finished = threading.Event()

    def put(self, data: bytes) -> None:
        """Queue one chunk (ignored once the response is finished)."""
        if not self.finished.is_set():
            self._queue.put(data)

    def close(self) -> None:
        """End the response after the chunks already queued."""
        self._queue.put(Stream._CLOSE)

    def next_item(self, timeout: float) -> bytes | None | object:
        """The next chunk, Stream._CLOSE, or None after `timeout` seconds without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


def peer_closed(sock: socket.socket) -> bool:
    """True when the client closed its side (EOF readable), without consuming request bytes.

    Why: Mesos notices at once when a scheduler drops its subscription connection and marks the framework
    disconnected; writing a heartbeat every 15 s would notice far later.
    """
    try:
        readable, dummy, dummy = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


Route = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], Any]]


def query_params(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """The request's query string as a dict (last value wins)."""
    query = urllib.parse.urlsplit(handler.path).query
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


def serve(bind: str, port: int, routes: dict[tuple[str, str], Route]) -> ThreadingHTTPServer:
    """Start a threaded HTTP/1.1 server for (method, path) routes.

    A route answers (status, headers, payload): payload dict/list -> JSON, bytes -> text/plain, None -> empty,
    Stream -> a chunked response that lasts until the stream or the client closes it. A path that exists
    for another method answers 405 with `Allow`, as libprocess does.
    """

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = SERVER_HEADER
        sys_version = ""

        def _dispatch(self, method: str) -> None:
            path = urllib.parse.urlsplit(self.path).path.rstrip("/") or "/"
            route = routes.get((method, path))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if route is None:
                allowed = sorted(m for m, p in routes if p == path)
                status, headers, payload = (405, {"Allow": ", ".join(allowed)}, b"") if allowed else (404, {}, b"")
            else:
                try:
                    status, headers, payload = route(self, body)
                except Exception as err:  # noqa: BLE001 - a stand-in must answer, not die
                    log(f"{method} {path} failed: {err!r}")
                    status, headers, payload = 500, {}, str(err).encode()
            if isinstance(payload, Stream):
                self._stream(status, headers, payload)
                return
            data = payload if isinstance(payload, bytes) else (b"" if payload is None
                                                               else json.dumps(payload).encode())
            self.send_response(status)
            headers = dict(headers)
            ctype = headers.pop("Content-Type", None) or (
                "application/json" if not isinstance(payload, bytes) and payload is not None else "text/plain")
            self.send_header("Content-Type", ctype)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, status: int, headers: dict[str, str], stream: Stream) -> None:
            self.send_response(status)
            headers = dict(headers)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.flush()
                while True:
                    item = stream.next_item(0.2)
                    if item is Stream._CLOSE:  # pylint: disable=protected-access
                        self.wfile.write(b"0\r\n\r\n")
                        break
                    if isinstance(item, bytes) and item:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(item), item))
                        self.wfile.flush()
                    if peer_closed(self.connection):
                        break
            except OSError:
                pass
            finally:
                stream.finished.set()
                if stream.on_close is not None:
                    stream.on_close()

        def version_string(self) -> str:
            """The `Server` header: says TEST-ONLY STAND-IN, NOT MESOS, and nothing else."""
            return SERVER_HEADER

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("GET")

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("POST")

        def do_DELETE(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("DELETE")

        def log_message(self, fmt: str, *args: Any) -> None:
            """Keep the journal quiet: health checks would flood it."""

    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"http-{port}", daemon=True).start()
    return server


def http_json(method: str, url: str, payload: Any = None, timeout: float = 5.0,
              headers: Mapping[str, str] | None = None) -> tuple[int, Any, str]:
    """(status, decoded JSON/text or None, Location header) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            body = resp.read()
            try:
                return resp.status, json.loads(body) if body else None, ""
            except ValueError:
                return resp.status, body.decode(errors="replace"), ""
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = body.decode(errors="replace")
        return err.code, decoded, err.headers.get("Location", "")

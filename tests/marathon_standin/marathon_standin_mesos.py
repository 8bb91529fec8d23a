"""TEST-ONLY STAND-IN, NOT MARATHON: the Mesos side of the Marathon 1.11 imitation, a v1 scheduler HTTP API
client (apache/mesos docs/scheduler-http-api.md, docs/recordio.md; JSON only).

`SchedulerClient` keeps one SUBSCRIBE connection open, reads the RecordIO event stream on its own thread and
hands every event, in order, to a handler on a second thread (so that a slow handler never stalls the stream).
Calls (ACCEPT, DECLINE, ACKNOWLEDGE, KILL, RECONCILE, REVIVE, TEARDOWN) go on fresh connections with the
`Mesos-Stream-Id` header. When the stream ends, fails, or stays silent for three heartbeat intervals, the
client subscribes again with the same framework ID (its FrameworkInfo carries `failover_timeout`, so the
master keeps the framework and its tasks meanwhile). A master that is not leading answers 307 with
`Location: //host:port/...`; the client follows it.

RecordIO framing is the Mesos stand-in's own (tests/mesos_standin/standin_recordio.py, one home): from a checkout
it is found next door; on a container it is installed beside these files in /usr/lib/marathon-standin.
"""
from __future__ import annotations

import http.client
import json
import queue
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

# From a checkout the RecordIO module sits in the Mesos stand-in's directory; installed, it sits beside this file.
_CHECKOUT_RECORDIO = Path(__file__).resolve().parents[1] / "mesos_standin"
if (_CHECKOUT_RECORDIO / "standin_recordio.py").is_file() and str(_CHECKOUT_RECORDIO) not in sys.path:
    sys.path.append(str(_CHECKOUT_RECORDIO))

from standin_recordio import Decoder as RecordIODecoder  # noqa: E402  pylint: disable=wrong-import-position


def log(message: str) -> None:
    """One line on stderr, prefixed so that a journal or a test log can never mistake it for Marathon."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} marathon-standin: {message}", file=sys.stderr, flush=True)


def parse_masters(value: str) -> list[tuple[str, int]]:
    """`host:port`, `http://host:port` or a comma list of them. Raises ValueError (with the reason) for
    `zk://` URLs and anything else: the stand-in talks to a master directly, it has no ZooKeeper client."""
    if value.startswith("zk://"):
        raise ValueError(f"--master {value}: ZooKeeper master URLs are not served by the TEST-ONLY Marathon "
                         "stand-in; give host:port (or http://host:port) of the Mesos master")
    result = []
    for item in value.split(","):
        item = item.strip()
        for prefix in ("http://", "https://"):
            if item.startswith(prefix):
                item = item[len(prefix):]
        item = item.split("/", 1)[0]
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"--master {value}: expected host:port (or http://host:port)")
        result.append((host.strip("[]"), int(port)))
    return result


class SubscriptionError(Exception):
    """The master refused or ended the subscription."""


class SchedulerClient:
    """A v1 HTTP scheduler: subscription, event dispatch, calls, re-subscription."""

    def __init__(self, masters: list[tuple[str, int]], framework_info: dict[str, Any],
                 on_event: Callable[[dict[str, Any]], None], on_disconnected: Callable[[], None]) -> None:
        self.masters = masters
        self.leader = masters[0]
        self.framework_info = framework_info
        self.framework_id: str | None = None
        self.stream_id: str | None = None
        self.heartbeat_interval = 15.0
        self.on_event = on_event
        self.on_disconnected = on_disconnected
        self.stop_event = threading.Event()
        self.subscribed = threading.Event()
        self.fatal: str | None = None
        self._sock: socket.socket | None = None
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        for target, name in ((self._subscription_loop, "mesos-subscription"), (self._dispatch_loop, "mesos-events")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Close the subscription without TEARDOWN: like Marathon stopping, the framework fails over."""
        self.stop_event.set()
        self._close_stream()
        self._events.put(None)
        for thread in self._threads:
            thread.join(5)

    def _close_stream(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- subscription ------------------------------------------------------------------------------------

    def _subscription_loop(self) -> None:
        delay = 0.5
        while not self.stop_event.is_set():
            try:
                self._subscribe_and_read()
                reason = "the master closed the event stream"
            except (OSError, http.client.HTTPException, ValueError, SubscriptionError) as err:
                reason = f"{type(err).__name__}: {err}"
            was_subscribed = self.subscribed.is_set()
            self.subscribed.clear()
            if self.stop_event.is_set():
                break
            if self.fatal:
                log(f"giving up: {self.fatal}")
                self.on_disconnected()
                break
            if was_subscribed:
                delay = 0.5
                log(f"LOST the subscription to the Mesos master {self.leader[0]}:{self.leader[1]} ({reason}); "
                    f"re-subscribing with framework ID {self.framework_id} (failover_timeout "
                    f"{self.framework_info.get('failover_timeout')}s), tasks are kept")
                self.on_disconnected()
            else:
                log(f"cannot subscribe to the Mesos master {self.leader[0]}:{self.leader[1]} ({reason}); "
                    f"retrying in {delay:.1f}s")
            self.stop_event.wait(delay)
            delay = min(delay * 2, 10.0)
            if not was_subscribed and len(self.masters) > 1:
                self.leader = self.masters[(self.masters.index(self.leader) + 1) % len(self.masters)] \
                    if self.leader in self.masters else self.masters[0]

    def _subscribe_and_read(self) -> None:
        info = dict(self.framework_info)
        body: dict[str, Any] = {"type": "SUBSCRIBE", "subscribe": {"framework_info": info}}
        if self.framework_id:
            info["id"] = {"value": self.framework_id}
            body["framework_id"] = {"value": self.framework_id}
        for dummy in range(4):
            conn = http.client.HTTPConnection(self.leader[0], self.leader[1], timeout=60)
            conn.connect()
            self._sock = conn.sock  # kept: http.client may drop conn.sock once the response owns the stream
            conn.request("POST", "/api/v1/scheduler", json.dumps(body),
                         {"Content-Type": "application/json", "Accept": "application/json"})
            response = conn.getresponse()
            if response.status == 307:
                self.leader = _location(response.getheader("Location") or "", self.leader)
                response.read()
                conn.close()
                continue
            break
        else:
            raise SubscriptionError("too many redirects")
        if response.status != 200:
            text = response.read().decode("utf-8", "replace")
            conn.close()
            raise SubscriptionError(f"SUBSCRIBE answered {response.status}: {text}")
        stream_id = response.getheader("Mesos-Stream-Id")
        decoder = RecordIODecoder()
        try:
            while not self.stop_event.is_set():
                data = response.read1(65536)
                if not data:
                    return
                for record in decoder.feed(data):
                    event = json.loads(record)
                    if event.get("type") == "SUBSCRIBED":
                        subscribed = event["subscribed"]
                        self.framework_id = subscribed["framework_id"]["value"]
                        self.stream_id = stream_id
                        self.heartbeat_interval = float(subscribed.get("heartbeat_interval_seconds") or 15.0)
                        if self._sock is not None:
                            self._sock.settimeout(3 * self.heartbeat_interval + 5)
                        self.subscribed.set()
                    elif event.get("type") == "ERROR":
                        self.fatal = f"the master sent ERROR: {event.get('error', {}).get('message')}"
                    self._events.put(event)
        except socket.timeout as err:
            raise SubscriptionError(f"no event for {3 * self.heartbeat_interval + 5:.0f}s (heartbeats missed)") from err
        finally:
            conn.close()
            self._sock = None

    def _dispatch_loop(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            try:
                self.on_event(event)
            except Exception as err:  # noqa: BLE001 - one bad event must not end the scheduler
                log(f"handling {event.get('type')} failed: {err!r}")

    # -- calls -------------------------------------------------------------------------------------------

    def call(self, kind: str, **payload: Any) -> bool:
        """POST one call; True when the master accepted it (202/200). Failures are logged, never raised: the
        next reconciliation or re-subscription repairs what a lost call leaves behind."""
        if not self.framework_id or not self.stream_id:
            log(f"{kind} not sent: not subscribed")
            return False
        body = json.dumps({"type": kind, "framework_id": {"value": self.framework_id}, **payload})
        try:
            conn = http.client.HTTPConnection(self.leader[0], self.leader[1], timeout=10)
            conn.request("POST", "/api/v1/scheduler", body,
                         {"Content-Type": "application/json", "Mesos-Stream-Id": self.stream_id})
            response = conn.getresponse()
            text = response.read()
            conn.close()
        except (OSError, http.client.HTTPException) as err:
            log(f"{kind} failed: {err!r}")
            return False
        if response.status not in (200, 202):
            log(f"{kind} answered {response.status}: {text.decode('utf-8', 'replace')}")
            return False
        return True


def _location(header: str, current: tuple[str, int]) -> tuple[str, int]:
    """`//host:port/api/v1/scheduler` (Mesos' redirect to the leading master) -> (host, port)."""
    rest = header.split("//", 1)[1] if "//" in header else header
    hostport = rest.split("/", 1)[0]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return current
    return host.strip("[]"), int(port)

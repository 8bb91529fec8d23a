"""TEST-ONLY STAND-IN, NOT MESOS: the master process of the Mesos 1.11 imitation (HTTP, timers, election).

`MasterServer` serves the v1 scheduler API `POST /api/v1/scheduler` (JSON only; SUBSCRIBE answers a chunked
RecordIO event stream), `/master/state`, `/master/frameworks`, `/master/slaves`, `/master/tasks`,
`/master/teardown`, `/master/flags`, `/master/health`, `/version`, and the PRIVATE stand-in agent endpoints
`/master/standin/{register,heartbeat,status}`; it runs the allocator and heartbeat timers and the ZooKeeper
leader election. All decisions are made by standin_core.MasterCore; this module only carries out its effects.
Status codes and messages of /api/v1/scheduler and /master/teardown follow apache/mesos 1.11 src/master/http.cpp.
"""
from __future__ import annotations

import collections
import json
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Iterable

import standin_recordio as recordio
import standin_resources as rs
from standin_core import HEARTBEAT_INTERVAL, Effect, MasterConfig, MasterCore, validate_call
from standin_util import (STANDIN_VERSION, Stream, http_json, ip_to_int, log, own_address, parse_duration,
                          parse_zk_url, query_params, read_indirect, serve, zk_client, zk_leader)


# ---------------------------------------------------------------------------------------------------------
# The HTTP layer.
# ---------------------------------------------------------------------------------------------------------

class AgentSender:
    """Delivers PRIVATE master->agent messages to one agent, in order, from its own thread.

    Why ordered: a KILL must not overtake the LAUNCH of the same task. Undeliverable messages are retried a
    few times and then dropped, as libprocess drops messages to an unreachable agent.
    """

    def __init__(self, agent_id: str, address: Callable[[str], tuple[str, int] | None]) -> None:
        self.agent_id = agent_id
        self.address = address
        self.queue: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        self.cond = threading.Condition()
        self.stopped = False
        threading.Thread(target=self._run, name=f"to-agent-{agent_id}", daemon=True).start()

    def put(self, action: str, payload: dict[str, Any]) -> None:
        """Queue one message."""
        with self.cond:
            self.queue.append((action, payload))
            self.cond.notify()

    def stop(self) -> None:
        """Stop the thread (queued messages are dropped)."""
        with self.cond:
            self.stopped = True
            self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.stopped:
                    self.cond.wait()
                if self.stopped:
                    return
                action, payload = self.queue.popleft()
            for attempt in range(5):
                addr = self.address(self.agent_id)
                if addr is None:
                    break
                try:
                    status = http_json("POST", f"http://{addr[0]}:{addr[1]}/slave(1)/standin/{action}",
                                       payload, timeout=10.0)[0]
                    if status < 500:
                        break
                except OSError as err:
                    log(f"cannot send {action} to agent {self.agent_id} (attempt {attempt + 1}): {err}")
                time.sleep(1.0)


class MasterServer:
    """The stand-in master process: HTTP endpoints, leader election, allocator and heartbeat timers."""

    def __init__(self, flags: dict[str, str]) -> None:
        self.flags = flags
        self.lock = threading.RLock()
        self.streams: dict[str, Stream] = {}
        self.senders: dict[str, AgentSender] = {}
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.leader: dict[str, Any] | None = None
        self.start_time = time.time()
        self.elected_time: float | None = None
        self.allocation_interval = parse_duration(flags.get("allocation_interval", "1secs"))
        self.server = serve(flags.get("ip", "0.0.0.0"), int(flags["port"]), self._routes())
        self.port = self.server.server_address[1]
        self.hostname, self.ip = own_address(flags)
        self.master_id = str(uuid.uuid4())
        self.info = {"id": self.master_id, "ip": ip_to_int(self.ip), "port": self.port,
                     "pid": f"master@{self.ip}:{self.port}", "hostname": self.hostname, "version": STANDIN_VERSION,
                     "address": {"hostname": self.hostname, "ip": self.ip, "port": self.port}}
        ping = parse_duration(flags.get("agent_ping_timeout", "15secs"))
        roles = {r.strip() for r in flags["roles"].split(",") if r.strip()} if flags.get("roles") else None
        self.core = MasterCore(MasterConfig(
            self.master_id, self.info,
            offer_timeout=parse_duration(flags["offer_timeout"]) if flags.get("offer_timeout") else None,
            agent_timeout=ping * int(flags.get("max_agent_ping_timeouts", "5")),
            max_completed_frameworks=int(flags.get("max_completed_frameworks", "50")),
            max_completed_tasks=int(flags.get("max_completed_tasks_per_framework", "1000")),
            min_allocatable=rs.min_allocatable(flags.get("min_allocatable_resources")), roles=roles))
        for target in (self._allocation_loop, self._heartbeat_loop):
            threading.Thread(target=target, name=target.__name__, daemon=True).start()

    # -- plumbing ---------------------------------------------------------------------------------------

    def is_leader(self) -> bool:
        """True when the leader known from ZooKeeper (or standalone mode) is this master."""
        return self.leader is not None and self.leader.get("id") == self.master_id

    def dispatch(self, effects: Iterable[Effect]) -> None:
        """Carry out core effects; called with the lock held so that per-stream order is the core's order."""
        for effect in effects:
            kind = effect[0]
            if kind == "send":
                stream = self.streams.get(effect[1])
                if stream is not None:
                    stream.put(recordio.encode_json(effect[2]))
            elif kind == "close":
                stream = self.streams.get(effect[1])
                if stream is not None:
                    stream.close()
            elif kind == "agent":
                if effect[1] not in self.senders:
                    self.senders[effect[1]] = AgentSender(effect[1], self._agent_address)
                self.senders[effect[1]].put(effect[2], effect[3])
            elif kind == "wake":
                self.wake_event.set()

    def _agent_address(self, agent_id: str) -> tuple[str, int] | None:
        with self.lock:
            agent = self.core.agents.get(agent_id)
            return (agent.ip, agent.port) if agent else None

    def _allocation_loop(self) -> None:
        while not self.stop_event.is_set():
            self.wake_event.wait(self.allocation_interval)
            self.wake_event.clear()
            if self.stop_event.is_set():
                return
            with self.lock:
                if self.is_leader():
                    self.dispatch(self.core.allocate())

    def _heartbeat_loop(self) -> None:
        while not self.stop_event.wait(HEARTBEAT_INTERVAL):
            with self.lock:
                for fw in self.core.frameworks.values():
                    self.dispatch(self.core.send_to(fw, {"type": "HEARTBEAT"}))

    def leader_location(self, path: str) -> tuple[int, dict[str, str], Any] | None:
        """None when leading; else 307 to the leader (Location `//host:port/path`) or 503 without one."""
        if self.is_leader():
            return None
        if self.leader is None:
            return 503, {}, b"No leader elected"
        addr = self.leader["address"]
        return 307, {"Location": f"//{addr['hostname']}:{addr['port']}{path}"}, b""

    def stop(self) -> None:
        """Stop serving (tests); subscription streams are closed, tasks on agents are left alone."""
        self.stop_event.set()
        self.wake_event.set()
        with self.lock:
            for stream in self.streams.values():
                stream.close()
            for sender in self.senders.values():
                sender.stop()
        self.server.shutdown()
        self.server.server_close()

    # -- endpoints --------------------------------------------------------------------------------------

    def _routes(self) -> dict[tuple[str, str], Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], Any]]]:
        def health(_h: Any, _b: bytes) -> tuple:
            return 200, {}, b""

        def version(_h: Any, _b: bytes) -> tuple:
            return 200, {}, {"version": STANDIN_VERSION, "build_date": "stand-in", "build_time": 0,
                             "build_user": "mesos-standin", "git_tag": "standin"}

        def flags(_h: Any, _b: bytes) -> tuple:
            return 200, {}, {"flags": dict(sorted(self.flags.items()))}

        routes = {("GET", "/master/health"): health, ("GET", "/health"): health, ("GET", "/version"): version,
                  ("GET", "/master/flags"): flags, ("GET", "/flags"): flags,
                  ("POST", "/api/v1/scheduler"): self.scheduler_api,
                  ("POST", "/master/standin/register"): self.register,
                  ("POST", "/master/standin/heartbeat"): self.heartbeat,
                  ("POST", "/master/standin/status"): self.status}
        for name, handler in (("state", self.state), ("slaves", self.slaves), ("frameworks", self.frameworks),
                              ("tasks", self.tasks)):
            routes[("GET", f"/master/{name}")] = handler
            routes[("GET", f"/{name}")] = handler
        for path in ("/master/teardown", "/teardown"):
            routes[("POST", path)] = self.teardown
        return routes

    def state(self, handler: BaseHTTPRequestHandler, _body: bytes) -> tuple[int, dict[str, str], Any]:
        """/master/state."""
        redirect = self.leader_location("/master/state")
        if redirect:
            return redirect
        with self.lock:
            agents = [self.core.agent_json(a) for a in self.core.agents.values()]
            body: dict[str, Any] = {
                "version": STANDIN_VERSION, "git_tag": "standin", "build_date": "stand-in", "build_time": 0,
                "build_user": "mesos-standin", "start_time": self.start_time, "elected_time": self.elected_time,
                "id": self.master_id, "pid": self.info["pid"], "hostname": self.hostname,
                "activated_slaves": len(agents), "deactivated_slaves": 0,
                "unreachable_slaves": len(self.core.unreachable_agents),
                "leader": self.leader["pid"] if self.leader else None,
                "leader_info": {k: v for k, v in (self.leader or {}).items() if not k.startswith("_")},
                "log_dir": self.flags.get("log_dir", ""), "flags": dict(sorted(self.flags.items())),
                "slaves": agents, "orphan_tasks": [], **self.core.frameworks_view()}
        if "cluster" in self.flags:
            body["cluster"] = self.flags["cluster"]
        return 200, {}, body

    def slaves(self, _h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        """/master/slaves."""
        redirect = self.leader_location("/master/slaves")
        if redirect:
            return redirect
        with self.lock:
            return 200, {}, {"slaves": [self.core.agent_json(a) for a in self.core.agents.values()],
                             "recovered_slaves": []}

    def frameworks(self, _h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        """/master/frameworks."""
        redirect = self.leader_location("/master/frameworks")
        if redirect:
            return redirect
        with self.lock:
            return 200, {}, self.core.frameworks_view()

    def tasks(self, handler: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        """/master/tasks (`limit`, default 100, and `offset` as in Mesos)."""
        redirect = self.leader_location("/master/tasks")
        if redirect:
            return redirect
        params = query_params(handler)
        with self.lock:
            return 200, {}, self.core.tasks_view(int(params.get("limit", 100)), int(params.get("offset", 0)))

    def teardown(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """`POST /master/teardown` with form body `frameworkId=<id>` (also taken from the query string, and
        as `framework_id`)."""
        redirect = self.leader_location("/master/teardown")
        if redirect:
            return redirect
        form = urllib.parse.parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
        values = {**query_params(handler), **dict(form)}
        framework_id = values.get("frameworkId") or values.get("framework_id")
        if not framework_id:
            return 400, {}, b"Missing 'frameworkId' query parameter in the request body"
        with self.lock:
            status, text, effects = self.core.teardown(framework_id)
            self.dispatch(effects)
        return status, {}, text

    def scheduler_api(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """`POST /api/v1/scheduler`, JSON only: SUBSCRIBE streams events, every other call answers 202."""
        redirect = self.leader_location("/api/v1/scheduler")
        if redirect:
            return redirect
        ctype = handler.headers.get("Content-Type")
        if ctype is None:
            return 400, {}, b"Expecting 'Content-Type' to be present"
        media = ctype.split(";")[0].strip().lower()
        if media != "application/json":
            extra = " (the TEST-ONLY stand-in speaks JSON only)" if media == "application/x-protobuf" else ""
            return 415, {}, ("Expecting 'Content-Type' of application/json or application/x-protobuf" + extra).encode()
        try:
            call = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            return 400, {}, f"Failed to parse body into JSON: {err}".encode()
        problem = validate_call(call)
        if problem is not None:
            return 400, {}, (problem[0] + problem[1]).encode()
        if call["type"] == "UNKNOWN":
            return 501, {}, b""
        if call["type"] == "SUBSCRIBE":
            return self._subscribe(handler, call)
        framework_id = call["framework_id"]["value"]
        stream_id = handler.headers.get("Mesos-Stream-Id")
        with self.lock:
            fw = self.core.frameworks.get(framework_id)
            if fw is None:
                return 400, {}, b"Framework cannot be found"
            if not fw.connected:
                return 403, {}, b"Framework is not subscribed"
            if stream_id is None:
                return 400, {}, b"All non-subscribe calls should include the 'Mesos-Stream-Id' header"
            if stream_id != fw.stream_id:
                return 400, {}, (f"The stream ID '{stream_id}' included in this request didn't match the stream ID "
                                 f"currently associated with framework ID {framework_id}").encode()
            self.dispatch(self.core.call(framework_id, call))
        if call["type"] == "UPDATE_FRAMEWORK":
            return 200, {}, b""
        if call["type"] == "RECONCILE_OPERATIONS":
            return 200, {}, {"type": "RECONCILE_OPERATIONS", "reconcile_operations": {"operation_statuses": []}}
        return 202, {}, b""

    def _subscribe(self, handler: BaseHTTPRequestHandler, call: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        accept = handler.headers.get("Accept", "*/*")
        if not any(a.split(";")[0].strip() in ("application/json", "application/*", "*/*") for a in accept.split(",")):
            return 406, {}, b"Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"
        if handler.headers.get("Mesos-Stream-Id") is not None:
            return 400, {}, b"Subscribe calls should not include the 'Mesos-Stream-Id' header"
        stream_id = str(uuid.uuid4())

        def closed() -> None:
            with self.lock:
                self.streams.pop(stream_id, None)
                self.dispatch(self.core.disconnected(stream_id))

        stream = Stream(on_close=closed)
        sub = call["subscribe"]
        with self.lock:
            self.streams[stream_id] = stream
            self.dispatch(self.core.subscribe(sub["framework_info"], stream_id, sub.get("suppressed_roles") or []))
        return 200, {"Content-Type": "application/json", "Mesos-Stream-Id": stream_id}, stream

    def register(self, _h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """PRIVATE stand-in endpoint: an agent (re-)registers with its resources and running tasks."""
        redirect = self.leader_location("/master/standin/register")
        if redirect:
            return redirect
        with self.lock:
            answer, effects = self.core.register_agent(json.loads(body))
            self.dispatch(effects)
        return 200, {}, answer

    def heartbeat(self, _h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """PRIVATE stand-in endpoint: 404 tells the agent to register again (e.g. after a master restart)."""
        redirect = self.leader_location("/master/standin/heartbeat")
        if redirect:
            return redirect
        with self.lock:
            known = self.core.heartbeat(json.loads(body).get("id", ""))
        return (200, {}, {"master_id": self.master_id}) if known else (404, {}, {"error": "unknown agent"})

    def status(self, _h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """PRIVATE stand-in endpoint: an agent forwards one task status update."""
        redirect = self.leader_location("/master/standin/status")
        if redirect:
            return redirect
        req = json.loads(body)
        with self.lock:
            code, effects = self.core.status_update(req.get("agent_id", ""), req)
            self.dispatch(effects)
        return code, {}, b""

    # -- leadership -------------------------------------------------------------------------------------

    def elect_standalone(self) -> None:
        """Without --zk the master leads alone."""
        self.leader = self.info
        self.elected_time = time.time()
        log("standalone master: elected as the leading master (no --zk)")

    def zookeeper_loop(self) -> None:
        """Publish this master in ZooKeeper and follow who leads (the lowest `json.info_` sequence)."""
        url = parse_zk_url(read_indirect(self.flags["zk"]))
        client = zk_client(url)
        client.ensure_path(url.path)
        znode: str | None = None
        while not self.stop_event.is_set():
            try:
                if znode is None or client.exists(znode) is None:
                    znode = client.create(f"{url.path}/json.info_", json.dumps(self.info).encode(),
                                          ephemeral=True, sequence=True)
                    log(f"published {znode} in ZooKeeper {url.servers}")
                leader = zk_leader(client, url.path)
                was_leader = self.is_leader()
                self.leader = leader
                if self.is_leader() and not was_leader:
                    self.elected_time = time.time()
                    log("elected as the leading master")
                    self.wake_event.set()
                elif leader and not self.is_leader() and was_leader is not False:
                    log(f"the leading master is {leader.get('pid')}")
            except Exception as err:  # noqa: BLE001 - ZooKeeper hiccups: retry
                log(f"ZooKeeper error: {err}")
                znode = None if client.state != "CONNECTED" else znode
            self.stop_event.wait(1)


def start_master(flags: dict[str, str]) -> MasterServer:
    """Start a master (serving at once) and its leader election; returns the running server."""
    if "work_dir" in flags:
        Path(flags["work_dir"]).mkdir(parents=True, exist_ok=True)
    master = MasterServer(flags)
    log(f"TEST-ONLY STAND-IN, NOT MESOS; master {master.master_id} listening on {master.ip}:{master.port} "
        f"as {master.hostname}")
    if "zk" in flags:
        threading.Thread(target=master.zookeeper_loop, name="zookeeper", daemon=True).start()
    else:
        master.elect_standalone()
    return master


def run_master(flags: dict[str, str]) -> int:
    """Serve the master until killed."""
    master = start_master(flags)
    master.stop_event.wait()
    return 0

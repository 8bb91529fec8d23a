"""Loopback integration test of the TEST-ONLY Mesos stand-in (NOT Mesos): a real master and agent in this
process, a tiny scheduler speaking the v1 scheduler HTTP API (JSON, RecordIO), and real command tasks.

Why: the unit tests prove the pieces; this proves they fit: the event stream is well framed, offers become
processes on the agent, status updates travel agent -> master -> scheduler and acknowledgements travel back,
kill/teardown really end processes, and the state endpoints tell the truth. Everything runs on 127.0.0.1
with ephemeral ports and no ZooKeeper, in bounded time.
"""
from __future__ import annotations

import functools
import http.client
import http.server
import json
import queue
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))

import mesos_standin as standin  # noqa: E402  pylint: disable=wrong-import-position
import standin_agent  # noqa: E402  pylint: disable=wrong-import-position
import standin_master  # noqa: E402  pylint: disable=wrong-import-position
import standin_recordio as recordio  # noqa: E402  pylint: disable=wrong-import-position

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE"}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class Scheduler:
    """A minimal v1 HTTP scheduler: one subscription connection read by a thread, calls on new connections."""

    def __init__(self, port: int, **info: Any) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "tester", "name": "it", **info}}}
        if "id" in info:
            body["framework_id"] = info["id"]
        self.conn.request("POST", "/api/v1/scheduler", json.dumps(body), JSON_HEADERS)
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        assert self.response.getheader("Content-Type") == "application/json"
        self.stream_id = self.response.getheader("Mesos-Stream-Id")
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.backlog: list[dict[str, Any]] = []
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.first = self.wait(lambda e: True)
        self.framework_id = (self.first.get("subscribed") or {}).get("framework_id", {}).get("value")

    def _read(self) -> None:
        decoder = recordio.Decoder()
        try:
            while True:
                data = self.response.read1(65536)
                if not data:
                    break
                for record in decoder.feed(data):
                    self.events.put(json.loads(record))
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # the connection was closed under the reader
        self.closed.set()
        self.events.put(None)

    def wait(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first event (received or to come) that matches; others stay in the backlog."""
        for i, event in enumerate(self.backlog):
            if match(event):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no matching event within {timeout}s; backlog: {self.backlog}") from None
            if event is None:
                self.events.put(None)
                raise AssertionError(f"stream closed; backlog: {self.backlog}")
            if match(event):
                return event
            self.backlog.append(event)

    def offer(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next offer."""
        return self.wait(lambda e: e["type"] == "OFFERS", timeout)["offers"]["offers"][0]

    def update(self, task_id: str, state: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """The next UPDATE of a task (in the given state), acknowledged when it carries a uuid."""
        event = self.wait(lambda e: e["type"] == "UPDATE" and e["update"]["status"]["task_id"]["value"] == task_id
                          and state in (None, e["update"]["status"]["state"]), timeout)
        status = event["update"]["status"]
        if "uuid" in status:
            assert self.call("ACKNOWLEDGE", acknowledge={"agent_id": status["agent_id"], "task_id": status["task_id"],
                                                         "uuid": status["uuid"]})[0] == 202
        return status

    def final(self, task_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Acknowledge every update of a task until its terminal one, and return that one."""
        while True:
            status = self.update(task_id, timeout=timeout)
            if status["state"] in TERMINAL:
                return status

    def call(self, kind: str, headers: dict[str, str] | None = None, **payload: Any) -> tuple[int, bytes]:
        """POST a non-SUBSCRIBE call with this subscription's stream ID."""
        body = {"type": kind, "framework_id": {"value": self.framework_id}, **payload}
        return post(self.port, "/api/v1/scheduler", json.dumps(body).encode(),
                    {"Content-Type": "application/json", "Mesos-Stream-Id": self.stream_id, **(headers or {})})

    def launch(self, offer: dict[str, Any], *tasks: dict[str, Any], refuse_seconds: float = 0.0) -> None:
        """ACCEPT an offer with one LAUNCH."""
        status, body = self.call("ACCEPT", accept={
            "offer_ids": [offer["id"]], "filters": {"refuse_seconds": refuse_seconds},
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}]})
        assert (status, body) == (202, b"")

    def disconnect(self) -> None:
        """Close the subscription connection from the scheduler's side."""
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.closed.wait(5)
        self.conn.close()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body, headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
        return json.load(resp)


def task(task_id: str, offer: dict[str, Any], command: str, resources: str = "cpus:0.25;mem:64",
         **command_extra: Any) -> dict[str, Any]:
    import standin_resources as rs  # pylint: disable=import-outside-toplevel
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
            "resources": rs.list_to_json(rs.parse_text(resources), "*"),
            "command": {"value": command, **command_extra}}


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie. Reading /proc races with the exit (ProcessLookupError
    between an exists() check and the read), so a failed read means it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().split()[2] != b"Z"
    except OSError:
        return False


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class Cluster:
    """A master, an agent and a file server, all on loopback."""

    def __init__(self, tmp: Path) -> None:
        mflags = standin.load_flags(standin.master_spec(), [
            "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", "--registry=in_memory", f"--work_dir={tmp}/master",
            "--allocation_interval=200ms"], {})
        self.master = standin_master.start_master(mflags)
        aflags = standin.load_flags(standin.agent_spec(), [
            "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", f"--work_dir={tmp}/agent",
            f"--master=127.0.0.1:{self.master.port}", "--switch_user=false",
            "--resources=cpus:2;mem:1024;ports:[31000-31010]", "--attributes=rack:r1;level:2"], {})
        self.agent = standin_agent.start_agent(aflags)
        self.files = tmp / "files"
        self.files.mkdir()
        (self.files / "data.txt").write_text("fetched over http\n")
        handler = functools.partial(Quiet, directory=str(self.files))
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.file_url = f"http://127.0.0.1:{self.http.server_address[1]}"
        eventually(lambda: get_json(self.master.port, "/master/slaves")["slaves"])

    def sandbox(self, framework_id: str, task_id: str) -> Path:
        state = get_json(self.agent.port, "/slave(1)/state")
        for fw in state["frameworks"] + state["completed_frameworks"]:
            if fw["id"] == framework_id:
                for executor in fw["executors"] + fw["completed_executors"]:
                    if executor["id"] == task_id:
                        return Path(executor["directory"])
        raise AssertionError(f"no sandbox for {task_id}")

    def stop(self) -> None:
        self.http.shutdown()
        self.agent.stop()
        self.master.stop()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt: str, *args: Any) -> None:
        """No access log in the test output."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("standin"))
    yield running
    running.stop()


@pytest.fixture()
def scheduler(cluster: Cluster) -> Iterator[Scheduler]:
    sched = Scheduler(cluster.master.port, failover_timeout=60)
    yield sched
    if not sched.closed.is_set():
        sched.call("TEARDOWN")
        sched.closed.wait(5)
    eventually(lambda: not get_json(cluster.master.port, "/master/frameworks")["frameworks"])


# ---------------------------------------------------------------------------------------------------------
# The tests.
# ---------------------------------------------------------------------------------------------------------

def test_launch_fetch_environment_updates_and_resources_back(cluster: Cluster, scheduler: Scheduler) -> None:
    assert scheduler.first["type"] == "SUBSCRIBED"
    assert scheduler.first["subscribed"]["heartbeat_interval_seconds"] == 15.0
    assert scheduler.wait(lambda e: True)["type"] == "HEARTBEAT"
    offer = scheduler.offer()
    assert {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31010}]}, "role": "*",
            "allocation_info": {"role": "*"}} in offer["resources"]
    assert {"name": "level", "type": "SCALAR", "scalar": {"value": 2.0}} in offer["attributes"]
    hello = task("hello", offer, "echo hello; echo $MESOS_TASK_ID; printenv FOO; cat payload/data.txt",
                 "cpus:0.5;mem:128;ports:[31000-31000]",
                 environment={"variables": [{"name": "FOO", "value": "bar"}]},
                 uris=[{"value": f"{cluster.file_url}/data.txt", "output_file": "payload/data.txt"}])
    scheduler.launch(offer, hello)
    starting = scheduler.update("hello")
    assert (starting["state"], starting["source"]) == ("TASK_STARTING", "SOURCE_EXECUTOR")
    running = scheduler.update("hello")
    assert running["state"] == "TASK_RUNNING" and running["container_status"]["executor_pid"] > 0
    finished = scheduler.update("hello")
    assert (finished["state"], finished["message"]) == ("TASK_FINISHED", "Command exited with status 0")
    assert finished["agent_id"] == offer["agent_id"] and finished["executor_id"] == {"value": "hello"}
    sandbox = cluster.sandbox(scheduler.framework_id, "hello")
    assert (sandbox / "stdout").read_text() == "hello\nhello\nbar\nfetched over http\n"
    assert f"Fetching URI '{cluster.file_url}/data.txt'" in (sandbox / "stderr").read_text()
    assert (sandbox.parent / "latest").resolve() == sandbox.resolve()
    again = scheduler.offer()
    back = {r["name"]: r for r in again["resources"]}
    assert back["cpus"]["scalar"]["value"] == 2.0 and back["mem"]["scalar"]["value"] == 1024.0
    assert back["ports"]["ranges"]["range"] == [{"begin": 31000, "end": 31010}]
    state = get_json(cluster.master.port, "/master/state")
    fw = next(f for f in state["frameworks"] if f["id"] == scheduler.framework_id)
    assert (fw["active"], fw["connected"], fw["name"]) == (True, True, "it")
    assert [t["state"] for t in fw["completed_tasks"]] == ["TASK_FINISHED"]
    assert fw["offered_resources"]["cpus"] == 2.0
    assert state["slaves"][0]["used_resources"]["cpus"] == 0.0
    assert any(t["id"] == "hello" for t in get_json(cluster.master.port, "/master/tasks")["tasks"])


def test_kill_sends_sigterm_then_sigkill_and_state_shows_the_running_task(cluster: Cluster,
                                                                          scheduler: Scheduler) -> None:
    offer = scheduler.offer()
    scheduler.launch(offer, task("polite", offer, "sleep 60", "cpus:0.5;mem:64"),
                     task("stubborn", offer, "trap '' TERM; sleep 60", "cpus:0.5;mem:64"))
    for name in ("polite", "stubborn"):
        scheduler.update(name, "TASK_STARTING")
        scheduler.update(name, "TASK_RUNNING")
    state = get_json(cluster.master.port, "/master/state")
    fw = next(f for f in state["frameworks"] if f["id"] == scheduler.framework_id)
    assert sorted((t["id"], t["state"]) for t in fw["tasks"]) == [
        ("polite", "TASK_RUNNING"), ("stubborn", "TASK_RUNNING")]
    assert fw["used_resources"]["cpus"] == 1.0 and state["slaves"][0]["used_resources"]["cpus"] == 1.0
    agent_state = get_json(cluster.agent.port, "/state")
    executors = next(f for f in agent_state["frameworks"] if f["id"] == scheduler.framework_id)["executors"]
    assert sorted(e["tasks"][0]["state"] for e in executors) == ["TASK_RUNNING", "TASK_RUNNING"]
    start = time.monotonic()
    assert scheduler.call("KILL", kill={"task_id": {"value": "polite"}})[0] == 202
    polite = scheduler.update("polite", timeout=5)
    assert (polite["state"], polite["message"]) == ("TASK_KILLED", "Command terminated with signal Terminated")
    assert time.monotonic() - start < 2.5, "SIGTERM ends `sleep` well within the default 3 s grace period"
    start = time.monotonic()
    assert scheduler.call("KILL", kill={"task_id": {"value": "stubborn"},
                                        "kill_policy": {"grace_period": {"nanoseconds": 500_000_000}}})[0] == 202
    stubborn = scheduler.update("stubborn", timeout=5)
    elapsed = time.monotonic() - start
    assert (stubborn["state"], stubborn["message"]) == ("TASK_KILLED", "Command terminated with signal Killed")
    assert 0.4 < elapsed < 2.5
    stderr = (cluster.sandbox(scheduler.framework_id, "stubborn") / "stderr").read_text()
    assert "did not terminate after 500ms, sending SIGKILL" in stderr


def test_failed_command_and_failed_fetch(cluster: Cluster, scheduler: Scheduler) -> None:
    offer = scheduler.offer()
    scheduler.launch(offer, task("three", offer, "exit 3"),
                     task("nofile", offer, "true", uris=[{"value": f"{cluster.file_url}/missing.jar"}]))
    failed = scheduler.final("three")
    assert failed["state"] == "TASK_FAILED"
    assert (failed["message"], failed["source"]) == ("Command exited with status 3", "SOURCE_EXECUTOR")
    nofile = scheduler.update("nofile")
    assert (nofile["state"], nofile["reason"], nofile["source"]) == (
        "TASK_FAILED", "REASON_CONTAINER_LAUNCH_FAILED", "SOURCE_AGENT")
    assert f"Failed to fetch '{cluster.file_url}/missing.jar'" in nofile["message"]
    assert "received HTTP return code 404" in nofile["message"]


def test_reconcile_explicit_and_implicit(cluster: Cluster, scheduler: Scheduler) -> None:
    offer = scheduler.offer()
    scheduler.launch(offer, task("r1", offer, "sleep 30"))
    scheduler.update("r1", "TASK_STARTING")
    scheduler.update("r1", "TASK_RUNNING")
    assert scheduler.call("RECONCILE", reconcile={"tasks": [
        {"task_id": {"value": "r1"}, "agent_id": offer["agent_id"]}, {"task_id": {"value": "ghost"}}]})[0] == 202
    known = scheduler.update("r1")
    ghost = scheduler.update("ghost")
    assert (known["state"], known["reason"], "uuid" in known) == ("TASK_RUNNING", "REASON_RECONCILIATION", False)
    assert (ghost["state"], ghost["reason"]) == ("TASK_LOST", "REASON_RECONCILIATION")
    assert scheduler.call("RECONCILE", reconcile={"tasks": []})[0] == 202
    assert scheduler.update("r1")["message"] == "Reconciliation: Latest task state"


def test_teardown_call_kills_tasks_and_completes_the_framework(cluster: Cluster) -> None:
    sched = Scheduler(cluster.master.port, failover_timeout=60)
    offer = sched.offer()
    sched.launch(offer, task("doomed", offer, "sleep 60"))
    sched.update("doomed", "TASK_STARTING")
    sched.update("doomed", "TASK_RUNNING")
    assert sched.call("TEARDOWN") == (202, b"")
    assert sched.closed.wait(5), "the master closes the subscription stream"
    view = get_json(cluster.master.port, "/master/frameworks")
    done = next(f for f in view["completed_frameworks"] if f["id"] == sched.framework_id)
    assert (done["active"], done["connected"]) == (False, False)
    assert [(t["id"], t["state"]) for t in done["completed_tasks"]] == [("doomed", "TASK_KILLED")]
    assert all(f["id"] != sched.framework_id for f in view["frameworks"])

    def agent_forgot() -> bool:
        state = get_json(cluster.agent.port, "/state")
        gone = [f for f in state["completed_frameworks"] if f["id"] == sched.framework_id]
        return bool(gone) and gone[0]["completed_executors"][0]["completed_tasks"][0]["state"] == "TASK_KILLED"
    eventually(agent_forgot, timeout=8)
    assert get_json(cluster.master.port, "/master/slaves")["slaves"][0]["used_resources"]["cpus"] == 0.0


def test_operator_teardown_and_framework_has_been_removed(cluster: Cluster) -> None:
    sched = Scheduler(cluster.master.port, failover_timeout=60)
    assert post(cluster.master.port, "/master/teardown", b"", {})[0] == 400
    assert post(cluster.master.port, "/master/teardown", b"frameworkId=nope", {}) == (
        400, b"No framework found with specified ID")
    status = post(cluster.master.port, "/master/teardown", f"frameworkId={sched.framework_id}".encode(),
                  {"Content-Type": "application/x-www-form-urlencoded"})[0]
    assert status == 200
    assert sched.closed.wait(5)
    again = Scheduler(cluster.master.port, id={"value": sched.framework_id}, failover_timeout=60)
    assert again.first == {"type": "ERROR", "error": {"message": "Framework has been removed"}}
    assert again.closed.wait(5)


def test_disconnection_keeps_the_framework_within_failover_timeout(cluster: Cluster) -> None:
    sched = Scheduler(cluster.master.port, failover_timeout=60)
    sched.disconnect()
    fw = eventually(lambda: [f for f in get_json(cluster.master.port, "/master/frameworks")["frameworks"]
                             if f["id"] == sched.framework_id and not f["connected"]])[0]
    assert fw["active"] is False
    back = Scheduler(cluster.master.port, id={"value": sched.framework_id}, failover_timeout=60)
    assert back.first["type"] == "SUBSCRIBED" and back.framework_id == sched.framework_id
    assert back.call("TEARDOWN")[0] == 202
    assert back.closed.wait(5)


def test_http_errors_are_those_of_mesos(cluster: Cluster, scheduler: Scheduler) -> None:
    port = cluster.master.port
    status, body = post(port, "/api/v1/scheduler", b"{}", {"Content-Type": "text/plain"})
    assert status == 415 and body.startswith(b"Expecting 'Content-Type' of application/json")
    status, body = post(port, "/api/v1/scheduler", b"{not json", {"Content-Type": "application/json"})
    assert status == 400 and body.startswith(b"Failed to parse body into JSON")
    assert scheduler.call("REVIVE", headers={"Mesos-Stream-Id": "wrong"}) == (
        400, f"The stream ID 'wrong' included in this request didn't match the stream ID currently associated "
             f"with framework ID {scheduler.framework_id}".encode())
    body = json.dumps({"type": "REVIVE", "framework_id": {"value": scheduler.framework_id}}).encode()
    assert post(port, "/api/v1/scheduler", body, {"Content-Type": "application/json"}) == (
        400, b"All non-subscribe calls should include the 'Mesos-Stream-Id' header")
    body = json.dumps({"type": "REVIVE", "framework_id": {"value": "unknown"}}).encode()
    assert post(port, "/api/v1/scheduler", body, {"Content-Type": "application/json"}) == (
        400, b"Framework cannot be found")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/scheduler", timeout=5)
    assert err.value.code == 405
    assert "TEST-ONLY STAND-IN, NOT MESOS" in err.value.headers["Server"]
    assert scheduler.call("REVIVE") == (202, b"")


def test_master_restart_agent_reregisters_and_reports_its_running_task(tmp_path: Path) -> None:
    """A restarted master (in-memory registry) learns the running task again from the agent, and the
    scheduler re-subscribing with its framework ID finds it by reconciliation."""
    mflags = standin.load_flags(standin.master_spec(), [
        "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", "--registry=in_memory", "--allocation_interval=200ms"], {})
    master = standin_master.start_master(mflags)
    port = master.port
    aflags = standin.load_flags(standin.agent_spec(), [
        "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", f"--work_dir={tmp_path}/agent",
        f"--master=127.0.0.1:{port}", "--switch_user=false", "--resources=cpus:1;mem:256;disk:10"], {})
    agent = standin_agent.start_agent(aflags)
    try:
        sched = Scheduler(port, failover_timeout=60)
        offer = sched.offer()
        sched.launch(offer, task("survivor", offer, "sleep 30"))
        sched.update("survivor", "TASK_STARTING")
        pid = sched.update("survivor", "TASK_RUNNING")["container_status"]["executor_pid"]
        master.stop()
        assert sched.closed.wait(5), "the scheduler sees its stream end with the master"
        master = standin_master.start_master({**mflags, "port": str(port)})
        eventually(lambda: get_json(port, "/master/slaves")["slaves"])
        fw = get_json(port, "/master/frameworks")["frameworks"][0]
        assert (fw["id"], fw["recovered"], fw["connected"]) == (sched.framework_id, True, False)
        assert [(t["id"], t["state"]) for t in fw["tasks"]] == [("survivor", "TASK_RUNNING")]
        back = Scheduler(port, id={"value": sched.framework_id}, failover_timeout=60)
        assert back.first["type"] == "SUBSCRIBED" and back.framework_id == sched.framework_id
        assert back.call("RECONCILE", reconcile={"tasks": [{"task_id": {"value": "survivor"}}]})[0] == 202
        assert back.update("survivor")["state"] == "TASK_RUNNING"
        assert running(pid), "the task kept running through the master restart"
        assert back.call("TEARDOWN")[0] == 202
        eventually(lambda: not running(pid))
    finally:
        agent.stop()
        master.stop()


class FakeZooKeeper:
    """Just enough of a kazoo client for the masters' election: sequential znodes in one dict."""

    def __init__(self) -> None:
        self.nodes: dict[str, bytes] = {}
        self.seq = 0
        self.state = "CONNECTED"

    def ensure_path(self, _path: str) -> None:
        pass

    def exists(self, path: str) -> dict[str, Any] | None:
        return {} if path in self.nodes else None

    def create(self, path: str, data: bytes, ephemeral: bool, sequence: bool) -> str:
        assert ephemeral and sequence
        name = f"{path}{self.seq:010d}"
        self.seq += 1
        self.nodes[name] = data
        return name

    def get_children(self, path: str) -> list[str]:
        return [n.rsplit("/", 1)[1] for n in list(self.nodes) if n.startswith(path + "/")]

    def get(self, path: str) -> tuple[bytes, None]:
        return self.nodes[path], None


def test_non_leading_master_redirects_the_scheduler_api_and_leadership_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    zk = FakeZooKeeper()
    monkeypatch.setattr(standin_master, "zk_client", lambda _url: zk)
    flags = standin.load_flags(standin.master_spec(), [
        "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", "--registry=in_memory", "--zk=zk://fake:2181/mesos"], {})
    first = standin_master.start_master(flags)
    eventually(first.is_leader)
    second = standin_master.start_master(flags)
    try:
        eventually(lambda: second.leader is not None)
        body = json.dumps({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "n"}}}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", second.port, timeout=5)
        conn.request("POST", "/api/v1/scheduler", body, JSON_HEADERS)
        resp = conn.getresponse()
        assert (resp.status, resp.getheader("Location")) == (307, f"//127.0.0.1:{first.port}/api/v1/scheduler")
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", second.port, timeout=5)
        conn.request("GET", "/master/state")
        resp = conn.getresponse()
        assert (resp.status, resp.getheader("Location")) == (307, f"//127.0.0.1:{first.port}/master/state")
        conn.close()
        assert Scheduler(first.port).first["type"] == "SUBSCRIBED"
        first.stop()
        del zk.nodes[min(zk.nodes)]  # the leader's ephemeral znode goes with its session
        eventually(second.is_leader, timeout=5)
        assert Scheduler(second.port).first["type"] == "SUBSCRIBED"
    finally:
        second.stop()
        first.stop_event.set()

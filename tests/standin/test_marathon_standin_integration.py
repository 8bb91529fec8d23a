"""Loopback integration test of the TEST-ONLY Marathon stand-in (NOT Marathon) on the TEST-ONLY Mesos stand-in
(NOT Mesos): a real Mesos stand-in master and agent in this process (started like test_mesos_standin_integration),
the Marathon stand-in in this process too, driven only through its /v2 REST API, with real command tasks.

Why: the unit tests prove the pieces; this proves that the REST answers tell the truth about real processes:
a deployment ends only when the task runs and passes its health checks, the port it reports really serves,
a killed process is replaced, a failing health check gets its task killed and replaced, an update restarts
the task, DELETE really ends the processes, and a master restart costs neither the framework nor its tasks.
Everything runs on 127.0.0.1 with ephemeral ports, every wait is bounded.
"""
from __future__ import annotations

import base64
import json
import os
import random
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "marathon_standin"))

import marathon_standin  # noqa: E402  pylint: disable=wrong-import-position
import mesos_standin as mesos  # noqa: E402  pylint: disable=wrong-import-position
import standin_agent  # noqa: E402  pylint: disable=wrong-import-position
import standin_master  # noqa: E402  pylint: disable=wrong-import-position
from test_mesos_standin_integration import eventually, get_json  # noqa: E402  pylint: disable=wrong-import-position

HTTP_SERVER = "env > env.txt; exec python3 -m http.server $PORT0 --bind 127.0.0.1"
QUICK_HTTP_CHECK = {"protocol": "HTTP", "portIndex": 0, "gracePeriodSeconds": 5, "intervalSeconds": 1,
                    "timeoutSeconds": 2}


def call(port: int, method: str, path: str, body: Any = None,
         auth: tuple[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One REST request; (status, headers, JSON body or text)."""
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, head, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, head, raw = err.code, dict(err.headers), err.read()
    try:
        return status, head, json.loads(raw)
    except ValueError:
        return status, head, raw.decode()


def start_standin(master_port: int, *extra: str) -> marathon_standin.Standin:
    flags = marathon_standin.load_flags(["--master", f"127.0.0.1:{master_port}", "--http_port=0",
                                         "--http_address=127.0.0.1", "--hostname=127.0.0.1", *extra], {})
    standin = marathon_standin.start(flags)
    eventually(standin.marathon.client.subscribed.is_set)
    return standin


def stop_standin(standin: marathon_standin.Standin, cluster: "Cluster") -> None:
    """Stop it and tear its framework down through the master's operator endpoint, then wait until the agent
    has ended the framework's tasks (so that nothing outlives the test)."""
    framework_id = standin.marathon.framework_id
    standin.stop()
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.master.port}/master/teardown",
                                     data=f"frameworkId={framework_id}".encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass

    def agent_done() -> bool:
        state = get_json(cluster.agent.port, "/state")
        return not [e for f in state["frameworks"] if f["id"] == framework_id for e in f["executors"] if e["tasks"]]
    eventually(agent_done, timeout=15)


def free_port_range(size: int = 20) -> str:
    """`[a-b]` of ports free on 127.0.0.1, below the kernel's ephemeral range, chosen at random: two runs of
    these tests at once must not offer the same ports (their tasks would serve each other's health checks)."""
    for dummy in range(100):
        base = random.randrange(20000, 32000 - size)
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return f"[{base}-{base + size - 1}]"
    raise AssertionError("no free port range")


class Cluster:
    """A Mesos stand-in master and agent on loopback, started as test_mesos_standin_integration.Cluster does."""

    def __init__(self, tmp: Path) -> None:
        self.mflags = mesos.load_flags(mesos.master_spec(), [
            "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", "--registry=in_memory", f"--work_dir={tmp}/master",
            "--allocation_interval=200ms"], {})
        self.master = standin_master.start_master(self.mflags)
        self.ports = free_port_range()
        self.agent = standin_agent.start_agent(mesos.load_flags(mesos.agent_spec(), [
            "--ip=127.0.0.1", "--hostname=127.0.0.1", "--port=0", f"--work_dir={tmp}/agent",
            f"--master=127.0.0.1:{self.master.port}", "--switch_user=false",
            f"--resources=cpus:2;mem:1024;ports:{self.ports}"], {}))
        eventually(lambda: get_json(self.master.port, "/master/slaves")["slaves"])

    def port_in_range(self, port: int) -> bool:
        low, high = (int(p) for p in self.ports.strip("[]").split("-"))
        return low <= port <= high

    def stop(self) -> None:
        self.agent.stop()
        self.master.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("marathon-standin"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def marathon(cluster: Cluster) -> Iterator[marathon_standin.Standin]:
    standin = start_standin(cluster.master.port)
    yield standin
    stop_standin(standin, cluster)


def app_of(port: int, app_id: str) -> dict[str, Any]:
    status, dummy, body = call(port, "GET", f"/v2/apps{app_id}")
    assert status == 200, body
    return body["app"]


def deployed(port: int, app_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """Wait until no deployment touches the app; return the app."""
    eventually(lambda: not [d for d in call(port, "GET", "/v2/deployments")[2] if app_id in d["affectedApps"]],
               timeout=timeout)
    return app_of(port, app_id)


def fetch_text(port: int, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        assert resp.status == 200
        return resp.read().decode()


def task_env(task: dict[str, Any]) -> dict[str, str]:
    """The task's environment, as `env > env.txt` in its sandbox (served by its own http.server) recorded it."""
    return dict(line.split("=", 1) for line in fetch_text(task["ports"][0], "/env.txt").splitlines() if "=" in line)


def task_pids(task_id: str) -> list[int]:
    """Processes whose environment says MESOS_TASK_ID=<task_id> (the agent sets it for every task)."""
    marker = f"MESOS_TASK_ID={task_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def delete(port: int, app_id: str) -> None:
    status, dummy, body = call(port, "DELETE", f"/v2/apps{app_id}?force=true")
    assert status in (200, 404), body
    eventually(lambda: not [d for d in call(port, "GET", "/v2/deployments")[2] if app_id in d["affectedApps"]])


# ---------------------------------------------------------------------------------------------------------
# The tests.
# ---------------------------------------------------------------------------------------------------------

def test_app_deploys_passes_health_checks_and_really_serves(cluster: Cluster,
                                                            marathon: marathon_standin.Standin) -> None:
    port = marathon.port
    status, headers, body = call(port, "PUT", "/v2/apps/web", {
        "cmd": HTTP_SERVER, "cpus": 0.1, "mem": 32, "env": {"FOO": "bar"},
        "healthChecks": [QUICK_HTTP_CHECK, {"protocol": "TCP", "portIndex": 0, "gracePeriodSeconds": 5,
                                            "intervalSeconds": 1, "timeoutSeconds": 2}]})
    try:
        assert status == 201, body
        assert headers["Server"] == "marathon-standin/1.11.0-standin (TEST-ONLY STAND-IN, NOT MARATHON)"
        assert set(body) == {"deploymentId", "version"} and body["version"].endswith("Z")
        deployments = call(port, "GET", "/v2/deployments")[2]
        dep = next(d for d in deployments if d["id"] == body["deploymentId"])
        assert dep["affectedApps"] == ["/web"] and dep["version"] == body["version"]
        assert [s["actions"][0]["action"] for s in dep["steps"]] == ["StartApplication", "ScaleApplication"]
        assert dep["currentActions"][0]["action"] == "ScaleApplication" and dep["totalSteps"] == 2
        assert app_of(port, "/web")["deployments"] == [{"id": body["deploymentId"]}]
        app = deployed(port, "/web")
        assert (app["tasksRunning"], app["tasksHealthy"], app["tasksUnhealthy"], app["tasksStaged"]) == (1, 1, 0, 0)
        assert app["version"] == body["version"] and app["deployments"] == []
        assert app["versionInfo"] == {"lastScalingAt": body["version"], "lastConfigChangeAt": body["version"]}
        assert (app["instances"], app["cpus"], app["mem"], app["disk"]) == (1, 0.1, 32.0, 0.0)
        assert app["portDefinitions"] == [{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}]
        assert app["healthChecks"][0] == {**QUICK_HTTP_CHECK, "maxConsecutiveFailures": 3, "delaySeconds": 15,
                                          "path": "/", "ipProtocol": "IPv4"}
        task = app["tasks"][0]
        assert task["id"].startswith("web.") and task["appId"] == "/web" and task["state"] == "TASK_RUNNING"
        assert task["host"] == "127.0.0.1" and cluster.port_in_range(task["ports"][0])
        assert task["slaveId"] == get_json(cluster.master.port, "/master/slaves")["slaves"][0]["id"]
        assert [r["alive"] for r in task["healthCheckResults"]] == [True, True]
        assert "Directory listing" in fetch_text(task["ports"][0])
        env = task_env(task)
        assert env["PORT0"] == env["PORT"] == env["PORTS"] == env["PORT_DEFAULT"] == str(task["ports"][0])
        assert (env["HOST"], env["MARATHON_APP_ID"]) == ("127.0.0.1", "/web")
        assert env["MARATHON_APP_VERSION"] == app["version"]
        assert (env["MESOS_TASK_ID"], env["FOO"], env["MARATHON_APP_RESOURCE_MEM"]) == (task["id"], "bar", "32.0")
        master_task = next(t for t in get_json(cluster.master.port, "/master/tasks")["tasks"] if t["id"] == task["id"])
        assert master_task["state"] == "TASK_RUNNING" and master_task["name"] == "web"
        assert call(port, "GET", "/v2/apps")[2]["apps"][0]["tasksHealthy"] == 1
        assert call(port, "GET", "/ping")[2] == "pong"
    finally:
        delete(port, "/web")


def test_killed_process_is_replaced_and_recorded_as_last_task_failure(marathon: marathon_standin.Standin) -> None:
    port = marathon.port
    assert call(port, "PUT", "/v2/apps/crash", {"cmd": HTTP_SERVER, "cpus": 0.1, "mem": 32,
                                                "healthChecks": [QUICK_HTTP_CHECK]})[0] == 201
    try:
        first = deployed(port, "/crash")["tasks"][0]
        pids = task_pids(first["id"])
        assert pids, "the task's processes carry MESOS_TASK_ID"
        os.killpg(os.getpgid(pids[0]), signal.SIGKILL)

        def replaced() -> dict[str, Any] | None:
            app = app_of(port, "/crash")
            ok = app["tasksHealthy"] == 1 and app["tasks"] and app["tasks"][0]["id"] != first["id"]
            return app if ok else None
        app = eventually(replaced, timeout=20)
        failure = app["lastTaskFailure"]
        assert (failure["taskId"], failure["appId"], failure["state"]) == (first["id"], "/crash", "TASK_FAILED")
        assert failure["message"] == "Command terminated with signal Killed"
        assert (failure["host"], failure["version"]) == ("127.0.0.1", app["version"])
        assert failure["slaveId"] == first["slaveId"]
        assert "Directory listing" in fetch_text(app["tasks"][0]["ports"][0])
        assert not task_pids(first["id"])
    finally:
        delete(port, "/crash")


def test_failing_health_check_kills_and_replaces_the_task(cluster: Cluster,
                                                          marathon: marathon_standin.Standin) -> None:
    port = marathon.port
    status, dummy, body = call(port, "PUT", "/v2/apps/sick", {
        "cmd": "exec sleep 300", "cpus": 0.1, "mem": 32, "backoffSeconds": 0,
        "healthChecks": [{"protocol": "HTTP", "portIndex": 0, "gracePeriodSeconds": 0, "intervalSeconds": 1,
                          "timeoutSeconds": 1, "maxConsecutiveFailures": 2}]})
    assert status == 201, body
    try:
        first = eventually(lambda: (app_of(port, "/sick")["tasks"] or [None])[0])
        seen_unhealthy = []

        def second_task() -> str | None:
            app = app_of(port, "/sick")
            for task in app["tasks"]:
                if task["id"] == first["id"] and task.get("healthCheckResults"):
                    seen_unhealthy.append(task["healthCheckResults"][0])
                if task["id"] != first["id"] and task["state"] == "TASK_RUNNING":
                    return task["id"]
            return None
        replacement = eventually(second_task, timeout=20)
        assert replacement != first["id"]
        assert any(r["alive"] is False and r["consecutiveFailures"] >= 1 and "ConnectionRefusedError" in
                   r["lastFailureCause"] for r in seen_unhealthy)
        killed = next(t for f in get_json(cluster.master.port, "/master/frameworks")["frameworks"]
                      for t in f["completed_tasks"] if t["id"] == first["id"])
        assert killed["state"] == "TASK_KILLED"
        assert [d["id"] for d in call(port, "GET", "/v2/deployments")[2]] == [body["deploymentId"]], \
            "an app that never becomes healthy never finishes its deployment"
        status, dummy, locked = call(port, "DELETE", "/v2/apps/sick")
        assert status == 409 and locked["deployments"] == [{"id": body["deploymentId"]}]
    finally:
        delete(port, "/sick")


def test_update_restarts_identical_put_does_not_and_a_locked_app_needs_force(
        cluster: Cluster, marathon: marathon_standin.Standin) -> None:
    port = marathon.port
    app_body = {"cmd": HTTP_SERVER, "cpus": 0.1, "mem": 32, "env": {"FOO": "one"}, "healthChecks": [QUICK_HTTP_CHECK]}
    assert call(port, "PUT", "/v2/apps/upd", app_body)[0] == 201
    try:
        first = deployed(port, "/upd")
        old_task = first["tasks"][0]
        status, dummy, body = call(port, "PUT", "/v2/apps/upd", {**app_body, "env": {"FOO": "two"}})
        assert status == 200 and body["version"] > first["version"]
        dep = next(d for d in call(port, "GET", "/v2/deployments")[2] if d["id"] == body["deploymentId"])
        assert dep["currentActions"][0]["action"] == "RestartApplication"
        second = deployed(port, "/upd")
        new_task = second["tasks"][0]
        assert new_task["id"] != old_task["id"] and new_task["version"] == body["version"]
        assert second["versionInfo"]["lastConfigChangeAt"] == body["version"]
        assert task_env(new_task)["FOO"] == "two"
        agent_tasks = {t["id"]: t["state"] for f in get_json(cluster.agent.port, "/state")["frameworks"]
                       for e in f["executors"] + f["completed_executors"] for t in e["tasks"] + e["completed_tasks"]}
        assert agent_tasks[old_task["id"]] == "TASK_KILLED" and agent_tasks[new_task["id"]] == "TASK_RUNNING"

        status, dummy, same = call(port, "PUT", "/v2/apps/upd", {**app_body, "env": {"FOO": "two"}})
        assert status == 200 and same["version"] > body["version"]
        assert same["deploymentId"] not in [d["id"] for d in call(port, "GET", "/v2/deployments")[2]]
        third = app_of(port, "/upd")
        assert third["tasks"][0]["id"] == new_task["id"] and third["version"] == same["version"]
        assert third["versionInfo"]["lastConfigChangeAt"] == body["version"]

        status, dummy, busy = call(port, "PUT", "/v2/apps/upd", {**app_body, "env": {"FOO": "three"}})
        assert status == 200
        status, dummy, locked = call(port, "PUT", "/v2/apps/upd", {**app_body, "env": {"FOO": "four"}})
        assert status == 409
        assert locked == {"message": "App is locked by one or more deployments. Override with the option "
                                     "'?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.",
                          "deployments": [{"id": busy["deploymentId"]}]}
        status, dummy, forced = call(port, "PUT", "/v2/apps/upd?force=true", {**app_body, "env": {"FOO": "four"}})
        assert status == 200
        assert [d["id"] for d in call(port, "GET", "/v2/deployments")[2]] == [forced["deploymentId"]]
        fourth = deployed(port, "/upd")
        assert task_env(fourth["tasks"][0])["FOO"] == "four" and fourth["version"] == forced["version"]

        status, dummy, scaled = call(port, "PUT", "/v2/apps/upd", {"instances": 2})  # partialUpdate (default)
        assert status == 200
        fifth = deployed(port, "/upd")
        assert fifth["tasksHealthy"] == 2 and fifth["env"] == {"FOO": "four"}
        assert fifth["versionInfo"] == {"lastScalingAt": scaled["version"], "lastConfigChangeAt": forced["version"]}
        assert fourth["tasks"][0]["id"] in [t["id"] for t in fifth["tasks"]], "scaling keeps the running task"
    finally:
        delete(port, "/upd")


def test_invalid_apps_are_refused_with_422_and_paths(marathon: marathon_standin.Standin) -> None:
    port = marathon.port

    def refused(path: str, body: Any) -> tuple[str, dict[str, list[str]]]:
        status, dummy, answer = call(port, "PUT", path, body)
        assert status == 422, answer
        return answer["message"], {d["path"]: d["errors"] for d in answer["details"]}

    message, details = refused("/v2/apps/bad", {"cmd": "true", "mem": -1})
    assert (message, details) == ("Object is not valid", {"/mem": ["got -1.0, expected 0.0 or more"]})
    message, details = refused("/v2/apps/Bad_ID", {"cmd": "true"})
    assert details["/id"][0].startswith("must fully match regular expression '^(([a-z0-9]|")
    message, details = refused("/v2/apps/bad", {"cmd": "true", "healthChecks": [{"protocol": "COMMAND"}]})
    assert "not served by the TEST-ONLY Marathon stand-in" in details["/healthChecks(0)/protocol"][0]
    message, details = refused("/v2/apps/bad", {"cpus": 1})
    assert details["/"] == ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."]
    message, details = refused("/v2/apps/bad", {"cmd": "true", "mem": "lots"})
    assert (message, details) == ("Invalid JSON", {"/mem": ["error.expected.jsnumber"]})
    message, details = refused("/v2/apps/bad", {"cmd": "true", "constraints": [["rack", "GROUP_BY"]]})
    assert "not served" in details["/constraints(0)"][0]
    message, details = refused("/v2/apps/bad", {"cmd": "true", "portDefinitions": [], "healthChecks": [{}]})
    assert details["/healthChecks(0)"] == ["Health check port indices must address an element of the ports "
                                           "array or container port mappings."]
    message, details = refused("/v2/apps/bad", {"id": "/other", "cmd": "true"})
    assert "/id" in details
    message, details = refused("/v2/apps/bad", {"cmd": "true", "container": {"type": "DOCKER"}})
    assert "not served" in details["/container"][0]
    assert call(port, "GET", "/v2/apps/bad") == (404, call(port, "GET", "/v2/apps/bad")[1],
                                                 {"message": "App '/bad' does not exist"})
    assert call(port, "DELETE", "/v2/apps/bad")[0] == 404


def test_delete_kills_the_tasks_and_keeps_the_framework(cluster: Cluster, marathon: marathon_standin.Standin) -> None:
    port = marathon.port
    assert call(port, "PUT", "/v2/apps/gone", {"cmd": "exec sleep 300", "cpus": 0.1, "mem": 32, "instances": 2,
                                               "portDefinitions": []})[0] == 201
    app = deployed(port, "/gone")
    ids = sorted(t["id"] for t in app["tasks"])
    assert app["tasksRunning"] == 2 and all(t["ports"] == [] for t in app["tasks"])
    pids = [p for i in ids for p in task_pids(i)]
    assert len(pids) >= 2
    status, dummy, body = call(port, "DELETE", "/v2/apps/gone")
    assert status == 200 and set(body) == {"deploymentId", "version"}
    assert call(port, "GET", "/v2/apps/gone")[0] == 404
    eventually(lambda: not call(port, "GET", "/v2/deployments")[2], timeout=10)

    def agent_killed_them() -> bool:
        state = get_json(cluster.agent.port, "/state")
        runs = [t for f in state["frameworks"] for e in f["executors"] + f["completed_executors"]
                for t in e["tasks"] + e["completed_tasks"] if t["id"] in ids]
        return sorted(t["id"] for t in runs) == ids and all(t["state"] == "TASK_KILLED" for t in runs)
    eventually(agent_killed_them, timeout=10)
    assert not [p for i in ids for p in task_pids(i)]
    framework = next(f for f in get_json(cluster.master.port, "/master/frameworks")["frameworks"]
                     if f["id"] == marathon.marathon.framework_id)
    assert (framework["active"], framework["connected"], framework["name"]) == (True, True, "marathon")
    assert call(port, "GET", "/v2/apps")[2] == {"apps": []}


def test_http_credentials_guard_every_v2_endpoint(cluster: Cluster) -> None:
    standin = start_standin(cluster.master.port, "--http_credentials=alice:s3cret", "--framework_name=guarded")
    try:
        for path in ("/v2/apps", "/v2/info", "/v2/deployments", "/v2/apps/x"):
            status, headers, dummy = call(standin.port, "GET", path)
            assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="Mesosphere"')
            assert call(standin.port, "GET", path, auth=("alice", "wrong"))[0] == 401
        assert call(standin.port, "PUT", "/v2/apps/x", {"cmd": "true"})[0] == 401
        status, dummy, info = call(standin.port, "GET", "/v2/info", auth=("alice", "s3cret"))
        assert status == 200
        assert info["name"] == "marathon-standin (TEST-ONLY STAND-IN, NOT MARATHON)"
        assert info["version"] == "1.11.0-standin" and info["frameworkId"] == standin.marathon.framework_id
        assert info["marathon_config"]["framework_name"] == "guarded"
        assert call(standin.port, "GET", "/v2/apps", auth=("alice", "s3cret"))[:3:2] == (200, {"apps": []})
        assert call(standin.port, "GET", "/ping")[2] == "pong"
    finally:
        stop_standin(standin, cluster)


def test_master_restart_keeps_framework_and_task(tmp_path: Path) -> None:
    """The subscription is lost with the master; the stand-in re-subscribes with its framework ID and
    reconciles, and the task (still running on the agent) stays the app's task."""
    own = Cluster(tmp_path)
    master, mport = own.master, own.master.port
    standin = None
    try:
        standin = start_standin(mport, "--reconciliation_initial_delay=4000")
        framework_id = standin.marathon.framework_id
        assert call(standin.port, "PUT", "/v2/apps/keep", {"cmd": HTTP_SERVER, "cpus": 0.1, "mem": 32,
                                                           "healthChecks": [QUICK_HTTP_CHECK]})[0] == 201
        task = deployed(standin.port, "/keep")["tasks"][0]
        master.stop()
        eventually(lambda: not standin.marathon.client.subscribed.is_set(), timeout=5)
        reconciled = standin.marathon.reconciliations  # the next one comes 4 s after re-subscribing
        master = own.master = standin_master.start_master({**own.mflags, "port": str(mport)})
        eventually(standin.marathon.client.subscribed.is_set, timeout=20)
        assert standin.marathon.framework_id == framework_id

        def back() -> bool:
            frameworks = get_json(mport, "/master/frameworks")["frameworks"]
            return any(f["id"] == framework_id and f["connected"] and
                       [t["id"] for t in f["tasks"]] == [task["id"]] for f in frameworks)
        eventually(back, timeout=20)
        eventually(lambda: standin.marathon.reconciliations > reconciled, timeout=10)
        time.sleep(0.5)  # the answers to the reconciliation arrive
        app = app_of(standin.port, "/keep")
        assert [(t["id"], t["state"]) for t in app["tasks"]] == [(task["id"], "TASK_RUNNING")]
        assert app["tasksHealthy"] == 1 and "lastTaskFailure" not in app
        assert "Directory listing" in fetch_text(task["ports"][0])
    finally:
        if standin is not None:
            stop_standin(standin, own)
        own.stop()

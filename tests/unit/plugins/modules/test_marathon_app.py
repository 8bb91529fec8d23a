"""The marathon_app module end to end against a fake Marathon served over real HTTP on 127.0.0.1.

Why: what matters to a user is which requests reach Marathon (a PUT is a redeployment of the app's tasks), what
the module waits for, and what it says when Marathon refuses. The fake answers like Marathon's v2 API: GET adds
defaults and runtime fields, PUT and DELETE answer with a deployment, and it can be told to answer 409/401/422,
to keep a deployment listed or the tasks unhealthy. It records every request, so the tests count PUTs and DELETEs
and see the headers (basic auth) the module sent.
"""
from __future__ import annotations

import base64
import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from ansible_collections.streamops.flink_mesos.tests.unit.plugins.modules.module_args import patch_module_args
from ansible_collections.streamops.flink_mesos.plugins.modules import marathon_app

HEALTH_DEFAULTS = {"gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20,
                   "maxConsecutiveFailures": 3, "delaySeconds": 15, "ipProtocol": "IPv4"}


class FakeMarathon:
    """Apps in a dict, answered the way Marathon's /v2/apps answers; every request recorded."""

    def __init__(self) -> None:
        self.apps: Dict[str, Dict[str, Any]] = {}
        self.requests: List[Dict[str, Any]] = []
        self.scripted: Dict[str, List[Tuple[int, Any]]] = {}
        self.healthy = True  # whether tasks of apps with health checks pass them
        self.deploying_gets = 0  # GETs after a PUT that still list its deployment
        self.deleting_gets = 0  # GETs after a DELETE that still find the app
        self.credentials: Optional[str] = None  # "user:password" required in a basic auth header
        self.serial = 0
        self.lock = threading.Lock()

    def count(self, method: str) -> int:
        return len([r for r in self.requests if r["method"] == method])

    def answer_next(self, method: str, status: int, body: Any) -> None:
        """The next request with this method gets this answer instead of the normal one."""
        self.scripted.setdefault(method, []).append((status, body))

    def add(self, definition: Dict[str, Any]) -> str:
        """Store an app as a PUT would (no deployment pending); returns its deployment id."""
        self.serial += 1
        deployment = f"deployment-{self.serial}"
        self.apps[definition["id"]] = {"definition": copy.deepcopy(definition), "pending": self.deploying_gets,
                                       "deployment": deployment, "version": f"2024-05-01T10:00:{self.serial:02d}.000Z",
                                       "deleting": None}
        return deployment

    def view(self, app_id: str) -> Dict[str, Any]:
        """GET's answer: the definition with Marathon's defaults and runtime fields."""
        stored = self.apps[app_id]
        app = copy.deepcopy(stored["definition"])
        app.setdefault("instances", 1)
        for key, default in (("cpus", 1.0), ("mem", 128.0), ("disk", 0.0)):
            app[key] = float(app.get(key, default))
        app.update(backoffFactor=1.15, backoffSeconds=1, requirePorts=app.get("requirePorts", False),
                   env=app.get("env", {}), labels=app.get("labels", {}), version=stored["version"],
                   versionInfo={"lastConfigChangeAt": stored["version"], "lastScalingAt": stored["version"]})
        app["portDefinitions"] = [dict({"protocol": "tcp", "name": f"port{i}", "labels": {}}, **p)
                                  for i, p in enumerate(app.get("portDefinitions", [{"port": 10000}]))]
        checks = []
        for check in app.get("healthChecks", []):
            full = dict(HEALTH_DEFAULTS, **check)
            full.setdefault("protocol", "HTTP")
            if full["protocol"] in ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS"):
                full.setdefault("path", "/")
            if "port" not in check:
                full.setdefault("portIndex", 0)
            checks.append(full)
        app["healthChecks"] = checks
        deploying = stored["pending"] > 0 or stored["deleting"] is not None
        if stored["pending"] > 0:
            stored["pending"] -= 1
        healthy = bool(checks) and self.healthy
        count = app["instances"]
        app.update(tasksStaged=0, tasksRunning=count, tasksHealthy=count if healthy else 0,
                   tasksUnhealthy=count if checks and not healthy else 0,
                   deployments=[{"id": stored["deleting"] or stored["deployment"]}] if deploying else [])
        app["tasks"] = [{"id": f"{app_id.strip('/').replace('/', '_')}.{i}", "host": f"agent-{i}", "ports": [31000 + i],
                         "state": "TASK_RUNNING",
                         "healthCheckResults": [{"alive": healthy}] if checks else []} for i in range(count)]
        return app

    def handle(self, method: str, path: str, headers: Dict[str, str], body: Any) -> Tuple[int, Any]:
        with self.lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
            if self.scripted.get(method):
                return self.scripted[method].pop(0)
            if self.credentials is not None:
                expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
                if headers.get("authorization") != expected:
                    return 401, {"message": "Invalid username or password."}
            route, query = path.partition("?")[::2]
            if not route.startswith("/v2/apps/"):
                return 404, {"message": f"no route {route}"}
            app_id = route[len("/v2/apps"):]
            exists = app_id in self.apps
            if method == "GET":
                if not exists:
                    return 404, {"message": f"App '{app_id}' does not exist"}
                stored = self.apps[app_id]
                if stored["deleting"] is not None:
                    if stored["deleting_gets"] <= 0:
                        del self.apps[app_id]
                        return 404, {"message": f"App '{app_id}' does not exist"}
                    stored["deleting_gets"] -= 1
                return 200, {"app": self.view(app_id)}
            if method == "PUT":
                deployment = self.add(dict(body, id=app_id))
                return (200 if exists else 201), {"deploymentId": deployment, "version": self.apps[app_id]["version"],
                                                  "force": query == "force=true"}
            if method == "DELETE":
                if not exists:
                    return 404, {"message": f"App '{app_id}' does not exist"}
                self.serial += 1
                self.apps[app_id].update(deleting=f"deployment-{self.serial}", deleting_gets=self.deleting_gets)
                return 200, {"deploymentId": f"deployment-{self.serial}", "version": "2024-05-01T11:00:00.000Z"}
            return 405, {"message": "method not allowed"}


class Handler(BaseHTTPRequestHandler):
    """Hands each request to the FakeMarathon of its server."""

    def do_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = self.server.fake.handle(self.command, self.path, headers, body)  # type: ignore[attr-defined]
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_DELETE = do_any

    def log_message(self, *args: Any) -> None:  # keep pytest's output clean
        return None


@pytest.fixture()
def fake() -> Iterator[FakeMarathon]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.fake = FakeMarathon()  # type: ignore[attr-defined]
    server.fake.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server.fake  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


APP = {"cmd": "/opt/worker/bin/run --port $PORT0", "instances": 2, "cpus": 1, "mem": 256,
       "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}]}


def run(capsys: pytest.CaptureFixture, fake: FakeMarathon, check_mode: bool = False, diff: bool = False,
        **params: Any) -> Dict[str, Any]:
    """Run the module as Ansible would; its result, with 'rc' the exit code."""
    args = dict({"marathon_url": fake.url, "app_id": "/flink/workers", "poll_interval": 0.01, "use_proxy": False},
                _ansible_check_mode=check_mode, _ansible_diff=diff)
    args.update(params)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            marathon_app.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result


def test_create_puts_once_and_returns_the_app(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.deploying_gets = 2  # the deployment is listed for two GETs: the module must wait through them
    result = run(capsys, fake, app=APP)
    assert result["rc"] == 0, result
    assert result["changed"] is True
    assert fake.count("PUT") == 1
    put = [r for r in fake.requests if r["method"] == "PUT"][0]
    assert put["path"] == "/v2/apps/flink/workers"
    assert put["headers"]["content-type"] == "application/json"
    assert put["body"] == dict(APP, id="/flink/workers")
    assert fake.count("GET") >= 3  # before, then until the deployment ended
    assert result["deployment_id"] == "deployment-1"
    assert result["app_id"] == "/flink/workers"
    assert result["app"]["deployments"] == [] and result["app"]["backoffFactor"] == 1.15
    assert (result["tasks_running"], result["tasks_healthy"]) == (2, 2)
    assert result["tasks"][0] == {"id": "flink_workers.0", "host": "agent-0", "ports": [31000],
                                  "state": "TASK_RUNNING", "healthy": True}
    assert result["version"] == "2024-05-01T10:00:01.000Z"


def test_an_identical_rerun_sends_no_put_and_waits_for_nothing(capsys: pytest.CaptureFixture,
                                                               fake: FakeMarathon) -> None:
    fake.add(dict(APP, id="/flink/workers"))
    result = run(capsys, fake, app=APP)
    assert result["rc"] == 0, result
    assert result["changed"] is False
    assert fake.count("PUT") == 0
    assert fake.count("GET") == 1  # already ready: no polling
    assert "deployment_id" not in result
    assert result["version"] == "2024-05-01T10:00:01.000Z"


def test_an_unchanged_but_unhealthy_app_is_waited_for(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.deploying_gets = 3
    fake.add(dict(APP, id="/flink/workers"))
    result = run(capsys, fake, app=APP)
    assert result["rc"] == 0, result
    assert result["changed"] is False and fake.count("PUT") == 0
    assert fake.count("GET") == 4  # three with the deployment listed, then ready


def test_a_changed_field_is_put(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.add(dict(APP, id="/flink/workers"))
    result = run(capsys, fake, app=dict(APP, instances=3), diff=True)
    assert result["rc"] == 0, result
    assert result["changed"] is True and fake.count("PUT") == 1
    assert result["tasks_running"] == 3
    diff = result["diff"]
    assert json.loads(diff["before"])["instances"] == 2 and json.loads(diff["after"])["instances"] == 3
    assert "backoffFactor" not in diff["before"]
    assert diff["before_header"] == f"{fake.url}/v2/apps/flink/workers"


def test_check_mode_reports_the_change_and_sends_nothing(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    result = run(capsys, fake, check_mode=True, diff=True, app=APP)
    assert result["rc"] == 0, result
    assert result["changed"] is True
    assert [r["method"] for r in fake.requests] == ["GET"]
    assert result["diff"]["before"] == "{}\n"
    assert json.loads(result["diff"]["after"]) == dict(APP, id="/flink/workers")
    assert result["app"] == {} and "deployment_id" not in result


def test_absent_deletes_and_waits_until_marathon_forgets_the_app(capsys: pytest.CaptureFixture,
                                                                 fake: FakeMarathon) -> None:
    fake.add(dict(APP, id="/flink/workers"))
    fake.deleting_gets = 2
    result = run(capsys, fake, state="absent", diff=True)
    assert result["rc"] == 0, result
    assert result["changed"] is True and fake.count("DELETE") == 1
    assert "/flink/workers" not in fake.apps  # the module kept polling until the GET answered 404
    assert [r["method"] for r in fake.requests] == ["GET", "DELETE", "GET", "GET", "GET"]
    assert result["deployment_id"] == "deployment-2"
    assert result["app"] == {} and result["tasks"] == []
    assert json.loads(result["diff"]["before"])["cmd"] == APP["cmd"] and result["diff"]["after"] == "{}\n"
    assert "tasks" not in json.loads(result["diff"]["before"])


def test_absent_when_missing_deletes_nothing(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    result = run(capsys, fake, state="absent")
    assert result["rc"] == 0, result
    assert result["changed"] is False
    assert [r["method"] for r in fake.requests] == ["GET"]


def test_force_is_passed_on(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    result = run(capsys, fake, app=APP, force=True)
    assert result["rc"] == 0, result
    assert [r["path"] for r in fake.requests if r["method"] == "PUT"] == ["/v2/apps/flink/workers?force=true"]


def test_a_locked_app_names_the_deployment(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.answer_next("PUT", 409, {
        "message": "App is locked by one or more deployments. Override with the option '?force=true'. View details "
                   "at '/v2/deployments/5ed4c0c5-9ff8'.", "deployments": [{"id": "5ed4c0c5-9ff8"}]})
    result = run(capsys, fake, app=APP)
    assert result["rc"] == 1
    assert result["cause_id"] == "marathon_locked" and result["status"] == 409
    assert ("app /flink/workers is locked by deployment(s) 5ed4c0c5-9ff8; wait for them to finish "
            "(GET /v2/deployments) or set force: true to override") in result["msg"]


def test_refused_credentials_say_which_options_to_set(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.credentials = "deployer:s3cret"
    result = run(capsys, fake, app=APP)
    assert result["rc"] == 1
    assert result["cause_id"] == "marathon_auth" and result["status"] == 401
    assert "url_username and url_password, and force_basic_auth: true" in result["msg"]
    assert fake.count("PUT") == 0


def test_basic_auth_is_sent_with_every_request(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.credentials = "deployer:s3cret"
    result = run(capsys, fake, app=APP, url_username="deployer", url_password="s3cret", force_basic_auth=True)
    assert result["rc"] == 0, result
    expected = "Basic " + base64.b64encode(b"deployer:s3cret").decode()
    assert fake.count("PUT") == 1
    assert [r["headers"].get("authorization") for r in fake.requests] == [expected] * len(fake.requests)
    assert "s3cret" not in json.dumps(result)


def test_an_invalid_app_lists_marathons_details(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    """Every detail, even when the answer is longer than the short error body other callers keep."""
    operators = "[UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS]"
    error = f"Constraint operator must be one of the following: {operators}"
    details = [{"path": f"/constraints({i})", "errors": [error]} for i in range(6)]
    fake.answer_next("PUT", 422, {"message": "Object is not valid", "details": details})
    assert len(json.dumps(details)) > 600
    result = run(capsys, fake, app=dict(APP, constraints=[["hostname", "UNIQ"]] * 6))
    assert result["rc"] == 1
    assert result["cause_id"] == "marathon_invalid_app" and result["status"] == 422
    assert result["msg"].startswith("PUT " + fake.url + "/v2/apps/flink/workers: Marathon refused app /flink/workers "
                                    "as invalid (HTTP 422): /constraints(0): Constraint operator must be one of the "
                                    "following: [UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS]; "
                                    "/constraints(1): "), result["msg"]
    assert "/constraints(5): Constraint operator" in result["msg"]


def test_unhealthy_tasks_time_out_with_the_counts(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.healthy = False
    result = run(capsys, fake, app=APP, wait_timeout=1, poll_interval=0.05)
    assert result["rc"] == 1
    assert result["cause_id"] == "marathon_timeout"
    assert result["msg"].startswith("app /flink/workers was not ready after 1 s: 0 of 2 task(s) healthy (tasksRunning "
                                    "2, tasksHealthy 0, tasksUnhealthy 2"), result["msg"]
    assert fake.count("PUT") == 1 and result["changed"] is True
    assert result["tasks_healthy"] == 0 and [t["healthy"] for t in result["tasks"]] == [False, False]


def test_a_deployment_that_does_not_end_is_named_on_timeout(capsys: pytest.CaptureFixture,
                                                            fake: FakeMarathon) -> None:
    fake.deploying_gets = 10 ** 6
    result = run(capsys, fake, app=APP, wait_timeout=0)
    assert result["rc"] == 1 and result["cause_id"] == "marathon_timeout"
    assert "deployment(s) deployment-1 still running" in result["msg"]


def test_no_wait_returns_after_the_put(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.healthy = False
    result = run(capsys, fake, app=APP, wait=False)
    assert result["rc"] == 0, result
    assert [r["method"] for r in fake.requests] == ["GET", "PUT", "GET"]


def test_marathon_not_answering_is_unreachable(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    result = run(capsys, fake, app=APP, marathon_url="http://127.0.0.1:9", request_timeout=2)
    assert result["rc"] == 1
    assert result["cause_id"] == "marathon_unreachable" and result["status"] is None
    assert result["msg"].startswith("Marathon did not answer: GET http://127.0.0.1:9/v2/apps/flink/workers: ")


def test_a_404_not_from_marathon_is_not_taken_for_absent(capsys: pytest.CaptureFixture, fake: FakeMarathon) -> None:
    fake.answer_next("GET", 404, "Not Found")  # e.g. a proxy in front of something else
    result = run(capsys, fake, state="absent")
    assert result["rc"] == 1 and result["cause_id"] == "marathon_not_found"
    assert "marathon_url points at Marathon" in result["msg"]


@pytest.mark.parametrize("params, words", [
    ({"app": {"instances": 1}}, "app has none of cmd, args and container"),
    ({"app": dict(APP, healthChecks=[{"protocol": "HTTPX"}])}, "app.healthChecks[0].protocol is 'HTTPX'; use one of"),
    ({"app": dict(APP, cpus=0)}, "app.cpus is 0; give a number > 0"),
    ({"app": APP, "app_id": "/flink/../other"}, "app_id is '/flink/../other'"),
    ({"app": dict(APP, id="/flink/other")}, "name different apps"),
    ({"app": APP, "app_id": None}, None),  # app.id missing too: see the assertion below
    ({}, "app is required with state=present"),
    ({"app": APP, "marathon_url": "http://127.0.0.1:1/v2"}, "marathon_url is 'http://127.0.0.1:1/v2'; remove '/v2'"),
    ({"app": APP, "poll_interval": 0}, "poll_interval is 0.0; give a number of seconds > 0"),
])
def test_invalid_input_fails_before_any_request(capsys: pytest.CaptureFixture, fake: FakeMarathon,
                                                params: Dict[str, Any], words: Optional[str]) -> None:
    result = run(capsys, fake, **params)
    assert result["rc"] == 1
    assert result["cause_id"] == "invalid_input"
    assert (words or "app_id is required (or app.id)") in result["msg"]
    assert result["msg"].endswith("Nothing was sent to Marathon.")
    assert fake.requests == []

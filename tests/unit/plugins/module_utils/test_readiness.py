"""Readiness decisions against a real local HTTP server and real processes.

Why: "REST answered once" is not readiness: Flink 1.13 without libmesos serves REST and dies 0.1 s later.
These tests serve Flink and Mesos answers from http.server on 127.0.0.1 (ephemeral port) and use real child
processes, so the module's HTTP client, redirects and the settle logic are exercised end to end.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, Optional

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import readiness, rest

OVERVIEW = {"taskmanagers": 0, "slots-total": 0, "slots-available": 0, "jobs-running": 0, "jobs-finished": 0,
            "jobs-cancelled": 0, "jobs-failed": 0, "flink-version": "1.13.6", "flink-commit": "b2ca390"}


class Fake:
    """What the fake server answers; tests flip these while polling runs."""

    def __init__(self) -> None:
        self.flink_up = False
        self.frameworks: list = []
        self.deleted = 0
        self.posted: list = []


@pytest.fixture()
def server() -> Iterator[tuple]:
    fake = Fake()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def send(self, code: int, body: Any = None, headers: Optional[Dict[str, str]] = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/overview":
                return self.send(200, OVERVIEW) if fake.flink_up else self.send(503, {"errors": ["down"]})
            if self.path.startswith("/follower/"):
                host = self.headers["Host"]
                return self.send(307, None, {"Location": f"//{host}{self.path[len('/follower'):]}"})
            if self.path in ("/master/frameworks", "/master/state"):
                return self.send(200, {"frameworks": fake.frameworks, "slaves": [], "version": "1.11.0",
                                       "leader": "master@10.0.0.1:5050"})
            if self.path == "/taskmanagers" and fake.flink_up:
                return self.send(200, {"taskmanagers": [{"id": "tm-1", "slotsNumber": 2, "freeSlots": 1}]})
            if self.path == "/jobs/overview" and fake.flink_up:
                return self.send(200, {"jobs": [{"jid": "j1", "name": "wc", "state": "RUNNING"}]})
            if self.path == "/jobmanager/config" and fake.flink_up:
                return self.send(200, [{"key": "mesos.master", "value": "m1:5050"}])
            return self.send(404, {"errors": ["Not found"]})

        def do_DELETE(self) -> None:  # noqa: N802
            fake.deleted += 1
            self.send(202, {})

        def do_POST(self) -> None:  # noqa: N802
            # Like Mesos's /master/teardown: a form body, 200 with an empty body, 400 without frameworkId.
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            fake.posted.append((self.path, self.headers.get("Content-Type"), body))
            self.send_response(200 if "frameworkId=" in body else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def process(seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def probes_for(base: str, proc: subprocess.Popen, name: str = "Flink", host: str = "am1") -> readiness.Probes:
    def overview() -> Optional[dict]:
        return rest.flink_overview(base, timeout=1)

    def framework() -> Optional[dict]:
        return rest.active_framework(base, name, host, timeout=1)

    return readiness.Probes(alive=lambda: proc.poll() is None, overview=overview, framework=framework)


def test_rest_then_death_is_not_ready(server: tuple) -> None:
    fake, base = server
    fake.flink_up = True
    proc = process(0.6)  # like the JVM without libmesos: REST answers, then the process exits
    try:
        v = readiness.wait_ready("rest", probes_for(base, proc), timeout=10, settle=2, interval=0.05)
    finally:
        proc.kill()
    assert not v.ready and v.reason == "died"
    assert v.rest_seen_after is not None and v.died_after is not None and v.died_after > v.rest_seen_after
    assert v.overview["flink-version"] == "1.13.6"


def test_rest_and_alive_through_settle_is_ready(server: tuple) -> None:
    fake, base = server
    proc = process(30)
    threading.Timer(0.3, lambda: setattr(fake, "flink_up", True)).start()
    try:
        v = readiness.wait_ready("rest", probes_for(base, proc), timeout=10, settle=0.5, interval=0.05)
    finally:
        proc.kill()
    assert v.ready and v.reason == "ready"
    assert v.rest_seen_after >= 0.25 and v.elapsed >= v.rest_seen_after + 0.5


def test_rest_never_answers_times_out(server: tuple) -> None:
    dummy, base = server
    proc = process(30)
    try:
        v = readiness.wait_ready("rest", probes_for(base, proc), timeout=0.6, settle=0.1, interval=0.05)
    finally:
        proc.kill()
    assert not v.ready and v.reason == "timeout" and v.overview is None


def test_framework_level_needs_the_right_name_and_hostname(server: tuple) -> None:
    fake, base = server
    fake.flink_up = True
    fake.frameworks = [
        {"id": "other", "name": "Flink", "hostname": "am2", "active": True},
        {"id": "inactive", "name": "Flink", "hostname": "am1", "active": False},
    ]
    proc = process(30)
    try:
        v = readiness.wait_ready("framework", probes_for(base, proc), timeout=0.6, settle=0.1, interval=0.05)
        assert not v.ready and v.reason == "timeout" and v.overview is not None and v.framework is None
        fake.frameworks.append({"id": "fw-1", "name": "Flink", "hostname": "am1", "active": True})
        v = readiness.wait_ready("framework", probes_for(base, proc), timeout=5, settle=0.2, interval=0.05)
    finally:
        proc.kill()
    assert v.ready and v.framework["id"] == "fw-1"


def test_process_level_ignores_rest(server: tuple) -> None:
    dummy, base = server
    proc = process(30)
    try:
        v = readiness.wait_ready("process", probes_for(base, proc), timeout=5, settle=0.2, interval=0.05)
    finally:
        proc.kill()
    assert v.ready and v.overview is None


def test_none_level_returns_at_once(server: tuple) -> None:
    dummy, base = server
    proc = process(0)
    proc.wait()
    assert readiness.wait_ready("none", probes_for(base, proc), timeout=1, settle=1).ready


def test_redirect_to_the_leader_is_followed(server: tuple) -> None:
    fake, base = server
    fake.frameworks = [{"id": "fw", "name": "Flink", "hostname": "am1", "active": True}]
    # /follower/... plays a non-leading master: 307 with a protocol-relative Location to the leader.
    status, data, final = rest.request_json(f"{base}/follower/master/state")
    assert status == 200 and data["frameworks"][0]["id"] == "fw"
    assert final == f"{base}/master/state"


def test_http_errors_are_reported_with_the_url(server: tuple) -> None:
    dummy, base = server
    with pytest.raises(rest.HttpError, match=r"GET .*/nothing: HTTP 404"):
        rest.get_json(f"{base}/nothing")


def test_delete_cluster(server: tuple) -> None:
    fake, base = server
    rest.request_json(f"{base}/cluster", method="DELETE")
    assert fake.deleted == 1


def test_teardown_posts_the_framework_id_as_a_form(server: tuple) -> None:
    fake, base = server
    rest.teardown_framework(base, "f-1 2", timeout=5)
    assert fake.posted == [("/master/teardown", "application/x-www-form-urlencoded", "frameworkId=f-1+2")]


def test_mesos_api_and_base_urls() -> None:
    assert rest.mesos_api_from_master("m1:5050") == "http://m1:5050"
    assert rest.mesos_api_from_master("zk://z:2181/mesos") is None
    assert rest.base_url("am1", 8081) == "http://am1:8081"
    assert rest.base_url("https://am1:8443/", 8081) == "https://am1:8443"


def test_fatal_log_line_ends_the_wait_before_the_process_exits(server: tuple) -> None:
    fake, base = server
    fake.flink_up = True
    proc = process(30)  # like the JVM after "Fatal error occurred": still alive for seconds
    logged: list = []
    threading.Timer(0.3, lambda: logged.append("ERROR ... Fatal error occurred in the cluster entrypoint.")).start()
    probes = probes_for(base, proc)
    probes.fatal = lambda: logged[0] if logged else None
    try:
        v = readiness.wait_ready("rest", probes, timeout=10, settle=5, interval=0.05)
    finally:
        proc.kill()
    assert not v.ready and v.reason == "died" and v.elapsed < 2
    assert "fatal error logged" in v.events[-1]


def test_http_error_keeps_status_and_body(server: tuple) -> None:
    # Flink answers 503 with a JSON body during leader election; the module reports that answer as evidence.
    fake, base = server
    with pytest.raises(rest.HttpError) as info:
        rest.get_json(f"{base}/overview")
    assert info.value.status == 503 and "down" in info.value.body


def test_flink_info_collects_overview_taskmanagers_jobs_and_config(server: tuple) -> None:
    from ansible_collections.streamops.flink_mesos.plugins.modules import flink_info

    fake, base = server
    with pytest.raises(rest.HttpError, match="503"):
        flink_info.collect(base, ["jobs"], 2)
    fake.flink_up = True
    out = flink_info.collect(base, ["taskmanagers", "jobs", "config"], 2)
    assert out["flink_version"] == "1.13.6"
    assert out["taskmanagers"][0]["id"] == "tm-1" and out["jobs"][0]["state"] == "RUNNING"
    assert out["config"] == {"mesos.master": "m1:5050"}


def test_mesos_info_follows_the_leader_and_skips_dead_masters(server: tuple) -> None:
    from ansible_collections.streamops.flink_mesos.plugins.modules import mesos_info

    fake, base = server
    fake.frameworks = [{"id": "fw", "name": "Flink", "hostname": "am1", "active": True, "tasks": [{}]}]
    dead = "127.0.0.1:1"  # nothing listens on port 1
    out = mesos_info.query(["zk://z:2181/mesos", dead, f"{base}/follower"], 2)
    assert out["url"] == base and out["leader"] == "master@10.0.0.1:5050"
    assert out["frameworks"][0]["tasks"] == 1
    with pytest.raises(rest.HttpError, match="zk:// is not resolved"):
        mesos_info.query(["zk://z:2181/mesos"], 1)


def test_framework_level_waits_until_the_cluster_is_whole() -> None:
    """After an HA restart the framework may be back before its TaskManagers: ready only once `whole` says so."""
    now = [0.0]
    overviews = iter([{"taskmanagers": 0}, {"taskmanagers": 1}, {"taskmanagers": 2}] + [{"taskmanagers": 2}] * 50)
    probes = readiness.Probes(alive=lambda: True, overview=lambda: next(overviews), framework=lambda: {"id": "f-1"},
                              whole=lambda ov: (ov or {}).get("taskmanagers", 0) >= 2)
    verdict = readiness.wait_ready("framework", probes, timeout=60, settle=0.0, interval=1.0,
                                   clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    # whole at t=2 (the third overview); ready at the next poll, once held for the settle time (0 s)
    assert verdict.ready and verdict.elapsed == 3.0, verdict
    assert any("waiting for TaskManagers (0 registered)" in e for e in verdict.events), verdict.events


def test_a_cluster_that_never_gets_whole_times_out() -> None:
    now = [0.0]
    probes = readiness.Probes(alive=lambda: True, overview=lambda: {"taskmanagers": 1}, framework=lambda: {"id": "f"},
                              whole=lambda ov: False)
    verdict = readiness.wait_ready("framework", probes, timeout=5, settle=0.0, interval=1.0,
                                   clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not verdict.ready and verdict.reason == "timeout" and verdict.framework == {"id": "f"}


def test_with_ha_the_framework_level_waits_for_a_published_leader() -> None:
    """REST and the framework are there before the leader znode: ready only once ZooKeeper names a leader."""
    now = [0.0]
    leaders = iter([None, None, "http://am-1:8081"] + ["http://am-1:8081"] * 50)
    probes = readiness.Probes(alive=lambda: True, overview=lambda: {"taskmanagers": 0}, framework=lambda: {"id": "f"},
                              leader=lambda: next(leaders))
    verdict = readiness.wait_ready("framework", probes, timeout=60, settle=0.0, interval=1.0,
                                   clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert verdict.ready and verdict.elapsed == 3.0 and verdict.leader == "http://am-1:8081", verdict
    assert [e.split("s ", 1)[1] for e in verdict.events if "leader" in e] == [
        "waiting for a leader in ZooKeeper", "leader http://am-1:8081 published in ZooKeeper"], verdict.events


def test_without_a_published_leader_the_framework_level_times_out() -> None:
    now = [0.0]
    probes = readiness.Probes(alive=lambda: True, overview=lambda: {"taskmanagers": 0}, framework=lambda: {"id": "f"},
                              leader=lambda: None)
    verdict = readiness.wait_ready("framework", probes, timeout=5, settle=0.0, interval=1.0,
                                   clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not verdict.ready and verdict.reason == "timeout" and verdict.leader is None


def test_the_rest_level_never_asks_for_the_leader() -> None:
    def leader() -> None:
        raise AssertionError("the leader is a condition of the framework level only")

    probes = readiness.Probes(alive=lambda: True, overview=lambda: {"taskmanagers": 0}, framework=lambda: None,
                              leader=leader)
    now = [0.0]
    verdict = readiness.wait_ready("rest", probes, timeout=5, settle=0.0, interval=1.0,
                                   clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert verdict.ready

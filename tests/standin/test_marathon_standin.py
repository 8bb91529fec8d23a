"""Unit and process tests of the TEST-ONLY Marathon stand-in (NOT Marathon): flags, app validation and
defaults, the task environment, offer matching, RecordIO decoding, and the real entry point as a process
(unknown flags, zk:// masters, MARATHON_* environment variables, banner, SIGTERM).

Why: a role converged against the stand-in sees these answers first; each is pinned here to the Marathon
source or documentation it imitates (see tests/marathon_standin/README.md).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from standin_net import free_port, wait_for

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "marathon_standin"))

import marathon_standin as standin  # noqa: E402  pylint: disable=wrong-import-position
import marathon_standin_apps as apps  # noqa: E402  pylint: disable=wrong-import-position
import marathon_standin_core as core  # noqa: E402  pylint: disable=wrong-import-position
import marathon_standin_mesos as mesos  # noqa: E402  pylint: disable=wrong-import-position

SCRIPT = Path(__file__).resolve().parents[1] / "marathon_standin" / "marathon_standin.py"
STANDIN_DIR = SCRIPT.parent


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARATHON_", "MESOSPHERE_"))}
    env.update(extra)
    return env


# -- flags -------------------------------------------------------------------------------------------------

def test_flags_both_syntaxes_environment_and_command_line_wins() -> None:
    flags = standin.load_flags(["--master", "10.0.0.1:5050", "--http_port=9090", "--framework_name", "flink"],
                               {"MARATHON_FRAMEWORK_NAME": "from-env", "MARATHON_MESOS_ROLE": "flink",
                                "MARATHON_APP_ID": "/ignored-task-variable"})
    assert (flags["master"], flags["http_port"], flags["framework_name"], flags["mesos_role"]) == (
        "10.0.0.1:5050", 9090, "flink", "flink")
    assert (flags["failover_timeout"], flags["task_launch_timeout"]) == (604800, 300000)
    assert flags["http_address"] == "0.0.0.0"
    assert flags["hostname"] == socket.gethostname() and flags["mesos_user"]
    env_only = standin.load_flags([], {"MARATHON_MASTER": "m:5050", "MARATHON_HTTP_PORT": "8181",
                                       "MARATHON_DISABLE_HA": ""})
    assert (env_only["master"], env_only["http_port"], env_only["ignored"]) == ("m:5050", 8181, {"ha": False})
    ignored = standin.load_flags(["--master=m:1", "--zk", "zk://z:2181/marathon", "--disable_ha"], {})
    assert ignored["ignored"] == {"zk": "zk://z:2181/marathon", "ha": False}


@pytest.mark.parametrize("argv, message", [
    (["--master=m:1", "--bogus=1"], "Unknown option 'bogus'"),
    (["--http_port=80"], "Required option 'master' not found"),
    (["--master=m:1", "--http_port"], "Option 'http_port' needs one argument"),
    (["--master=m:1", "--http_port=eighty"], "Bad argument for option 'http_port'"),
    (["--master=m:1", "stray"], "Excess arguments provided"),
    (["--master=m:1", "--http_credentials=nocolon"], "expected username:password"),
])
def test_bad_command_lines_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(standin.FlagError, match=message):
        standin.load_flags(argv, {})


def test_master_addresses() -> None:
    assert mesos.parse_masters("127.0.0.1:5050") == [("127.0.0.1", 5050)]
    assert mesos.parse_masters("http://m1:5050,http://m2:5051/") == [("m1", 5050), ("m2", 5051)]
    with pytest.raises(ValueError, match="ZooKeeper master URLs are not served.*give host:port"):
        mesos.parse_masters("zk://zk1:2181/mesos")
    with pytest.raises(ValueError, match="expected host:port"):
        mesos.parse_masters("m1")


# -- apps --------------------------------------------------------------------------------------------------

def test_defaults_are_marathons() -> None:
    app = apps.normalize("/flink/session", {"cmd": "run", "healthChecks": [{"protocol": "TCP"}],
                                            "uris": ["http://x/flink.tgz", "http://x/conf.yaml"]})
    assert (app["instances"], app["cpus"], app["mem"], app["disk"], app["gpus"]) == (1, 1.0, 128.0, 0.0, 0)
    assert (app["backoffSeconds"], app["backoffFactor"], app["maxLaunchDelaySeconds"]) == (1, 1.15, 3600)
    assert (app["env"], app["labels"], app["constraints"], app["requirePorts"]) == ({}, {}, [], False)
    assert app["portDefinitions"] == [{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}]
    assert app["healthChecks"] == [{"gracePeriodSeconds": 300, "intervalSeconds": 60, "maxConsecutiveFailures": 3,
                                    "timeoutSeconds": 20, "delaySeconds": 15, "protocol": "TCP", "portIndex": 0}]
    assert [(f["uri"], f["extract"]) for f in app["fetch"]] == [("http://x/flink.tgz", True),
                                                                ("http://x/conf.yaml", False)]
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0}
    assert apps.normalize("/a", {"args": ["sleep", "1"], "ports": [0, 0]})["portDefinitions"] == [
        {"port": 0, "protocol": "tcp", "labels": {}}, {"port": 0, "protocol": "tcp", "labels": {}}]


def details(app_id: str, body: Any) -> tuple[str, dict[str, list[str]]]:
    with pytest.raises(apps.Invalid) as err:
        apps.normalize(app_id, body)
    return err.value.message, {d["path"]: d["errors"] for d in err.value.details}


def test_validation_messages_and_paths() -> None:
    assert details("/a", {"cmd": "x", "instances": -1}) == ("Object is not valid",
                                                            {"/instances": ["got -1, expected 0 or more"]})
    assert details("/a", {"cmd": "x", "cpus": 0}) == ("Object is not valid",
                                                      {"/cpus": ["got 0.0, expected 0.001 or more"]})
    assert details("/a", {"cmd": "x", "instances": 1.5})[1] == {"/instances": ["error.expected.int"]}
    assert details("/a", {"cmd": "x", "args": ["y"]})[1]["/"] == [
        "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."]
    assert details("/a/restart", {"cmd": "x"})[1]["/id"] == [
        "must not end with any of the following reserved keywords: restart, tasks, versions, ., .."]
    assert details("/-a", {"cmd": "x"})[1]["/id"] == [f"must fully match regular expression '{apps.SEGMENT_PATTERN}'"]
    assert details("/a", {"cmd": "x", "portDefinitions": [{"port": 80}, {"port": 80}]})[1] == {
        "/portDefinitions": ["Ports must be unique."]}
    assert details("/a", {"cmd": "x", "healthChecks": [{"protocol": "HTTPS"}]})[1]["/healthChecks(0)/protocol"]
    assert details("/a", {"cmd": "x", "healthChecks": [{"protocol": "SMTP"}]}) == (
        "Invalid JSON", {"/healthChecks(0)/protocol": ["SMTP is not a valid protocol"]})
    assert details("/a", {"cmd": "x", "constraints": [["hostname", "NEAR"]]})[1]["/constraints(0)"][0].startswith(
        "Constraint operator must be one of the following: [UNIQUE, LIKE, CLUSTER")
    assert details("/a", {"cmd": "x", "env": {"SECRET": {"secret": "s"}}})[1]["/env/SECRET"]
    assert details("/a", ["not", "an", "object"]) == ("Invalid JSON", {"/": ["error.expected.jsobject"]})


def test_partial_update_keeps_absent_fields() -> None:
    stored = {"cmd": "run", "env": {"A": "1"}, "instances": 1, "ports": [0]}
    merged = apps.merge_update(stored, {"instances": 3, "portDefinitions": [{"port": 0, "name": "http"}]})
    assert merged == {"cmd": "run", "env": {"A": "1"}, "instances": 3, "portDefinitions": [{"port": 0, "name": "http"}]}
    assert apps.merge_update({"cmd": "run"}, {"args": ["a"]}) == {"args": ["a"]}


def test_task_environment_like_marathons_task_builder() -> None:
    app = apps.normalize("/g/web", {"cmd": "run", "cpus": 0.5, "labels": {"team.name": "flink"},
                                    "env": {"PORT": "overridden"},
                                    "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0}]})
    env = apps.task_environment(app, "2024-01-01T00:00:00.000Z", "g_web.1", "agent-1", [31001, 31002])
    assert env["MESOS_TASK_ID"] == "g_web.1" and env["MARATHON_APP_ID"] == "/g/web"
    assert (env["MARATHON_APP_RESOURCE_CPUS"], env["MARATHON_APP_RESOURCE_MEM"], env["MARATHON_APP_RESOURCE_GPUS"]) == (
        "0.5", "128.0", "0")
    assert (env["MARATHON_APP_LABELS"], env["MARATHON_APP_LABEL_TEAM_NAME"]) == ("TEAM_NAME", "flink")
    assert (env["PORT0"], env["PORT1"], env["PORT_HTTP"], env["PORT_31002"], env["PORTS"]) == (
        "31001", "31002", "31001", "31002", "31001,31002")
    assert (env["HOST"], env["PORT"]) == ("agent-1", "overridden"), "the app's env wins, as in TaskBuilder"
    assert apps.safe_path("/g/web") == "g_web" and apps.task_name("/g/web") == "web.g"
    assert apps.instance_id_of("g_web.5a1b") == "g_web.marathon-5a1b"


def test_hostname_constraints() -> None:
    assert apps.constraint_allows(["hostname", "CLUSTER", "a1"], "a1", [])
    assert not apps.constraint_allows(["hostname", "CLUSTER", "a1"], "a2", [])
    assert apps.constraint_allows(["hostname", "LIKE", "a[0-9]"], "a7", [])
    assert not apps.constraint_allows(["hostname", "LIKE", "a"], "a7", []), "LIKE matches the whole hostname"
    assert not apps.constraint_allows(["hostname", "UNIQUE"], "a1", ["a1"])
    assert apps.constraint_allows(["hostname", "UNIQUE"], "a2", ["a1"])


def test_offer_pool_takes_scalars_ports_and_respects_roles() -> None:
    offer = {"resources": [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}, "role": "*", "allocation_info": {"role": "*"}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 100.0}, "role": "*"},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": 50.0}, "role": "flink"},
        {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31001}]}, "role": "*"}]}
    pool = core._Pool(offer)  # pylint: disable=protected-access
    app = apps.normalize("/a", {"cmd": "x", "cpus": 0.4, "mem": 60, "portDefinitions": [{"port": 0}]})
    resources, ports = pool.take(app, {"*"})
    assert ports[0] in (31000, 31001)
    assert {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.4}, "role": "*",
            "allocation_info": {"role": "*"}} in resources
    assert pool.take(app, {"*"}) is None, "40 MB of unreserved mem are left, the app needs 60"
    resources, ports = pool.take(app, {"*", "flink"})
    assert sorted(r["scalar"]["value"] for r in resources if r["name"] == "mem") == [20.0, 40.0]
    assert pool.take(app, {"*", "flink"}) is None, "no port left"
    fixed = apps.normalize("/b", {"cmd": "x", "cpus": 0.1, "mem": 1, "requirePorts": True,
                                  "portDefinitions": [{"port": 31001}]})
    assert core._Pool(offer).take(fixed, {"*"})[1] == [31001]  # pylint: disable=protected-access


def test_recordio_decoder_handles_any_chunking() -> None:
    events = [{"type": "HEARTBEAT"}, {"type": "UPDATE", "update": {"status": {"message": "ü" * 3}}}]
    stream = b"".join(str(len(e)).encode() + b"\n" + e for e in (json.dumps(x).encode() for x in events))
    for size in (1, 3, len(stream)):
        decoder = mesos.RecordIODecoder()
        records = [r for i in range(0, len(stream), size) for r in decoder.feed(stream[i:i + size])]
        assert [json.loads(r) for r in records] == events
    with pytest.raises(ValueError):
        mesos.RecordIODecoder().feed(b"x\n{}")


def test_versions_are_iso8601_and_strictly_increasing() -> None:
    clock = apps.Clock()
    versions = [clock.now() for dummy in range(50)]
    assert versions == sorted(set(versions))
    assert all(len(v) == 24 and v.endswith("Z") and v[10] == "T" for v in versions)


# -- the entry point as a process --------------------------------------------------------------------------

def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=20, check=False, cwd="/")


def test_process_refuses_unknown_flags_and_zookeeper_masters() -> None:
    bogus = run(["--master=127.0.0.1:5050", "--bogus", "1"], clean_env())
    assert bogus.returncode == 1
    assert bogus.stderr.splitlines()[0] == "marathon-standin: TEST-ONLY STAND-IN, NOT MARATHON"
    assert "Unknown option 'bogus'" in bogus.stderr
    zk = run(["--master", "zk://zk-1:2181/mesos"], clean_env())
    assert zk.returncode == 1 and "give host:port" in zk.stderr and "ZooKeeper" in zk.stderr
    missing = run([], clean_env())
    assert missing.returncode == 1 and "Required option 'master' not found" in missing.stderr
    assert run(["--version"], clean_env()).stdout.strip() == "1.11.0-standin"


def test_process_takes_flags_from_the_environment_and_stops_on_sigterm() -> None:
    """MARATHON_HTTP_PORT is honoured; the command line wins over MARATHON_FRAMEWORK_NAME; no master is
    running, so the stand-in keeps retrying the subscription while serving its REST API."""
    port = free_port()
    env = clean_env(MARATHON_HTTP_PORT=str(port), MARATHON_MASTER=f"127.0.0.1:{free_port()}",
                    MARATHON_HTTP_ADDRESS="127.0.0.1", MARATHON_FRAMEWORK_NAME="from-env", PYTHONPATH="")
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--framework_name=from-cli"], env=env, cwd="/",
                               stderr=subprocess.PIPE, text=True)
    try:
        def ping() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp:
                assert resp.headers["Server"] == "marathon-standin/1.11.0-standin (TEST-ONLY STAND-IN, NOT MARATHON)"
                return resp.read() == b"pong"
        wait_for(ping)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/info", timeout=5) as resp:
            info = json.load(resp)
        assert info["http_config"]["http_port"] == port
        assert info["marathon_config"]["framework_name"] == "from-cli"
        assert info["frameworkId"] is None, "no master: not subscribed"
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        stderr = process.stderr.read() if process.stderr else ""
        assert stderr.splitlines()[0] == "marathon-standin: TEST-ONLY STAND-IN, NOT MARATHON"
        assert "cannot subscribe to the Mesos master" in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)

"""The appmaster module's own I/O: how it writes the unit file, and input refused before anything changes.

Why: the unit file holds the framework secret when one is set, so it must never be readable beyond 0600, not
even while it is being replaced, and it must be replaced atomically (systemd may read it at any moment). The
module uses module.atomic_move for that; these tests run it with a real AnsibleModule on files in tmp_path.
They also pin that writing the same unit twice changes nothing (idempotence) and that check mode writes nothing.
"""
from __future__ import annotations

import json
import stat
import types
from pathlib import Path
from typing import Any, Dict, List

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.streamops.flink_mesos.tests.unit.plugins.modules.module_args import patch_module_args
from ansible_collections.streamops.flink_mesos.plugins.modules import appmaster

UNIT = "[Unit]\nDescription=Flink appmaster demo\n[Service]\nExecStart=/opt/flink/bin/mesos-appmaster.sh\n"


def make_module(check_mode: bool = False, diff: bool = False, **params: Any) -> AnsibleModule:
    """A real AnsibleModule with the appmaster's argument spec, as Ansible would create it."""
    args = dict(params, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        return AnsibleModule(argument_spec=appmaster.argument_spec(), supports_check_mode=True)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class RecordingSystemd:
    """Stands in for systemctl: records the commands the manager would run."""

    def __init__(self) -> None:
        self.commands: List[tuple] = []

    def run(self, *args: str, check: bool = True) -> str:
        self.commands.append(args)
        return ""


@pytest.mark.parametrize("secrets,expected", [([], 0o644), (["s3cret"], 0o600)])
def test_new_unit_file_gets_its_mode(tmp_path: Path, secrets: List[str], expected: int) -> None:
    path = tmp_path / "flink-appmaster-demo.service"
    appmaster.install_file(make_module(), str(path), UNIT, appmaster.unit_file_mode(secrets))
    assert path.read_text(encoding="utf-8") == UNIT
    assert mode_of(path) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left behind


def test_adding_a_secret_tightens_an_existing_unit(tmp_path: Path) -> None:
    path = tmp_path / "flink-appmaster-demo.service"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o644)
    appmaster.install_file(make_module(), str(path), UNIT, appmaster.unit_file_mode(["s3cret"]))
    assert path.read_text(encoding="utf-8") == UNIT
    assert mode_of(path) == 0o600


def test_a_new_file_is_private_while_it_is_moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """atomic_move gives a newly created file 0666 & ~umask; the umask in force then must hide it."""
    seen: Dict[str, int] = {}
    module = make_module()
    real_move = module.atomic_move

    def spying_move(src: str, dest: str, **kwargs: Any) -> None:
        real_move(src, dest, **kwargs)
        seen["mode_after_move"] = mode_of(Path(dest))

    monkeypatch.setattr(module, "atomic_move", spying_move)
    path = tmp_path / "flink-appmaster-demo.service"
    appmaster.install_file(module, str(path), UNIT, 0o600)
    assert seen["mode_after_move"] == 0o600


@pytest.mark.parametrize("old_mode,new_mode", [(0o644, 0o600), (0o600, 0o644)])
def test_replacing_never_exposes_a_secret_on_any_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      old_mode: int, new_mode: int) -> None:
    """Whatever atomic_move does with the old file's attributes, no moment gives either content more than it had.

    ansible-core 2.16 copies the old file's mode onto the new one (no keep_dest_attrs); the spy does that too,
    so the test holds for every supported core. Before the move the old file (which may hold the secret) is never
    loosened, and right after it the new file is at most as open as both modes allow.
    """
    seen: Dict[str, int] = {}
    module = make_module()
    real_move = module.atomic_move

    def move_like_core_2_16(src: str, dest: str, **kwargs: Any) -> None:
        assert not kwargs, "atomic_move must be called the way ansible-core 2.16 accepts"
        seen["old_before_move"] = mode_of(Path(dest))
        Path(src).chmod(mode_of(Path(dest)))
        real_move(src, dest)
        seen["new_after_move"] = mode_of(Path(dest))

    monkeypatch.setattr(module, "atomic_move", move_like_core_2_16)
    path = tmp_path / "flink-appmaster-demo.service"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(old_mode)
    appmaster.install_file(module, str(path), UNIT, new_mode)
    assert seen["old_before_move"] == old_mode & new_mode
    assert seen["new_after_move"] == old_mode & new_mode
    assert mode_of(path) == new_mode and path.read_text(encoding="utf-8") == UNIT


def manager(tmp_path: Path, check_mode: bool = False, diff: bool = False) -> appmaster.AppmasterManager:
    """A manager whose unit lives in tmp_path and whose desired unit is UNIT (no secret)."""
    mgr = appmaster.AppmasterManager(make_module(check_mode=check_mode, diff=diff, name="demo"))
    mgr.unit_path = str(tmp_path / mgr.unit)
    mgr.desired = UNIT
    mgr.secrets = []
    return mgr


def test_write_unit_writes_once_then_is_idempotent(tmp_path: Path) -> None:
    sd = RecordingSystemd()
    first = manager(tmp_path, diff=True)
    first.write_unit(sd)
    assert first.result["changed"] is True and first.files_changed is True
    assert first.result["diff"]["after"] == UNIT
    assert Path(first.unit_path).read_text(encoding="utf-8") == UNIT
    assert sd.commands == [("daemon-reload",)]

    again = manager(tmp_path)
    again.write_unit(sd)
    assert again.result["changed"] is False and again.files_changed is False
    assert sd.commands == [("daemon-reload",)]  # no second reload


def test_write_unit_in_check_mode_writes_nothing(tmp_path: Path) -> None:
    sd = RecordingSystemd()
    mgr = manager(tmp_path, check_mode=True, diff=True)
    mgr.write_unit(sd)
    assert mgr.result["changed"] is True
    assert mgr.result["diff"]["before"] == ""
    assert not Path(mgr.unit_path).exists()
    assert not sd.commands


def test_http_options_reach_the_manager() -> None:
    mgr = appmaster.AppmasterManager(make_module(name="demo", validate_certs=False, ca_path="/etc/ca.pem"))
    assert mgr.http.validate_certs is False
    assert mgr.http.ca_path == "/etc/ca.pem"


def test_job_mode_without_a_jobgraph_is_refused(capsys: pytest.CaptureFixture) -> None:
    """Refused in check mode already, before systemctl or any file is looked at."""
    with patch_module_args({"name": "demo", "mode": "job", "_ansible_check_mode": True}):
        with pytest.raises(SystemExit) as exc:
            appmaster.main()
    assert exc.value.code == 1
    result = json.loads(capsys.readouterr().out)
    assert result.get("failed") is True
    assert result["msg"].startswith("jobgraph_path: required with mode=job"), result["msg"]


# ---- ZooKeeper HA: the stored FrameworkID before a start ----------------------------------------------------------

class FakeZooKeeper:
    """Stands in for module_utils.zookeeper.Client: one znode store shared by every client of a test."""

    def __init__(self, nodes: Dict[str, bytes], fail: bool = False) -> None:
        self.nodes, self.fail, self.writes = nodes, fail, []

    def __call__(self, quorum: str, timeout: float = 5.0) -> "FakeZooKeeper":
        self.quorum = quorum
        return self

    def __enter__(self) -> "FakeZooKeeper":
        if self.fail:
            raise appmaster.zookeeper.ConnectionFailed(-4, "", "no ZooKeeper server of 'zk-1:2181' accepted a session")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None

    def get(self, path: str) -> Any:
        return self.nodes.get(path)

    def set(self, path: str, data: bytes) -> bool:
        self.writes.append((path, data))
        self.nodes[path] = data
        return True

    def exists(self, path: str) -> bool:
        return any(p == path or p.startswith(path + "/") for p in self.nodes)

    def children(self, path: str) -> List[str]:
        return sorted({p[len(path) + 1:].split("/")[0] for p in self.nodes if p.startswith(path + "/")})

    def delete_tree(self, path: str) -> int:
        gone = [p for p in self.nodes if p == path or p.startswith(path + "/")]
        for p in gone:
            del self.nodes[p]
        self.writes.append((path, None))
        return len(gone) + 1  # the fake keeps leaves only; the tree's own node counts too


ZNODE = "/flink/demo/mesos-workers/frameworkId"
MESOS = {"frameworks": [{"id": "m-0002", "active": False}], "completed_frameworks": [{"id": "m-0001"}]}


def ha_manager(monkeypatch: pytest.MonkeyPatch, zk: FakeZooKeeper, check_mode: bool = False,
               answer: Any = None) -> appmaster.AppmasterManager:
    mgr = appmaster.AppmasterManager(make_module(check_mode=check_mode, name="demo"))
    mgr.ha = appmaster.ha.settings({"high-availability": "zookeeper", "high-availability.zookeeper.quorum": "zk-1:2181",
                                    "high-availability.cluster-id": "/demo"})
    mgr.result["ha"] = appmaster.ha.describe(mgr.ha)
    mgr.mesos_api = "http://master:5050"
    warnings: List[str] = []
    monkeypatch.setattr(mgr.module, "warn", warnings.append)
    mgr.warnings = warnings  # type: ignore[attr-defined]
    monkeypatch.setattr(appmaster.zookeeper, "Client", zk)
    monkeypatch.setattr(appmaster.rest, "get_json", lambda url, **kw: MESOS if answer is None else answer)
    return mgr


def test_a_framework_id_mesos_removed_is_cleared_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    zk = FakeZooKeeper({ZNODE: b"m-0001"})
    mgr = ha_manager(monkeypatch, zk)
    mgr.check_stored_framework()
    assert zk.writes == [(ZNODE, b"")]  # the value Flink itself writes for "no framework"
    assert mgr.result["ha"]["cleared"] is True and mgr.result["ha"]["stored_framework_state"] == "removed"
    assert mgr.expected_framework_id is None
    assert len(mgr.warnings) == 1 and "m-0001" in mgr.warnings[0] and ZNODE in mgr.warnings[0]


def test_check_mode_only_says_what_it_would_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    zk = FakeZooKeeper({ZNODE: b"m-0001"})
    mgr = ha_manager(monkeypatch, zk, check_mode=True)
    mgr.check_stored_framework()
    assert zk.writes == [] and zk.nodes[ZNODE] == b"m-0001"
    assert mgr.result["ha"]["cleared"] is False and "would clear it" in mgr.result["ha"]["message"]


@pytest.mark.parametrize("stored, answer, state", [(b"m-0002", None, "active"), (b"m-0009", None, "unknown"),
                                                   (b"m-0001", {}, "unknown")])
def test_any_other_framework_id_is_kept_and_expected_back(monkeypatch: pytest.MonkeyPatch, stored: bytes,
                                                          answer: Any, state: str) -> None:
    zk = FakeZooKeeper({ZNODE: stored})
    mgr = ha_manager(monkeypatch, zk, answer=answer)
    mgr.check_stored_framework()
    assert zk.writes == [] and not mgr.warnings
    assert mgr.result["ha"]["stored_framework_state"] == state
    assert mgr.expected_framework_id == stored.decode()


def test_a_new_framework_id_after_an_ha_restart_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = ha_manager(monkeypatch, FakeZooKeeper({ZNODE: b"m-0002"}))
    mgr.check_stored_framework()
    mgr.framework_name, mgr.rpc_address = "Flink", "am-1"
    monkeypatch.setattr(appmaster.rest, "active_framework", lambda *a, **kw: {"id": "m-0003"})
    assert mgr.current_framework() is None
    assert mgr.result["ha"]["registered_framework_id"] == "m-0003"
    monkeypatch.setattr(appmaster.rest, "active_framework", lambda *a, **kw: {"id": "m-0002"})
    assert mgr.current_framework() == {"id": "m-0002"}


def test_a_kept_framework_id_expects_the_taskmanagers_it_had(monkeypatch: pytest.MonkeyPatch) -> None:
    workers = "/flink/demo/mesos-workers/workers"
    zk = FakeZooKeeper({ZNODE: b"m-0002", f"{workers}/taskmanager-00001/lock": b"",
                        f"{workers}/taskmanager-00002": b""})
    mgr = ha_manager(monkeypatch, zk)
    mgr.check_stored_framework()
    assert mgr.expected_workers == 2 and mgr.result["ha"]["expected_taskmanagers"] == 2
    assert not mgr.whole_probe({"taskmanagers": 1}) and mgr.whole_probe({"taskmanagers": 2})


def test_a_cleared_framework_id_expects_no_taskmanagers(monkeypatch: pytest.MonkeyPatch) -> None:
    zk = FakeZooKeeper({ZNODE: b"m-0001", "/flink/demo/mesos-workers/workers/taskmanager-00001": b""})
    mgr = ha_manager(monkeypatch, zk)
    mgr.check_stored_framework()
    assert mgr.result["ha"]["cleared"] is True and mgr.expected_workers == 0
    assert mgr.whole_probe({"taskmanagers": 0})


LEADER_ZNODE = "/flink/demo/leader/rest_server_lock"


def leader_data(address: bytes) -> bytes:
    """The stream header, then writeUTF(address) in a block-data record, as ObjectOutputStream writes it (then the
    start of the leader session UUID object, which the decoder does not read)."""
    return b"\xac\xed\x00\x05" + bytes([0x77, len(address) + 2]) + len(address).to_bytes(2, "big") + address + b"\x73\x72"


def test_the_leader_probe_reads_the_leader_zookeeper_names(monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = ha_manager(monkeypatch, FakeZooKeeper({LEADER_ZNODE: leader_data(b"http://am-2:8081")}))
    probe = mgr.leader_probe()
    assert probe is not None and probe() == "http://am-2:8081"
    mgr.p["wait_for"] = "framework"
    mgr.record_verdict(appmaster.readiness.Verdict(ready=True, reason="ready", leader=probe()))
    assert mgr.result["ha"]["leader_rest_address"] == "http://am-2:8081"


def test_no_leader_znode_is_no_leader_yet_and_no_ha_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = ha_manager(monkeypatch, FakeZooKeeper({ZNODE: b""}))
    probe = mgr.leader_probe()
    assert probe is not None and probe() is None
    mgr.ha = None
    assert mgr.leader_probe() is None


class Failed(Exception):
    """fail_json, caught: the module's message and result."""


def test_a_timeout_without_a_leader_names_the_leader_znode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """REST answered and the framework is active, but no leader znode: the cause says where Flink publishes it."""
    mgr = ha_manager(monkeypatch, FakeZooKeeper({ZNODE: b""}))
    mgr.check_stored_framework()
    mgr.log_file, mgr.secrets, mgr.unit = str(tmp_path / "absent.log"), [], "flink-appmaster-demo.service"
    mgr.files_changed = mgr.unit_rewritten = False
    monkeypatch.setattr(appmaster.time, "sleep", lambda s: None)
    seen: Dict[str, Any] = {}

    def fail_json(msg: str, **result: Any) -> None:
        seen.update(result, msg=msg)
        raise Failed(msg)

    monkeypatch.setattr(mgr.module, "fail_json", fail_json)
    sd = types.SimpleNamespace(journal=lambda: "", run=lambda *a, **kw: None)
    verdict = appmaster.readiness.Verdict(ready=False, reason="timeout", overview={"taskmanagers": 0},
                                          framework={"id": "m-0003"})
    with pytest.raises(Failed):
        mgr.fail_not_ready(sd, verdict)
    assert seen["cause_id"] == "ha_no_leader", seen
    assert LEADER_ZNODE in seen["msg"] and "high-availability.cluster-id" in seen["msg"], seen["msg"]


def test_zookeeper_not_answering_fails_before_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = ha_manager(monkeypatch, FakeZooKeeper({}, fail=True))

    def fail_json(msg: str, **result: Any) -> None:
        raise Failed(msg)

    monkeypatch.setattr(mgr.module, "fail_json", fail_json)
    with pytest.raises(Failed) as exc:
        mgr.check_stored_framework()
    msg = str(exc.value)
    assert msg.startswith(f"high-availability.zookeeper.quorum: could not read {ZNODE} from ZooKeeper at zk-1:2181"), msg
    assert "nothing was started" in msg


# The stored framework m-1 was torn down: the master lists it as completed, so its HA state may go.
TORN_DOWN = {"frameworks": [], "completed_frameworks": [{"id": "m-1"}]}


def absent_manager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, zk: FakeZooKeeper, check_mode: bool = False,
                   cluster_id: str = "/demo", answer: Any = None) -> appmaster.AppmasterManager:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "flink-conf.yaml").write_text(
        "high-availability: zookeeper\nhigh-availability.zookeeper.quorum: zk-1:2181\n"
        f"high-availability.cluster-id: {cluster_id}\nhigh-availability.storageDir: file://{tmp_path}/ha\n"
        "mesos.master: master-1:5050\n",
        encoding="utf-8")
    mgr = appmaster.AppmasterManager(make_module(check_mode=check_mode, name="demo", state="absent",
                                                 conf_dir=str(conf), remove_ha_state=True))
    mgr.unit_path = str(tmp_path / mgr.unit)
    monkeypatch.setattr(appmaster.zookeeper, "Client", zk)
    asked: List[str] = []

    def get_json(url: str, **kw: Any) -> Any:
        asked.append(url)
        if isinstance(answer, Exception):
            raise answer
        return TORN_DOWN if answer is None else answer

    monkeypatch.setattr(appmaster.rest, "get_json", get_json)
    mgr.asked = asked  # type: ignore[attr-defined]
    return mgr


@pytest.mark.parametrize("answer, fragment", [
    ({"frameworks": [{"id": "m-1", "active": True}], "completed_frameworks": []}, "is still registered"),
    # Disconnected but within its failover timeout: its TaskManagers still run.
    ({"frameworks": [{"id": "m-1", "active": False}], "completed_frameworks": []}, "is still registered"),
    (appmaster.rest.HttpError("GET http://master-1:5050/master/frameworks: connection refused"), "could not be asked"),
])
def test_remove_ha_state_refuses_while_the_framework_may_live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              answer: Any, fragment: str) -> None:
    zk = FakeZooKeeper({ZNODE: b"m-1", "/flink/demo/leader/x": b""})
    (tmp_path / "ha" / "demo").mkdir(parents=True)
    mgr = absent_manager(monkeypatch, tmp_path, zk, answer=answer)

    def fail_json(msg: str, **result: Any) -> None:
        raise Failed(msg)

    monkeypatch.setattr(mgr.module, "fail_json", fail_json)
    mgr.prepare()
    with pytest.raises(Failed) as exc:
        mgr.remove_ha_state()
    msg = str(exc.value)
    assert fragment in msg and "framework m-1" in msg and "No HA state was removed" in msg, msg
    assert mgr.asked == ["http://master-1:5050/master/frameworks"]  # type: ignore[attr-defined]
    assert zk.writes == [] and set(zk.nodes) == {ZNODE, "/flink/demo/leader/x"} and (tmp_path / "ha" / "demo").is_dir()


def test_remove_ha_state_without_a_stored_framework_asks_no_master(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    zk = FakeZooKeeper({ZNODE: b"", "/flink/demo/leader/x": b""})
    mgr = absent_manager(monkeypatch, tmp_path, zk, answer=AssertionError("the master must not be asked"))
    mgr.prepare()
    mgr.remove_ha_state()
    assert mgr.asked == [] and list(zk.nodes) == []  # type: ignore[attr-defined]


def test_remove_ha_state_removes_only_this_clusters_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    zk = FakeZooKeeper({ZNODE: b"m-1", "/flink/demo/leader/x": b"", "/flink/other/mesos-workers/frameworkId": b"m-9"})
    (tmp_path / "ha" / "demo" / "blob").mkdir(parents=True)
    (tmp_path / "ha" / "other").mkdir(parents=True)
    mgr = absent_manager(monkeypatch, tmp_path, zk)
    mgr.prepare()
    mgr.remove_ha_state()
    assert list(zk.nodes) == ["/flink/other/mesos-workers/frameworkId"]
    assert not (tmp_path / "ha" / "demo").exists() and (tmp_path / "ha" / "other").is_dir()
    removed = mgr.result["ha_removed"]
    assert removed["cluster_path"] == "/flink/demo" and removed["storage_removed"] is True
    assert mgr.result["changed"] is True


def test_remove_ha_state_in_check_mode_removes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    zk = FakeZooKeeper({ZNODE: b"m-1"})
    (tmp_path / "ha" / "demo").mkdir(parents=True)
    mgr = absent_manager(monkeypatch, tmp_path, zk, check_mode=True)
    mgr.prepare()
    mgr.remove_ha_state()
    assert zk.writes == [] and ZNODE in zk.nodes and (tmp_path / "ha" / "demo").is_dir()
    assert mgr.result["ha_removed"]["message"].startswith("would remove 3 znode(s) under /flink/demo")
    assert mgr.result["changed"] is True


def test_remove_ha_state_refuses_the_shared_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mgr = absent_manager(monkeypatch, tmp_path, FakeZooKeeper({}), cluster_id="/")

    def fail_json(msg: str, **result: Any) -> None:
        raise Failed(msg)

    monkeypatch.setattr(mgr.module, "fail_json", fail_json)
    with pytest.raises(Failed, match="every cluster on this ZooKeeper shares"):
        mgr.prepare()


def test_remove_ha_state_needs_state_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = appmaster.AppmasterManager(make_module(name="demo", state="started", remove_ha_state=True))

    def fail_json(msg: str, **result: Any) -> None:
        raise Failed(msg)

    monkeypatch.setattr(mgr.module, "fail_json", fail_json)
    with pytest.raises(Failed, match="remove_ha_state: only valid with state=absent"):
        mgr.prepare()


# ---- supervisor: marathon ----

class FakeMarathon:
    """Stands in for module_utils.marathon.MarathonClient: one app, tasks the test places, requests recorded."""

    def __init__(self, app: Any = None) -> None:
        self.app, self.calls = app, []

    def app_url(self, app_id: str) -> str:
        return f"http://marathon:8080/v2/apps{app_id}"

    def get_app(self, app_id: str) -> Any:
        self.calls.append(("GET", app_id))
        return self.app

    def put_app(self, app_id: str, app: Dict[str, Any], force: bool = False) -> Dict[str, Any]:
        self.calls.append(("PUT", app_id, app))
        running = app.get("instances", 1) > 0
        tasks = [{"id": f"t-{len(self.calls)}", "host": "agent-1", "state": "TASK_RUNNING"}] if running else []
        self.app = {**app, "version": "v2", "tasksRunning": len(tasks), "tasksHealthy": 0, "tasks": tasks,
                    "deployments": []}
        return {"deploymentId": "d-1", "version": "v2"}

    def delete_app(self, app_id: str, force: bool = False) -> Dict[str, Any]:
        self.calls.append(("DELETE", app_id))
        self.app = None
        return {"deploymentId": "d-2"}


def flink_layout(tmp_path: Path, ha_on: bool = True, extra: str = "") -> Path:
    home = tmp_path / "flink"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    for script in ("mesos-appmaster.sh", "mesos-jobmanager.sh", "config.sh"):
        (home / "bin" / script).write_text("#!/bin/sh\n", encoding="utf-8")
    (home / "conf").mkdir(exist_ok=True)
    (home / "log").mkdir(exist_ok=True)
    conf = "mesos.master: master-1:5050\njobmanager.rpc.address: am-1\njobmanager.memory.process.size: 768m\n"
    if ha_on:
        conf += ("high-availability: zookeeper\nhigh-availability.zookeeper.quorum: zk-1:2181\n"
                 "high-availability.cluster-id: /demo\nhigh-availability.storageDir: hdfs:///ha\n")
    (home / "conf" / "flink-conf.yaml").write_text(conf + extra, encoding="utf-8")
    return home


def marathon_manager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeMarathon, check_mode: bool = False,
                     diff: bool = False, ha_on: bool = True, extra_conf: str = "",
                     **params: Any) -> appmaster.AppmasterManager:
    import pwd  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel
    home = flink_layout(tmp_path, ha_on, extra_conf)
    args = dict(name="demo", flink_home=str(home), user=pwd.getpwuid(os.getuid()).pw_name, supervisor="marathon",
                marathon={"url": "http://marathon:8080"}, wait_for="framework", timeout=5, settle=0)
    args.update(params)
    mgr = appmaster.AppmasterManager(make_module(check_mode=check_mode, diff=diff, **args))
    monkeypatch.setattr(appmaster.marathon, "MarathonClient", lambda *a, **kw: fake)
    monkeypatch.setattr(appmaster.zookeeper, "Client", FakeZooKeeper({ZNODE: b"", LEADER_ZNODE: leader_data(b"http://agent-1:8081")}))
    monkeypatch.setattr(appmaster.rest, "flink_overview", lambda *a, **kw: {"flink-version": "1.13.6"})
    monkeypatch.setattr(appmaster.rest, "active_framework", lambda api, name, host, **kw: {"id": "f-1", "host": host})

    def fail_json(msg: str, **result: Any) -> None:
        raise Failed(msg)

    monkeypatch.setattr(mgr.module, "fail_json", fail_json)
    return mgr


def test_marathon_app_is_the_flink_docs_app_from_the_same_inputs(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    mgr = marathon_manager(monkeypatch, tmp_path, FakeMarathon(),
                           marathon={"url": "http://marathon:8080", "constraints": [["hostname", "CLUSTER", "agent-1"]],
                                     "health_check": {"gracePeriodSeconds": 120}},
                           properties={"taskmanager.numberOfTaskSlots": 2})
    mgr.prepare()
    app = mgr.app
    assert app["id"] == "/flink/demo" and app["instances"] == 1 and app["mem"] == 768 and app["cpus"] == 1.0
    assert app["cmd"].endswith("/flink/bin/mesos-appmaster.sh -Dtaskmanager.numberOfTaskSlots=2"), app["cmd"]
    assert app["env"]["FLINK_CONF_DIR"].endswith("/flink/conf") and app["env"]["FLINK_IDENT_STRING"] == "demo"
    assert app["healthChecks"] == [{"protocol": "HTTP", "path": "/", "port": 8081, "gracePeriodSeconds": 120,
                                    "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3}]
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
    assert app["constraints"] == [["hostname", "CLUSTER", "agent-1"]] and app["portDefinitions"] == []


@pytest.mark.parametrize("params, ha_on, fragment", [
    ({}, False, "supervisor: marathon needs ZooKeeper HA"),
    ({"rpc_address": "am-1"}, True, "rpc_address: not used with supervisor=marathon"),
    ({"marathon": {"url": "http://marathon:8080", "mem": 512}}, True, "marathon.mem: 512 MiB is less than"),
    ({"marathon": {"url": "marathon:8080"}}, True, "marathon.url"),
    ({"marathon": {"url": "http://marathon:8080", "app_id": "/Flink/x"}}, True, "marathon.app_id"),
    ({"marathon": None}, True, "marathon: required with supervisor=marathon"),
])
def test_marathon_inputs_are_refused_before_any_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        params: Dict[str, Any], ha_on: bool, fragment: str) -> None:
    fake = FakeMarathon()
    mgr = marathon_manager(monkeypatch, tmp_path, fake, ha_on=ha_on, **params)
    with pytest.raises(Failed) as exc:
        mgr.prepare()
    assert fragment in str(exc.value), str(exc.value)
    assert fake.calls == []


def test_marathon_start_puts_once_then_is_idempotent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeMarathon()
    mgr = marathon_manager(monkeypatch, tmp_path, fake)
    mgr.prepare()
    mgr.start_marathon(fake.get_app(mgr.app_id))
    assert [c[0] for c in fake.calls[:2]] == ["GET", "PUT"] and [c[0] for c in fake.calls].count("PUT") == 1
    assert mgr.result["changed"] is True and mgr.result["rest_url"] == "http://agent-1:8081"
    assert mgr.result["marathon"]["host"] == "agent-1" and mgr.result["framework_id"] == "f-1"
    assert mgr.result["ha"]["stored_framework_state"] == "none"
    assert mgr.result["ha"]["leader_rest_address"] == "http://agent-1:8081"
    again = marathon_manager(monkeypatch, tmp_path, fake)
    again.prepare()
    again.start_marathon(fake.get_app(again.app_id))
    assert again.result["changed"] is False and again.result["rest_url"] == "http://agent-1:8081"
    assert [c for c in fake.calls if c[0] == "PUT"] == fake.calls[1:2]


def test_marathon_check_mode_puts_nothing_and_shows_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeMarathon()
    mgr = marathon_manager(monkeypatch, tmp_path, fake, check_mode=True, diff=True)
    mgr.prepare()
    mgr.start_marathon(None)
    assert mgr.result["changed"] is True and fake.calls == []
    assert mgr.result["diff"]["before"] == "{}\n" and '"id": "/flink/demo"' in mgr.result["diff"]["after"]


def test_marathon_absent_deletes_the_app_and_tears_down_the_framework(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    fake = FakeMarathon({"id": "/flink/demo", "instances": 1,
                         "tasks": [{"id": "t-1", "host": "agent-1", "state": "TASK_RUNNING"}]})
    mgr = marathon_manager(monkeypatch, tmp_path, fake, state="absent")
    torn: List[str] = []
    frameworks = {"frameworks": [{"id": "f-1", "active": False}], "completed_frameworks": []}
    monkeypatch.setattr(appmaster.rest, "get_json", lambda url, **kw: [] if url.endswith("/jobmanager/config")
                        else frameworks)

    def teardown(api: str, fid: str, **kw: Any) -> None:
        torn.append(f"{api} {fid}")
        frameworks["completed_frameworks"] = frameworks.pop("frameworks")
        frameworks["frameworks"] = []

    monkeypatch.setattr(appmaster.rest, "teardown_framework", teardown)
    mgr.prepare()
    mgr.stop_marathon(fake.get_app(mgr.app_id), remove=True)
    assert ("DELETE", "/flink/demo") in fake.calls and fake.app is None
    assert torn == ["http://master-1:5050 f-1"] and mgr.result["framework_torn_down"] == "f-1"
    assert mgr.result["framework_unregistered"] is True and mgr.result["changed"] is True


def test_marathon_stopped_scales_to_zero_and_keeps_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeMarathon({"id": "/flink/demo", "instances": 1, "cmd": "x", "tasks": []})
    mgr = marathon_manager(monkeypatch, tmp_path, fake, state="stopped")
    mgr.prepare()
    mgr.stop_marathon(fake.get_app(mgr.app_id), remove=False)
    put = [c for c in fake.calls if c[0] == "PUT"]
    assert len(put) == 1 and put[0][2]["instances"] == 0 and put[0][2]["cmd"] == "x" and fake.app is not None
    again = marathon_manager(monkeypatch, tmp_path, fake, state="stopped")
    again.prepare()
    again.stop_marathon(fake.get_app(again.app_id), remove=False)
    assert again.result["changed"] is False


@pytest.mark.parametrize("text, mib", [("768m", 768), ("1g", 1024), ("1600 mb", 1600), ("1048577", 2), ("2G", 2048)])
def test_memory_sizes_in_mib(text: str, mib: int) -> None:
    assert appmaster.spec.memory_mib(text, "k") == mib


def test_a_bad_memory_size_names_the_key() -> None:
    with pytest.raises(appmaster.spec.SpecError, match="jobmanager.memory.process.size: '1.5g' is not a Flink"):
        appmaster.spec.memory_mib("1.5g", "jobmanager.memory.process.size")


@pytest.mark.parametrize("marathon_options, refused", [
    ({}, True),
    ({"constraints": [["hostname", "LIKE", "agent-.*"]]}, True),
    ({"constraints": [["hostname", "CLUSTER", "agent-1"]]}, False),
    ({"storage_shared": True}, False),
])
def test_marathon_refuses_local_ha_storage_an_agent_may_lack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             marathon_options: Dict[str, Any], refused: bool) -> None:
    fake = FakeMarathon()
    mgr = marathon_manager(monkeypatch, tmp_path, fake, extra_conf="high-availability.storageDir: file:///var/lib/ha\n",
                           marathon={"url": "http://marathon:8080", **marathon_options})
    if refused:
        with pytest.raises(Failed, match="high-availability.storageDir: 'file:///var/lib/ha' is a path on the local"):
            mgr.prepare()
    else:
        mgr.prepare()
        assert mgr.app["id"] == "/flink/demo"
    assert fake.calls == []


def test_marathon_start_that_never_gets_ready_scales_the_app_to_zero(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    fake = FakeMarathon()
    mgr = marathon_manager(monkeypatch, tmp_path, fake, timeout=1)
    monkeypatch.setattr(appmaster.rest, "flink_overview", lambda *a, **kw: None)  # REST never answers
    mgr.prepare()
    with pytest.raises(Failed, match=r"did not become ready \(timeout\)"):
        mgr.start_marathon(None)
    puts = [c[2] for c in fake.calls if c[0] == "PUT"]
    assert len(puts) == 2 and puts[0]["instances"] == 1 and puts[1]["instances"] == 0, puts


def test_a_stop_waits_for_the_process_it_asked_to_end_not_for_the_unit() -> None:
    """After DELETE /cluster Flink may exit 2 and systemd schedule a restart: the process ended, the unit did not."""
    import os  # pylint: disable=import-outside-toplevel
    me = os.getpid()
    assert appmaster.process_alive(me, me)
    assert not appmaster.process_alive(me, 0), "activating (auto-restart): no main process, the one asked has ended"
    assert not appmaster.process_alive(me, me + 1), "a restarted appmaster is another process"
    assert not appmaster.process_alive(0, 0)


def test_an_inactive_framework_still_listed_is_not_unregistered(monkeypatch: pytest.MonkeyPatch) -> None:
    mgr = appmaster.AppmasterManager(make_module(name="demo"))
    mgr.mesos_api = "http://master:5050"
    answers = iter([{"frameworks": [{"id": "f-1", "active": False}], "completed_frameworks": []},
                    {"frameworks": [], "completed_frameworks": [{"id": "f-1"}]}])
    monkeypatch.setattr(appmaster.rest, "get_json", lambda url, **kw: next(answers))
    slept: List[float] = []
    monkeypatch.setattr(appmaster.time, "sleep", slept.append)
    assert mgr.wait_unregistered("f-1") is True and slept == [1]


def test_the_leader_probe_opens_at_most_one_zookeeper_session_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readiness polls ten times a second; each ZooKeeper reading is a session of its own."""
    zk = FakeZooKeeper({})
    sessions: List[str] = []
    mgr = ha_manager(monkeypatch, zk)  # it installs zk as the client; count the sessions instead
    monkeypatch.setattr(appmaster.zookeeper, "Client", lambda quorum, timeout=5.0: sessions.append(quorum) or zk)
    now = [100.0]
    monkeypatch.setattr(appmaster.time, "monotonic", lambda: now[0])
    probe = mgr.leader_probe()
    assert probe is not None and probe() is None and probe() is None and len(sessions) == 1
    zk.nodes[LEADER_ZNODE] = leader_data(b"http://am-1:8081")
    now[0] += 1.0
    assert probe() == "http://am-1:8081" and len(sessions) == 2

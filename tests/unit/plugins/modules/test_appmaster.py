"""The appmaster module's own I/O: how it writes the unit file, and input refused before anything changes.

Why: the unit file holds the framework secret when one is set, so it must never be readable beyond 0600, not
even while it is being replaced, and it must be replaced atomically (systemd may read it at any moment). The
module uses module.atomic_move for that; these tests run it with a real AnsibleModule on files in tmp_path.
They also pin that writing the same unit twice changes nothing (idempotence) and that check mode writes nothing.
"""
from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any, Dict, List

import pytest

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (tools/matrix runs these tests on 2.16 too)
    import contextlib
    from typing import Iterator

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args: Dict[str, Any]) -> Iterator[None]:
        """What 2.19's helper does: hand AnsibleModule its arguments the way Ansible's wrapper would."""
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved
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


class Failed(Exception):
    """fail_json, caught: the module's message and result."""


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


def absent_manager(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, zk: FakeZooKeeper, check_mode: bool = False,
                   cluster_id: str = "/demo") -> appmaster.AppmasterManager:
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "flink-conf.yaml").write_text(
        "high-availability: zookeeper\nhigh-availability.zookeeper.quorum: zk-1:2181\n"
        f"high-availability.cluster-id: {cluster_id}\nhigh-availability.storageDir: file://{tmp_path}/ha\n",
        encoding="utf-8")
    mgr = appmaster.AppmasterManager(make_module(check_mode=check_mode, name="demo", state="absent",
                                                 conf_dir=str(conf), remove_ha_state=True))
    mgr.unit_path = str(tmp_path / mgr.unit)
    monkeypatch.setattr(appmaster.zookeeper, "Client", zk)
    return mgr


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

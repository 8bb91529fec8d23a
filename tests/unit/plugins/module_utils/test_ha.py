"""HA decisions of the appmaster module: where Flink keeps the FrameworkID, and when a stored one is cleared.

Why: clearing a FrameworkID that is still the cluster's live framework would orphan its TaskManagers, and keeping
one Mesos removed makes the appmaster crash-loop ("Framework has been removed"). Only the master's own
`completed_frameworks` list may make the module clear it.
"""
from __future__ import annotations

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import ha

HA_CONF = {"high-availability": "zookeeper", "high-availability.zookeeper.quorum": "zk-1:2181,zk-2:2181"}


def test_settings_none_without_zookeeper_ha() -> None:
    assert ha.settings({}) is None
    assert ha.settings({"high-availability": "NONE"}) is None


def test_settings_defaults_are_flinks() -> None:
    s = ha.settings({**HA_CONF, "high-availability": "ZooKeeper"})
    assert s is not None
    assert s.framework_id_path == "/flink/default/mesos-workers/frameworkId"
    assert s.cluster_path == "/flink/default"


def test_settings_follow_the_configured_paths() -> None:
    s = ha.settings({**HA_CONF, "high-availability.cluster-id": "/flink-ha-scenario",
                     "high-availability.zookeeper.path.root": "/apps/flink/",
                     "high-availability.zookeeper.path.mesos-workers": "/workers-of-mesos"})
    assert s is not None
    assert s.framework_id_path == "/apps/flink/flink-ha-scenario/workers-of-mesos/frameworkId"
    assert s.quorum == "zk-1:2181,zk-2:2181"


def test_settings_refuse_ha_without_quorum() -> None:
    with pytest.raises(ValueError, match="high-availability.zookeeper.quorum is empty"):
        ha.settings({"high-availability": "zookeeper"})


@pytest.mark.parametrize("data, expected", [(None, ""), (b"", ""), (b"abc-0001\n", "abc-0001")])
def test_decode_framework_id(data, expected) -> None:
    assert ha.decode_framework_id(data) == expected


FRAMEWORKS = {
    "frameworks": [{"id": "m-0002", "active": False}],
    "completed_frameworks": [{"id": "m-0001"}, {"id": "m-0002"}],
}


@pytest.mark.parametrize("stored, answer, state", [
    ("", FRAMEWORKS, ha.NONE),
    ("m-0001", FRAMEWORKS, ha.REMOVED),
    # Listed as active (even inactive within its failover timeout) beats completed: the master accepts it.
    ("m-0002", FRAMEWORKS, ha.ACTIVE),
    ("m-0003", FRAMEWORKS, ha.UNKNOWN),
    ("m-0001", None, ha.NOT_CHECKED),
    ("m-0001", {"frameworks": None}, ha.UNKNOWN),
])
def test_stored_id_state(stored, answer, state) -> None:
    assert ha.stored_id_state(stored, answer) == state


@pytest.mark.parametrize("state", [ha.NONE, ha.ACTIVE, ha.UNKNOWN, ha.NOT_CHECKED])
def test_only_a_removed_id_is_cleared(state) -> None:
    assert not ha.should_clear(state)
    assert ha.should_clear(ha.REMOVED)


def test_expected_framework_id() -> None:
    assert ha.expected_framework_id("m-0002", ha.ACTIVE, False) == "m-0002"
    assert ha.expected_framework_id("m-0003", ha.UNKNOWN, False) == "m-0003"
    assert ha.expected_framework_id("m-0001", ha.REMOVED, True) is None
    # Check mode: not cleared, but the real run would clear it, so no ID is expected either.
    assert ha.expected_framework_id("m-0001", ha.REMOVED, False) is None
    assert ha.expected_framework_id("", ha.NONE, False) is None


def test_explain_says_what_and_where() -> None:
    s = ha.settings(HA_CONF)
    removed = ha.explain(s, "m-0001", ha.REMOVED, True, check_mode=False)
    assert "m-0001" in removed and s.framework_id_path in removed and "cleared it" in removed
    assert "Framework has been removed" in removed
    assert "would clear it" in ha.explain(s, "m-0001", ha.REMOVED, False, check_mode=True)
    assert "kept (active" in ha.explain(s, "m-0002", ha.ACTIVE, False, check_mode=False)
    out = ha.decision("m-0001", ha.REMOVED, True, removed)
    assert out["stored_framework_id"] == "m-0001" and out["cleared"] is True
    assert ha.decision("", ha.NONE, False, "x")["stored_framework_id"] is None
    assert ha.describe(s) == {"quorum": "zk-1:2181,zk-2:2181", "cluster_path": "/flink/default",
                              "framework_id_path": "/flink/default/mesos-workers/frameworkId"}


@pytest.mark.parametrize("storage, cluster_id, expected", [
    ("file:///var/lib/flink/ha", "/flink-ha-scenario", "/var/lib/flink/ha/flink-ha-scenario"),
    ("/var/lib/flink/ha/", "sess", "/var/lib/flink/ha/sess"),
    ("hdfs:///flink/ha", "/sess", None),
    ("s3://bucket/ha", "/sess", None),
    ("file:///var/lib/flink/ha", "/", None),
    ("", "/sess", None),
])
def test_local_storage_path(storage, cluster_id, expected) -> None:
    assert ha.local_storage_path(storage, cluster_id) == expected


def test_removal_refuses_the_shared_root() -> None:
    shared = ha.settings({**HA_CONF, "high-availability.cluster-id": "/"})
    problem = ha.removal_problem(shared)
    assert problem is not None and "every cluster on this ZooKeeper shares" in problem and "/flink" in problem
    assert ha.removal_problem(ha.settings(HA_CONF)) is None


@pytest.mark.parametrize("state, refused", [
    (ha.ACTIVE, "is still registered in the Mesos master at http://m:5050"),
    (ha.NOT_CHECKED, "could not be asked"),
    (ha.REMOVED, None),
    (ha.UNKNOWN, None),
    (ha.NONE, None),
])
def test_removal_waits_for_the_framework_to_be_gone(state, refused) -> None:
    message = ha.removal_refusal(ha.settings(HA_CONF), "m-7", state, "http://m:5050")
    if refused is None:
        assert message is None
    else:
        assert message is not None and refused in message and "No HA state was removed" in message


@pytest.mark.parametrize("expected, overview, back", [
    (0, None, True),
    (2, {"taskmanagers": 1}, False),
    (2, {"taskmanagers": 2}, True),
    (2, {"taskmanagers": 3}, True),
    (2, None, False),
])
def test_workers_back(expected, overview, back) -> None:
    assert ha.workers_back(expected, overview) is back


def test_workers_path_is_next_to_the_framework_id() -> None:
    s = ha.settings({**HA_CONF, "high-availability.cluster-id": "/c1"})
    assert s.workers_path == "/flink/c1/mesos-workers/workers"
    assert s.framework_id_path == "/flink/c1/mesos-workers/frameworkId"


# Bytes written by a real java.io.ObjectOutputStream (OpenJDK 17 on the build machine) exactly as Flink 1.13 writes a
# leader znode: writeUTF(address), then writeObject(UUID b2b0f7e4-3a1e-4c5d-9f00-1234567890ab).
LEADER_REST = bytes.fromhex(
    "aced000577130011687474703a2f2f68612d616d3a383038317372000e6a6176612e7574696c2e55554944bc9903f7986d852f0200024a"
    "000c6c65617374536967426974734a000b6d6f73745369674269747378709f001234567890abb2b0f7e43a1e4c5d")
LEADER_RPC = bytes.fromhex(
    "aced000577380036616b6b612e7463703a2f2f666c696e6b4068612d6167656e742d313a363132332f757365722f7270632f646973706174"
    "636865725f317372000e6a6176612e7574696c2e55554944bc9903f7986d852f0200024a000c6c65617374536967426974734a000b6d6f73"
    "745369674269747378709f001234567890abb2b0f7e43a1e4c5d")


@pytest.mark.parametrize("data, address", [
    (LEADER_REST, "http://ha-am:8081"),
    (LEADER_RPC, "akka.tcp://flink@ha-agent-1:6123/user/rpc/dispatcher_1"),
    (b"", None),
    (None, None),
    (b"not java", None),
    (LEADER_REST[:10], None),
])
def test_decode_leader(data, address) -> None:
    assert ha.decode_leader(data) == address


def test_rest_leader_path_follows_the_leader_setting() -> None:
    assert ha.settings(HA_CONF).rest_leader_path == "/flink/default/leader/rest_server_lock"
    custom = ha.settings({**HA_CONF, "high-availability.cluster-id": "/c1", "high-availability.zookeeper.path.leader": "/l"})
    assert custom.rest_leader_path == "/flink/c1/l/rest_server_lock"

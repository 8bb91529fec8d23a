# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""ZooKeeper high-availability decisions of the appmaster module, as pure functions of Flink's config and Mesos.

Why: with `high-availability: zookeeper` Flink 1.13's Mesos ResourceManager stores its FrameworkID in ZooKeeper
(`<path.root><cluster-id><path.mesos-workers>/frameworkId`, plain UTF-8, empty = none) and re-registers with it
after any restart. When Mesos has removed that framework meanwhile (its failover timeout passed, or an operator
called /master/teardown), Mesos refuses the ID with "Framework has been removed" and the appmaster crash-loops on
it (mesosphere/dcos-flink-service#44). The module reads the stored ID before it starts an appmaster, asks the
master about it, and clears it only when the master lists it as completed (removed); in every other case the ID
is kept and the restarted appmaster must come back under that SAME ID to be judged ready.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from ansible_collections.streamops.flink_mesos.plugins.module_utils.zookeeper import join_path

# Flink 1.13 defaults (HighAvailabilityOptions).
DEFAULT_ROOT = "/flink"
DEFAULT_CLUSTER_ID = "/default"
DEFAULT_MESOS_WORKERS = "/mesos-workers"
DEFAULT_LEADER = "/leader"
# The znode under the leader path where the leading REST endpoint publishes itself (ZooKeeperHaServices).
REST_SERVER_LOCK = "rest_server_lock"

# What the master says about a stored FrameworkID.
NONE = "none"          # nothing stored: the appmaster registers a new framework
ACTIVE = "active"      # the master lists it among its frameworks (connected or within its failover timeout)
REMOVED = "removed"    # the master lists it among completed frameworks: it refuses re-registration
UNKNOWN = "unknown"    # neither (e.g. a master that restarted and forgot completed frameworks): kept
NOT_CHECKED = "not_checked"  # the master could not be asked: kept


@dataclass(frozen=True)
class HaSettings:
    """The ZooKeeper coordinates of one Flink cluster's HA state."""

    quorum: str
    root: str
    cluster_id: str
    mesos_workers: str
    leader: str = DEFAULT_LEADER

    @property
    def cluster_path(self) -> str:
        """The znode under which this cluster (and only this cluster) keeps its HA state."""
        return join_path(self.root, self.cluster_id)

    @property
    def framework_id_path(self) -> str:
        return join_path(self.root, self.cluster_id, self.mesos_workers, "frameworkId")

    @property
    def rest_leader_path(self) -> str:
        """Where the leading JobManager's REST endpoint writes its address (and leader session ID)."""
        return join_path(self.root, self.cluster_id, self.leader, REST_SERVER_LOCK)

    @property
    def workers_path(self) -> str:
        """Where Flink's Mesos ResourceManager keeps one child per TaskManager worker (ZooKeeperMesosServices)."""
        return join_path(self.root, self.cluster_id, self.mesos_workers, "workers")


def settings(conf: Mapping[str, str]) -> Optional[HaSettings]:
    """The HA settings of an effective flink-conf (file plus -D overrides); None unless ZooKeeper HA is on.

    Flink accepts `zookeeper` in any case (HighAvailabilityMode.fromConfig upper-cases it); an empty quorum with HA
    on is Flink's own start-up error, reported here first so nothing is started.
    """
    mode = (conf.get("high-availability") or "NONE").strip()
    if mode.upper() != "ZOOKEEPER":
        return None
    quorum = (conf.get("high-availability.zookeeper.quorum") or "").strip()
    if not quorum:
        raise ValueError("high-availability is zookeeper but high-availability.zookeeper.quorum is empty. Set it "
                         "(the flink role's flink_ha_zookeeper_quorum) to host:2181,host2:2181.")
    return HaSettings(
        quorum=quorum,
        root=conf.get("high-availability.zookeeper.path.root") or DEFAULT_ROOT,
        cluster_id=conf.get("high-availability.cluster-id") or DEFAULT_CLUSTER_ID,
        mesos_workers=conf.get("high-availability.zookeeper.path.mesos-workers") or DEFAULT_MESOS_WORKERS,
        leader=conf.get("high-availability.zookeeper.path.leader") or DEFAULT_LEADER,
    )


def local_storage_path(storage_dir: str, cluster_id: str) -> Optional[str]:
    """This cluster's directory under high-availability.storageDir when it is a local path, else None.

    Flink keeps a cluster's HA files under `<storageDir>/<cluster-id without its leading slash>`
    (HighAvailabilityServicesUtils.getClusterHighAvailableStoragePath; seen on a host as
    /var/lib/flink/ha/flink-ha-scenario/blob). Only file:// (or a bare absolute path, Flink's default file system)
    can be removed by the module on the host; HDFS and S3 need their own tools.
    """
    text = (storage_dir or "").strip()
    if text.startswith("file://"):
        text = text[len("file://"):]
    if not text.startswith("/") or "://" in text:
        return None
    child = cluster_id.strip("/")
    if not child:
        return None
    return join_path(text, child)


def removal_problem(ha: HaSettings) -> Optional[str]:
    """Why this cluster's HA state may not be removed, if so: never a path shared with other clusters."""
    if not ha.cluster_id.strip("/"):
        return (f"remove_ha_state: high-availability.cluster-id is '{ha.cluster_id}', so this cluster's znode would be "
                f"the root {ha.cluster_path} that every cluster on this ZooKeeper shares. Nothing was removed; set a "
                "cluster-id of its own (flink_ha_cluster_id) or remove the znodes by hand.")
    return None


def removal_refusal(ha: HaSettings, framework_id: str, state: str, mesos_api: Optional[str]) -> Optional[str]:
    """Why the HA state may not be removed now: the cluster's framework may still be alive in Mesos.

    While Mesos keeps the framework (connected, or disconnected within its failover timeout), its TaskManagers keep
    running and their ZooKeeper clients write the cluster's znodes again, and a restarted appmaster would come back
    without its jobs. So removal waits until the master has removed the framework or never knew it.
    """
    master = mesos_api or "(no Mesos master known)"
    if state == ACTIVE:
        return (f"remove_ha_state: framework {framework_id} of this cluster (stored at {ha.framework_id_path}) is still "
                f"registered in the Mesos master at {master}, so its TaskManagers would write {ha.cluster_path} again. "
                "No HA state was removed. Wait until Mesos has removed the framework (mesos.failover-timeout) or tear it "
                f"down (POST {master}/master/teardown with framework_id={framework_id}), then run again.")
    if state == NOT_CHECKED:
        return (f"remove_ha_state: the Mesos master at {master} could not be asked whether framework {framework_id} "
                f"(stored at {ha.framework_id_path}) is gone, and removing the HA state of a live cluster breaks it. "
                "No HA state was removed. Set mesos_api_url to a master that answers, then run again.")
    return None


def decode_framework_id(data: Optional[bytes]) -> str:
    """The stored FrameworkID ('' when the znode is absent or empty, which Flink reads as no framework)."""
    return (data or b"").decode("utf-8", "replace").strip()


def stored_id_state(framework_id: str, frameworks: Optional[Mapping[str, Any]]) -> str:
    """What the master's GET /master/frameworks answer says about a stored FrameworkID (see the constants).

    Active beats completed: a master that lists the ID as active accepts it, whatever else it remembers.
    """
    if not framework_id:
        return NONE
    if not isinstance(frameworks, Mapping):
        return NOT_CHECKED

    def listed(key: str) -> bool:
        return any(isinstance(f, Mapping) and f.get("id") == framework_id for f in frameworks.get(key) or [])

    if listed("frameworks"):
        return ACTIVE
    if listed("completed_frameworks"):
        return REMOVED
    return UNKNOWN


def should_clear(state: str) -> bool:
    """Only a FrameworkID the master has removed is cleared: any other may still be the cluster's live framework."""
    return state == REMOVED


def explain(ha: HaSettings, framework_id: str, state: str, cleared: bool, check_mode: bool) -> str:
    """One sentence for the result and the warning, naming the znode and the ID."""
    where = f"{ha.framework_id_path} on {ha.quorum}"
    if state == NONE:
        return f"No FrameworkID stored at {where}: the appmaster registers a new framework."
    if state == REMOVED:
        verb = "would clear" if check_mode and not cleared else "cleared"
        return (f"The FrameworkID {framework_id} stored at {where} belongs to a framework the Mesos master has "
                f"removed (failover timeout passed or torn down); Mesos would refuse it with 'Framework has been "
                f"removed' and the appmaster would crash-loop. The module {verb} it, so the appmaster registers a "
                "new framework; the cluster's jobs and checkpoints in ZooKeeper are kept.")
    if state == NOT_CHECKED:
        return (f"FrameworkID {framework_id} stored at {where} kept: the Mesos master could not be asked whether it "
                "still knows it.")
    return (f"FrameworkID {framework_id} stored at {where} kept ({state} in the Mesos master): the appmaster must "
            "re-register with it.")


def expected_framework_id(framework_id: str, state: str, cleared: bool) -> Optional[str]:
    """The ID a restarted appmaster must come back with to be judged ready; None when any new ID is right."""
    if not framework_id or cleared or state == REMOVED:
        return None
    return framework_id


def describe(ha: HaSettings) -> Dict[str, Any]:
    """The module's `ha` return value for any run with HA on: where this cluster's HA state is."""
    return {"quorum": ha.quorum, "cluster_path": ha.cluster_path, "framework_id_path": ha.framework_id_path}


def decision(framework_id: str, state: str, cleared: bool, message: str) -> Dict[str, Any]:
    """The keys added to `ha` when the module checked the stored FrameworkID before a start."""
    return {
        "stored_framework_id": framework_id or None,
        "stored_framework_state": state,
        "cleared": cleared,
        "message": message,
    }


def workers_back(expected_workers: int, overview: Optional[Mapping[str, Any]]) -> bool:
    """Whether the TaskManagers a restarted cluster had are registered again (or replaced by as many new ones).

    Why: an HA restart that re-registered the framework but lost its TaskManagers has no slots for the jobs it
    recovers; ``expected_workers`` is the number of workers Flink had stored in ZooKeeper before the start.
    """
    if expected_workers <= 0:
        return True
    return isinstance(overview, Mapping) and int(overview.get("taskmanagers") or 0) >= expected_workers


# Java serialization constants (java.io.ObjectStreamConstants) of the leader znode's data.
_STREAM_HEADER = b"\xac\xed\x00\x05"
_TC_BLOCKDATA, _TC_BLOCKDATALONG = 0x77, 0x7A


def decode_leader(data: Optional[bytes]) -> Optional[str]:
    """The leader address in a Flink 1.13 leader znode, or None when there is none or it cannot be read.

    Why by hand: Flink writes ``ObjectOutputStream.writeUTF(address)`` then ``writeObject(leaderSessionID)``, i.e.
    the stream header, a block-data record holding the UTF string (2-byte length + modified UTF-8), then the UUID.
    Only the address is needed (the REST URL of the leading JobManager), and no Java is at hand on the host.
    """
    if not data or not data.startswith(_STREAM_HEADER) or len(data) < 8:
        return None
    pos = len(_STREAM_HEADER)
    if data[pos] == _TC_BLOCKDATA:
        pos += 2
    elif data[pos] == _TC_BLOCKDATALONG:
        pos += 5
    else:
        return None
    size = int.from_bytes(data[pos:pos + 2], "big")
    raw = data[pos + 2:pos + 2 + size]
    if len(raw) != size or not size:
        return None
    return raw.decode("utf-8", "replace")

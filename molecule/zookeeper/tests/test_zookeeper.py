"""Verify the zookeeper scenario: a three-server ensemble on the java role's JRE.

Why each check: `myid`/`server.N` disagreement makes every node run standalone (the commonest ZooKeeper
deployment bug), so we check the ensemble's modes and the ids rather than only that a process runs; and the
fault check proves that the ensemble is a real quorum (2 of 3 keep serving writes and the stopped server
catches up), which one-node checks cannot show. Hosts are reached through `docker exec` (fast) by their
container names from molecule.yml.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
import testinfra

NODES = ["zk-1", "zk-2", "zk-3"]
CLIENT_PORT = 2181
DATA_DIR = "/var/lib/zookeeper/data"
CONF = "/etc/zookeeper/conf_ansible/zoo.cfg"
FACTS = "/root/zookeeper-scenario-facts.json"
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
WAIT_S = 90


@pytest.fixture(scope="module")
def hosts() -> dict[str, Any]:
    """One testinfra host per container of the ensemble."""
    return {name: testinfra.get_host(f"docker://{name}") for name in NODES}


def journal(host: Any) -> str:
    """Last lines of the zookeeper unit's journal: printed with every failed service assertion."""
    return host.run("journalctl -u zookeeper -n 50 --no-pager").stdout


def srvr(host: Any) -> str:
    """Ask the server on this host for 'srvr' the way the role does (ZooKeeper's own FourLetterWordMain)."""
    facts = json.loads(host.file(FACTS).content_string)
    cmd = host.run(
        "%s -cp /etc/zookeeper/conf_ansible:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar "
        "org.apache.zookeeper.client.FourLetterWordMain 127.0.0.1 %s srvr",
        f"{facts['java_home']}/bin/java", str(CLIENT_PORT),
    )
    return cmd.stdout


def mode_of(host: Any) -> str | None:
    """The server's mode (leader/follower/standalone) or None when it does not serve."""
    match = re.search(r"^Mode: (\w+)", srvr(host), re.M)
    return match.group(1) if match else None


def wait_for_mode(host: Any, accepted: set[str]) -> str | None:
    """Poll until the server reports one of the accepted modes (bounded by WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    mode = None
    while time.monotonic() < deadline:
        mode = mode_of(host)
        if mode in accepted:
            return mode
        time.sleep(1)
    return mode


def zkcli(host: Any, *args: str) -> Any:
    """Run one zkCli.sh command against the server on this host."""
    return host.run(" ".join([ZKCLI, "-server", f"127.0.0.1:{CLIENT_PORT}"] + [f"'{a}'" for a in args]))


@pytest.mark.parametrize("name", NODES)
def test_service_runs_and_listens(hosts: dict[str, Any], name: str) -> None:
    """Our unit (not the package's init script) runs exactly one server JVM that listens on the client port."""
    host = hosts[name]
    svc = host.service("zookeeper")
    assert svc.is_running, f"zookeeper not running on {name}:\n{journal(host)}"
    assert svc.is_enabled, f"zookeeper not enabled on {name}"
    assert host.socket(f"tcp://0.0.0.0:{CLIENT_PORT}").is_listening, f"nothing listens on {CLIENT_PORT} on {name}:\n{journal(host)}"
    # Exactly one unit named zookeeper, ours: the package's init script must not be what runs.
    unit = host.run("systemctl show -p FragmentPath --value zookeeper").stdout.strip()
    assert unit == "/etc/systemd/system/zookeeper.service", unit
    java_procs = host.run("pgrep -c -f [o]rg.apache.zookeeper.server.quorum.QuorumPeerMain").stdout.strip()
    assert java_procs == "1", f"{java_procs} ZooKeeper JVMs on {name}"


def test_one_leader_two_followers(hosts: dict[str, Any]) -> None:
    """A real quorum: three standalone servers (the myid/server.N bug) would fail here."""
    modes = {name: mode_of(host) for name, host in hosts.items()}
    assert sorted(m or "none" for m in modes.values()) == ["follower", "follower", "leader"], (
        f"modes {modes}\n" + "\n".join(f"--- {n}\n{journal(h)}" for n, h in hosts.items())
    )


def test_myid_matches_server_lines(hosts: dict[str, Any]) -> None:
    """Each node's myid names a server.N line with its own address, and all nodes share the same lines."""
    server_lines = {}
    for name, host in hosts.items():
        myid = host.file(f"{DATA_DIR}/myid").content_string.strip()
        cfg = host.file(CONF).content_string
        servers = dict(re.findall(r"^server\.(\d+)=(\S+)$", cfg, re.M))
        assert servers.get(myid, "").startswith(f"{name}:"), f"{name}: myid {myid}, servers {servers}"
        assert myid == name.split("-")[1], f"{name}: myid {myid} is not the trailing number of the host name"
        server_lines[name] = servers
    assert len({json.dumps(s, sort_keys=True) for s in server_lines.values()}) == 1, server_lines
    assert sorted(next(iter(server_lines.values()))) == ["1", "2", "3"]


@pytest.mark.parametrize("name", NODES)
def test_java_role_outputs(hosts: dict[str, Any], name: str) -> None:
    """The java role's facts are true on the host, and ZooKeeper runs on that JVM."""
    host = hosts[name]
    facts = json.loads(host.file(FACTS).content_string)
    java = host.file(f"{facts['java_home']}/bin/java")
    assert java.exists and java.mode & 0o111, f"no executable java under {facts['java_home']}"
    assert facts["java_major_version"] == 17 and isinstance(facts["java_major_version"], int), facts
    version = host.run(f"{facts['java_home']}/bin/java -version").stderr
    assert re.search(r'version "17\.', version), version
    flags = facts["java_flink_jvm_flags"]
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in flags, flags
    assert "--add-exports=java.base/sun.net.util=ALL-UNNAMED" in flags, flags
    assert len(flags) == len(set(flags)) == 14, flags
    assert facts["zookeeper_connect_string"] == "zk-1:2181,zk-2:2181,zk-3:2181", facts
    # The server runs on the java role's JVM.
    cmdline = host.run("pgrep -a -f [o]rg.apache.zookeeper.server.quorum.QuorumPeerMain").stdout
    assert cmdline.split()[1] == f"{facts['java_home']}/bin/java", cmdline


def test_quorum_survives_leader_stop(hosts: dict[str, Any]) -> None:
    """Stop the leader: the other two elect a leader and serve writes; the old leader rejoins and sees them."""
    modes = {name: mode_of(host) for name, host in hosts.items()}
    leaders = [n for n, m in modes.items() if m == "leader"]
    assert len(leaders) == 1, modes
    leader = leaders[0]
    survivors = [n for n in NODES if n != leader]
    znode = f"/streamops-fault-{uuid.uuid4().hex[:8]}"
    stopped = hosts[leader].run("systemctl stop zookeeper")
    assert stopped.rc == 0, stopped.stderr
    try:
        new_modes = {n: wait_for_mode(hosts[n], {"leader", "follower"}) for n in survivors}
        assert sorted(m or "none" for m in new_modes.values()) == ["follower", "leader"], (
            f"survivors {new_modes}\n" + "\n".join(f"--- {n}\n{journal(hosts[n])}" for n in survivors)
        )
        created = zkcli(hosts[survivors[0]], "create", znode, "written-with-2-of-3")
        assert created.rc == 0 and f"Created {znode}" in created.stdout + created.stderr, created.stdout + created.stderr
        read = zkcli(hosts[survivors[1]], "get", znode)
        assert "written-with-2-of-3" in read.stdout, read.stdout + read.stderr
    finally:
        started = hosts[leader].run("systemctl start zookeeper")
        assert started.rc == 0, started.stderr
    rejoined = wait_for_mode(hosts[leader], {"leader", "follower"})
    assert rejoined in ("leader", "follower"), f"{leader} did not rejoin (mode {rejoined}):\n{journal(hosts[leader])}"
    read_back = zkcli(hosts[leader], "get", znode)
    assert "written-with-2-of-3" in read_back.stdout, read_back.stdout + read_back.stderr
    zkcli(hosts[leader], "delete", znode)
    final = sorted(mode_of(h) or "none" for h in hosts.values())
    assert final == ["follower", "follower", "leader"], final

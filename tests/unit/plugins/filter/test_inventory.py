"""The inventory filters (plugins/filter/inventory.py): one derivation of the ZooKeeper ensemble for every role."""
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.streamops.flink_mesos.plugins.filter import inventory


@pytest.mark.parametrize("hosts, port, expected", [
    (["zk-1", "zk-2"], 2181, "zk-1:2181,zk-2:2181"),
    (["zk-1:2182", " zk-2 ", ""], 2181, "zk-1:2182,zk-2:2181"),
    (["zk-1"], "2888", "zk-1:2888"),
    (["[::1]:2181", "zk-3"], 2181, "[::1]:2181,zk-3:2181"),
    ([], 2181, ""),
    (None, 2181, ""),
])
def test_zookeeper_connect_string(hosts, port, expected) -> None:
    assert inventory.zookeeper_connect_string(hosts, port) == expected


@pytest.mark.parametrize("hosts, port", [("zk-1,zk-2", 2181), (["zk-1"], "x")])
def test_zookeeper_connect_string_refuses(hosts, port) -> None:
    with pytest.raises(AnsibleFilterError):
        inventory.zookeeper_connect_string(hosts, port)


def test_filter_is_registered() -> None:
    assert set(inventory.FilterModule().filters()) == {"zookeeper_connect_string"}

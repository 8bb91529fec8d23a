"""The rule filters the roles use (plugins/filter/rules.py): the same rules as the modules, as problem lists."""
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.streamops.flink_mesos.plugins.filter import rules


def test_filters_are_registered() -> None:
    names = {"mesos_value_problems", "address_problems", "mesos_master_problems", "path_problems", "secret_keys"}
    assert set(rules.FilterModule().filters()) == names


@pytest.mark.parametrize("host", ["localhost", "127.0.1.1", "::1", "ip6-localhost", "localhost6", "0.0.0.0"])
def test_loopback_addresses_are_problems(host: str) -> None:
    assert rules.address_problems(host, "mesos_hostname") == [
        f"mesos_hostname is '{host}', a loopback address: the advertised address must be one the other hosts reach. "
        "Set mesos_hostname to this host's network name or address."]


@pytest.mark.parametrize("host", ["", None, "agent-1", "10.0.0.5", "agent-1.example.com"])
def test_reachable_or_empty_addresses_pass(host: str | None) -> None:
    assert not rules.address_problems(host, "mesos_hostname")


def test_master_urls_use_the_appmaster_module_rule() -> None:
    assert not rules.mesos_master_problems("zk://zk-1:2181,zk-2:2181/mesos", "m")
    assert not rules.mesos_master_problems("m1:5050", "m")
    assert "names a loopback address" in rules.mesos_master_problems("localhost:5050", "m")[0]
    assert "is not a Mesos master URL" in rules.mesos_master_problems("m1", "m")[0]
    assert "no Mesos master is set" in rules.mesos_master_problems("", "m")[0]


def test_paths_must_be_absolute_unless_optional_and_empty() -> None:
    paths = {"a_dir": "/var/lib/a", "b_dir": "rel/b", "c_home": "", "d_file": ""}
    assert rules.path_problems(paths, ["c_home"]) == [
        "b_dir is 'rel/b'; set an absolute path (starting with /).",
        "d_file is ''; set an absolute path (starting with /)."]
    with pytest.raises(AnsibleFilterError):
        rules.path_problems(["/a"])


def test_value_problems_wraps_the_grammar() -> None:
    assert rules.mesos_value_problems({"cpus": "2"}, "resources", "r") == []
    with pytest.raises(AnsibleFilterError):
        rules.mesos_value_problems({}, "ports", "r")


def test_secret_keys_follow_the_module_rule() -> None:
    conf = {"security.ssl.rest.keystore-password": "x", "mesos.resourcemanager.framework.secret": "y",
            "fs.azure.account.key.acct.blob.core.windows.net": "z", "metrics.reporter.dd.apikey": "k", "rest.port": 1}
    assert rules.secret_keys(conf) == sorted(k for k in conf if k != "rest.port")
    with pytest.raises(AnsibleFilterError):
        rules.secret_keys(["a"])

"""Preflight tests of the mesos role.

Why: each bad input here produces a cluster that looks installed but cannot work (no majority, agents that
advertise 127.0.0.1, masters without ZooKeeper, a tampered package, cgroups isolators on a cgroup2-only host).
The role must refuse them before it changes a host, naming the variable to fix. The role runs in check mode
against fake local hosts (conftest.py).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from preflight_batch import Run, preflight_run

# Tasks that would change hosts: none may run when preflight refuses the input.
FIRST_CHANGES = ("Create the configuration directory", "Copy the package file to the host",
                 "Install the Mesos package", "Write the master's flags")

THREE_MASTERS = {"mesos_masters": {"m1": {}, "m2": {}, "m3": {}}, "zookeeper": {"m1": {}, "m2": {}, "m3": {}}}


def _assert_refused(res: Any, *fragments: str) -> None:
    assert res.rc != 0, res.output
    flat = " ".join(res.output.split())
    for fragment in fragments:
        assert fragment in flat, f"{fragment!r} missing from:\n{res.output}"
    for task in FIRST_CHANGES:
        assert f"mesos : {task}" not in res.output, f"{task} ran although preflight refused:\n{res.output}"


def _mesos(groups: dict[str, dict[str, dict[str, Any]]], play_hosts: str, role_vars: dict[str, Any] | None = None) -> Run:
    """A run of the mesos role (main entry point) on the hosts of play_hosts."""
    return Run("mesos", groups, role_vars or {}, play_hosts=play_hosts)


def _package(workdir: Path) -> tuple[Path, str]:
    """A small file standing for a package, and its real sha512."""
    path = workdir / "mesos_1.11.0_amd64.deb"
    path.write_bytes(b"not really a package\n")
    return path, hashlib.sha512(path.read_bytes()).hexdigest()


@preflight_run(lambda: _mesos({**THREE_MASTERS, "clients": {"am1": {}}}, "clients"))
def test_valid_inventory_passes_preflight_and_publishes_facts(result) -> None:
    """Positive control: three masters with ZooKeeper pass; a host outside every Mesos group only gets the facts."""
    assert result.rc == 0, result.output
    assert "Publish mesos_master_url, mesos_master_endpoints and mesos_native_library" in result.output


@preflight_run(lambda: _mesos({"mesos_masters": {"m1": {}, "m2": {}}, "zookeeper": {"m1": {}, "m2": {}}}, "mesos_masters"))
def test_even_number_of_masters_fails(result) -> None:
    _assert_refused(result, "The mesos_masters group has 2 hosts (m1, m2)", "put an odd number of hosts")


@preflight_run(lambda var, value: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {var: value}}}, "mesos_agents"))
@pytest.mark.parametrize(("var", "value"), [
    ("mesos_hostname", "localhost"),
    ("mesos_ip", "127.0.1.1"),
    ("mesos_advertise_ip", "::1"),
])
def test_loopback_address_of_an_agent_fails(result, var: str, value: str) -> None:
    _assert_refused(result, f"{var} is '{value}', a loopback address", f"Set {var} to this host's network name")


@preflight_run(lambda: _mesos({"mesos_masters": {"m1": {}}}, "mesos_masters", {"mesos_master_address": "127.0.0.1:5050"}))
def test_loopback_master_address_fails(result) -> None:
    _assert_refused(result, "mesos_master_address: '127.0.0.1:5050' names a loopback address (127.0.0.1)")


@preflight_run(lambda: _mesos({"mesos_masters": {"m1": {}, "m2": {}, "m3": {}}}, "mesos_masters"))
def test_missing_zookeeper_group_fails(result) -> None:
    _assert_refused(result, "there is no 'zookeeper' group", "set mesos_zookeeper_connect_string",
                    "set mesos_master_address")


@preflight_run(lambda: _mesos({"mesos_masters": {"m1": {}}, "clients": {"am1": {}}}, "clients",
                              {"mesos_master_address": "m1:5050"}))
def test_single_master_without_zookeeper_is_accepted_by_preflight(result) -> None:
    """mesos_master_address replaces ZooKeeper for one master: no zookeeper group needed (positive control)."""
    assert result.rc == 0, result.output


@preflight_run(lambda: _mesos({**THREE_MASTERS, "flink_appmaster": {"am1": {}}}, "flink_appmaster",
                              {"mesos_install_method": "package_file"}))
def test_appmaster_hosts_get_mesos_installed_for_libmesos(result) -> None:
    """Hosts of mesos_install_library_on_group (flink_appmaster) install Mesos, so the install source is checked."""
    _assert_refused(result, "mesos_install_method=package_file needs exactly one of mesos_package_file_url")


@preflight_run(lambda method: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents",
                                     {"mesos_install_method": method}))
@pytest.mark.parametrize(("method", "fragment"), [
    ("package_file", "mesos_install_method=package_file needs exactly one of mesos_package_file_url"),
    ("prefix_tarball", "mesos_install_method=prefix_tarball needs exactly one of mesos_prefix_tarball_url"),
])
def test_install_method_without_source_fails(result, method: str, fragment: str) -> None:
    _assert_refused(result, fragment)


@preflight_run(lambda workdir: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents", {
    "mesos_install_method": "package_file", "mesos_package_file_url": f"file://{_package(workdir)[0]}",
    "mesos_package_file_checksum": "sha512:" + "0" * 128}))
def test_package_url_checksum_mismatch_fails(result) -> None:
    """A URL goes through the _common download, which refuses a wrong checksum and names the variable, at once:
    fetching the same file again cannot make it match."""
    _assert_refused(result, "with a matching checksum", "mesos_package_file_url / mesos_package_file_checksum")
    assert "did not match" in result.output and "FAILED - RETRYING" not in result.output, result.output


@preflight_run(lambda workdir: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents", {
    "mesos_install_method": "package_file", "mesos_package_file_url": f"file://{workdir}/missing.deb",
    "mesos_package_file_checksum": "sha512:" + "0" * 128, "common_download_retries": 1, "common_download_delay": 0}))
def test_package_url_that_cannot_be_fetched_is_tried_again(result) -> None:
    """A fetch that fails (here: no such file) is tried again common_download_retries times, then refused."""
    _assert_refused(result, "with a matching checksum", "mesos_package_file_url / mesos_package_file_checksum")
    assert result.output.count("FAILED - RETRYING") == 1, result.output


@preflight_run(lambda workdir: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents", {
    "mesos_install_method": "package_file", "mesos_package_file_path": str(_package(workdir)[0]),
    "mesos_package_file_checksum": "sha512:" + "0" * 128}))
def test_package_path_checksum_mismatch_fails(result) -> None:
    path = result.workdir / "mesos_1.11.0_amd64.deb"
    real = hashlib.sha512(path.read_bytes()).hexdigest()
    _assert_refused(result, f"mesos_package_file_path '{path}' has sha512 {real}",
                    "but mesos_package_file_checksum says " + "0" * 128)


def _mounts(workdir: Path, table: str) -> str:
    """A mount table file for the cgroups check; its path."""
    mounts = workdir / "mounts"
    mounts.write_text(table)
    return str(mounts)


@preflight_run(lambda workdir: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents", {
    "mesos_agent_isolation": ["cgroups/cpu", "cgroups/mem"],
    "_mesos_mounts_file": _mounts(workdir, "proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n")}))
def test_cgroups_isolation_without_cgroups_v1_fails(result) -> None:
    """The host's mount table has only cgroup2: cgroups/* isolators are refused, naming the variable."""
    _assert_refused(result, "mesos_agent_isolation asks for cgroups isolators (cgroups/cpu, cgroups/mem)",
                    "has no cgroups v1 hierarchy mounted")


@preflight_run(lambda workdir: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents", {
    "mesos_agent_isolation": ["cgroups/cpu"],
    "_mesos_mounts_file": _mounts(workdir, "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"),
    "mesos_install_method": "package_file", "mesos_package_file_path": str(workdir / "missing.deb"),
    "mesos_package_file_checksum": "sha512:" + "0" * 128}))
def test_cgroups_isolation_with_cgroups_v1_passes_that_check(result) -> None:
    """Control for the test above: a v1 hierarchy in the mount table lets the check pass (the run then stops at
    the artifact check, a package path that does not exist, so nothing else runs)."""
    _assert_refused(result, "does not exist on the controller")
    assert "has no cgroups v1 hierarchy mounted" not in result.output
    assert "Check that cgroups v1 hierarchies are mounted" in result.output


@preflight_run(lambda: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents",
                              {"mesos_agent_extra_flags": {"isolaton": "posix/cpu"}}))
def test_unknown_extra_agent_flag_fails(result) -> None:
    _assert_refused(result, "mesos_agent_extra_flags names flags Mesos 1.11's agent does not have: isolaton")


@preflight_run(lambda: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents",
                              {"mesos_master_extra_flags": {"quorm": "2"}, "mesos_agent_extra_flags": {"isolaton": "posix/cpu"},
                               "mesos_agent_port": 70000}))
def test_unknown_flags_of_both_daemons_and_a_bad_port_are_named_at_once(result) -> None:
    """The run's Mesos settings are one check that names every problem, not only the first."""
    _assert_refused(result, "mesos_master_extra_flags names flags Mesos 1.11's master does not have: quorm",
                    "mesos_agent_extra_flags names flags Mesos 1.11's agent does not have: isolaton",
                    "mesos_agent_port is '70000'; set a port number 1-65535.")


# Effective values: what an extra flag sets is checked by the same rule as the typed variable (issue 14).
@preflight_run(lambda flags, fragment: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents",
                                              {"mesos_agent_extra_flags": flags}))
@pytest.mark.parametrize(("flags", "fragment"), [
    ({"master": "localhost:5050"}, "mesos_agent_extra_flags.master: 'localhost:5050' names a loopback address"),
    ({"hostname": "127.0.0.1"}, "mesos_agent_extra_flags.hostname is '127.0.0.1', a loopback address"),
    ({"master": "m1"}, "mesos_agent_extra_flags.master: 'm1' is not a Mesos master URL"),
    ({"work_dir": "var/lib/mesos"}, "mesos_agent_extra_flags.work_dir is 'var/lib/mesos'; set an absolute path"),
    ({"attributes": "rack:r1;zone"}, "mesos_agent_extra_flags.attributes (entry 'zone'): Mesos needs 'name:value'"),
    ({"resources": "cpus:2;mem:lots"}, "mesos_agent_extra_flags.resources (entry 'mem'): 'lots' is not a number"),
], ids=["master", "hostname", "master-form", "work_dir", "attributes", "resources"])
def test_extra_agent_flag_is_checked_like_the_typed_variable(result, flags: dict, fragment: str) -> None:
    _assert_refused(result, fragment)


@preflight_run(lambda var, value, fragment: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents",
                                                   {var: value}))
@pytest.mark.parametrize(("var", "value", "fragment"), [
    ("mesos_agent_attributes", {"rack": "1;zone"}, "mesos_agent_attributes['rack']: '1;zone' contains ';'"),
    ("mesos_agent_attributes", {"zones": "{a,b}"}, "is a set, which Mesos does not accept for attributes"),
    ("mesos_agent_attributes", {"rack": "r 1?"}, "mesos_agent_attributes['rack']: 'r 1?' has characters other than"),
    ("mesos_agent_resources", {"cpus": "abc"}, "mesos_agent_resources['cpus']: 'abc' is not a number"),
    ("mesos_agent_resources", {"ports": "[32000-31000]"}, "range '32000-31000' in '[32000-31000]' ends before it begins"),
    ("mesos_agent_resources", {"mem": -5}, "mesos_agent_resources['mem']: '-5' is negative"),
    ("mesos_agent_work_dir", "mesos/agent", "mesos_agent_work_dir is 'mesos/agent'; set an absolute path"),
], ids=["attr-separator", "attr-set", "attr-text", "res-text", "res-range", "res-negative", "work_dir"])
def test_agent_value_is_checked_the_way_mesos_parses_it(result, var: str, value: Any, fragment: str) -> None:
    _assert_refused(result, fragment)


@preflight_run(lambda workdir: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents", {
    "mesos_agent_attributes": {"rack": "r1", "level": 2, "slots": "[1-4,8-9]"},
    "mesos_agent_resources": {"cpus": 2, "mem(flink)": "2048", "ports": "[31000-32000]", "disks": "{ssd1,ssd2}"},
    "mesos_install_method": "package_file", "mesos_package_file_path": str(workdir / "missing.deb"),
    "mesos_package_file_checksum": "sha512:" + "0" * 128}))
def test_valid_attributes_and_resources_pass(result) -> None:
    """Positive control: text, scalar and ranges attributes; scalar (with a role), ranges and set resources pass
    (the run then stops at the artifact check, a package path that does not exist, so nothing else runs)."""
    _assert_refused(result, "does not exist on the controller")
    assert "ok: [a1]" in result.output.split("Check the agent's attributes and resources the way Mesos parses them")[1]


@preflight_run(lambda: _mesos({**THREE_MASTERS, "mesos_agents": {"a1": {}}}, "mesos_agents",
                              {"mesos_agent_port": 70000, "mesos_log_dir": "logs", "mesos_health_timeout": 0}))
def test_each_broken_setting_gets_its_own_sentence(result) -> None:
    """Several broken settings: one sentence each, with the offending value, in one refusal."""
    _assert_refused(result, "mesos_agent_port is '70000'; set a port number 1-65535.",
                    "mesos_log_dir is 'logs'; set an absolute path",
                    "mesos_health_timeout is '0'; set a whole number of seconds > 0.")
    assert "mesos_master_quorum" not in result.output, result.output


def _verified_twice(workdir: Path, second_checksum: str | None) -> Run:
    """Two plays of one run that each run the mesos preflight on the same package (the validation play, then the
    mesos play, do this in site.yml); the second play may name another checksum."""
    path, digest = _package(workdir)
    first = {"mesos_install_method": "package_file", "mesos_package_file_url": f"file://{path}",
             "mesos_package_file_checksum": f"sha512:{digest}"}
    second = {**first, "mesos_package_file_checksum": second_checksum or first["mesos_package_file_checksum"]}
    plays = [{"name": f"preflight {n}", "hosts": "mesos_agents", "gather_facts": False,
              "tasks": [{"name": f"Run mesos preflight {n}",
                         "ansible.builtin.include_role": {"name": "streamops.flink_mesos.mesos",
                                                          "tasks_from": "preflight"},
                         "vars": role_vars}]}
             for n, role_vars in ((1, first), (2, second))]
    (workdir / "twice.json").write_text(json.dumps(plays))
    return Run("mesos", {**THREE_MASTERS, "mesos_agents": {"a1": {}, "a2": {}}}, {},
               playbook_file=str(workdir / "twice.json"))


# get_url's result line for the package: one per fetch and verification (a skipped item prints "skipping:").
FETCHED = re.compile(r"^(ok|changed): \[a1 -> localhost\] => \(item=mesos_1\.11\.0_amd64\.deb\)", re.M)


@preflight_run(lambda workdir: _verified_twice(workdir, None))
def test_artifact_verified_once_per_run(result) -> None:
    """The second preflight of the same source and checksum in one run reuses the verified file: one fetch."""
    assert result.rc == 0, result.output
    assert len(FETCHED.findall(result.output)) == 1, result.output
    assert "skipping: [a1] => (item=mesos_1.11.0_amd64.deb)" in result.output, result.output


@preflight_run(lambda workdir: _verified_twice(workdir, "sha512:" + "0" * 128))
def test_artifact_with_another_checksum_is_verified_again(result) -> None:
    """A different checksum later in the run is verified again, and refused when the file does not match it."""
    assert len(FETCHED.findall(result.output)) == 1, result.output
    assert "failed: [a1 -> localhost] (item=mesos_1.11.0_amd64.deb)" in result.output, result.output
    _assert_refused(result, "with a matching checksum", "mesos_package_file_url / mesos_package_file_checksum")

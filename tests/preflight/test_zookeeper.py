"""Preflight tests of the zookeeper role.

Why: ids that disagree between myid and server.N, or a group the play cannot find, give an ensemble in which
every node runs standalone, a failure seen only much later. The role must refuse such input before it changes a
host, naming the variable to fix. These run the role in check mode against fake local hosts (conftest.py);
the preflight needs no facts, so nothing is gathered.
"""
from __future__ import annotations

from typing import Any

import pytest

from preflight_batch import Run, preflight_run

# A task that would change hosts; none of it may appear when preflight refuses the input.
FIRST_CHANGE = "Install the zookeeper systemd unit"


def _zk(groups: dict[str, dict[str, dict[str, Any]]], role_vars: dict[str, Any] | None = None,
        tasks_from: str = "main") -> Run:
    """A run of the zookeeper role."""
    return Run("zookeeper", groups, role_vars or {}, tasks_from=tasks_from)


def _assert_refused(res: Any, *fragments: str) -> None:
    """The play failed, every fragment of the expected message is there, and no host-changing task ran."""
    assert res.rc != 0, res.output
    for fragment in fragments:
        assert fragment in res.output, f"{fragment!r} missing from:\n{res.output}"
    assert FIRST_CHANGE not in res.output, res.output


@preflight_run(lambda: _zk({"coordinators": {"zk-1": {}, "zk-2": {}, "zk-3": {}}}))
def test_missing_group_fails(result: Any) -> None:
    """The play targets hosts but no group 'zookeeper' exists: the message names zookeeper_group and the groups."""
    _assert_refused(result, "zookeeper_group='zookeeper' is not a group with hosts", "coordinators",
                    "set zookeeper_group")


@preflight_run(lambda: _zk({"zookeeper": {"zk-a": {"zookeeper_id": 1}, "zk-b": {"zookeeper_id": 1},
                                          "zk-c": {"zookeeper_id": 3}}}))
def test_duplicate_ids_fail(result: Any) -> None:
    _assert_refused(result, "zookeeper_id values must be unique", "1 on zk-a and zk-b",
                    "Give each of these hosts its own zookeeper_id")


@preflight_run(lambda: _zk({"zookeeper": {"rack-a-zk1": {}, "rack-b-zk1": {}, "rack-c-zk2": {}}}))
def test_duplicate_ids_from_host_names_fail(result: Any) -> None:
    """Two hosts whose names end in the same number get the same derived id: refused, not silently clashing."""
    _assert_refused(result, "zookeeper_id values must be unique", "rack-a-zk1 and rack-b-zk1")


@preflight_run(lambda: _zk({"zookeeper": {"alpha": {"zookeeper_id": ""}, "beta": {}, "gamma": {}}}))
def test_empty_id_set_fails(result: Any) -> None:
    """No host has an id (explicitly empty, and names without a trailing number): every host is listed."""
    _assert_refused(result, "zookeeper_id must be a whole number in 1..255", "alpha (zookeeper_id='')",
                    "beta (zookeeper_id='')", "gamma (zookeeper_id='')", "Set zookeeper_id in the host variables")


@preflight_run(lambda bad: _zk({"zookeeper": {"zk-1": {}, "zk-2": {"zookeeper_id": bad}, "zk-3": {}}}))
@pytest.mark.parametrize("bad", [0, 256, "x1", "1.5", -3])
def test_out_of_range_or_non_integer_id_fails(result: Any, bad: Any) -> None:
    _assert_refused(result, "zookeeper_id must be a whole number in 1..255", f"zk-2 (zookeeper_id='{bad}')")


@preflight_run(lambda: _zk({"zookeeper": {f"zk-{i}": {} for i in range(1, 5)}}, tasks_from="preflight"))
def test_even_ensemble_warns_but_passes(result: Any) -> None:
    """Four servers: a warning in the output, not a failure (positive control for the checks above)."""
    assert result.rc == 0, result.output
    assert "WARNING: group 'zookeeper' has 4 servers" in result.output, result.output


@preflight_run(lambda: _zk({"zookeeper": {"zk-1": {}, "zk-2": {}, "zk-extra": {"zookeeper_id": 7}}},
                           tasks_from="preflight"))
def test_valid_ensemble_passes_without_warning(result: Any) -> None:
    """Ids from host names and explicit ids mix; an odd ensemble passes preflight silently."""
    assert result.rc == 0, result.output
    assert "WARNING: group" not in result.output, result.output


@preflight_run(lambda: _zk({"zookeeper": {"zk-1": {}}}, {"zookeeper_install_method": "snap"}))
def test_bad_install_method_fails(result: Any) -> None:
    assert result.rc != 0, result.output
    assert "zookeeper_install_method" in result.output, result.output
    assert FIRST_CHANGE not in result.output, result.output


@preflight_run(lambda: _zk({"zookeeper": {"zk-1": {}}}, {"zookeeper_4lw_commands": ["ruok"]}))
def test_4lw_without_srvr_fails(result: Any) -> None:
    _assert_refused(result, "zookeeper_4lw_commands must be a list that contains 'srvr'")


@preflight_run(lambda: _zk({"zookeeper": {"zk-1": {}}}, {"zookeeper_data_dir": "zookeeper/data",
                                                         "zookeeper_install_dir": "opt"}))
def test_relative_paths_fail(result: Any) -> None:
    """A relative data directory used to reach zoo.cfg and a unit systemd cannot load (issue 14): refused first,
    one sentence per variable."""
    _assert_refused(result, "zookeeper_data_dir is 'zookeeper/data'; set an absolute path",
                    "zookeeper_install_dir is 'opt'; set an absolute path")


@preflight_run(lambda: _zk({"zookeeper": {"zk-1": {"zookeeper_address": "10.0.0.9"}, "zk-2": {"zookeeper_address": "10.0.0.9"},
                                          "zk-3": {}}}, tasks_from="preflight"))
def test_shared_address_fails(result: Any) -> None:
    _assert_refused(result, "zookeeper_address must be unique per host of 'zookeeper' (got 10.0.0.9, 10.0.0.9, zk-3)")


@preflight_run(lambda: _zk({"zookeeper": {"zk-1": {}}}, {"zookeeper_client_port": 70000, "zookeeper_4lw_commands": ["ruok"]},
                           tasks_from="preflight"))
def test_bad_ports_and_4lw_are_named_at_once(result: Any) -> None:
    """The settings of a host are one check that names every problem, not only the first."""
    _assert_refused(result, "must be three different ports in 1..65535 (got 70000, 2888, 3888)",
                    "zookeeper_4lw_commands must be a list that contains 'srvr'")


@preflight_run(lambda: _zk({"zookeeper": {"alpha": {}, "zk-2": {"zookeeper_address": "zk-3"}, "zk-3": {}}},
                           tasks_from="preflight"))
def test_bad_id_and_shared_address_are_named_at_once(result: Any) -> None:
    _assert_refused(result, "No valid id for: alpha (zookeeper_id='')",
                    "zookeeper_address must be unique per host of 'zookeeper' (got alpha, zk-3, zk-3)")

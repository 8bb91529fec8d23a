"""Bad input to the per-job path fails before anything starts, with a message that names what to change.

Why: a per-job cluster that starts with a wrong jar or class wastes a Mesos framework registration and leaves a
unit behind; the flink_job role must refuse such input in its preflight (on the controller, in check mode, with
nothing created). The runs join the preflight batch (conftest.py): they run in parallel with the other preflight
tests, in the background, instead of one ansible-playbook after the other.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from preflight_batch import Run, preflight_run

HOST = {"flink_job_hosts": {"localhost": {}}}


def _jar(workdir: Path) -> Path:
    """A jar holding one class, demo.Job (content is irrelevant: preflight reads the zip directory)."""
    path = workdir / "job.jar"
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("demo/Job.class", b"\xca\xfe\xba\xbe")
    return path


def _job(workdir: Path, role_vars: dict[str, Any], with_jar: bool = True) -> Run:
    """The flink_job role (entry point main: argument_specs, preflight, then the start) in check mode."""
    base = {"flink_job_base_dir": str(workdir / "jobs"), "flink_job_log_dir": str(workdir / "logs"),
            "flink_job_name": "demo"}
    if with_jar:
        base.update(flink_job_jar=str(_jar(workdir)), flink_job_entry_class="demo.Job")
    return Run("flink_job", HOST, {**base, **role_vars})


def assert_refused(result: Any, *needles: str) -> None:
    assert result.rc != 0, result.output
    for needle in needles:
        assert needle in result.output, result.output[-3000:]


@preflight_run(lambda workdir, name: _job(workdir, {"flink_job_name": name, "flink_job_jar": str(_jar(workdir))},
                                          with_jar=False))
@pytest.mark.parametrize("name", ["bad name", "../x", "-lead", "a" * 65, ""])
def test_job_name_that_is_no_unit_name(result, name: str) -> None:
    assert_refused(result, f"flink_job_name: '{name}' is not a valid instance name", "1-64 letters")


@preflight_run(lambda workdir: _job(workdir, {"flink_job_jar": str(workdir / "missing.jar"),
                                              "flink_job_entry_class": "demo.Job"}, with_jar=False))
def test_jar_that_does_not_exist(result) -> None:
    assert_refused(result, "missing.jar does not exist")
    assert not (result.workdir / "jobs").exists()


@preflight_run(lambda workdir: _job(workdir, {"flink_job_entry_class": "demo.Other"}))
def test_entry_class_not_in_the_jar(result) -> None:
    assert_refused(result, "entry_class 'demo.Other' is not in", "demo/Other.class")


@preflight_run(lambda workdir: _job(workdir, {"flink_job_parallelism": 0}))
def test_parallelism_below_one(result) -> None:
    assert_refused(result, "flink_job_parallelism must be an integer of 1 or more (got '0')")


def _other_job(workdir: Path) -> Run:
    other = workdir / "jobs" / "other"
    other.mkdir(parents=True)
    (other / "job.json").write_text(json.dumps({"name": "other", "rest_port": 8090, "rpc_port": 6190}))
    return _job(workdir, {"flink_job_rest_port": 8090, "flink_job_rpc_port": 6191})


@preflight_run(_other_job)
def test_ports_of_another_registered_job(result) -> None:
    assert_refused(result, "is already used on localhost", "other")


@preflight_run(lambda workdir: _job(workdir, {"flink_job_rest_port": 8081, "flink_job_rpc_port": 6191}))
def test_port_of_the_session_cluster(result) -> None:
    """Without a recorded session, flink-conf.yaml's rest.port (8081 unless the flink role said otherwise) is taken."""
    assert_refused(result, "session REST ports: 8081")


RECORDED = {"streamops_flink_session_s1": {"name": "s1", "rest_port": 8095}}


@preflight_run(lambda workdir: _job(workdir, {"flink_job_rest_port": 8095, "flink_job_rpc_port": 6191,
                                              "ansible_local": RECORDED}))
def test_port_of_a_session_recorded_on_the_host(result) -> None:
    """The flink_session role's record on the host (ansible_local.streamops_flink_session_<name>) is what counts,
    not another role's variables: its port is refused..."""
    assert_refused(result, "session REST ports: 8095")


@preflight_run(lambda workdir: _job(workdir, {"flink_job_rest_port": 8081, "flink_job_rpc_port": 6191,
                                              "ansible_local": RECORDED}))
def test_default_session_port_is_free_when_a_session_records_another(result) -> None:
    """...and flink-conf.yaml's 8081 is then free."""
    assert "session REST ports" not in result.output, result.output[-3000:]
    assert "Create the job's directories" in result.output, result.output[-3000:]


@preflight_run(lambda workdir: _job(workdir, {"flink_job_rest_port": 8091, "flink_job_rpc_port": 6192}))
def test_good_input_passes_preflight(result) -> None:
    """The same play with valid input gets past preflight (it may stop later: no Flink on this machine)."""
    assert "Check that no other job on this host uses the same ports" in result.output
    assert "Create the job's directories" in result.output, result.output[-3000:]


@preflight_run(lambda workdir: _job(workdir, {"flink_job_state": "absent"}, with_jar=False))
def test_absent_needs_no_jar_and_changes_nothing_that_is_not_there(result) -> None:
    """state absent skips the start-only checks and, with nothing installed, reports no change."""
    assert result.rc == 0, result.output[-3000:]
    assert "Stop the per-job cluster and remove its unit" in result.output
    assert "changed=0" in result.output, result.output[-1500:]


@preflight_run(lambda workdir: _job(workdir, {"flink_job_remove_ha_state": True}))
def test_removing_ha_state_of_a_job_to_start_is_refused(result) -> None:
    assert_refused(result, "flink_job_remove_ha_state=true removes the job's ZooKeeper HA state and is only valid",
                   "(is 'started')")
    assert not (result.workdir / "jobs").exists()

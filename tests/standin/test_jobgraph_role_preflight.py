"""Bad input to the per-job path fails before anything starts, with a message that names what to change.

Why: a per-job cluster that starts with a wrong jar or class wastes a Mesos framework registration and leaves a
unit behind; the flink_job role must refuse such input in its preflight (on the controller, in check mode, with
nothing created), and the appmaster module must refuse job mode without a JobGraph.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# The ansible-playbook of the Python running the tests (the harness venv under tools/test).
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def ansible_env() -> dict[str, str]:
    """Environment that makes the checkout importable as the collection (and finds the installed ones)."""
    env = dict(os.environ)
    site = sysconfig.get_paths()["purelib"]
    env.update(ANSIBLE_COLLECTIONS_PATH=f"{REPO / '.cache' / 'collections'}:{site}", ANSIBLE_NOCOLOR="true",
               ANSIBLE_FORCE_COLOR="false", ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", PYTHONPATH=str(REPO / ".cache" / "collections"),
               # One local process per module (no temporary directory, copy and chmod around it).
               ANSIBLE_PIPELINING="true")
    return env


@pytest.fixture()
def job_jar(tmp_path: Path) -> Path:
    """A jar holding one class, demo.Job (content is irrelevant: preflight reads the zip directory)."""
    path = tmp_path / "job.jar"
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("demo/Job.class", b"\xca\xfe\xba\xbe")
    return path


def run_role(tmp_path: Path, role_vars: dict[str, Any]) -> tuple[int, str]:
    """Run flink_job in check mode against the local machine; (rc, output)."""
    if not ANSIBLE_PLAYBOOK.exists():
        pytest.fail(f"{ANSIBLE_PLAYBOOK} does not exist: run these tests with the Python of the venv that has "
                    "ansible-core (source tools/lib.sh && ensure_venv, or tools/test unit)")
    base = tmp_path / "jobs"
    play = [{
        "name": "preflight of flink_job", "hosts": "localhost", "gather_facts": False,
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "tasks": [{"name": "Run flink_job", "ansible.builtin.include_role": {"name": "streamops.flink_mesos.flink_job"},
                   "vars": {"flink_job_base_dir": str(base), "flink_job_log_dir": str(tmp_path / "logs"),
                            "flink_job_name": "demo", **role_vars}}],
    }]
    playbook = tmp_path / "play.json"
    playbook.write_text(json.dumps(play))
    proc = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "--check", str(playbook)], env=ansible_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def assert_refused(rc: int, output: str, *needles: str) -> None:
    assert rc != 0, output
    for needle in needles:
        assert needle in output, output[-3000:]


@pytest.mark.parametrize("name", ["bad name", "../x", "-lead", "a" * 65, ""])
def test_job_name_that_is_no_unit_name(tmp_path: Path, job_jar: Path, name: str) -> None:
    rc, out = run_role(tmp_path, {"flink_job_name": name, "flink_job_jar": str(job_jar)})
    assert_refused(rc, out, f"flink_job_name: '{name}' is not a valid instance name", "1-64 letters")


def test_jar_that_does_not_exist(tmp_path: Path) -> None:
    rc, out = run_role(tmp_path, {"flink_job_jar": str(tmp_path / "missing.jar"), "flink_job_entry_class": "demo.Job"})
    assert_refused(rc, out, "missing.jar does not exist")
    assert not (tmp_path / "jobs").exists()


def test_entry_class_not_in_the_jar(tmp_path: Path, job_jar: Path) -> None:
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Other"})
    assert_refused(rc, out, "entry_class 'demo.Other' is not in", "demo/Other.class")


def test_parallelism_below_one(tmp_path: Path, job_jar: Path) -> None:
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Job",
                                  "flink_job_parallelism": 0})
    assert_refused(rc, out, "flink_job_parallelism must be an integer of 1 or more (got '0')")


def test_ports_of_another_registered_job(tmp_path: Path, job_jar: Path) -> None:
    other = tmp_path / "jobs" / "other"
    other.mkdir(parents=True)
    (other / "job.json").write_text(json.dumps({"name": "other", "rest_port": 8090, "rpc_port": 6190}))
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Job",
                                  "flink_job_rest_port": 8090, "flink_job_rpc_port": 6191})
    assert_refused(rc, out, "is already used on localhost", "other")


def test_port_of_the_session_cluster(tmp_path: Path, job_jar: Path) -> None:
    """Without a recorded session, flink-conf.yaml's rest.port (8081 unless the flink role said otherwise) is taken."""
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Job",
                                  "flink_job_rest_port": 8081, "flink_job_rpc_port": 6191})
    assert_refused(rc, out, "session REST ports: 8081")


def test_port_of_a_session_recorded_on_the_host(tmp_path: Path, job_jar: Path) -> None:
    """The flink_session role's record on the host (ansible_local.streamops_flink_session_<name>) is what counts,
    not another role's variables: its port is refused, and flink-conf.yaml's 8081 is then free."""
    recorded = {"streamops_flink_session_s1": {"name": "s1", "rest_port": 8095}}
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Job",
                                  "flink_job_rest_port": 8095, "flink_job_rpc_port": 6191, "ansible_local": recorded})
    assert_refused(rc, out, "session REST ports: 8095")
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Job",
                                  "flink_job_rest_port": 8081, "flink_job_rpc_port": 6191, "ansible_local": recorded})
    assert "session REST ports" not in out, out[-3000:]
    assert "Create the job's directories" in out, out[-3000:]


def test_good_input_passes_preflight(tmp_path: Path, job_jar: Path) -> None:
    """The same play with valid input gets past preflight (it may stop later: no Flink on this machine)."""
    rc, out = run_role(tmp_path, {"flink_job_jar": str(job_jar), "flink_job_entry_class": "demo.Job",
                                  "flink_job_rest_port": 8091, "flink_job_rpc_port": 6192})
    assert "Check that no other job on this host uses the same ports" in out
    assert "Create the job's directories" in out, out[-3000:]


def test_absent_needs_no_jar_and_changes_nothing_that_is_not_there(tmp_path: Path) -> None:
    """state absent skips the start-only checks and, with nothing installed, reports no change."""
    rc, out = run_role(tmp_path, {"flink_job_state": "absent"})
    assert rc == 0, out[-3000:]
    assert "Stop the per-job cluster and remove its unit" in out
    assert "changed=0" in out, out[-1500:]

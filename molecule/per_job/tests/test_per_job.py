"""Verify the `per_job` scenario on the appmaster host (job-am).

Why these checks:
- The JobGraph file the module wrote is submitted, with the jars of the job's usrlib/, to a standalone Flink
  session started here from the installed tree (REST `POST /jobs`) and must reach FINISHED: that proves the file is
  a real, complete JobGraph of the test job, independent of Mesos.
- Each per-job cluster must register its own framework, have Mesos launch its TaskManager on job-agent, run its
  job to FINISHED and unregister. Mesos is the TEST-ONLY stand-in (reached through the TEST-ONLY pure-Java
  scheduler driver handed to the flink role as a user jar) unless MESOS_PACKAGE names a REAL Mesos package;
  the same assertions hold for both, and a stand-in result says nothing about Mesos itself.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

testinfra_hosts = ["job-am"]

# name -> (program arguments, parallelism, REST port, RPC port), as in molecule.yml's scenario_jobs.
JOBS = {"seq-job": (["seq-job", "200000"], 2, 8082, 6124), "seq-job-b": (["seq-job-b", "5000"], 1, 8083, 6125)}
JOB = "seq-job"
JOB_DIR = f"/var/lib/flink/jobs/{JOB}"
GRAPH = f"{JOB_DIR}/job.graph"
UNIT = f"flink-appmaster-{JOB}"


def _paths(job: str) -> tuple[str, str, str, str]:
    """Job directory, JobGraph, unit and appmaster log of one job."""
    job_dir = f"/var/lib/flink/jobs/{job}"
    return (job_dir, f"{job_dir}/job.graph", f"flink-appmaster-{job}",
            f"/var/log/flink/jobs/{job}/flink-{job}-mesos-appmaster-job-am.log")


REAL_MESOS = os.environ.get("FLINK_MESOS_SOURCE") == "real"  # tools/lib.sh, export_mesos_source
SESSION = "/tmp/per-job-verify-session"
SESSION_REST = 18081


def _journal(host: Any, unit: str = UNIT) -> str:
    """The unit's last journal lines, for assertion messages."""
    return host.run(f"journalctl -u {unit} -n 50 --no-pager").stdout


def _json_file(host: Any, path: str) -> Any:
    content = host.file(path)
    assert content.exists, f"{path} is missing on job-am"
    return json.loads(content.content_string)


def _get_json(host: Any, url: str) -> Any:
    out = host.run(f"curl -fsSL --max-time 10 {url}")
    assert out.rc == 0, f"GET {url} failed: {out.stderr}"
    return json.loads(out.stdout)


@pytest.mark.parametrize("job", sorted(JOBS))
def test_job_directory_holds_its_own_usrlib_and_lib_links(host: Any, job: str) -> None:
    job_dir, dummy, unit, dummy = _paths(job)
    usrlib = host.check_output(f"ls {job_dir}/usrlib").split()
    assert usrlib == ["sequence-job.jar"]
    links = host.check_output(f"find {job_dir}/lib -maxdepth 1 -type l -printf '%f %l\\n'").splitlines()
    targets = dict(line.split(" ", 1) for line in links)
    dist = [name for name in targets if name.startswith("flink-dist_")]
    assert dist, f"no flink-dist link in {job_dir}/lib: {targets}"
    assert all(t.startswith("/opt/flink/lib/") for t in targets.values()), targets
    assert set(targets) == set(host.check_output("ls /opt/flink/lib").split())
    dummy, dummy, rest_port, rpc_port = JOBS[job]
    registry = _json_file(host, f"{job_dir}/job.json")
    assert registry == {"name": job, "rest_port": rest_port, "rpc_port": rpc_port, "unit": f"{unit}.service",
                        "jar": "sequence-job.jar"}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_sidecar_records_the_inputs_of_the_jobgraph(host: Any, job: str) -> None:
    dummy, graph, dummy, dummy = _paths(job)
    args, parallelism, dummy, dummy = JOBS[job]
    sidecar = _json_file(host, f"{graph}.inputs.json")
    inputs = sidecar["inputs"]
    assert inputs["args"] == args and inputs["parallelism"] == parallelism
    assert inputs["entry_class"] == "scenario.SequenceJob" and inputs["flink_version"] == "1.13.6"
    assert sidecar["result"]["job_name"] == job and sidecar["result"]["vertices"] == 1
    digest = host.check_output(f"sha256sum {graph}").split()[0]
    assert sidecar["graph_sha256"] == digest


def test_two_jobs_side_by_side_share_nothing(host: Any) -> None:
    """Distinct JobGraphs (ids), ports, and each appmaster ran with its own lib/ (hence its own usrlib/)."""
    ids = {_json_file(host, f"{_paths(j)[1]}.inputs.json")["result"]["job_id"] for j in JOBS}
    assert len(ids) == len(JOBS)
    assert len({(p[2], p[3]) for p in JOBS.values()}) == len(JOBS)
    for job in JOBS:
        text = host.file(_paths(job)[3]).content_string
        # The JobManager logs its class path: the per-job FLINK_LIB_DIR must be the one it used.
        assert f"/var/lib/flink/jobs/{job}/lib/flink-dist_" in text, f"{job} did not use its own lib/"
        others = [o for o in JOBS if o != job]
        assert not any(f"/var/lib/flink/jobs/{o}/" in text for o in others), f"{job} saw another job's files"


@pytest.fixture()
def standalone_session(host: Any) -> Any:
    """A standalone Flink session on the container's loopback, from the installed tree and its configuration."""
    overrides = "\n".join([
        "jobmanager.rpc.address: localhost", "jobmanager.rpc.port: 16123", "jobmanager.bind-host: 127.0.0.1",
        "taskmanager.bind-host: 127.0.0.1", "taskmanager.host: localhost", f"rest.port: {SESSION_REST}",
        "rest.address: localhost", "rest.bind-address: 127.0.0.1", "taskmanager.numberOfTaskSlots: 2",
        "jobmanager.memory.process.size: 1024m", "taskmanager.memory.process.size: 1024m",
        f"env.log.dir: {SESSION}/log", f"env.pid.dir: {SESSION}", "high-availability: NONE",
    ])
    setup = host.run(
        f"rm -rf {SESSION} && mkdir -p {SESSION}/log && cp -r /etc/flink {SESSION}/conf && "
        f"printf '%s\\n' '{overrides}' >> {SESSION}/conf/flink-conf.yaml")
    assert setup.rc == 0, setup.stderr
    env = f"FLINK_CONF_DIR={SESSION}/conf FLINK_LOG_DIR={SESSION}/log"
    for script in ("jobmanager.sh", "taskmanager.sh"):
        started = host.run(f"{env} /opt/flink/bin/{script} start")
        assert started.rc == 0, started.stdout + started.stderr
    try:
        deadline = time.monotonic() + 90
        while True:
            out = host.run(f"curl -fsS --max-time 3 http://127.0.0.1:{SESSION_REST}/overview")
            if out.rc == 0 and json.loads(out.stdout).get("taskmanagers", 0) >= 1:
                break
            if time.monotonic() > deadline:
                logs = host.run(f"tail -n 40 {SESSION}/log/*.log").stdout
                pytest.fail(f"the verify session did not come up:\n{logs}")
            time.sleep(1)
        yield f"http://127.0.0.1:{SESSION_REST}"
    finally:
        host.run(f"{env} /opt/flink/bin/taskmanager.sh stop")
        host.run(f"{env} /opt/flink/bin/jobmanager.sh stop")


def test_module_written_jobgraph_runs_to_finished_on_a_flink_session(host: Any, standalone_session: str) -> None:
    sidecar = _json_file(host, f"{GRAPH}.inputs.json")
    job_id = sidecar["result"]["job_id"]
    request = json.dumps({"jobGraphFileName": "job.graph", "jobJarFileNames": ["sequence-job.jar"]})
    submit = host.run(
        f"curl -fsS --max-time 30 -X POST {standalone_session}/jobs "
        f"-F 'request={request};type=application/json' "
        f"-F 'file_0=@{GRAPH};filename=job.graph;type=application/octet-stream' "
        f"-F 'file_1=@{JOB_DIR}/usrlib/sequence-job.jar;filename=sequence-job.jar;type=application/java-archive'")
    assert submit.rc == 0, f"POST /jobs failed: {submit.stdout} {submit.stderr}"
    assert json.loads(submit.stdout) == {"jobUrl": f"/jobs/{job_id}"}
    deadline = time.monotonic() + 120
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = _get_json(host, f"{standalone_session}/jobs/{job_id}")
        if job["state"] in ("FINISHED", "FAILED", "CANCELED"):
            break
        time.sleep(1)
    assert job.get("state") == "FINISHED", _get_json(host, f"{standalone_session}/jobs/{job_id}/exceptions")
    assert job["name"] == JOB
    assert [v["parallelism"] for v in job["vertices"]] == [2]
    result = _get_json(host, f"{standalone_session}/jobs/{job_id}/execution-result")
    assert result["job-execution-result"]["application-status"] == "SUCCEEDED"


@pytest.mark.parametrize("job", sorted(JOBS))
def test_per_job_command_line(host: Any, job: str) -> None:
    """The module ran mesos-appmaster-job.sh with the job's own JobGraph, ports, framework and HA namespace."""
    job_dir, graph, unit_name, dummy = _paths(job)
    dummy, dummy, rest_port, rpc_port = JOBS[job]
    run = _json_file(host, f"/root/per-job-run-{job}.json")
    assert run["unit"] == f"{unit_name}.service"
    command = run["command"]
    assert command[0] == "/opt/flink/bin/mesos-appmaster-job.sh", command
    for word in (f"-Dinternal.jobgraph-path={graph}", f"-Drest.port={rest_port}", f"-Djobmanager.rpc.port={rpc_port}",
                 f"-Dmesos.resourcemanager.framework.name=flink-job-{job}",
                 f"-Dhigh-availability.cluster-id=/flink-job-{job}"):
        assert word in command, f"{word} missing from {command}"


@pytest.mark.parametrize("job", sorted(JOBS))
def test_job_finished_on_taskmanagers_mesos_launched_on_the_agent(host: Any, job: str) -> None:
    """Framework registered, TaskManagers ran as its tasks on job-agent, the job FINISHED, the framework left."""
    job_dir, dummy, unit_name, log_path = _paths(job)
    args, parallelism, dummy, dummy = JOBS[job]
    run = _json_file(host, f"/root/per-job-run-{job}.json")
    result = _json_file(host, f"{job_dir}/result.json")
    assert result["state"] == "FINISHED" and result["application_status"] == "SUCCEEDED", result
    # The ended cluster's unit is gone, so the job does not run again at boot, and its JVM has exited.
    assert not host.file(f"/etc/systemd/system/{unit_name}.service").exists
    assert host.run(f"ps -eo args | grep '[D]internal.jobgraph-path={job_dir}/'").rc == 1, "the job's JVM still runs"
    state = _get_json(host, "http://job-master:5050/master/state")
    agents = {s["id"]: s["hostname"] for s in state.get("slaves", [])}
    assert run["framework_id"], run
    # The cluster unregistered when it shut down: the framework is completed, not active or waiting for failover.
    assert not [f for f in state["frameworks"] if f["id"] == run["framework_id"]], state["frameworks"]
    done = [f for f in state["completed_frameworks"] if f["id"] == run["framework_id"]]
    assert len(done) == 1 and done[0]["name"] == f"flink-job-{job}" and done[0]["hostname"] == "job-am", done
    tasks = done[0].get("tasks", []) + done[0].get("completed_tasks", [])
    # One TaskManager with 2 slots serves parallelism 2 (and 1): exactly one task, on job-agent.
    assert len(tasks) == 1, tasks
    assert {agents.get(t["slave_id"]) for t in tasks} == {"job-agent"}, tasks
    statuses = [s["state"] for s in tasks[0].get("statuses", [])]
    assert "TASK_RUNNING" in statuses, tasks[0]
    text = host.file(log_path).content_string
    assert run["framework_id"] in text, f"the appmaster log never names {run['framework_id']}"
    assert "UnsatisfiedLinkError" not in text
    assert ("TEST-ONLY STAND-IN MesosSchedulerDriver" in text) is (not REAL_MESOS)


def test_tls_job_served_rest_over_https_and_the_role_reached_it_with_the_scenario_ca(host: Any) -> None:
    """seq-job-b's cluster served REST over TLS only; the role polled it over https trusting only ca_path.

    The role's wait (ansible.builtin.uri) and the module's readiness both reached https://127.0.0.1:8083, so the
    job's FINISHED result proves that flink_job_rest_scheme/flink_job_http reached every request; the other job
    stayed on plain http.
    """
    tls_run = _json_file(host, "/root/per-job-run-seq-job-b.json")
    plain_run = _json_file(host, "/root/per-job-run-seq-job.json")
    assert tls_run["rest_url"] == "https://127.0.0.1:8083", tls_run
    assert plain_run["rest_url"] == "http://127.0.0.1:8082", plain_run
    assert "-Dsecurity.ssl.rest.enabled=true" in tls_run["command"], tls_run["command"]
    # Keystore passwords are secrets (Flink's sensitive-key rule): masked in what the module returns.
    assert "-Dsecurity.ssl.rest.keystore-password=********" in tls_run["command"], tls_run["command"]
    assert "per-job-scenario-only" not in json.dumps(tls_run)
    assert not [w for w in plain_run["command"] if "security.ssl" in w], plain_run["command"]
    tls_log = host.file(_paths("seq-job-b")[3]).content_string
    assert "Web frontend listening at https://" in tls_log, "seq-job-b's REST endpoint did not serve https"
    assert "Web frontend listening at https://" not in host.file(_paths("seq-job")[3]).content_string
    result = _json_file(host, f"{_paths('seq-job-b')[0]}/result.json")
    assert result["state"] == "FINISHED", result
    # The key material is not readable by other users.
    assert host.file("/etc/flink-tls/rest.keystore").mode == 0o640
    assert host.file("/etc/flink-tls/rest.keystore").group == "flink"

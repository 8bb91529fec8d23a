"""Verify the `session` scenario on the agent host: the TaskManagers ran there as Mesos tasks, and are gone.

Why: Flink's /taskmanagers only says that some JVM registered from the agent's hostname. These checks read
the agent itself: each TaskManager's Mesos sandbox (work_dir/slaves/<agent>/frameworks/<framework>/executors/
<task>/runs/<container>) with the stdout/stderr the executor wrote, and the process table after the stop.
"""
from __future__ import annotations

from typing import Any

import pytest

testinfra_hosts = ["ansible://sess-agent"]

WORK_DIR = "/var/lib/mesos/agent"
# Written by side_effect.yml once the job has run and the session was removed; holds the session's framework id.
MARKER = "/root/session-job-ran"


def test_no_taskmanager_is_left_after_the_stop(host: Any) -> None:
    # The bracket keeps grep from matching its own command line.
    procs = host.run("ps -eo pid,args | grep '[o]rg.apache.flink.mesos.entrypoint.MesosTaskExecutorRunner'")
    # Before side_effect no TaskManager was ever started; after it the stop must have ended them all.
    assert procs.rc == 1, f"TaskManagers still running on the agent:\n{procs.stdout}"


def test_taskmanager_sandboxes_hold_their_output(host: Any) -> None:
    if not host.file(MARKER).exists:
        pytest.skip("phase 'running': side_effect has not run the job yet, so Flink started no TaskManager")
    framework_id = host.file(MARKER).content_string.strip()
    assert framework_id, f"{MARKER} names no framework"
    found = host.run(f"find {WORK_DIR}/slaves -mindepth 7 -maxdepth 7 -type d "
                     f"-path '*/frameworks/{framework_id}/executors/*/runs/*'")
    sandboxes = found.stdout.split()
    # One sandbox per TaskManager the session's framework launched for the parallelism-2 job.
    assert len(sandboxes) == 2, sandboxes
    for box in sandboxes:
        assert host.file(f"{box}/stdout").exists and host.file(f"{box}/stderr").exists, box
        # mesos-taskmanager.sh logs to flink-taskmanager.log in its working directory: the sandbox.
        log = host.file(f"{box}/flink-taskmanager.log")
        assert log.exists, host.run(f"ls -la {box}").stdout
        text = log.content_string
        assert "Starting MesosTaskExecutorRunner (Version: 1.13.6," in text, text[:3000]
        assert "Successful registration at resource manager" in text, text[-3000:]
        # The TaskManager's ResourceID is the Mesos task id, which is the executor directory's name.
        task_id = box.split("/executors/", 1)[1].split("/", 1)[0]
        assert f"Starting TaskManager with ResourceID: {task_id}" in text, text[:5000]

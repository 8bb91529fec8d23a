"""The TEST-ONLY Mesos stand-in (NOT Mesos) run as real processes through `mesos_standin.py master|agent`,
the way the .deb's /usr/sbin/mesos-{master,agent} wrappers run it.

Why: the in-process tests bypass main(), signal handling and the module search path of the installed
package. The stand-in cannot recover tasks after an agent restart, so it must kill them when it stops and
kill what a crashed run left behind; both are checked here on real process groups.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from standin_net import free_port, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))

import standin_agent  # noqa: E402  pylint: disable=wrong-import-position
import standin_executor as ex  # noqa: E402  pylint: disable=wrong-import-position

SCRIPT = Path(__file__).resolve().parents[1] / "mesos_standin" / "mesos_standin.py"


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return json.load(resp)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_agent_process_kills_its_tasks_on_sigterm(tmp_path: Path) -> None:
    from test_mesos_standin_integration import Scheduler, task  # pylint: disable=import-outside-toplevel
    mport, aport = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    master = subprocess.Popen([sys.executable, str(SCRIPT), "master", "--ip=127.0.0.1", "--hostname=127.0.0.1",
                               f"--port={mport}", "--registry=in_memory"], env=env, stderr=subprocess.PIPE)
    agent = subprocess.Popen([sys.executable, str(SCRIPT), "agent", "--ip=127.0.0.1", "--hostname=127.0.0.1",
                              f"--port={aport}", f"--work_dir={tmp_path}", f"--master=127.0.0.1:{mport}",
                              "--switch_user=false", "--resources=cpus:1;mem:128;disk:10",
                              "--executor_shutdown_grace_period=1secs"], env=env, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: get_json(mport, "/master/slaves")["slaves"])
        sched = Scheduler(mport, failover_timeout=60)
        offer = sched.offer()
        sched.launch(offer, task("t", offer, "trap '' TERM; sleep 60"))
        sched.update("t", "TASK_STARTING")
        pid = sched.update("t", "TASK_RUNNING")["container_status"]["executor_pid"]
        assert alive(pid)
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(10) == 0
        assert not alive(pid), "the agent's tasks end with it (after the 1 s grace period, by SIGKILL)"
        assert list(standin_agent.pid_dir(str(tmp_path)).glob("*")) == []
    finally:
        for proc in (agent, master):
            proc.kill()
            proc.wait(5)
    banner = master.stderr.read().decode()
    assert "TEST-ONLY STAND-IN, NOT MESOS" in banner


def test_leftover_task_of_a_crashed_agent_is_killed_at_start(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    env = {**os.environ, "MESOS_SANDBOX": str(sandbox)}
    orphan = ex.start_process(["/bin/sh", "-c", "sleep 60"], "/bin/sh", env, sandbox, None)
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        # Popen returns once the exec began; the kernel fills /proc/<pid>/environ a moment later (on a loaded
        # machine that window was seen). A crashed agent's task has long passed it: wait it out here.
        wait_for(lambda: f"MESOS_SANDBOX={sandbox}".encode() in
                 Path(f"/proc/{orphan.pid}/environ").read_bytes().split(b"\0"))
        standin_agent.record_task_pid(str(tmp_path), orphan.pid, sandbox)
        standin_agent.record_task_pid(str(tmp_path), stranger.pid, sandbox)
        assert standin_agent.kill_leftovers(str(tmp_path)) == [orphan.pid]
        assert orphan.wait(5) == -signal.SIGKILL
        assert stranger.poll() is None, "a process without that task's MESOS_SANDBOX is never touched"
        assert list(standin_agent.pid_dir(str(tmp_path)).glob("*")) == []
    finally:
        stranger.kill()
        orphan.kill()
        stranger.wait()


def test_agent_metrics_say_whether_it_is_registered_now(tmp_path: Path) -> None:
    """slave/registered (Mesos docs/monitoring.md) is 1 while registered and 0 when the master it follows is
    unreachable: the mesos role's health check reads it, because the leader keeps listing an agent that lost it."""
    mport, aport, dead = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    master = subprocess.Popen([sys.executable, str(SCRIPT), "master", "--ip=127.0.0.1", "--hostname=127.0.0.1",
                               f"--port={mport}", "--registry=in_memory"], env=env, stderr=subprocess.DEVNULL)
    common = [sys.executable, str(SCRIPT), "agent", "--ip=127.0.0.1", "--hostname=127.0.0.1", f"--port={aport}",
              f"--work_dir={tmp_path}", "--switch_user=false", "--resources=cpus:1;mem:128;disk:10"]
    agent = subprocess.Popen(common + [f"--master=127.0.0.1:{mport}"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: get_json(aport, "/metrics/snapshot")["slave/registered"] == 1.0)
        agent.terminate()
        agent.wait(10)
        agent = subprocess.Popen(common + [f"--master=127.0.0.1:{dead}"], env=env, stderr=subprocess.DEVNULL)
        snapshot = wait_for(lambda: get_json(aport, "/metrics/snapshot"))
        time.sleep(1.0)
        assert get_json(aport, "/metrics/snapshot")["slave/registered"] == 0.0, snapshot
        assert any(s["hostname"] == "127.0.0.1" for s in get_json(mport, "/master/slaves")["slaves"]), \
            "the leader still lists the agent from its earlier registration (what fooled the old check)"
    finally:
        for proc in (agent, master):
            proc.kill()
            proc.wait(5)

"""TEST-ONLY STAND-IN, NOT MESOS: the agent of the Mesos 1.11 imitation.

It checks its checkpointed agent info like Mesos (`<work_dir>/meta/slaves/latest`), registers with the leading
master over PRIVATE stand-in endpoints, runs command tasks the way Mesos' command executor does (sandbox,
fetcher, environment, user, process group, TASK_STARTING/RUNNING/terminal updates, SIGTERM then SIGKILL on
kill), forwards status updates reliably (retried until acknowledged) and serves `/state`.

PRIVATE, non-Mesos endpoints it serves for its master: `POST /slave(1)/standin/launch`, `.../kill`,
`.../acknowledge`, `.../shutdown_framework`, `.../shutdown_executor`. Real Mesos uses libprocess messages.

What it does NOT do: recover tasks when the agent process itself restarts (Mesos would reattach to running
executors; here tasks are children of the agent and die with it, or with its unit's cgroup), isolate tasks
(no cgroups, namespaces, rootfs, limits), run Docker, custom executors or task groups, or cache fetches.
"""
from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Callable, Mapping

import standin_executor as ex
import standin_resources as rs
import standin_tasks as tk
from standin_util import (STANDIN_VERSION, format_duration, http_json, log, own_address, parse_duration,
                          parse_master_address, parse_zk_url, read_indirect, serve, zk_client, zk_leader)


# ---------------------------------------------------------------------------------------------------------
# Agent info and its checkpoint (what --reconfiguration_policy compares on restart).
# ---------------------------------------------------------------------------------------------------------

def parse_attributes(text: str | None) -> dict[str, Any]:
    """`rack:a;level:2` -> {"rack": "a", "level": 2}, the form /master/slaves shows."""
    return rs.attributes_model(rs.parse_attributes_v1(text))


def parse_resources(text: str | None, host: rs.HostFacts | None = None) -> dict[str, Any]:
    """The agent's total resources in /master/slaves form. Without host facts the defaults are Mesos'
    fallbacks (cpus 1, mem 1024, disk 10240, ports [31000-32000]); with them, what Mesos computes."""
    return rs.model(rs.agent_resources(text, host))


def agent_info(flags: Mapping[str, str], hostname: str, host: rs.HostFacts | None = None,
               port: int | None = None) -> dict[str, Any]:
    """The parts of SlaveInfo that Mesos compares on restart (reconfiguration_policy)."""
    return {"hostname": hostname, "port": port if port is not None else int(flags.get("port", "5051")),
            "attributes": parse_attributes(flags.get("attributes")),
            "resources": parse_resources(flags.get("resources"), host)}


def agent_info_error(previous: Mapping[str, Any], current: Mapping[str, Any], policy: str) -> str | None:
    """Why the agent must refuse to recover with `current` after `previous` was checkpointed, or None.

    Mirrors src/slave/compatibility.cpp of Mesos 1.11 for the fields the stand-in models.
    """
    if policy == "equal":
        if dict(previous) == dict(current):
            return None
        sep = "\n------------------------------------------------------------"
        return "\n".join(["Incompatible agent info detected. ", sep,
                          "Old agent info:\n" + json.dumps(previous, sort_keys=True), sep,
                          "New agent info:\n" + json.dumps(current, sort_keys=True), sep])
    if previous["hostname"] != current["hostname"]:
        return ("Configuration change not permitted under `additive` policy: Hostname changed from "
                f"{previous['hostname']} to {current['hostname']}")
    if previous["port"] != current["port"]:
        return ("Configuration change not permitted under `additive` policy: Port changed from "
                f"{previous['port']} to {current['port']}")
    for name, value in previous["resources"].items():
        new = current["resources"].get(name)
        if new is None:
            return f"Configuration change not permitted under 'additive' policy. Resource not found: {name}"
        if isinstance(value, float) and isinstance(new, float) and new < value:
            return (f"Configuration change not permitted under 'additive' policy: Value of scalar resource "
                    f"'{name}' decreased from {value:g} to {new:g}")
    for name, value in previous["attributes"].items():
        if current["attributes"].get(name) != value:
            return (f"Configuration change not permitted under 'additive' policy: Previous attribute "
                    f"'{name}:{value}' not found in current agent info")
    return None


def meta_dir(work_dir: str) -> Path:
    """<work_dir>/meta/slaves, where Mesos checkpoints agent info."""
    return Path(work_dir) / "meta" / "slaves"


def recover_agent(work_dir: str, info: dict[str, Any], policy: str) -> tuple[str | None, str | None]:
    """(checkpointed agent id or None, error or None) from `<work_dir>/meta/slaves/latest`."""
    info_file = meta_dir(work_dir) / "latest" / "slave.info"
    if not info_file.exists():
        return None, None
    previous = json.loads(info_file.read_text())
    error = agent_info_error(previous["info"], info, policy)
    if error:
        return None, error
    return previous["id"], None


def checkpoint_agent(work_dir: str, agent_id: str, info: dict[str, Any]) -> None:
    """Write meta/slaves/<id>/slave.info and point `latest` at it (the stand-in writes JSON, Mesos protobuf)."""
    base = meta_dir(work_dir)
    target = base / agent_id
    target.mkdir(parents=True, exist_ok=True)
    (target / "slave.info").write_text(json.dumps({"id": agent_id, "info": info}, sort_keys=True))
    latest = base / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(target)


def find_master(flags: Mapping[str, str], zk: dict[str, Any]) -> tuple[str, int] | None:
    """Address of the leading master from --master: `host:port`, `zk://...` or `file://...`."""
    value = read_indirect(flags["master"])
    if not value.startswith("zk://"):
        return parse_master_address(value)
    url = parse_zk_url(value)
    if "client" not in zk:
        zk["client"] = zk_client(url)
    leader = zk_leader(zk["client"], url.path)
    if leader is None:
        return None
    return leader["address"]["hostname"], int(leader["address"]["port"])


# ---------------------------------------------------------------------------------------------------------
# Task process records: the stand-in cannot recover tasks, so it must not leave any behind.
# ---------------------------------------------------------------------------------------------------------

def pid_dir(work_dir: str) -> Path:
    """`<work_dir>/meta/standin/tasks/<pid>` files name the sandbox of each running task (stand-in only)."""
    return Path(work_dir) / "meta" / "standin" / "tasks"


def record_task_pid(work_dir: str, pid: int, sandbox: Path) -> None:
    """Remember a running task's process group so a later agent start can find it after a crash."""
    directory = pid_dir(work_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / str(pid)).write_text(str(sandbox))


def forget_task_pid(work_dir: str, pid: int) -> None:
    """The task's process ended."""
    try:
        (pid_dir(work_dir) / str(pid)).unlink()
    except FileNotFoundError:
        pass


def kill_leftovers(work_dir: str) -> list[int]:
    """SIGKILL task process groups a previous agent run left behind (it crashed or was killed), checking
    /proc/<pid>/environ for that task's MESOS_SANDBOX so that a reused pid is never hit. Mesos would
    reattach to such executors (--recover=reconnect); the stand-in cannot, so it cleans up instead.
    Returns the process groups it killed."""
    killed = []
    directory = pid_dir(work_dir)
    for record in sorted(directory.glob("*")) if directory.is_dir() else []:
        try:
            pid, sandbox = int(record.name), record.read_text()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if f"MESOS_SANDBOX={sandbox}".encode() in environ:
                ex.sigkill_group(pid)
                killed.append(pid)
        except (ValueError, OSError):
            pass
        record.unlink(missing_ok=True)
    return killed


# ---------------------------------------------------------------------------------------------------------
# Runs of command tasks.
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One command task with its command executor (the executor ID is the task ID, as in Mesos)."""

    framework_id: str
    task: dict[str, Any]
    container_id: str
    directory: Path
    state: str = "TASK_STAGING"
    statuses: list[dict[str, Any]] = field(default_factory=list)
    process: Any = None
    kill_requested: bool = False
    killed: bool = False
    kill_grace: float | None = None
    escalation: threading.Timer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def task_id(self) -> str:
        """The TaskID value (also the executor ID)."""
        return self.task["task_id"]["value"]


@dataclass
class AgentFramework:
    """A framework with runs on this agent."""

    id: str
    info: dict[str, Any]
    runs: dict[str, Run] = field(default_factory=dict)
    completed_runs: collections.deque = field(default_factory=lambda: collections.deque(maxlen=150))
    terminating: bool = False


class AgentServer:
    """The stand-in agent process."""

    def __init__(self, flags: dict[str, str]) -> None:
        self.flags = flags
        self.lock = threading.RLock()
        self.stop_event = threading.Event()
        self.start_time = time.time()
        self.work_dir = flags["work_dir"]
        Path(self.work_dir).mkdir(parents=True, exist_ok=True)
        self.hostname, self.ip = own_address(flags)
        self.switch_user = flags.get("switch_user", "true") == "true"
        self.shutdown_grace = flags.get("executor_shutdown_grace_period", "5secs")
        self.flag_env = ex.parse_environment_flag(flags.get("executor_environment_variables"))
        self.fetch_timeout = parse_duration(flags.get("fetcher_stall_timeout", "60secs"))
        host = rs.probe_host(self.work_dir)
        self.total = rs.agent_resources(flags.get("resources"), host, flags.get("default_role", "*"))
        self.attributes = rs.parse_attributes_v1(flags.get("attributes"))
        self.frameworks: dict[str, AgentFramework] = {}
        self.completed_frameworks: collections.deque[AgentFramework] = collections.deque(maxlen=50)
        self.streams: dict[tuple[str, str], tk.UpdateStream] = {}
        self.master: tuple[str, int] | None = None
        self.registered = False
        self.server = serve(flags.get("ip", "0.0.0.0"), int(flags["port"]), self._routes())
        self.port = self.server.server_address[1]
        self.info = agent_info(flags, self.hostname, host, self.port)
        self.agent_id: str | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def recover(self) -> str | None:
        """Check the checkpointed agent info; the error text of Mesos' refusal, or None."""
        agent_id, error = recover_agent(self.work_dir, self.info, self.flags.get("reconfiguration_policy", "equal"))
        self.agent_id = agent_id
        return error

    def start(self) -> None:
        """Kill what a crashed previous run left, then start the registration and status update loops."""
        leftovers = kill_leftovers(self.work_dir)
        if leftovers:
            log(f"killed {len(leftovers)} task process group(s) left by a previous agent run: the TEST-ONLY "
                "stand-in cannot recover tasks (Mesos would)")
        threading.Thread(target=self._registration_loop, name="registration", daemon=True).start()
        threading.Thread(target=self._retry_loop, name="status-retries", daemon=True).start()

    def stop(self, grace: float = 0.0) -> None:
        """Stop serving and end every task: SIGTERM, then SIGKILL after `grace` seconds (at once with 0).

        Why the agent kills its tasks: Mesos leaves executors running over an agent restart and reattaches
        to them; the stand-in cannot reattach, and the agent unit's KillMode=process would otherwise leave
        them running as orphans nobody accounts for."""
        self.stop_event.set()
        with self.lock:
            runs = [r for f in self.frameworks.values() for r in f.runs.values() if r.process is not None]
        for run in runs:
            ex.signal_group(run.process.pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        deadline = time.monotonic() + grace
        while grace > 0 and time.monotonic() < deadline and any(r.process.poll() is None for r in runs):
            time.sleep(0.05)
        for run in runs:
            ex.sigkill_group(run.process.pid)
            forget_task_pid(self.work_dir, run.process.pid)
        self.server.shutdown()
        self.server.server_close()

    def _registration_loop(self) -> None:
        zk: dict[str, Any] = {}
        while not self.stop_event.is_set():
            try:
                master = find_master(self.flags, zk)
                if master is None:
                    log("no leading master known yet")
                    self.registered = False
                elif not self.registered or master != self.master:
                    self._register(master)
                else:
                    status = http_json("POST", f"http://{master[0]}:{master[1]}/master/standin/heartbeat",
                                       {"id": self.agent_id})[0]
                    if status != 200:
                        log(f"master {master[0]}:{master[1]} answered {status} to a heartbeat; re-registering")
                        self.registered = False
            except (OSError, ValueError) as err:
                log(f"cannot reach the master: {err}")
                self.registered = False
            self.stop_event.wait(0.2 if not self.registered else 2.0)

    def _register(self, master: tuple[str, int]) -> None:
        with self.lock:
            payload = {"id": self.agent_id, "ip": self.ip, "info": self.info, "version": STANDIN_VERSION,
                       "total_resources": rs.list_to_json(self.total), "attributes_v1": self.attributes,
                       "frameworks": self._report()}
        status, body, dummy = http_json("POST", f"http://{master[0]}:{master[1]}/master/standin/register", payload)
        if status != 200:
            log(f"registration with {master[0]}:{master[1]} answered {status}; retrying")
            return
        if self.agent_id != body["slave_id"]:
            checkpoint_agent(self.work_dir, body["slave_id"], self.info)
        with self.lock:
            self.agent_id, self.master, self.registered = body["slave_id"], master, True
            for stream in self.streams.values():
                stream.next_send = None  # resend every unacknowledged update to the (new) master now
        log(f"registered with master {master[0]}:{master[1]} as agent {self.agent_id}")
        for framework_id in body.get("shutdown_frameworks") or []:
            self.shutdown_framework(framework_id)

    def _report(self) -> list[dict[str, Any]]:
        """Frameworks and tasks to tell a (re-started) master about: live runs, and finished runs whose
        updates are not acknowledged yet."""
        report = []
        for fw in self.frameworks.values():
            if fw.terminating:
                continue
            runs = list(fw.runs.values()) + [r for r in fw.completed_runs if (fw.id, r.task_id) in self.streams]
            tasks = [{"task": r.task, "state": r.state, "statuses": r.statuses} for r in runs]
            report.append({"info": fw.info, "tasks": tasks})
        return report

    # -- status updates ---------------------------------------------------------------------------------

    def _status(self, run: Run, state: str, source: str, message: str | None = None, reason: str | None = None,
                container_status: Mapping[str, Any] | None = None) -> None:
        """Record a new task state and forward it (unless the framework is being shut down)."""
        with self.lock:
            if tk.is_terminal(run.state):
                return
            run.state = state
            status = tk.make_status(run.task_id, state, source=source, agent_id=self.agent_id,
                                    executor_id=run.task_id, message=message, reason=reason,
                                    uuid_b64=tk.new_uuid_b64(), container_status=container_status)
            run.statuses.append(status)
            fw = self.frameworks.get(run.framework_id)
            if fw is None:
                return
            if tk.is_terminal(state):
                fw.runs.pop(run.task_id, None)
                fw.completed_runs.append(run)
                if fw.terminating and not fw.runs:
                    self._complete_framework(fw)
            if fw.terminating:
                return
            key = (run.framework_id, run.task_id)
            send_now = self.streams.setdefault(key, tk.UpdateStream()).add(status)
        log(f"task {run.task_id} of framework {run.framework_id} is {state}" + (f": {message}" if message else ""))
        if send_now:
            self._forward(key)

    def _forward(self, key: tuple[str, str]) -> None:
        """Send the head update of a task's stream to the master; retried by the retry loop until acked."""
        with self.lock:
            stream = self.streams.get(key)
            head = stream.head() if stream else None
            if stream is None or head is None:
                return
            stream.sent(time.time())
            master, registered = self.master, self.registered
            payload = {"agent_id": self.agent_id, "framework_id": key[0], "status": head,
                       "latest_state": stream.latest_state}
        if master is None or not registered:
            return
        try:
            code, dummy, dummy = http_json("POST", f"http://{master[0]}:{master[1]}/master/standin/status", payload)
        except OSError as err:
            log(f"cannot forward status update to the master: {err}")
            return
        if code in (404, 307, 503):
            self.registered = False

    def _retry_loop(self) -> None:
        while not self.stop_event.wait(0.25):
            with self.lock:
                due = [k for k, s in self.streams.items() if s.due(time.time()) is not None] if self.registered else []
            for key in due:
                self._forward(key)

    def acknowledge(self, framework_id: str, task_id: str, uuid_b64: str) -> None:
        """The scheduler acknowledged an update: drop it and forward the next one of that task at once."""
        with self.lock:
            stream = self.streams.get((framework_id, task_id))
            if stream is None:
                return
            matched, following = stream.acknowledge(uuid_b64)
            if stream.done:
                del self.streams[(framework_id, task_id)]
        if matched and following is not None:
            self._forward((framework_id, task_id))

    # -- launching and killing --------------------------------------------------------------------------

    def launch(self, framework_id: str, framework_info: dict[str, Any], task: dict[str, Any]) -> None:
        """Accept a task from the master and run it in its own thread."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is not None and fw.terminating:
                log(f"ignoring task {task['task_id']['value']} of framework {framework_id}: it is shutting down")
                return
            if fw is None:
                fw = self.frameworks[framework_id] = AgentFramework(framework_id, framework_info)
            fw.info = framework_info
            container_id = str(uuid.uuid4())
            directory = ex.sandbox_dir(self.work_dir, self.agent_id or "unknown", framework_id,
                                       task["task_id"]["value"], container_id)
            run = fw.runs[task["task_id"]["value"]] = Run(framework_id, task, container_id, directory)
        threading.Thread(target=self._run, args=(run, fw), name=f"task-{run.task_id}", daemon=True).start()

    def _fail(self, run: Run, message: str, reason: str = "REASON_CONTAINER_LAUNCH_FAILED") -> None:
        self._stderr(run, message)
        self._status(run, "TASK_FAILED", "SOURCE_AGENT", message=message, reason=reason)

    @staticmethod
    def _stderr(run: Run, line: str) -> None:
        try:
            with (run.directory / "stderr").open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError:
            pass

    def _prepare(self, run: Run, fw: AgentFramework) -> tuple[list[str], str, dict[str, str], Any]:
        """Sandbox, user, fetch, environment; LaunchError with the failure message."""
        task = run.task
        if "executor" in task:
            raise ex.LaunchError("Custom executors are not served by the TEST-ONLY Mesos stand-in "
                                 "(only the command executor)")
        container = task.get("container") or {}
        if container.get("type") == "DOCKER" or container.get("docker"):
            raise ex.LaunchError("No containerizer supports DOCKER containers on this TEST-ONLY Mesos stand-in")
        if (container.get("mesos") or {}).get("image"):
            raise ex.LaunchError("Container images are not served by the TEST-ONLY Mesos stand-in")
        command = task["command"]
        ex.make_sandbox(run.directory)
        user = ex.run_as_user(self.switch_user, command, fw.info)
        creds = ex.credentials(user) if user else None
        if creds is not None and ex.switch_needed(creds):
            ex.chown_tree(run.directory, creds)
        for uri in command.get("uris") or []:
            item = ex.plan_fetch(uri, run.directory, self.flags.get("frameworks_home"))
            try:
                ex.fetch(item, run.directory, lambda line: self._stderr(run, line), self.fetch_timeout)
            except ex.LaunchError as err:
                raise ex.LaunchError(f"Failed to fetch all URIs for container '{run.container_id}': "
                                     f"exited with status 1 ({err})") from err
        if command.get("uris"):
            self._stderr(run, f"Successfully fetched all URIs into '{run.directory}'")
        if creds is not None and ex.switch_needed(creds):
            ex.chown_tree(run.directory, creds)
        env = ex.task_environment(ex.executor_environment(
            agent_env=os.environ, flag_env=self.flag_env, directory=run.directory, framework_id=run.framework_id,
            executor_id=run.task_id, task_id=run.task_id, agent_id=self.agent_id or "", agent_ip=self.ip,
            agent_port=self.port, shutdown_grace=self.shutdown_grace), command)
        argv, executable = ex.command_line(command)
        return argv, executable, env, creds

    def _run(self, run: Run, fw: AgentFramework) -> None:
        """The command executor: prepare, TASK_STARTING, spawn, TASK_RUNNING, wait, terminal update."""
        try:
            argv, executable, env, creds = self._prepare(run, fw)
        except ex.LaunchError as err:
            self._fail(run, f"Failed to launch container: {err}")
            return
        except Exception as err:  # noqa: BLE001 - any other failure is a launch failure too
            self._fail(run, f"Failed to launch container: {err!r}")
            return
        if run.kill_requested:
            self._status(run, "TASK_KILLED", "SOURCE_AGENT", reason="REASON_TASK_KILLED_DURING_LAUNCH",
                         message="Task killed before it was launched")
            return
        self._stderr(run, f"Starting task {run.task_id}")
        self._status(run, "TASK_STARTING", "SOURCE_EXECUTOR")
        process, launch_error = None, None
        with run.lock:
            if not run.kill_requested:
                try:
                    process = run.process = ex.start_process(argv, executable, env, run.directory, creds)
                except (OSError, ex.LaunchError, subprocess.SubprocessError) as err:
                    launch_error = str(err)
        if process is None:
            if launch_error is None:
                self._status(run, "TASK_KILLED", "SOURCE_EXECUTOR", reason="REASON_TASK_KILLED_DURING_LAUNCH",
                             message="Task killed before it was launched")
            else:
                self._fail(run, f"Failed to launch task: {launch_error}", reason="REASON_EXECUTOR_TERMINATED")
            return
        record_task_pid(self.work_dir, process.pid, run.directory)
        self._stderr(run, f"Forked command at {process.pid}")
        container_status = {"container_id": {"value": run.container_id}, "executor_pid": process.pid,
                            "network_infos": [{"ip_addresses": [{"protocol": "IPv4", "ip_address": self.ip}]}]}
        self._status(run, "TASK_RUNNING", "SOURCE_EXECUTOR", container_status=container_status)
        if run.kill_requested and not run.killed:
            self._kill(run, run.kill_grace if run.kill_grace is not None else 3.0)
        returncode = process.wait()
        with run.lock:
            if run.escalation is not None:
                run.escalation.cancel()
        ex.sigkill_group(process.pid)
        forget_task_pid(self.work_dir, process.pid)
        state, message = tk.command_outcome(tk.wait_status_from_returncode(returncode), run.killed)
        self._stderr(run, f"{message} (pid: {process.pid})")
        self._status(run, state, "SOURCE_EXECUTOR", message=message)

    def _kill(self, run: Run, grace: float) -> None:
        """SIGTERM the task's process group, SIGKILL it after `grace` seconds (Mesos' command executor)."""
        with run.lock:
            run.kill_requested = True
            if run.kill_grace is None or grace < run.kill_grace:
                run.kill_grace = grace
            process = run.process
            if process is None or process.poll() is not None:
                return
            first = not run.killed
            run.killed = True
            if run.escalation is not None:
                run.escalation.cancel()
            run.escalation = threading.Timer(grace, self._escalate, args=(run, grace))
            run.escalation.daemon = True
            run.escalation.start()
        self._stderr(run, f"Received kill for task {run.task_id} with grace period of {format_duration(grace)}")
        with self.lock:
            fw = self.frameworks.get(run.framework_id)
            killing = fw is not None and tk.has_capability(fw.info, "TASK_KILLING_STATE")
        if first and killing:
            self._status(run, "TASK_KILLING", "SOURCE_EXECUTOR")
        ex.signal_group(process.pid, signal.SIGTERM)

    def _escalate(self, run: Run, grace: float) -> None:
        process = run.process
        if process is None or process.poll() is not None:
            return
        self._stderr(run, f"Process {process.pid} did not terminate after {format_duration(grace)}, "
                          f"sending SIGKILL to process tree at {process.pid}")
        ex.sigkill_group(process.pid)

    def kill(self, framework_id: str, task_id: str, kill_policy: Mapping[str, Any] | None) -> None:
        """KILL from the scheduler, through the master."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            run = fw.runs.get(task_id) if fw else None
        if run is None:
            log(f"ignoring kill of unknown task {task_id} of framework {framework_id}")
            return
        self._kill(run, tk.kill_grace_period(run.task, kill_policy))

    def shutdown_executor(self, framework_id: str, executor_id: str) -> None:
        """SHUTDOWN of a command executor: its task is killed with --executor_shutdown_grace_period."""
        self.kill(framework_id, executor_id, {"grace_period": {
            "nanoseconds": int(parse_duration(self.shutdown_grace) * 1e9)}})

    def shutdown_framework(self, framework_id: str) -> None:
        """The framework was removed: kill its tasks (no more updates go out), then forget it."""
        with self.lock:
            fw = self.frameworks.get(framework_id)
            if fw is None:
                return
            fw.terminating = True
            for key in [k for k in self.streams if k[0] == framework_id]:
                del self.streams[key]
            runs = list(fw.runs.values())
            if not runs:
                self._complete_framework(fw)
        log(f"shutting down framework {framework_id} ({len(runs)} task(s))")
        for run in runs:
            self._kill(run, parse_duration(self.shutdown_grace))

    def _complete_framework(self, fw: AgentFramework) -> None:
        self.frameworks.pop(fw.id, None)
        self.completed_frameworks.append(fw)

    # -- JSON views -------------------------------------------------------------------------------------

    def _task_json(self, run: Run) -> dict[str, Any]:
        return {"id": run.task_id, "name": run.task.get("name", ""), "framework_id": run.framework_id,
                "executor_id": "", "slave_id": self.agent_id, "state": run.state,
                "resources": rs.model(rs.list_from_json(run.task.get("resources") or [])),
                "statuses": [{k: s[k] for k in ("state", "timestamp", "container_status") if k in s}
                             for s in run.statuses]}

    def _executor_json(self, run: Run) -> dict[str, Any]:
        terminal = tk.is_terminal(run.state)
        return {"id": run.task_id, "name": f"Command Executor (Task: {run.task_id}) "
                                           f"(Command: {ex.describe_command(run.task.get('command') or {})})",
                "source": run.task_id, "container": run.container_id, "directory": str(run.directory),
                "framework_id": run.framework_id, "type": "COMMAND",
                "resources": rs.model(rs.list_from_json(run.task.get("resources") or [])),
                "tasks": [] if terminal else [self._task_json(run)], "queued_tasks": [],
                "completed_tasks": [self._task_json(run)] if terminal else []}

    def _framework_json(self, fw: AgentFramework) -> dict[str, Any]:
        info = fw.info
        return {"id": fw.id, "name": info.get("name", ""), "user": info.get("user", ""),
                "failover_timeout": float(info.get("failover_timeout") or 0.0),
                "checkpoint": bool(info.get("checkpoint", False)), "hostname": info.get("hostname", ""),
                "role": info.get("role", "*"), "capabilities": [c.get("type") for c in info.get("capabilities") or []],
                "executors": [self._executor_json(r) for r in fw.runs.values()],
                "completed_executors": [self._executor_json(r) for r in fw.completed_runs]}

    def state_json(self) -> dict[str, Any]:
        """/state: Mesos 1.11 shape (frameworks[].executors[].tasks, completed_frameworks, master_hostname)."""
        with self.lock:
            return {"version": STANDIN_VERSION, "git_tag": "standin", "build_user": "mesos-standin",
                    "start_time": self.start_time, "id": self.agent_id, "pid": f"slave(1)@{self.ip}:{self.port}",
                    "hostname": self.hostname, "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE"],
                    "resources": rs.model(self.total), "reserved_resources": rs.reserved_model(self.total),
                    "unreserved_resources": rs.model(r for r in self.total if r.role == rs.UNRESERVED),
                    "attributes": rs.attributes_model(self.attributes),
                    "master_hostname": self.master[0] if self.master else None,
                    "log_dir": self.flags.get("log_dir", ""), "flags": dict(sorted(self.flags.items())),
                    "frameworks": [self._framework_json(f) for f in self.frameworks.values()],
                    "completed_frameworks": [self._framework_json(f) for f in self.completed_frameworks]}

    # -- endpoints --------------------------------------------------------------------------------------

    def _routes(self) -> dict[tuple[str, str], Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], Any]]]:
        def ok(fn: Callable[[dict[str, Any]], None]) -> Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], Any]]:
            def route(_h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
                fn(json.loads(body))
                return 202, {}, b""
            return route

        def health(_h: Any, _b: bytes) -> tuple:
            return 200, {}, b""

        def flags(_h: Any, _b: bytes) -> tuple:
            return 200, {}, {"flags": dict(sorted(self.flags.items()))}

        def state(_h: Any, _b: bytes) -> tuple:
            return 200, {}, self.state_json()

        def version(_h: Any, _b: bytes) -> tuple:
            return 200, {}, {"version": STANDIN_VERSION, "build_user": "mesos-standin"}

        def metrics(_h: Any, _b: bytes) -> tuple:
            # Mesos 1.11 docs/monitoring.md: slave/registered is 1 while the agent is registered with a master.
            with self.lock:
                return 200, {}, {"slave/registered": 1.0 if self.registered else 0.0,
                                 "slave/uptime_secs": round(time.time() - self.start_time, 3)}

        return {
            ("GET", "/flags"): flags, ("GET", "/slave(1)/flags"): flags,
            ("GET", "/state"): state, ("GET", "/slave(1)/state"): state,
            ("GET", "/health"): health, ("GET", "/slave(1)/health"): health, ("GET", "/version"): version,
            ("GET", "/metrics/snapshot"): metrics,
            ("POST", "/slave(1)/standin/launch"):
                ok(lambda r: self.launch(r["framework_id"], r["framework_info"], r["task"])),
            ("POST", "/slave(1)/standin/kill"):
                ok(lambda r: self.kill(r["framework_id"], r["task_id"], r.get("kill_policy"))),
            ("POST", "/slave(1)/standin/acknowledge"):
                ok(lambda r: self.acknowledge(r["framework_id"], r["task_id"], r["uuid"])),
            ("POST", "/slave(1)/standin/shutdown_framework"): ok(lambda r: self.shutdown_framework(r["framework_id"])),
            ("POST", "/slave(1)/standin/shutdown_executor"):
                ok(lambda r: self.shutdown_executor(r["framework_id"], r["executor_id"])),
        }


def start_agent(flags: dict[str, str]) -> AgentServer:
    """Start an agent: recover its info (raising SystemExit's message on refusal), serve, register."""
    agent = AgentServer(flags)
    error = agent.recover()
    if error:
        agent.server.shutdown()
        agent.server.server_close()
        latest = meta_dir(flags["work_dir"]) / "latest"
        raise RecoveryRefused(
            f"EXIT with status 1: Failed to perform recovery: {error}\n"
            "If recovery failed due to a change in configuration and you want to\n"
            "keep the current agent id, you might want to change the\n"
            "`--reconfiguration_policy` flag to a more permissive value.\n\n"
            "To restart this agent with a new agent id instead, do as follows:\n"
            f"rm -f {latest}\n"
            "This ensures that the agent does not recover old live executors.\n")
    agent.start()
    log(f"TEST-ONLY STAND-IN, NOT MESOS; agent on {agent.ip}:{agent.port} as {agent.hostname}, "
        f"master {flags['master']}")
    return agent


class RecoveryRefused(Exception):
    """The checkpointed agent info does not allow this agent to start (Mesos exits with status 1)."""


def run_agent(flags: dict[str, str]) -> int:
    """Run the agent until killed; exit status 1 when recovery is refused."""
    try:
        agent = start_agent(flags)
    except RecoveryRefused as err:
        print(str(err), file=sys.stderr, flush=True)
        return 1
    except ValueError as err:
        print(f"EXIT with status 1: {err}", file=sys.stderr, flush=True)
        return 1
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *dummy: stopping.set())
    # With a timeout: a process-directed SIGTERM may land on another thread, and CPython runs the Python handler
    # only in the main thread, which an untimed wait() never wakes (seen: the agent hung under load).
    while not stopping.wait(0.5):
        pass
    log("stopping: killing this agent's tasks (the TEST-ONLY stand-in cannot recover them after a restart)")
    agent.stop(grace=parse_duration(flags.get("executor_shutdown_grace_period", "5secs")))
    return 0

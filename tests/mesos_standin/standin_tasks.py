"""TEST-ONLY STAND-IN, NOT MESOS: task states, status updates and task validation of Mesos 1.11, without I/O.

Sources (apache/mesos, 1.11): include/mesos/v1/mesos.proto (TaskState, TaskStatus.Reason/Source),
docs/task-state-reasons.md, docs/reconciliation.md, src/master/validation.cpp (task checks),
src/launcher/executor.cpp (command executor wording), src/slave/constants.hpp (update retry intervals),
src/common/status_utils.hpp WSTRINGIFY (wait status wording).
"""
from __future__ import annotations

import base64
import collections
import os
import signal
import time
import uuid as uuidlib
from typing import Any, Iterable, Mapping

TERMINAL_STATES = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
                             "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR"})
ALL_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED", "TASK_FAILED",
              "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_UNREACHABLE", "TASK_GONE",
              "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN")

# Agent status update retries (src/slave/constants.hpp STATUS_UPDATE_RETRY_INTERVAL_MIN/MAX).
RETRY_MIN = 10.0
RETRY_MAX = 600.0


def is_terminal(state: str | None) -> bool:
    """Mesos' protobuf::isTerminalState (TASK_UNREACHABLE and TASK_UNKNOWN are NOT terminal)."""
    return state in TERMINAL_STATES


def new_uuid_b64() -> str:
    """A status update UUID: 16 random bytes, base64 in JSON as every proto `bytes` field."""
    return base64.b64encode(uuidlib.uuid4().bytes).decode("ascii")


def has_capability(framework_info: Mapping[str, Any], name: str) -> bool:
    """True when FrameworkInfo.capabilities lists {"type": name}."""
    return any(c.get("type") == name for c in framework_info.get("capabilities") or [])


def framework_roles(framework_info: Mapping[str, Any]) -> list[str]:
    """The roles a framework is offered resources for: `roles` with MULTI_ROLE, else `role` (default `*`)."""
    if has_capability(framework_info, "MULTI_ROLE"):
        return list(framework_info.get("roles") or [])
    return [framework_info.get("role") or "*"]


def lost_state(framework_info: Mapping[str, Any], partition_aware_state: str) -> str:
    """TASK_LOST for frameworks without PARTITION_AWARE (Flink), else the finer state Mesos 1.11 uses."""
    return partition_aware_state if has_capability(framework_info, "PARTITION_AWARE") else "TASK_LOST"


def make_status(task_id: str, state: str, *, source: str, timestamp: float | None = None,
                agent_id: str | None = None, executor_id: str | None = None, message: str | None = None,
                reason: str | None = None, uuid_b64: str | None = None,
                container_status: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A v1 TaskStatus JSON object; optional fields are left out when unset, as protobuf JSON does."""
    status: dict[str, Any] = {"task_id": {"value": task_id}, "state": state, "source": source,
                              "timestamp": time.time() if timestamp is None else timestamp}
    if agent_id:
        status["agent_id"] = {"value": agent_id}
    if executor_id:
        status["executor_id"] = {"value": executor_id}
    if message is not None:
        status["message"] = message
    if reason is not None:
        status["reason"] = reason
    if uuid_b64 is not None:
        status["uuid"] = uuid_b64
    if container_status:
        status["container_status"] = dict(container_status)
    return status


# ---------------------------------------------------------------------------------------------------------
# The command executor's words.
# ---------------------------------------------------------------------------------------------------------

def describe_wait_status(status: int) -> str:
    """stout's WSTRINGIFY: `exited with status N` / `terminated with signal Terminated` (strsignal text)."""
    if os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        text = f"terminated with signal {signal.strsignal(sig) or sig}"
        return text + (" (core dumped)" if os.WCOREDUMP(status) else "")
    if os.WIFSTOPPED(status):
        return f"stopped on signal {signal.strsignal(os.WSTOPSIG(status))}"
    return f"wait status {status}"


def wait_status_from_returncode(returncode: int) -> int:
    """Popen's returncode (-N for signal N) back to a POSIX wait status, so WSTRINGIFY's rules apply."""
    return (-returncode) & 0x7F if returncode < 0 else (returncode & 0xFF) << 8


def command_outcome(wait_status: int, killed: bool) -> tuple[str, str]:
    """(terminal state, message) of a command task, as Mesos 1.11's command executor decides them:
    success first (WSUCCEEDED -> TASK_FINISHED), then TASK_KILLED if a kill was requested, else TASK_FAILED;
    message `Command ` + WSTRINGIFY(status)."""
    if os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0:
        state = "TASK_FINISHED"
    elif killed:
        state = "TASK_KILLED"
    else:
        state = "TASK_FAILED"
    return state, "Command " + describe_wait_status(wait_status)


def kill_grace_period(task_info: Mapping[str, Any], kill_policy: Mapping[str, Any] | None) -> float:
    """Seconds between SIGTERM and SIGKILL for a KILL: the KILL call's kill_policy, else the task's, else 3 s.

    Mesos 1.11 src/launcher/executor.cpp kill(): "Default grace period is set to 3s for backwards
    compatibility"; `--executor_shutdown_grace_period` applies to executor SHUTDOWN (framework teardown).
    """
    for policy in (kill_policy, task_info.get("kill_policy")):
        if policy and "grace_period" in policy:
            return int(policy["grace_period"].get("nanoseconds", 0)) / 1e9
    return 3.0


# ---------------------------------------------------------------------------------------------------------
# Master-side TaskInfo validation (src/master/validation.cpp, the checks the stand-in makes).
# ---------------------------------------------------------------------------------------------------------

def validate_task_id(value: Any) -> str | None:
    """Mesos' common::validation::validateID for TaskID values, or None when fine."""
    if not isinstance(value, str) or not value:
        return "'TaskID.value' is invalid: ID must not be empty"
    if value in (".", ".."):
        return "'TaskID.value' is invalid: '.' and '..' are disallowed"
    if "/" in value:
        return "'TaskID.value' is invalid: '/' is disallowed"
    if any(not ch.isprintable() or ch.isspace() for ch in value):
        return "'TaskID.value' is invalid: Whitespace or non-printable characters are disallowed"
    return None


def validate_task_shape(task: Mapping[str, Any], offer_agent_id: str) -> str | None:
    """The checks of one TaskInfo that need no resource accounting; the first error, or None."""
    task_id = (task.get("task_id") or {}).get("value")
    error = validate_task_id(task_id)
    if error:
        return error
    agent = (task.get("agent_id") or {}).get("value")
    if agent != offer_agent_id:
        return f"Task uses invalid agent: {agent}"
    if ("command" in task) == ("executor" in task):
        return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
    if "command" in task:
        command = task["command"]
        if command.get("shell", True) and not isinstance(command.get("value"), str):
            return "Command value must be set for a shell command"
        for var in (command.get("environment") or {}).get("variables") or []:
            if var.get("type", "VALUE") == "VALUE" and "value" not in var:
                return f"Environment variable '{var.get('name')}' of type 'VALUE' must have a value set"
    if not task.get("resources"):
        return "Task uses no resources"
    return None


# ---------------------------------------------------------------------------------------------------------
# Agent status update stream of one task.
# ---------------------------------------------------------------------------------------------------------

class UpdateStream:
    """The agent's status update manager for one task: in order, at least once, until acknowledged.

    Why: a scheduler that never acknowledges must see the same update again (10 s, then doubling up to
    10 min), and must not see the next update of that task before it acknowledged the previous one. Each
    forwarded update also carries `latest_state`, the newest state the agent knows, so the master can
    release a task's resources while older updates still wait for acknowledgement.
    """

    def __init__(self) -> None:
        self.pending: collections.deque[dict[str, Any]] = collections.deque()
        self.latest_state: str | None = None
        self.next_send: float | None = None
        self.interval = RETRY_MIN
        self.terminated = False

    def add(self, status: Mapping[str, Any]) -> bool:
        """Queue an update; True when it is the head and must be forwarded now."""
        self.pending.append(dict(status))
        self.latest_state = status["state"]
        if len(self.pending) == 1:
            self.next_send = None
            self.interval = RETRY_MIN
            return True
        return False

    def head(self) -> dict[str, Any] | None:
        """The update to forward, or None when all are acknowledged."""
        return self.pending[0] if self.pending else None

    def sent(self, now: float) -> None:
        """Record a forward of the head: next retry after the current interval, which then doubles."""
        self.next_send = now + self.interval
        self.interval = min(self.interval * 2, RETRY_MAX)

    def due(self, now: float) -> dict[str, Any] | None:
        """The head when its retry time has come (or it was never sent), else None."""
        if not self.pending:
            return None
        if self.next_send is None or now >= self.next_send:
            return self.pending[0]
        return None

    def acknowledge(self, uuid_b64: str) -> tuple[bool, dict[str, Any] | None]:
        """(matched, next head to forward now). An ack for anything but the head is ignored, as in Mesos."""
        if not self.pending or self.pending[0].get("uuid") != uuid_b64:
            return False, None
        acked = self.pending.popleft()
        if is_terminal(acked["state"]):
            self.terminated = True
        self.next_send = None
        self.interval = RETRY_MIN
        return True, self.head()

    @property
    def done(self) -> bool:
        """True when the terminal update was acknowledged and nothing is left: the stream can go."""
        return self.terminated and not self.pending


# ---------------------------------------------------------------------------------------------------------
# Reconciliation answers (master side, docs/reconciliation.md and Master::_reconcileTasks).
# ---------------------------------------------------------------------------------------------------------

def reconciliation_status(task_id: str, known: Mapping[str, Any] | None, *, agent_id: str | None,
                          agent_known: bool, framework_info: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The UPDATE a RECONCILE call gets for one task: its latest state if the master knows it, else a
    TASK_LOST (TASK_GONE/TASK_UNKNOWN for PARTITION_AWARE frameworks). Always SOURCE_MASTER,
    REASON_RECONCILIATION and no uuid: reconciliation updates must not be acknowledged.

    `known` is {"state", "agent_id", "executor_id", "container_status"?} of a task the master knows.
    """
    if known is not None:
        return make_status(task_id, known["state"], source="SOURCE_MASTER", timestamp=now,
                           agent_id=known.get("agent_id"), executor_id=known.get("executor_id"),
                           message="Reconciliation: Latest task state", reason="REASON_RECONCILIATION",
                           container_status=known.get("container_status"))
    if agent_id and agent_known:
        return make_status(task_id, lost_state(framework_info, "TASK_GONE"), source="SOURCE_MASTER",
                           timestamp=now, agent_id=agent_id, reason="REASON_RECONCILIATION",
                           message="Reconciliation: Task is unknown to the agent")
    return make_status(task_id, lost_state(framework_info, "TASK_UNKNOWN"), source="SOURCE_MASTER",
                       timestamp=now, agent_id=agent_id, reason="REASON_RECONCILIATION",
                       message="Reconciliation: Task is unknown")


def state_counters(states: Iterable[str]) -> dict[str, int]:
    """{"TASK_STAGING": n, ...} for every TaskState, as /master/state's per-framework counters."""
    counts = dict.fromkeys(ALL_STATES, 0)
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts

"""TEST-ONLY STAND-IN, NOT MESOS: the master's core of the Mesos 1.11 imitation, without any I/O.

`MasterCore` holds frameworks, agents, offers, tasks and the allocator, with an injectable clock. Every method
returns a list of *effects* the caller (standin_master.MasterServer) carries out, in order:
("send", stream_id, event) one scheduler API event on a subscription stream, ("close", stream_id) end that
stream, ("agent", agent_id, action, payload) a PRIVATE stand-in message to an agent, ("wake",) run the
allocator now.

The behaviour follows apache/mesos 1.11 docs/scheduler-http-api.md, include/mesos/v1/scheduler/scheduler.proto,
src/master/http.cpp (status codes and messages) and src/master/master.cpp (subscribe, failover, accept,
reconcile, removal). Where the stand-in simplifies, the comment and tests/mesos_standin/README.md say so.
"""
from __future__ import annotations

import base64
import binascii
import collections
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import standin_resources as rs
import standin_tasks as tk
from standin_util import STANDIN_VERSION, log

Effect = tuple
HEARTBEAT_INTERVAL = 15.0  # Mesos' DEFAULT_HEARTBEAT_INTERVAL for scheduler subscriptions
DEFAULT_REFUSE_SECONDS = 5.0  # Filters.refuse_seconds default in mesos.proto

# Call type -> the field its payload lives in (scheduler.proto); None: no payload required.
CALL_PAYLOAD: dict[str, str | None] = {
    "SUBSCRIBE": "subscribe", "TEARDOWN": None, "ACCEPT": "accept", "DECLINE": "decline",
    "ACCEPT_INVERSE_OFFERS": "accept_inverse_offers", "DECLINE_INVERSE_OFFERS": "decline_inverse_offers",
    "REVIVE": None, "KILL": "kill", "SHUTDOWN": "shutdown", "ACKNOWLEDGE": "acknowledge",
    "ACKNOWLEDGE_OPERATION_STATUS": "acknowledge_operation_status", "RECONCILE": "reconcile",
    "RECONCILE_OPERATIONS": "reconcile_operations", "MESSAGE": "message", "REQUEST": "request",
    "SUPPRESS": None, "UPDATE_FRAMEWORK": "update_framework",
}


def event_error(message: str) -> dict[str, Any]:
    """An ERROR event (scheduler.proto Event.Error is a message: {"error": {"message": ...}})."""
    return {"type": "ERROR", "error": {"message": message}}


def validate_call(call: Any) -> tuple[str, str] | None:
    """(prefix, message) of the 400 Mesos would answer to this Call JSON, or None when it is acceptable.

    The prefixes are those of src/master/http.cpp: "Failed to convert JSON into Call protobuf: " for what
    protobuf parsing rejects (unknown enum, missing required field), "Failed to validate scheduler::Call: "
    for what validation::scheduler::call::validate rejects.
    """
    convert, validate = "Failed to convert JSON into Call protobuf: ", "Failed to validate scheduler::Call: "
    if not isinstance(call, dict):
        return convert, "Expecting a JSON object"
    if "type" not in call:
        return validate, "Expecting 'type' to be present"
    kind = call["type"]
    if kind not in CALL_PAYLOAD and kind != "UNKNOWN":
        return convert, f"Failed to find enum for '{kind}'"
    if kind == "SUBSCRIBE":
        sub = call.get("subscribe")
        if not isinstance(sub, dict):
            return validate, "Expecting 'subscribe' to be present"
        info = sub.get("framework_info")
        if not isinstance(info, dict):
            return convert, "Missing required fields: subscribe.framework_info"
        missing = [f"subscribe.framework_info.{f}" for f in ("user", "name") if not isinstance(info.get(f), str)]
        if missing:
            return convert, "Missing required fields: " + ", ".join(missing)
        top = (call.get("framework_id") or {}).get("value")
        if "framework_id" in call and top != (info.get("id") or {}).get("value"):
            return validate, "'framework_id' differs from 'subscribe.framework_info.id'"
        return None
    if not isinstance((call.get("framework_id") or {}).get("value"), str):
        return validate, "Expecting 'framework_id' to be present"
    payload = CALL_PAYLOAD.get(kind)
    if payload and not isinstance(call.get(payload), dict):
        return validate, f"Expecting '{payload}' to be present"
    if kind == "ACKNOWLEDGE":
        ack = call["acknowledge"]
        for name in ("agent_id", "task_id"):
            if not isinstance((ack.get(name) or {}).get("value"), str):
                return convert, f"Missing required fields: acknowledge.{name}"
        try:
            raw = base64.b64decode(ack.get("uuid", ""), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 16:
            return validate, "Failed to parse UUID: 'acknowledge.uuid' is not 16 base64-encoded bytes"
    if kind == "KILL" and not isinstance((call["kill"].get("task_id") or {}).get("value"), str):
        return convert, "Missing required fields: kill.task_id"
    return None


def role_error(role: str) -> str | None:
    """Why Mesos would refuse this role name (src/common/roles.cpp validate), or None."""
    if role == "*":
        return None
    if not role:
        return "Empty role name is invalid"
    if role.startswith("/") or role.endswith("/"):
        return f"Role '{role}' cannot start or end with '/'"
    if any(ch.isspace() or not ch.isprintable() for ch in role):
        return f"Role '{role}' cannot contain whitespace or control characters"
    for part in role.split("/"):
        if part in ("", ".", "..", "*") or part.startswith("-"):
            return f"Role '{role}' has an invalid path component '{part}'"
    return None


def validate_framework_info(info: Mapping[str, Any], allowed_roles: set[str] | None) -> str | None:
    """The FrameworkInfo checks of Mesos 1.11 (src/master/validation.cpp framework::validate) it models."""
    multi = tk.has_capability(info, "MULTI_ROLE")
    if info.get("roles") and not multi:
        return "'FrameworkInfo.roles' is set but MULTI_ROLE capability is not"
    if multi and "role" in info:
        return "'FrameworkInfo.role' is set but MULTI_ROLE capability is"
    for role in tk.framework_roles(info):
        error = role_error(role)
        if error:
            return error
        if allowed_roles is not None and role != "*" and role not in allowed_roles:
            return f"Role '{role}' is not present in the master's --roles"
    return None


# ---------------------------------------------------------------------------------------------------------
# The model.
# ---------------------------------------------------------------------------------------------------------

@dataclass
class Task:
    """A task as the master knows it (Mesos' `Task`)."""

    info: dict[str, Any]
    framework_id: str
    agent_id: str
    resources: list[rs.Resource]
    role: str
    state: str = "TASK_STAGING"
    statuses: list[dict[str, Any]] = field(default_factory=list)
    update_state: str | None = None  # state of the newest forwarded update that had a uuid
    update_uuid: str | None = None

    @property
    def id(self) -> str:
        """The TaskID value."""
        return self.info["task_id"]["value"]

    @property
    def executor_id(self) -> str:
        """The executor of a command task is named after the task, as in Mesos."""
        return (self.info.get("executor") or {}).get("executor_id", {}).get("value") or self.id

    def apply(self, status: Mapping[str, Any], latest_state: str | None) -> bool:
        """Record an update (Master::updateTask); True when the task became terminal just now."""
        was_terminal = tk.is_terminal(self.state)
        self.state = latest_state or status["state"]
        if status.get("uuid"):
            self.update_state, self.update_uuid = status["state"], status["uuid"]
        if self.statuses and self.statuses[-1]["state"] == status["state"]:
            self.statuses.pop()
        self.statuses.append({k: v for k, v in status.items() if k != "data"})
        return not was_terminal and tk.is_terminal(self.state)

    def latest(self) -> dict[str, Any]:
        """What reconciliation reports for the task."""
        last = self.statuses[-1] if self.statuses else {}
        return {"state": self.state, "agent_id": self.agent_id, "executor_id": self.executor_id,
                "container_status": last.get("container_status")}


@dataclass
class Offer:
    """An outstanding offer."""

    id: str
    framework_id: str
    agent_id: str
    role: str
    resources: list[rs.Resource]
    created: float


@dataclass
class Filter:
    """A refusal: resources of `agent_id` contained in `resources` are not offered to the framework's role."""

    agent_id: str
    role: str
    resources: list[rs.Resource]
    expires: float


@dataclass
class Framework:
    """A framework known to the master (active, disconnected within its failover timeout, or completed)."""

    id: str
    info: dict[str, Any]
    registered_time: float
    reregistered_time: float
    stream_id: str | None = None
    connected: bool = False
    active: bool = False
    recovered: bool = False
    unregistered_time: float | None = None
    failover_deadline: float | None = None
    suppressed_roles: set[str] = field(default_factory=set)
    filters: list[Filter] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    completed_tasks: collections.deque = field(default_factory=lambda: collections.deque(maxlen=1000))
    unreachable_tasks: list[Task] = field(default_factory=list)

    def complete_task(self, task: Task) -> None:
        """Move a task from `tasks` to `completed_tasks` (Master::removeTask)."""
        self.tasks.pop(task.id, None)
        self.completed_tasks.append(task)


@dataclass
class Agent:
    """A registered agent."""

    id: str
    ip: str
    port: int
    hostname: str
    total: list[rs.Resource]
    attributes: list[dict[str, Any]]
    info: dict[str, Any]
    version: str
    registered_time: float
    reregistered_time: float
    last_seen: float


@dataclass
class MasterConfig:
    """The master flags the core needs, already parsed."""

    master_id: str
    master_info: dict[str, Any]
    offer_timeout: float | None = None
    agent_timeout: float = 75.0  # --agent_ping_timeout (15secs) x --max_agent_ping_timeouts (5)
    max_completed_frameworks: int = 50
    max_completed_tasks: int = 1000
    min_allocatable: list[dict[str, float]] = field(default_factory=lambda: rs.min_allocatable(None))
    roles: set[str] | None = None


class MasterCore:
    """Frameworks, agents, offers, tasks and the allocator of the stand-in master (no I/O)."""

    def __init__(self, config: MasterConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.frameworks: dict[str, Framework] = {}
        self.completed: collections.deque[Framework] = collections.deque(maxlen=config.max_completed_frameworks)
        self.agents: dict[str, Agent] = {}
        self.unreachable_agents: dict[str, float] = {}
        self.offers: dict[str, Offer] = {}
        self.next_framework = 0
        self.next_offer = 0
        self.next_agent = 0

    # -- small helpers ---------------------------------------------------------------------------------

    def _new_framework(self, framework_id: str, info: dict[str, Any], now: float) -> Framework:
        fw = Framework(framework_id, info, now, now)
        fw.completed_tasks = collections.deque(maxlen=self.config.max_completed_tasks)
        return fw

    def send_to(self, fw: Framework, event: dict[str, Any]) -> list[Effect]:
        """An event for the framework's current stream (nothing when it is not connected)."""
        return self._send(fw, event)

    def _send(self, fw: Framework, event: dict[str, Any]) -> list[Effect]:
        return [("send", fw.stream_id, event)] if fw.connected and fw.stream_id else []

    def _update(self, fw: Framework, status: dict[str, Any]) -> list[Effect]:
        return self._send(fw, {"type": "UPDATE", "update": {"status": status}})

    def completed_framework(self, framework_id: str) -> Framework | None:
        """The completed framework with that ID, if still remembered."""
        return next((f for f in self.completed if f.id == framework_id), None)

    def framework_by_stream(self, stream_id: str) -> Framework | None:
        """The framework whose current subscription is `stream_id`."""
        return next((f for f in self.frameworks.values() if f.stream_id == stream_id), None)

    def used(self, agent_id: str | None = None, framework_id: str | None = None) -> list[rs.Resource]:
        """Resources of non-terminal tasks (on one agent and/or of one framework)."""
        total: list[rs.Resource] = []
        for fw in self.frameworks.values():
            if framework_id is not None and fw.id != framework_id:
                continue
            for task in fw.tasks.values():
                if not tk.is_terminal(task.state) and agent_id in (None, task.agent_id):
                    total.extend(task.resources)
        return rs.normalize(total)

    def offered(self, agent_id: str | None = None, framework_id: str | None = None) -> list[rs.Resource]:
        """Resources in outstanding offers (on one agent and/or to one framework)."""
        return rs.normalize(r for o in self.offers.values() if agent_id in (None, o.agent_id)
                            and framework_id in (None, o.framework_id) for r in o.resources)

    def available(self, agent_id: str) -> list[rs.Resource]:
        """What nobody uses or holds an offer for: total - used - offered. Never offered twice."""
        agent = self.agents[agent_id]
        return rs.subtract(rs.subtract(agent.total, self.used(agent_id)), self.offered(agent_id))

    def _remove_offer(self, offer: Offer, rescind: bool) -> list[Effect]:
        self.offers.pop(offer.id, None)
        fw = self.frameworks.get(offer.framework_id)
        if rescind and fw is not None:
            return self._send(fw, {"type": "RESCIND", "rescind": {"offer_id": {"value": offer.id}}})
        return []

    def _remove_offers(self, fw: Framework, rescind: bool) -> list[Effect]:
        effects: list[Effect] = []
        for offer in [o for o in self.offers.values() if o.framework_id == fw.id]:
            effects += self._remove_offer(offer, rescind)
        return effects

    def _add_filter(self, fw: Framework, offer: Offer, resources: list[rs.Resource], filters: Any) -> None:
        """Refuse `resources` of the offer's agent to the framework for `filters.refuse_seconds`.

        Mesos' allocator: a negative value means the default (5 s), zero means no filter at all.
        """
        seconds = (filters or {}).get("refuse_seconds", DEFAULT_REFUSE_SECONDS) if isinstance(filters, dict) \
            else DEFAULT_REFUSE_SECONDS
        seconds = DEFAULT_REFUSE_SECONDS if float(seconds) < 0 else float(seconds)
        if seconds > 0 and resources:
            fw.filters.append(Filter(offer.agent_id, offer.role, rs.normalize(resources), self.clock() + seconds))

    # -- subscription lifecycle ------------------------------------------------------------------------

    def subscribe(self, info: dict[str, Any], stream_id: str, suppressed_roles: Iterable[str] = ()) -> list[Effect]:
        """SUBSCRIBE on a new stream: new framework, failover of a known one, or refusal with ERROR.

        A framework ID the master does not know (e.g. after a master restart: the registry is in memory) is
        accepted as that framework re-subscribing, as Mesos does; one it knows as completed gets
        "Framework has been removed" and its stream is closed.
        """
        now = self.clock()
        error = validate_framework_info(info, self.config.roles)
        framework_id = (info.get("id") or {}).get("value")
        if error is None and framework_id and self.completed_framework(framework_id):
            error = "Framework has been removed"
        if error is not None:
            log(f"refusing subscription of framework '{info.get('name')}': {error}")
            return [("send", stream_id, event_error(error)), ("close", stream_id)]
        effects: list[Effect] = []
        fw = self.frameworks.get(framework_id) if framework_id else None
        if fw is not None:
            if fw.connected and fw.stream_id:
                effects += [("send", fw.stream_id, event_error("Framework failed over")), ("close", fw.stream_id)]
            effects += self._remove_offers(fw, rescind=False)
            fw.reregistered_time = now
            fw.recovered = False
            log(f"framework {fw.id} ({info.get('name')}) re-subscribed")
        else:
            if not framework_id:
                framework_id = f"{self.config.master_id}-{self.next_framework:04d}"
                self.next_framework += 1
            fw = self.frameworks[framework_id] = self._new_framework(framework_id, {}, now)
            log(f"framework {framework_id} ({info.get('name')}) subscribed")
        fw.info = {**info, "id": {"value": fw.id}}
        fw.stream_id, fw.connected, fw.active, fw.failover_deadline = stream_id, True, True, None
        fw.suppressed_roles = set(suppressed_roles) & set(tk.framework_roles(fw.info))
        subscribed = {"framework_id": {"value": fw.id}, "heartbeat_interval_seconds": HEARTBEAT_INTERVAL,
                      "master_info": self.config.master_info}
        # Mesos' scheduler Heartbeater sends its first HEARTBEAT right after SUBSCRIBED.
        return effects + [("send", stream_id, {"type": "SUBSCRIBED", "subscribed": subscribed}),
                          ("send", stream_id, {"type": "HEARTBEAT"}), ("wake",)]

    def disconnected(self, stream_id: str) -> list[Effect]:
        """The subscription connection broke: the framework is inactive, its offers go back to the pool
        (nobody can receive a RESCIND any more) and its failover timeout starts (FrameworkInfo.failover_timeout,
        default 0: removed at once)."""
        fw = self.framework_by_stream(stream_id)
        if fw is None:
            return []
        fw.connected, fw.active, fw.stream_id = False, False, None
        effects = self._remove_offers(fw, rescind=False)
        fw.failover_deadline = self.clock() + float(fw.info.get("failover_timeout") or 0.0)
        log(f"framework {fw.id} disconnected; failover timeout {fw.info.get('failover_timeout') or 0}s")
        return effects + self.expire(self.clock())

    def remove_framework(self, fw: Framework, why: str) -> list[Effect]:
        """TEARDOWN, /master/teardown or failover timeout: kill its tasks, forget its offers, close its
        stream, list it in completed_frameworks. Nothing more is sent to the scheduler."""
        now = self.clock()
        log(f"removing framework {fw.id}: {why}")
        for task in list(fw.tasks.values()):
            if not tk.is_terminal(task.state):
                task.apply(tk.make_status(task.id, "TASK_KILLED", source="SOURCE_MASTER", timestamp=now,
                                          agent_id=task.agent_id, executor_id=task.executor_id,
                                          reason="REASON_FRAMEWORK_REMOVED", message=f"Framework {fw.id} removed"),
                           "TASK_KILLED")
            fw.complete_task(task)
        effects = self._remove_offers(fw, rescind=False)
        effects += [("agent", aid, "shutdown_framework", {"framework_id": fw.id}) for aid in sorted(self.agents)]
        if fw.stream_id:
            effects.append(("close", fw.stream_id))
        fw.connected, fw.active, fw.stream_id = False, False, None
        fw.unregistered_time, fw.failover_deadline = now, None
        del self.frameworks[fw.id]
        self.completed.append(fw)
        return effects

    def teardown(self, framework_id: str) -> tuple[int, bytes, list[Effect]]:
        """`POST /master/teardown frameworkId=...` (src/master/http.cpp): 200, or 400 with Mesos' message."""
        fw = self.frameworks.get(framework_id)
        if fw is None:
            return 400, b"No framework found with specified ID", []
        return 200, b"", self.remove_framework(fw, "teardown by the operator (/master/teardown)")

    # -- timers ----------------------------------------------------------------------------------------

    def expire(self, now: float) -> list[Effect]:
        """Everything that times out: filters, offers (--offer_timeout), failover timeouts, silent agents."""
        effects: list[Effect] = []
        for fw in self.frameworks.values():
            fw.filters = [f for f in fw.filters if f.expires > now]
        if self.config.offer_timeout is not None:
            for offer in [o for o in self.offers.values() if now - o.created >= self.config.offer_timeout]:
                effects += self._remove_offer(offer, rescind=True)
        for fw in [f for f in self.frameworks.values() if f.failover_deadline is not None
                   and not f.connected and now >= f.failover_deadline]:
            effects += self.remove_framework(fw, "failover timeout elapsed")
        for agent in [a for a in self.agents.values() if now - a.last_seen >= self.config.agent_timeout]:
            effects += self.remove_agent(agent.id, unreachable=True,
                                         message=f"Agent {agent.hostname} is unreachable: health check timed out")
        return effects

    # -- the allocator ---------------------------------------------------------------------------------

    def _dominant_share(self, fw: Framework) -> float:
        totals = rs.normalize(r for a in self.agents.values() for r in a.total)
        mine = rs.add(self.used(framework_id=fw.id), self.offered(framework_id=fw.id))
        shares = [rs.quantity(mine, n) / rs.quantity(totals, n) for n in ("cpus", "mem", "disk", "gpus")
                  if rs.quantity(totals, n) > 0]
        return max(shares, default=0.0)

    def _filtered(self, fw: Framework, agent_id: str, role: str, resources: list[rs.Resource], now: float) -> bool:
        return any(f.agent_id == agent_id and f.role == role and f.expires > now
                   and rs.contains(f.resources, resources) for f in fw.filters)

    def offer_json(self, offer: Offer) -> dict[str, Any]:
        """An Offer in v1 JSON.

        `allocation_info` is set on the offer and on every resource for every framework, MULTI_ROLE or
        not. Reason: Mesos 1.11's allocator hands the master resources already allocated to a role, and
        include/mesos/v1/mesos.proto says of Resource.AllocationInfo "Frameworks that are not MULTI_ROLE
        capable can continue to assume that the offered resources are allocated to their role" (it is there,
        they may ignore it); src/common/protobuf_utils.hpp injectAllocationInfo() exists because "for
        backwards compatibility with old schedulers [...] we must allow operations to contain Resources
        without an AllocationInfo". So offers carry it, and ACCEPT takes task resources with or without it.
        """
        agent = self.agents[offer.agent_id]
        fw = self.frameworks[offer.framework_id]
        return {"id": {"value": offer.id}, "framework_id": {"value": offer.framework_id},
                "agent_id": {"value": offer.agent_id}, "hostname": agent.hostname,
                "url": {"scheme": "http", "address": {"hostname": agent.hostname, "ip": agent.ip, "port": agent.port},
                        "path": "/slave(1)", "query": []},
                "resources": rs.list_to_json(offer.resources, offer.role,
                                             tk.has_capability(fw.info, "RESERVATION_REFINEMENT")),
                "attributes": agent.attributes, "executor_ids": [], "allocation_info": {"role": offer.role}}

    def allocate(self) -> list[Effect]:
        """One allocation round: each active, unsuppressed framework (smallest dominant share first) gets one
        offer per agent and role with everything available there that it has not refused (filters) and
        that meets --min_allocatable_resources. All offers of the round go out in one OFFERS event."""
        now = self.clock()
        effects = self.expire(now)
        order = sorted((f for f in self.frameworks.values() if f.connected and f.active),
                       key=lambda f: (self._dominant_share(f), f.registered_time, f.id))
        for fw in order:
            made = []
            for role in tk.framework_roles(fw.info):
                if role in fw.suppressed_roles:
                    continue
                for agent_id in sorted(self.agents):
                    avail = rs.for_role(self.available(agent_id), role)
                    if not rs.allocatable(avail, self.config.min_allocatable):
                        continue
                    if self._filtered(fw, agent_id, role, avail, now):
                        continue
                    offer = Offer(f"{self.config.master_id}-O{self.next_offer}", fw.id, agent_id, role, avail, now)
                    self.next_offer += 1
                    self.offers[offer.id] = offer
                    made.append(self.offer_json(offer))
            if made:
                effects += self._send(fw, {"type": "OFFERS", "offers": {"offers": made}})
        return effects

    # -- scheduler calls -------------------------------------------------------------------------------

    def call(self, framework_id: str, call: dict[str, Any]) -> list[Effect]:
        """A non-SUBSCRIBE call of a connected framework (already checked by the HTTP layer)."""
        fw = self.frameworks[framework_id]
        kind = call["type"]
        handler = {
            "TEARDOWN": lambda: self.remove_framework(fw, "TEARDOWN call"),
            "ACCEPT": lambda: self.accept(fw, call["accept"]),
            "DECLINE": lambda: self.decline(fw, call["decline"]),
            "REVIVE": lambda: self.revive(fw, call.get("revive") or {}),
            "SUPPRESS": lambda: self.suppress(fw, call.get("suppress") or {}),
            "KILL": lambda: self.kill(fw, call["kill"]),
            "SHUTDOWN": lambda: self.shutdown(fw, call["shutdown"]),
            "ACKNOWLEDGE": lambda: self.acknowledge(fw, call["acknowledge"]),
            "RECONCILE": lambda: self.reconcile(fw, call["reconcile"]),
            "UPDATE_FRAMEWORK": lambda: self.update_framework(fw, call["update_framework"]),
        }.get(kind)
        if handler is None:
            log(f"framework {fw.id}: {kind} call accepted and ignored by the stand-in")
            return []
        return handler()

    def _validate_offers(self, fw: Framework, offer_ids: list[str]) -> str | None:
        seen: set[str] = set()
        agent_of: dict[str, str] = {}
        for oid in offer_ids:
            if oid in seen:
                return f"Duplicate offer {oid} in offer list"
            seen.add(oid)
            offer = self.offers.get(oid)
            if offer is None:
                return f"Offer {oid} is no longer valid"
            if offer.framework_id != fw.id:
                return f"Offer {oid} has invalid framework {offer.framework_id} while framework {fw.id} is expected"
            agent_of[oid] = offer.agent_id
        if len(set(agent_of.values())) > 1:
            return "Aggregated offers must belong to one single agent"
        if len({self.offers[oid].role for oid in agent_of}) > 1:
            return "Aggregated offers must be allocated to the same role"
        if not offer_ids:
            return "No offers specified"
        return None

    def accept(self, fw: Framework, accept: dict[str, Any]) -> list[Effect]:
        """ACCEPT: consume the offers, LAUNCH the valid tasks in order, give the rest back under a filter."""
        now = self.clock()
        offer_ids = [o.get("value") for o in accept.get("offer_ids") or []]
        operations = accept.get("operations") or []
        error = self._validate_offers(fw, offer_ids)
        if error is not None:
            effects: list[Effect] = []
            for oid in offer_ids:
                offer = self.offers.get(oid)
                if offer is not None and offer.framework_id == fw.id:
                    effects += self._remove_offer(offer, rescind=False)
            launches = [op.get("launch") or {} for op in operations if op.get("type") == "LAUNCH"]
            for task in [t for launch in launches for t in launch.get("task_infos") or []]:
                effects += self._update(fw, tk.make_status(
                    (task.get("task_id") or {}).get("value", ""), tk.lost_state(fw.info, "TASK_DROPPED"),
                    source="SOURCE_MASTER", timestamp=now, agent_id=(task.get("agent_id") or {}).get("value"),
                    reason="REASON_INVALID_OFFERS", message=f"Task launched with invalid offers: {error}"))
            return effects
        offers = [self.offers[oid] for oid in offer_ids]
        for offer in offers:
            self.offers.pop(offer.id)
        agent_id, role = offers[0].agent_id, offers[0].role
        remaining = rs.normalize(r for o in offers for r in o.resources)
        effects = []
        launching: set[str] = set()
        for op in operations:
            kind = op.get("type")
            if kind == "LAUNCH":
                for task_info in (op.get("launch") or {}).get("task_infos") or []:
                    effect, remaining = self._launch(fw, task_info, agent_id, role, remaining, launching)
                    effects += effect
            elif kind == "LAUNCH_GROUP":
                for task_info in ((op.get("launch_group") or {}).get("task_group") or {}).get("tasks") or []:
                    effects += self._update(fw, tk.make_status(
                        (task_info.get("task_id") or {}).get("value", ""), "TASK_ERROR", source="SOURCE_MASTER",
                        timestamp=now, agent_id=agent_id, reason="REASON_TASK_GROUP_INVALID",
                        message="LAUNCH_GROUP is not served by the TEST-ONLY Mesos stand-in"))
            else:
                log(f"framework {fw.id}: offer operation {kind} is not served by the stand-in; ignored")
        self._add_filter(fw, offers[0], remaining, accept.get("filters"))
        return effects

    def _launch(self, fw: Framework, task_info: dict[str, Any], agent_id: str, role: str,
                remaining: list[rs.Resource], launching: set[str]) -> tuple[list[Effect], list[rs.Resource]]:
        """Validate one TaskInfo of a LAUNCH against what is left of the offers; launch it or TASK_ERROR."""
        now = self.clock()
        task_id = (task_info.get("task_id") or {}).get("value", "")
        error = tk.validate_task_shape(task_info, agent_id)
        resources: list[rs.Resource] = []
        if error is None and (task_id in fw.tasks or task_id in launching):
            error = f"Task has duplicate ID: {task_id}"
        if error is None:
            try:
                resources = rs.list_from_json(task_info["resources"])
            except (ValueError, KeyError, TypeError) as err:
                error = f"Task uses invalid resources: {err}"
        if error is None and not rs.contains(remaining, resources):
            error = (f"Task uses more resources {rs.model(resources)} than available {rs.model(remaining)}")
        if error is not None:
            log(f"framework {fw.id}: task {task_id} is invalid: {error}")
            return self._update(fw, tk.make_status(task_id, "TASK_ERROR", source="SOURCE_MASTER", timestamp=now,
                                                   agent_id=agent_id, reason="REASON_TASK_INVALID",
                                                   message=error)), remaining
        launching.add(task_id)
        task = Task(task_info, fw.id, agent_id, resources, role)
        fw.tasks[task_id] = task
        log(f"launching task {task_id} of framework {fw.id} on agent {agent_id}")
        payload = {"framework_id": fw.id, "framework_info": fw.info, "task": task_info}
        return [("agent", agent_id, "launch", payload)], rs.subtract(remaining, resources)

    def decline(self, fw: Framework, decline: dict[str, Any]) -> list[Effect]:
        """DECLINE: the offers' resources go back, refused to this framework for `filters.refuse_seconds`."""
        for oid in [o.get("value") for o in decline.get("offer_ids") or []]:
            offer = self.offers.get(oid)
            if offer is None or offer.framework_id != fw.id:
                log(f"framework {fw.id}: ignoring DECLINE of unknown offer {oid}")
                continue
            self.offers.pop(oid)
            self._add_filter(fw, offer, offer.resources, decline.get("filters"))
        return []

    def revive(self, fw: Framework, revive: dict[str, Any]) -> list[Effect]:
        """REVIVE: drop the filters and the suppression of the given roles (all roles when none given)."""
        roles = set(revive.get("roles") or tk.framework_roles(fw.info))
        fw.filters = [f for f in fw.filters if f.role not in roles]
        fw.suppressed_roles -= roles
        return [("wake",)]

    def suppress(self, fw: Framework, suppress: dict[str, Any]) -> list[Effect]:
        """SUPPRESS: no more offers for the given roles (all when none given) until REVIVE."""
        fw.suppressed_roles |= set(suppress.get("roles") or tk.framework_roles(fw.info))
        return []

    def update_framework(self, fw: Framework, update: dict[str, Any]) -> list[Effect]:
        """UPDATE_FRAMEWORK (Mesos >= 1.9): new FrameworkInfo (same ID) and suppressed roles."""
        info = update.get("framework_info") or {}
        if (info.get("id") or {}).get("value") == fw.id:
            fw.info = {**info, "id": {"value": fw.id}}
            fw.suppressed_roles = set(update.get("suppressed_roles") or []) & set(tk.framework_roles(fw.info))
        return [("wake",)]

    def kill(self, fw: Framework, kill: dict[str, Any]) -> list[Effect]:
        """KILL: forward to the task's agent; an unknown task is answered by reconciliation (TASK_LOST)."""
        task_id = kill["task_id"]["value"]
        task = fw.tasks.get(task_id)
        if task is None:
            agent_id = (kill.get("agent_id") or {}).get("value")
            log(f"framework {fw.id}: cannot kill unknown task {task_id}; performing reconciliation")
            return self._update(fw, tk.reconciliation_status(task_id, None, agent_id=agent_id,
                                                             agent_known=agent_id in self.agents,
                                                             framework_info=fw.info, now=self.clock()))
        payload = {"framework_id": fw.id, "task_id": task_id}
        if kill.get("kill_policy"):
            payload["kill_policy"] = kill["kill_policy"]
        return [("agent", task.agent_id, "kill", payload)]

    def shutdown(self, fw: Framework, shutdown: dict[str, Any]) -> list[Effect]:
        """SHUTDOWN of an executor: for command tasks the executor is the task, so its task is killed with
        the agent's --executor_shutdown_grace_period."""
        agent_id = (shutdown.get("agent_id") or {}).get("value")
        executor_id = (shutdown.get("executor_id") or {}).get("value")
        return [("agent", agent_id, "shutdown_executor", {"framework_id": fw.id, "executor_id": executor_id})] \
            if agent_id in self.agents else []

    def acknowledge(self, fw: Framework, ack: dict[str, Any]) -> list[Effect]:
        """ACKNOWLEDGE: forward to the agent; a task whose terminal update is acknowledged leaves `tasks`."""
        agent_id, task_id, uuid_b64 = ack["agent_id"]["value"], ack["task_id"]["value"], ack["uuid"]
        task = fw.tasks.get(task_id)
        if task is not None and task.update_uuid == uuid_b64 and tk.is_terminal(task.update_state):
            fw.complete_task(task)
        if agent_id not in self.agents:
            log(f"framework {fw.id}: cannot forward acknowledgement for task {task_id} to unknown agent {agent_id}")
            return []
        return [("agent", agent_id, "acknowledge", {"framework_id": fw.id, "task_id": task_id, "uuid": uuid_b64})]

    def reconcile(self, fw: Framework, reconcile: dict[str, Any]) -> list[Effect]:
        """RECONCILE: explicit (tasks listed) or implicit (empty: every task the master still lists)."""
        now = self.clock()
        wanted = reconcile.get("tasks") or []
        effects: list[Effect] = []
        if not wanted:
            for task in fw.tasks.values():
                effects += self._update(fw, tk.reconciliation_status(
                    task.id, task.latest(), agent_id=task.agent_id, agent_known=True, framework_info=fw.info, now=now))
            return effects
        for item in wanted:
            task_id = (item.get("task_id") or {}).get("value", "")
            agent_id = (item.get("agent_id") or {}).get("value")
            task = fw.tasks.get(task_id)
            known = task.latest() if task is not None and agent_id in (None, task.agent_id) else None
            effects += self._update(fw, tk.reconciliation_status(task_id, known, agent_id=agent_id,
                                                                 agent_known=agent_id in self.agents,
                                                                 framework_info=fw.info, now=now))
        return effects

    # -- agents ----------------------------------------------------------------------------------------

    def register_agent(self, req: dict[str, Any]) -> tuple[dict[str, Any], list[Effect]]:
        """PRIVATE stand-in registration (Mesos uses libprocess messages): add or re-admit an agent with the
        tasks it reports, so that a restarted master knows running tasks (and their frameworks) again."""
        now = self.clock()
        effects: list[Effect] = []
        agent_id = req.get("id") or ""
        if not agent_id:
            agent_id = f"{self.config.master_id}-S{self.next_agent}"
            self.next_agent += 1
        port = int(req["info"]["port"])
        for other in [a for a in self.agents.values() if (a.ip, a.port) == (req["ip"], port) and a.id != agent_id]:
            effects += self.remove_agent(other.id, unreachable=False,
                                         message=f"Agent {other.hostname} was replaced by agent {agent_id}")
        known = self.agents.get(agent_id)
        self.unreachable_agents.pop(agent_id, None)
        self.agents[agent_id] = Agent(
            agent_id, req["ip"], port, req["info"]["hostname"],
            rs.list_from_json(req.get("total_resources") or []), req.get("attributes_v1") or [], req["info"],
            req.get("version", STANDIN_VERSION), known.registered_time if known else now, now, now)
        shutdown: list[str] = []
        reported: set[tuple[str, str]] = set()
        for entry in req.get("frameworks") or []:
            info = entry["info"]
            fid = info["id"]["value"]
            if self.completed_framework(fid):
                shutdown.append(fid)
                continue
            fw = self.frameworks.get(fid)
            if fw is None:
                # Mesos re-adds such a framework as "recovered": known, not connected, waiting to re-subscribe.
                fw = self.frameworks[fid] = self._new_framework(fid, info, now)
                fw.recovered = True
            for item in entry.get("tasks") or []:
                reported.add((fid, item["task"]["task_id"]["value"]))
                effects += self._readmit_task(fw, agent_id, item)
        effects += self._lose_unreported(agent_id, reported)
        log(f"agent {agent_id} at {req['info']['hostname']} {'re-registered' if known else 'registered'}")
        effects.append(("wake",))
        return {"slave_id": agent_id, "master_id": self.config.master_id, "shutdown_frameworks": shutdown}, effects

    def _readmit_task(self, fw: Framework, agent_id: str, item: dict[str, Any]) -> list[Effect]:
        task_info = item["task"]
        task_id = task_info["task_id"]["value"]
        task = fw.tasks.get(task_id)
        if task is None:
            role = tk.framework_roles(fw.info)[0] if tk.framework_roles(fw.info) else "*"
            try:
                resources = rs.list_from_json(task_info.get("resources") or [])
            except (ValueError, KeyError, TypeError) as err:
                log(f"agent {agent_id} reported task {task_id} with unreadable resources ({err}); counting none")
                resources = []
            task = fw.tasks[task_id] = Task(task_info, fw.id, agent_id, resources, role,
                                            statuses=list(item.get("statuses") or []))
        task.state = item.get("state", task.state)
        return []

    def _lose_unreported(self, agent_id: str, reported: set[tuple[str, str]]) -> list[Effect]:
        """Tasks the master believes started on this agent that the re-registering agent did not report are
        lost. STAGING tasks are spared: their launch may still be on its way to the agent."""
        effects: list[Effect] = []
        now = self.clock()
        for fw in self.frameworks.values():
            for task in [t for t in fw.tasks.values() if t.agent_id == agent_id and (fw.id, t.id) not in reported
                         and not tk.is_terminal(t.state) and t.state != "TASK_STAGING"]:
                status = tk.make_status(task.id, tk.lost_state(fw.info, "TASK_GONE"), source="SOURCE_MASTER",
                                        timestamp=now, agent_id=agent_id, executor_id=task.executor_id,
                                        reason="REASON_AGENT_RESTARTED",
                                        message=f"Task was not reported by agent {agent_id} when it re-registered")
                task.apply(status, status["state"])
                fw.complete_task(task)
                effects += self._update(fw, status)
        return effects

    def heartbeat(self, agent_id: str) -> bool:
        """PRIVATE stand-in agent heartbeat; False tells the agent to register again."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return False
        agent.last_seen = self.clock()
        return True

    def remove_agent(self, agent_id: str, unreachable: bool, message: str) -> list[Effect]:
        """An agent is gone: rescind its offers, its tasks become TASK_LOST (non-PARTITION_AWARE frameworks;
        TASK_UNREACHABLE/TASK_GONE otherwise) with REASON_AGENT_REMOVED, frameworks get FAILURE."""
        now = self.clock()
        effects: list[Effect] = []
        for offer in [o for o in self.offers.values() if o.agent_id == agent_id]:
            effects += self._remove_offer(offer, rescind=True)
        for fw in self.frameworks.values():
            for task in [t for t in fw.tasks.values() if t.agent_id == agent_id]:
                if not tk.is_terminal(task.state):
                    state = tk.lost_state(fw.info, "TASK_UNREACHABLE" if unreachable else "TASK_GONE")
                    status = tk.make_status(task.id, state, source="SOURCE_MASTER", timestamp=now,
                                            agent_id=agent_id, executor_id=task.executor_id,
                                            reason="REASON_AGENT_REMOVED", message=message)
                    task.apply(status, state)
                    effects += self._update(fw, status)
                if task.state == "TASK_UNREACHABLE":
                    fw.tasks.pop(task.id, None)
                    fw.unreachable_tasks.append(task)
                else:
                    fw.complete_task(task)
            effects += self._send(fw, {"type": "FAILURE", "failure": {"agent_id": {"value": agent_id}}})
        self.agents.pop(agent_id, None)
        if unreachable:
            self.unreachable_agents[agent_id] = now
        log(f"removed agent {agent_id}: {message}")
        return effects

    def status_update(self, agent_id: str, req: dict[str, Any]) -> tuple[int, list[Effect]]:
        """PRIVATE: an agent forwards a task status update; the master records it and sends UPDATE.

        404 tells an agent the master does not know to register again (e.g. after a master restart).
        """
        agent = self.agents.get(agent_id)
        if agent is None:
            return 404, []
        agent.last_seen = self.clock()
        fid, status = req["framework_id"], req["status"]
        fw = self.frameworks.get(fid)
        if fw is None:
            if self.completed_framework(fid):
                return 202, [("agent", agent_id, "shutdown_framework", {"framework_id": fid})]
            log(f"dropping status update for unknown framework {fid}")
            return 202, []
        task = fw.tasks.get(status["task_id"]["value"])
        if task is not None:
            task.apply(status, req.get("latest_state"))
        return 202, self._update(fw, status)

    # -- JSON views ------------------------------------------------------------------------------------

    def task_json(self, task: Task) -> dict[str, Any]:
        """A task as /master/state and /master/tasks show it (Mesos' model(Task))."""
        obj = {"id": task.id, "name": task.info.get("name", ""), "framework_id": task.framework_id,
               "executor_id": (task.info.get("executor") or {}).get("executor_id", {}).get("value", ""),
               "slave_id": task.agent_id, "state": task.state, "resources": rs.model(task.resources),
               "role": task.role,
               "statuses": [{k: s[k] for k in ("state", "timestamp", "container_status", "healthy") if k in s}
                            for s in task.statuses]}
        for key in ("labels", "discovery", "container"):
            if key in task.info:
                obj[key] = task.info[key]
        return obj

    def framework_json(self, fw: Framework) -> dict[str, Any]:
        """A framework as /master/state and /master/frameworks show it (Mesos 1.11 field names)."""
        used, offered = self.used(framework_id=fw.id), self.offered(framework_id=fw.id)
        info = fw.info
        obj: dict[str, Any] = {
            "id": fw.id, "name": info.get("name", ""), "pid": None,
            "used_resources": rs.model(used), "offered_resources": rs.model(offered),
            "resources": rs.model(rs.add(used, offered)),
            "capabilities": [c.get("type") for c in info.get("capabilities") or []],
            "hostname": info.get("hostname", ""), "webui_url": info.get("webui_url", ""),
            "active": fw.active, "connected": fw.connected, "recovered": fw.recovered,
            "user": info.get("user", ""), "role": info.get("role", "*"), "roles": tk.framework_roles(info),
            "failover_timeout": float(info.get("failover_timeout") or 0.0),
            "checkpoint": bool(info.get("checkpoint", False)),
            "registered_time": fw.registered_time, "reregistered_time": fw.reregistered_time,
            "tasks": [self.task_json(t) for t in fw.tasks.values()],
            "unreachable_tasks": [self.task_json(t) for t in fw.unreachable_tasks],
            "completed_tasks": [self.task_json(t) for t in fw.completed_tasks],
            "offers": [{"id": o.id, "framework_id": o.framework_id, "slave_id": o.agent_id,
                        "resources": rs.model(o.resources), "allocation_info": {"role": o.role}}
                       for o in self.offers.values() if o.framework_id == fw.id],
            "executors": [],
            **tk.state_counters(t.state for t in list(fw.tasks.values()) + list(fw.unreachable_tasks)
                                + list(fw.completed_tasks)),
        }
        if "principal" in info:
            obj["principal"] = info["principal"]
        if fw.unregistered_time is not None:
            obj["unregistered_time"] = fw.unregistered_time
        return obj

    def agent_json(self, agent: Agent) -> dict[str, Any]:
        """An agent as /master/slaves and /master/state show it, with real used and offered resources."""
        used, offered = self.used(agent.id), self.offered(agent.id)
        unreserved = [r for r in agent.total if r.role == rs.UNRESERVED]
        return {
            "id": agent.id, "pid": f"slave(1)@{agent.ip}:{agent.port}", "hostname": agent.hostname,
            "port": agent.port, "registered_time": agent.registered_time,
            "reregistered_time": agent.reregistered_time,
            "resources": rs.model(agent.total), "used_resources": rs.model(used),
            "offered_resources": rs.model(offered), "reserved_resources": rs.reserved_model(agent.total),
            "unreserved_resources": rs.model(unreserved), "attributes": rs.attributes_model(agent.attributes),
            "active": True, "deactivated": False, "version": agent.version,
            "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"],
            "reserved_resources_full": {role: rs.list_to_json(r for r in agent.total if r.role == role)
                                        for role in sorted({r.role for r in agent.total} - {rs.UNRESERVED})},
            "unreserved_resources_full": rs.list_to_json(unreserved),
            "used_resources_full": rs.list_to_json(used), "offered_resources_full": rs.list_to_json(offered),
        }

    def frameworks_view(self) -> dict[str, Any]:
        """{"frameworks", "completed_frameworks", "unregistered_frameworks"}."""
        return {"frameworks": [self.framework_json(f) for f in self.frameworks.values()],
                "completed_frameworks": [self.framework_json(f) for f in self.completed],
                "unregistered_frameworks": []}

    def tasks_view(self, limit: int = 100, offset: int = 0) -> dict[str, Any]:
        """/master/tasks: active tasks first, then unreachable and completed ones, paged like Mesos."""
        tasks = [t for f in self.frameworks.values() for t in f.tasks.values()]
        tasks += [t for f in self.frameworks.values() for t in f.unreachable_tasks]
        tasks += [t for f in list(self.frameworks.values()) + list(self.completed) for t in f.completed_tasks]
        return {"tasks": [self.task_json(t) for t in tasks[offset:offset + limit]]}

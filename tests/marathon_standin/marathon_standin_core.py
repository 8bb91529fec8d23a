"""TEST-ONLY STAND-IN, NOT MARATHON: the scheduler of the Marathon 1.11 imitation (apps, tasks, deployments,
offers, status updates, health checks, backoff), on top of marathon_standin_mesos.SchedulerClient.

Everything is in memory: Marathon keeps apps, deployments and its framework ID in ZooKeeper; the stand-in
forgets them when it stops, so a restarted stand-in subscribes as a *new* framework and does not know the
tasks of the old one (the Mesos master kills those after the old framework's failover_timeout).

Behaviour, and where it is simpler than Marathon (also in README.md):

* One lock guards the state; calls to the master are made after releasing it.
* Offers: every app that lacks tasks (and is not in launch backoff) takes what fits (cpus, mem, disk, ports
  from the offer's `ports` ranges, random unless `requirePorts`), honouring hostname CLUSTER/LIKE/UNIQUE;
  offers nothing takes are declined with `--decline_offer_duration`; REVIVE when demand appears.
* Updates: every update carrying a `uuid` is acknowledged after it is applied. A task that ends is expunged
  (Marathon lists only live tasks) and, if its app still wants it, replaced after the launch backoff
  (backoffSeconds * backoffFactor^n, at most maxLaunchDelaySeconds; reset when the app's configuration changes
  or a task has run (healthy, if checked) for BACKOFF_RESET_SECONDS).
* Upgrades are stop-then-start: tasks of an older configuration are killed, new ones launched once those are
  gone (Marathon's rolling upgrade with upgradeStrategy is not imitated; upgradeStrategy is only stored).
* Health checks HTTP, MESOS_HTTP (run by the stand-in itself: Mesos runs those in real life) and TCP, each
  check on its own short thread with `timeoutSeconds`; failures are ignored during `gracePeriodSeconds` until
  the first success; after `maxConsecutiveFailures` (> 0) consecutive failures the task is killed and replaced.
"""
from __future__ import annotations

import http.client
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import marathon_standin_apps as apps
from marathon_standin_mesos import SchedulerClient, log

INACTIVE = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE",
            "TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN", "TASK_UNREACHABLE"}
# Marathon's TaskFailure: the states that become an app's lastTaskFailure (TASK_KILLED and TASK_FINISHED do not).
FAILURE_STATES = {"TASK_ERROR", "TASK_FAILED", "TASK_LOST", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR",
                  "TASK_UNKNOWN", "TASK_UNREACHABLE"}
STAGED = {"TASK_STAGING", "TASK_STARTING"}
KILL_RETRY_SECONDS = 10.0
BACKOFF_RESET_SECONDS = 60.0
REVIVE_REPEAT_SECONDS = 5.0
TICK_SECONDS = 0.1


@dataclass
class Settings:
    """What the core needs from the command line (marathon_standin.py builds it)."""

    masters: list[tuple[str, int]]
    hostname: str
    http_port: int
    framework_name: str = "marathon"
    failover_timeout: float = 604800.0
    mesos_role: str = "*"
    mesos_user: str = "root"
    task_launch_timeout_ms: int = 300000
    decline_offer_duration_ms: int = 5000
    reconciliation_initial_delay_ms: int = 15000
    reconciliation_interval_ms: int = 600000
    flags: dict[str, Any] = field(default_factory=dict)


@dataclass
class Health:
    """One health check's state for one task (Marathon's core.health.Health)."""

    alive: bool | None = None
    consecutive_failures: int = 0
    first_success: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_failure_cause: str | None = None
    next_due: float = 0.0
    in_flight: bool = False


@dataclass
class Task:
    id: str
    app_id: str
    agent_id: str
    host: str
    ports: list[int]
    version: str
    config_version: str
    staged_at: str
    staged_mono: float
    health: list[Health]
    state: str = "TASK_STAGING"
    started_at: str | None = None
    running_mono: float | None = None
    healthy_since: float | None = None
    kill_reason: str | None = None
    kill_sent: float = 0.0
    ip_addresses: list[dict[str, str]] = field(default_factory=list)


@dataclass
class App:
    definition: dict[str, Any]
    body: dict[str, Any]
    version: str
    last_scaling_at: str
    last_config_change_at: str
    tasks: dict[str, Task] = field(default_factory=dict)
    backoff_delay: float | None = None
    launch_not_before: float = 0.0
    last_task_failure: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def id(self) -> str:
        return self.definition["id"]


@dataclass
class Deployment:
    id: str
    version: str
    app: App
    actions: list[str]


class NotFound(Exception):
    """404 `App '/x' does not exist`."""


class Locked(Exception):
    """409: the app is locked by deployments."""

    def __init__(self, deployment_ids: list[str]) -> None:
        super().__init__("App is locked by one or more deployments. Override with the option '?force=true'. "
                         "View details at '/v2/deployments/<DEPLOYMENT_ID>'.")
        self.deployment_ids = deployment_ids


class Conflict(Exception):
    """409 for POST /v2/apps of an existing app."""


Call = tuple[str, dict[str, Any]]


class Marathon:
    """The stand-in's scheduler: state, Mesos events, timers and the views the REST API serves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.stopping: list[App] = []
        self.deployments: dict[str, Deployment] = {}
        self.clock = apps.Clock()
        self.stop_event = threading.Event()
        self.failed = threading.Event()
        self._demand = False
        self._last_revive = 0.0
        self._want_revive = False
        self._next_reconcile = time.monotonic() + settings.reconciliation_initial_delay_ms / 1000.0
        self.reconciliations = 0
        info = {"user": settings.mesos_user, "name": settings.framework_name,
                "failover_timeout": float(settings.failover_timeout), "checkpoint": True,
                "hostname": settings.hostname, "webui_url": f"http://{settings.hostname}:{settings.http_port}",
                "role": settings.mesos_role, "capabilities": [{"type": "PARTITION_AWARE"}]}
        self.client = SchedulerClient(settings.masters, info, self._on_event, self._on_disconnected)
        self._ticker = threading.Thread(target=self._tick_loop, name="marathon-timers", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self.client.start()
        self._ticker.start()

    def stop(self) -> None:
        """Stop like Marathon does: close the subscription (the framework fails over), no TEARDOWN."""
        self.stop_event.set()
        self.client.stop()
        if self._ticker.is_alive():
            self._ticker.join(5)

    @property
    def framework_id(self) -> str | None:
        return self.client.framework_id

    def _send(self, calls: list[Call]) -> None:
        for kind, payload in calls:
            self.client.call(kind, **payload)

    # -- REST operations (marathon_standin_http calls these) ---------------------------------------------

    def _locking(self, app_id: str) -> list[Deployment]:
        return [d for d in self.deployments.values() if d.app.id == app_id]

    def _take_lock(self, app_id: str, force: bool) -> None:
        locking = self._locking(app_id)
        if locking and not force:
            raise Locked([d.id for d in locking])
        for dep in locking:
            log(f"deployment {dep.id} of {app_id} cancelled by a forced change")
            del self.deployments[dep.id]

    def _deploy(self, app: App, version: str, actions: list[str]) -> Deployment:
        dep = Deployment(str(uuid.uuid4()), version, app, actions)
        self.deployments[dep.id] = dep
        log(f"deployment {dep.id}: {', '.join(actions) or 'no change'} {app.id} (version {version})")
        self._want_revive = True
        self._check_deployments()
        return dep

    def put_app(self, app_id: str, body: Any, force: bool, partial: bool) -> tuple[int, dict[str, Any]]:
        """PUT /v2/apps/{id}: create (201) or update (200); a deployment either way."""
        with self.lock:
            existing = self.apps.get(app_id)
            if existing is not None and partial and isinstance(body, dict):
                body = apps.merge_update(existing.body, body)
            definition = apps.normalize(app_id, body)
            self._take_lock(app_id, force)
            version = self.clock.now()
            if existing is None:
                app = App(definition, dict(body), version, version, version)
                self.apps[app_id] = app
                dep = self._deploy(app, version, ["StartApplication"] + (
                    ["ScaleApplication"] if definition["instances"] else []))
                return 201, {"deploymentId": dep.id, "version": version}
            app = existing
            changed = apps.config_of(app.definition) != apps.config_of(definition)
            scaled = app.definition["instances"] != definition["instances"]
            app.definition, app.body, app.version = definition, dict(body), version
            if changed:
                app.last_config_change_at = app.last_scaling_at = version
                app.backoff_delay, app.launch_not_before = None, 0.0
                actions = ["RestartApplication"]
            elif scaled:
                app.last_scaling_at = version
                actions = ["ScaleApplication"]
            else:
                actions = []
            dep = self._deploy(app, version, actions)
            return 200, {"deploymentId": dep.id, "version": version}

    def post_app(self, body: Any) -> tuple[int, dict[str, Any]]:
        """POST /v2/apps: create only; answers the app."""
        with self.lock:
            raw_id = body.get("id") if isinstance(body, dict) else None
            if not isinstance(raw_id, str) or not apps.path_segments(raw_id):
                raise apps.Invalid("Object is not valid", [{"path": "/id", "errors": ["error.path.missing"]}])
            app_id = apps.canonical_id(raw_id)
            if app_id in self.apps:
                raise Conflict(f"An app with id [{app_id}] already exists.")
            self.put_app(app_id, body, force=False, partial=False)
            return 201, self.app_json(app_id)["app"]

    def delete_app(self, app_id: str, force: bool) -> dict[str, Any]:
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise NotFound(f"App '{app_id}' does not exist")
            self._take_lock(app_id, force)
            calls: list[Call] = []
            del self.apps[app_id]
            app.deleted = True
            self.stopping.append(app)
            for task in app.tasks.values():
                self._kill(task, "delete", calls)
            version = self.clock.now()
            dep = self._deploy(app, version, ["StopApplication"])
        self._send(calls)
        return {"deploymentId": dep.id, "version": version}

    def restart_app(self, app_id: str, force: bool) -> dict[str, Any]:
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise NotFound(f"App '{app_id}' does not exist")
            self._take_lock(app_id, force)
            version = self.clock.now()
            app.version = app.last_config_change_at = version
            app.backoff_delay, app.launch_not_before = None, 0.0
            dep = self._deploy(app, version, ["RestartApplication"])
            return {"deploymentId": dep.id, "version": version}

    # -- views -------------------------------------------------------------------------------------------

    @staticmethod
    def _healthy(app: App, task: Task) -> bool | None:
        """True: every check alive; False: one failing; None: no result yet (or no checks)."""
        if not app.definition["healthChecks"] or not task.health:
            return None
        if any(h.alive is False for h in task.health):
            return False
        if all(h.alive for h in task.health):
            return True
        return None

    def _task_json(self, app: App, task: Task) -> dict[str, Any]:
        view: dict[str, Any] = {"id": task.id, "slaveId": task.agent_id, "host": task.host, "state": task.state,
                                "startedAt": task.started_at, "stagedAt": task.staged_at, "ports": task.ports,
                                "version": task.version, "appId": app.id}
        if task.ip_addresses:
            view["ipAddresses"] = task.ip_addresses
        results = [{"alive": bool(h.alive), "consecutiveFailures": h.consecutive_failures,
                    "firstSuccess": h.first_success, "lastFailure": h.last_failure, "lastSuccess": h.last_success,
                    "lastFailureCause": h.last_failure_cause, "instanceId": apps.instance_id_of(task.id)}
                   for h in task.health if h.alive is not None]
        if results:
            view["healthCheckResults"] = results
        return view

    def _app_view(self, app: App, embed: set[str]) -> dict[str, Any]:
        view = dict(app.definition)
        view["version"] = app.version
        view["versionInfo"] = {"lastScalingAt": app.last_scaling_at, "lastConfigChangeAt": app.last_config_change_at}
        tasks = sorted(app.tasks.values(), key=lambda t: t.staged_mono)
        if "counts" in embed:
            health = [self._healthy(app, t) for t in tasks]
            view["tasksStaged"] = sum(1 for t in tasks if t.state in STAGED)
            view["tasksRunning"] = sum(1 for t in tasks if t.state == "TASK_RUNNING")
            view["tasksHealthy"] = sum(1 for h in health if h is True)
            view["tasksUnhealthy"] = sum(1 for h in health if h is False)
        if "deployments" in embed:
            view["deployments"] = [{"id": d.id} for d in self._locking(app.id)]
        if "tasks" in embed:
            view["tasks"] = [self._task_json(app, t) for t in tasks]
        if "lastTaskFailure" in embed and app.last_task_failure:
            view["lastTaskFailure"] = app.last_task_failure
        return view

    def app_json(self, app_id: str, embed: set[str] | None = None) -> dict[str, Any]:
        """GET /v2/apps/{id}: by default with counts, deployments, tasks and lastTaskFailure."""
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise NotFound(f"App '{app_id}' does not exist")
            return {"app": self._app_view(app, embed or {"counts", "deployments", "tasks", "lastTaskFailure"})}

    def apps_json(self, embed: set[str] | None = None) -> dict[str, Any]:
        """GET /v2/apps: by default with counts and deployments (Marathon embeds tasks only on request)."""
        with self.lock:
            return {"apps": [self._app_view(a, embed or {"counts", "deployments"})
                             for a in sorted(self.apps.values(), key=lambda a: a.id)]}

    def app_tasks_json(self, app_id: str) -> dict[str, Any]:
        with self.lock:
            app = self.apps.get(app_id)
            if app is None:
                raise NotFound(f"App '{app_id}' does not exist")
            return {"tasks": [self._task_json(app, t) for t in sorted(app.tasks.values(), key=lambda t: t.staged_mono)]}

    def deployments_json(self) -> list[dict[str, Any]]:
        with self.lock:
            result = []
            for dep in self.deployments.values():
                steps = [{"actions": [{"action": a, "app": dep.app.id}]} for a in dep.actions]
                result.append({"id": dep.id, "version": dep.version, "affectedApps": [dep.app.id],
                               "affectedPods": [], "steps": steps,
                               "currentActions": [{"action": dep.actions[-1], "app": dep.app.id,
                                                   "readinessCheckResults": []}],
                               "currentStep": len(steps), "totalSteps": len(steps)})
            return result

    # -- Mesos events ------------------------------------------------------------------------------------

    def _on_disconnected(self) -> None:
        if self.client.fatal:
            log(f"FAILED: {self.client.fatal}")
            self.failed.set()

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "SUBSCRIBED":
            self._on_subscribed()
        elif kind == "OFFERS":
            self._on_offers((event.get("offers") or {}).get("offers") or [])
        elif kind == "UPDATE":
            self._on_update(event["update"]["status"])
        elif kind == "RESCIND":
            log(f"offer {event['rescind']['offer_id']['value']} rescinded")
        elif kind == "FAILURE":
            log(f"FAILURE from the master: {event.get('failure')}")
        elif kind == "ERROR":
            log(f"ERROR from the master: {event.get('error', {}).get('message')}")

    def _on_subscribed(self) -> None:
        """Like Marathon, reconcile only after `--reconciliation_initial_delay`, not at once: after a master
        failover the agents need a moment to re-register, and until then the master calls their tasks unknown."""
        log(f"subscribed to the Mesos master {self.client.leader[0]}:{self.client.leader[1]} as framework "
            f"{self.client.framework_id}")
        with self.lock:
            self._want_revive = True
            self._next_reconcile = time.monotonic() + self.settings.reconciliation_initial_delay_ms / 1000.0

    def _reconcile(self, calls: list[Call]) -> None:
        """Explicit reconciliation of every task the stand-in knows, then implicit (Marathon does both); an
        answer about a task it does not know gets that task killed (see _on_update)."""
        known = [{"task_id": {"value": t.id}, "agent_id": {"value": t.agent_id}}
                 for a in list(self.apps.values()) + self.stopping for t in a.tasks.values()]
        if known:
            calls.append(("RECONCILE", {"reconcile": {"tasks": known}}))
        calls.append(("RECONCILE", {"reconcile": {"tasks": []}}))
        self.reconciliations += 1
        log(f"reconciling {len(known)} known task(s), then all tasks of the framework")

    def _find(self, task_id: str) -> tuple[App, Task] | tuple[None, None]:
        for app in list(self.apps.values()) + self.stopping:
            task = app.tasks.get(task_id)
            if task is not None:
                return app, task
        return None, None

    def _kill(self, task: Task, reason: str, calls: list[Call]) -> None:
        if task.kill_reason is None:
            task.kill_reason = reason
            log(f"killing task {task.id} of {task.app_id} ({reason})")
        task.kill_sent = time.monotonic()
        calls.append(("KILL", {"kill": {"task_id": {"value": task.id}, "agent_id": {"value": task.agent_id}}}))

    def _on_update(self, status: dict[str, Any]) -> None:
        calls: list[Call] = []
        task_id = status["task_id"]["value"]
        state = status["state"]
        with self.lock:
            app, task = self._find(task_id)
            if task is None or app is None:
                if state not in INACTIVE:
                    log(f"update {state} of unknown task {task_id}: killing it")
                    agent = status.get("agent_id")
                    calls.append(("KILL", {"kill": {"task_id": {"value": task_id},
                                                    **({"agent_id": agent} if agent else {})}}))
            else:
                self._apply_update(app, task, status, calls)
                self._check_deployments()
        if "uuid" in status:
            calls.append(("ACKNOWLEDGE", {"acknowledge": {"agent_id": status["agent_id"],
                                                          "task_id": status["task_id"], "uuid": status["uuid"]}}))
        self._send(calls)

    def _apply_update(self, app: App, task: Task, status: dict[str, Any], calls: list[Call]) -> None:
        state = status["state"]
        now = time.monotonic()
        task.state = state
        if state == "TASK_RUNNING" and task.started_at is None:
            task.started_at = apps.iso_now()
            task.running_mono = now
            for check, health in zip(app.definition["healthChecks"], task.health):
                health.next_due = now + (check["delaySeconds"] if check["protocol"].startswith("MESOS_") else 0)
        for network in (status.get("container_status") or {}).get("network_infos") or []:
            task.ip_addresses = [{"ipAddress": a["ip_address"], "protocol": a.get("protocol", "IPv4")}
                                 for a in network.get("ip_addresses") or [] if "ip_address" in a]
        if state not in INACTIVE:
            return
        del app.tasks[task.id]
        message = status.get("message", "")
        log(f"task {task.id} of {app.id} is {state}" + (f": {message}" if message else ""))
        if state in FAILURE_STATES:
            app.last_task_failure = {"appId": app.id, "host": task.host, "message": message, "state": state,
                                     "taskId": task.id, "timestamp": apps.iso_now(), "version": task.version,
                                     "slaveId": task.agent_id}
        if app.deleted:
            return
        if task.kill_reason in (None, "unhealthy", "overdue"):
            definition = app.definition
            delay = float(definition["backoffSeconds"]) if app.backoff_delay is None else \
                app.backoff_delay * float(definition["backoffFactor"])
            delay = min(delay, float(definition["maxLaunchDelaySeconds"]))
            app.backoff_delay = delay
            app.launch_not_before = now + delay
            log(f"{app.id}: next launch in {delay:.2f}s (launch backoff)")
        self._want_revive = True

    # -- offers ------------------------------------------------------------------------------------------

    def _needs(self, app: App) -> int:
        """How many tasks the app lacks; 0 while tasks of an older configuration are still alive (stop-then-start)."""
        if app.deleted or any(t.config_version != app.last_config_change_at for t in app.tasks.values()):
            return 0
        return max(0, app.definition["instances"] - len(app.tasks))

    def _on_offers(self, offers: list[dict[str, Any]]) -> None:
        plan: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        with self.lock:
            for offer in offers:
                plan.append((offer, self._match(offer)))
        declines = [offer["id"] for offer, infos in plan if not infos]
        for offer, infos in plan:
            if not infos:
                continue
            ok = self.client.call("ACCEPT", accept={
                "offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0.0},
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": infos}}]})
            if not ok:
                with self.lock:
                    for info in infos:
                        app, task = self._find(info["task_id"]["value"])
                        if app is not None and task is not None:
                            del app.tasks[task.id]
                    self._want_revive = True
        if declines:
            self.client.call("DECLINE", decline={
                "offer_ids": declines,
                "filters": {"refuse_seconds": self.settings.decline_offer_duration_ms / 1000.0}})

    def _match(self, offer: dict[str, Any]) -> list[dict[str, Any]]:
        now = time.monotonic()
        pool = _Pool(offer)
        hostname = offer.get("hostname", "")
        agent_id = offer["agent_id"]["value"]
        infos = []
        for app in sorted(self.apps.values(), key=lambda a: a.id):
            if now < app.launch_not_before:
                continue
            definition = app.definition
            roles = set(definition.get("acceptedResourceRoles") or ("*", self.settings.mesos_role))
            while self._needs(app) > 0:
                in_use = [t.host for t in app.tasks.values()]
                if not all(apps.constraint_allows(c, hostname, in_use) for c in definition["constraints"]):
                    break
                taken = pool.take(definition, roles)
                if taken is None:
                    break
                resources, ports = taken
                infos.append(self._launch(app, agent_id, hostname, resources, ports, now))
        return infos

    def _launch(self, app: App, agent_id: str, host: str, resources: list[dict[str, Any]], ports: list[int],
                now: float) -> dict[str, Any]:
        definition = app.definition
        task_id = f"{apps.safe_path(app.id)}.{uuid.uuid1()}"
        env = apps.task_environment(definition, app.version, task_id, host, ports)
        command: dict[str, Any] = {"environment": {"variables": [{"name": k, "value": v} for k, v in env.items()]},
                                   "user": definition.get("user") or self.settings.mesos_user}
        if definition.get("cmd"):
            command.update(value=definition["cmd"], shell=True)
        else:
            command.update(value=definition["args"][0], arguments=list(definition["args"]), shell=False)
        if definition["fetch"]:
            command["uris"] = [{"value": f["uri"], "extract": f["extract"], "executable": f["executable"],
                                "cache": f["cache"], **({"output_file": f["outputFile"]} if "outputFile" in f else {})}
                               for f in definition["fetch"]]
        name = apps.task_name(app.id)
        info: dict[str, Any] = {"name": name, "task_id": {"value": task_id}, "agent_id": {"value": agent_id},
                                "resources": resources, "command": command}
        if definition["labels"]:
            info["labels"] = {"labels": [{"key": k, "value": v} for k, v in definition["labels"].items()]}
        if ports:
            discovered = []
            for port_def, port in zip(definition["portDefinitions"], ports):
                for protocol in port_def["protocol"].split(","):
                    entry: dict[str, Any] = {"number": port, "protocol": protocol}
                    if port_def.get("name"):
                        entry["name"] = port_def["name"]
                    if port_def["labels"]:
                        entry["labels"] = {"labels": [{"key": k, "value": v} for k, v in port_def["labels"].items()]}
                    discovered.append(entry)
            info["discovery"] = {"visibility": "FRAMEWORK", "name": name, "ports": {"ports": discovered}}
        if "taskKillGracePeriodSeconds" in definition:
            info["kill_policy"] = {"grace_period": {"nanoseconds": int(definition["taskKillGracePeriodSeconds"] * 1e9)}}
        app.tasks[task_id] = Task(task_id, app.id, agent_id, host, ports, app.version, app.last_config_change_at,
                                  apps.iso_now(), now, [Health() for dummy in definition["healthChecks"]])
        log(f"launching task {task_id} of {app.id} on {host}" + (f" ports {ports}" if ports else ""))
        return info

    # -- timers ------------------------------------------------------------------------------------------

    def _tick_loop(self) -> None:
        while not self.stop_event.wait(TICK_SECONDS):
            try:
                self._tick()
            except Exception as err:  # noqa: BLE001 - the timers must keep running
                log(f"timer failed: {err!r}")

    def _tick(self) -> None:
        now = time.monotonic()
        calls: list[Call] = []
        checks = []
        with self.lock:
            launch_timeout = self.settings.task_launch_timeout_ms / 1000.0
            for app in list(self.apps.values()) + self.stopping:
                for task in list(app.tasks.values()):
                    if task.kill_reason and now - task.kill_sent > KILL_RETRY_SECONDS:
                        self._kill(task, task.kill_reason, calls)
                    elif not task.kill_reason and task.running_mono is None and now - task.staged_mono > launch_timeout:
                        self._kill(task, "overdue", calls)
                if app.deleted:
                    continue
                self._converge(app, now, calls)
                checks.extend(self._due_checks(app, now))
            demand = any(self._needs(a) > 0 and now >= a.launch_not_before for a in self.apps.values())
            stale = now - self._last_revive > REVIVE_REPEAT_SECONDS
            revive = demand and (self._want_revive or not self._demand or stale)
            self._want_revive = False
            self._demand = demand
            if revive:
                self._last_revive = now
                calls.append(("REVIVE", {}))
            self._check_deployments()
            self.stopping = [a for a in self.stopping if a.tasks]  # a forced PUT may have cancelled the stop
            if now >= self._next_reconcile and self.client.subscribed.is_set():
                self._next_reconcile = now + self.settings.reconciliation_interval_ms / 1000.0
                self._reconcile(calls)
        for args in checks:
            threading.Thread(target=self._run_check, args=args, name="health-check", daemon=True).start()
        self._send(calls)

    def _converge(self, app: App, now: float, calls: list[Call]) -> None:
        """Kill tasks of older configurations and tasks beyond `instances`; reset the backoff of a healthy app."""
        definition = app.definition
        for task in app.tasks.values():
            if task.config_version != app.last_config_change_at and not task.kill_reason:
                self._kill(task, "upgrade", calls)
        live = [t for t in app.tasks.values() if not t.kill_reason]
        excess = len(live) - definition["instances"]
        if excess > 0:
            live.sort(key=lambda t: t.staged_mono, reverse=definition["killSelection"] == "YOUNGEST_FIRST")
            for task in live[:excess]:
                self._kill(task, "scale", calls)
        if app.backoff_delay is not None:
            for task in live:
                since = task.healthy_since if definition["healthChecks"] else task.running_mono
                if task.state == "TASK_RUNNING" and since is not None and now - since >= BACKOFF_RESET_SECONDS:
                    log(f"{app.id}: launch backoff reset (task {task.id} ran for {BACKOFF_RESET_SECONDS:.0f}s)")
                    app.backoff_delay = None
                    break

    def _check_deployments(self) -> None:
        for dep in list(self.deployments.values()):
            app = dep.app
            if dep.actions and dep.actions[-1] == "StopApplication":
                done = not app.tasks
                if done and app in self.stopping:
                    self.stopping.remove(app)
            else:
                tasks = list(app.tasks.values())
                done = len(tasks) == app.definition["instances"] and all(
                    t.state == "TASK_RUNNING" and not t.kill_reason and t.config_version == app.last_config_change_at
                    and (not app.definition["healthChecks"] or self._healthy(app, t) is True) for t in tasks)
            if done:
                del self.deployments[dep.id]
                log(f"deployment {dep.id} of {app.id} finished")

    # -- health checks -----------------------------------------------------------------------------------

    def _due_checks(self, app: App, now: float) -> list[tuple[Any, ...]]:
        due = []
        for task in app.tasks.values():
            if task.state != "TASK_RUNNING" or task.kill_reason:
                continue
            for index, (check, health) in enumerate(zip(app.definition["healthChecks"], task.health)):
                if health.in_flight or now < health.next_due:
                    continue
                if "port" in check:
                    port = check["port"]
                elif check.get("portIndex", 0) < len(task.ports):
                    port = task.ports[check.get("portIndex", 0)]
                else:
                    continue
                health.in_flight = True
                due.append((app, task.id, index, dict(check), task.host, port))
        return due

    @staticmethod
    def _probe(check: dict[str, Any], host: str, port: int) -> tuple[bool, str]:
        timeout = max(float(check["timeoutSeconds"]), 0.1)
        try:
            if check["protocol"] == "TCP":
                with socket.create_connection((host, port), timeout=timeout):
                    return True, ""
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            try:
                conn.request("GET", check.get("path") or "/", headers={"User-Agent": "marathon-standin"})
                status = conn.getresponse().status
            finally:
                conn.close()
            if 200 <= status < 400 or (check.get("ignoreHttp1xx") and 100 <= status < 200):
                return True, ""
            return False, f"{status}"
        except (OSError, http.client.HTTPException) as err:
            return False, f"{type(err).__name__}: {err}"

    def _run_check(self, app: App, task_id: str, index: int, check: dict[str, Any], host: str, port: int) -> None:
        healthy, cause = self._probe(check, host, port)
        calls: list[Call] = []
        now = time.monotonic()
        with self.lock:
            task = app.tasks.get(task_id)
            if task is None:
                return
            health = task.health[index]
            health.in_flight = False
            health.next_due = now + float(check["intervalSeconds"])
            stamp = apps.iso_now()
            if healthy:
                health.alive = True
                health.consecutive_failures = 0
                health.last_success = stamp
                health.first_success = health.first_success or stamp
                if task.healthy_since is None and all(h.alive for h in task.health):
                    task.healthy_since = now
            elif health.first_success is None and task.running_mono is not None and \
                    now - task.running_mono < check["gracePeriodSeconds"]:
                pass  # within the grace period and never healthy: ignored, as Marathon does
            else:
                health.alive = False
                health.consecutive_failures += 1
                health.last_failure = stamp
                health.last_failure_cause = cause
                task.healthy_since = None
                limit = check["maxConsecutiveFailures"]
                if limit > 0 and health.consecutive_failures >= limit and not task.kill_reason:
                    log(f"task {task_id} of {app.id} failed {health.consecutive_failures} consecutive "
                        f"{check['protocol']} health checks on {host}:{port} ({cause})")
                    self._kill(task, "unhealthy", calls)
            self._check_deployments()
        self._send(calls)


class _Pool:
    """What is left of one offer while tasks are matched against it."""

    def __init__(self, offer: dict[str, Any]) -> None:
        self.entries: list[dict[str, Any]] = []
        for resource in offer.get("resources") or []:
            extra = {k: resource[k] for k in ("role", "allocation_info", "reservations") if k in resource}
            reservations = resource.get("reservations") or []
            role = reservations[-1].get("role", "*") if reservations else resource.get("role", "*")
            if resource.get("type") == "SCALAR":
                self.entries.append({"name": resource["name"], "role": role, "extra": extra,
                                     "value": float(resource["scalar"]["value"])})
            elif resource.get("type") == "RANGES":
                ranges = [(int(r["begin"]), int(r["end"])) for r in resource["ranges"].get("range") or []]
                self.entries.append({"name": resource["name"], "role": role, "extra": extra, "ranges": ranges})

    def take(self, app: dict[str, Any], roles: set[str]) -> tuple[list[dict[str, Any]], list[int]] | None:
        """Resources (Mesos JSON) and host ports for one task of `app`, or None (nothing is taken then)."""
        usable = [e for e in self.entries if e["role"] in roles]
        plan: list[tuple[dict[str, Any], float]] = []
        for name in ("cpus", "mem", "disk"):
            need = round(float(app[name]), 3)
            for entry in (e for e in usable if e["name"] == name and "value" in e):
                if need <= 0:
                    break
                amount = min(need, round(entry["value"], 3))
                if amount > 0:
                    plan.append((entry, amount))
                    need = round(need - amount, 3)
            if need > 0:
                return None
        port_entries = [e for e in usable if e["name"] == "ports" and "ranges" in e]
        free = [(p, e) for e in port_entries for b, end in e["ranges"] for p in range(b, end + 1)]
        chosen: list[tuple[int, dict[str, Any]]] = []
        for definition in app["portDefinitions"]:
            taken = {p for p, dummy in chosen}
            if app["requirePorts"]:
                match = [(p, e) for p, e in free if p == definition["port"] and p not in taken]
            else:
                match = [(p, e) for p, e in free if p not in taken]
            if not match:
                return None
            chosen.append(match[0] if app["requirePorts"] else random.choice(match))
        resources = []
        for entry, amount in plan:
            entry["value"] = round(entry["value"] - amount, 3)
            resources.append({"name": entry["name"], "type": "SCALAR", "scalar": {"value": amount}, **entry["extra"]})
        for port, entry in chosen:
            entry["ranges"] = _remove_port(entry["ranges"], port)
            resources.append({"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": port, "end": port}]},
                              **entry["extra"]})
        return resources, [p for p, dummy in chosen]


def _remove_port(ranges: list[tuple[int, int]], port: int) -> list[tuple[int, int]]:
    result = []
    for begin, end in ranges:
        if begin <= port <= end:
            if begin < port:
                result.append((begin, port - 1))
            if port < end:
                result.append((port + 1, end))
        else:
            result.append((begin, end))
    return result

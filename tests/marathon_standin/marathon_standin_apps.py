"""TEST-ONLY STAND-IN, NOT MARATHON: app definitions of the Marathon 1.11 imitation, checked and completed
without I/O.

What is modelled (mesosphere/marathon docs/docs/rest-api/public/api/v2/types/app.raml, healthCheck.raml,
src/main/scala/mesosphere/marathon/api/v2/validation/AppValidation.scala, state/PathId.scala,
api/v2/json/Formats.scala, mesos/TaskBuilder.scala and EnvironmentHelper.scala):

* path IDs (`/group/app`), their segment rule and reserved keywords, with Marathon's messages;
* the subset of app fields the stand-in serves, with Marathon's defaults; anything it does not serve
  (containers, readiness checks, secrets, residency, IP-per-task networks, COMMAND/HTTPS health checks,
  constraints other than hostname CLUSTER/LIKE/UNIQUE) is refused with 422 and a message that says
  "not served by the TEST-ONLY Marathon stand-in", never silently ignored;
* the environment Marathon gives a task (PORT0.., PORT_<n>, PORT_<NAME>, PORT, PORTS, HOST, MESOS_TASK_ID,
  MARATHON_APP_ID, MARATHON_APP_VERSION, MARATHON_APP_RESOURCE_*, MARATHON_APP_LABELS, MARATHON_APP_LABEL_*).

Why pure: validation answers are what a client role sees first and most often; they are tested on their own.
"""
from __future__ import annotations

import copy
import datetime
import re
import threading
from typing import Any

# mesosphere/marathon state/PathId.scala ID_PATH_SEGMENT_PATTERN, matched against each segment in full.
SEGMENT_PATTERN = r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$"
SEGMENT_RE = re.compile(SEGMENT_PATTERN)
RESERVED = ("restart", "tasks", "versions", ".", "..")
PORT_NAME_RE = re.compile(r"^[a-z0-9-]+$")

HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_TCP", "MESOS_HTTP", "MESOS_HTTPS")
SERVED_HEALTH_PROTOCOLS = ("HTTP", "MESOS_HTTP", "TCP")
CONSTRAINT_OPERATORS = ("UNIQUE", "LIKE", "CLUSTER", "GROUP_BY", "UNLIKE", "MAX_PER", "IS")
SERVED_CONSTRAINTS = ("CLUSTER", "LIKE", "UNIQUE")
EXTRACTABLE = (".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz", ".zip")

DEFAULT_PORT_DEFINITIONS = [{"port": 0, "protocol": "tcp", "name": "default", "labels": {}}]
DEFAULT_MAX_LAUNCH_DELAY = 3600  # AppDefinition.DefaultMaxLaunchDelay = 1.hour (app.raml: default 3600)
NOT_SERVED = "is not served by the TEST-ONLY Marathon stand-in"

# ---------------------------------------------------------------------------------------------------------
# Path IDs and timestamps
# ---------------------------------------------------------------------------------------------------------


def path_segments(text: str) -> list[str]:
    """The segments of an app ID given in a URL or a body (`/a/b`, `a/b/`): relative to the root group."""
    return [s for s in str(text).split("/") if s]


def canonical_id(text: str) -> str:
    """`a/b` -> `/a/b` (Marathon's PathId.toString)."""
    return "/" + "/".join(path_segments(text))


def id_errors(app_id: str) -> list[str]:
    """Marathon's checks of an app ID (PathId.pathIdValidator, absolutePathValidator, "must not be root")."""
    segments = path_segments(app_id)
    if not segments:
        return ["Path must not be empty"]
    errors = []
    if not all(SEGMENT_RE.fullmatch(s) for s in segments):
        errors.append(f"must fully match regular expression '{SEGMENT_PATTERN}'")
    if segments[-1] in RESERVED:
        errors.append("must not end with any of the following reserved keywords: " + ", ".join(RESERVED))
    return errors


def safe_path(app_id: str) -> str:
    """PathId.safePath: `/flink/session` -> `flink_session` (the prefix of task IDs)."""
    return "_".join(path_segments(app_id))


def task_name(app_id: str) -> str:
    """PathId.toHostname, Marathon's TaskInfo name: `/flink/session` -> `session.flink`."""
    return ".".join(reversed(path_segments(app_id)))


def instance_id_of(task_id: str) -> str:
    """The instance ID Marathon derives from a pre-instance-era task ID `<safePath>.<uuid>` (Task.LegacyId):
    `<safePath>.marathon-<uuid>`."""
    prefix, dummy, uuid = task_id.rpartition(".")
    return f"{prefix}.marathon-{uuid}"


class Clock:
    """ISO-8601 UTC timestamps with milliseconds like Marathon's Timestamp.toString, strictly increasing so that
    two versions created in one millisecond still differ."""

    def __init__(self) -> None:
        self._last = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> str:
        with self._lock:
            now = datetime.datetime.now(datetime.timezone.utc)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if now <= self._last:
                now = self._last + datetime.timedelta(milliseconds=1)
            self._last = now
            return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def iso_now() -> str:
    """A timestamp for task and health events (need not be unique)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------


class Invalid(Exception):
    """A 422 answer: `{"message": ..., "details": [{"path": ..., "errors": [...]}]}`."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "details": self.details}


class _Checker:
    """Collects type errors (Play JSON's `error.expected.*`, answered as "Invalid JSON") and validation errors
    (accord's wording, answered as "Object is not valid"), each under a JSON path like `/healthChecks(0)/port`."""

    def __init__(self) -> None:
        self.type_errors: dict[str, list[str]] = {}
        self.errors: dict[str, list[str]] = {}

    def type_error(self, path: str, message: str) -> None:
        self.type_errors.setdefault(path, []).append(message)

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        if self.type_errors:
            raise Invalid("Invalid JSON", [{"path": p, "errors": e} for p, e in self.type_errors.items()])
        if self.errors:
            raise Invalid("Object is not valid", [{"path": p, "errors": e} for p, e in self.errors.items()])

    # typed getters: return the value or the default; record errors -----------------------------------------

    def typed(self, obj: dict[str, Any], key: str, path: str, kinds: tuple[type, ...], expected: str,
              default: Any = None) -> Any:
        """The value if it has one of `kinds` (a bool is never a number), else `default` and a type error."""
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds):
            self.type_error(f"{path}/{key}", f"error.expected.{expected}")
            return default
        return value

    def bounded(self, path: str, value: Any, minimum: Any, maximum: Any) -> Any:
        """Record a range error in Marathon's words; the value is kept either way."""
        if value is not None and minimum is not None and value < minimum:
            self.error(path, f"got {value}, expected {minimum} or more")
        if value is not None and maximum is not None and value > maximum:
            self.error(path, f"got {value}, expected {maximum} or less")
        return value

    def number(self, obj: dict[str, Any], key: str, path: str, default: float | None,
               minimum: float | None = None, maximum: float | None = None) -> float | None:
        value = self.typed(obj, key, path, (int, float), "jsnumber")
        if value is None:
            return default
        return self.bounded(f"{path}/{key}", float(value), None if minimum is None else float(minimum),
                            None if maximum is None else float(maximum))

    def integer(self, obj: dict[str, Any], key: str, path: str, default: int | None,
                minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self.typed(obj, key, path, (int, float), "jsnumber")
        if value is None:
            return default
        if isinstance(value, float) and not value.is_integer():
            self.type_error(f"{path}/{key}", "error.expected.int")
            return default
        return self.bounded(f"{path}/{key}", int(value), minimum, maximum)

    def string(self, obj: dict[str, Any], key: str, path: str, default: str | None = None) -> str | None:
        return self.typed(obj, key, path, (str,), "jsstring", default)

    def boolean(self, obj: dict[str, Any], key: str, path: str, default: bool) -> bool:
        return self.typed(obj, key, path, (bool,), "jsboolean", default)

    def array(self, obj: dict[str, Any], key: str, path: str) -> list[Any] | None:
        return self.typed(obj, key, path, (list,), "jsarray")

    def mapping(self, obj: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
        return self.typed(obj, key, path, (dict,), "jsobject")

    def string_map(self, obj: dict[str, Any], key: str, path: str) -> dict[str, str]:
        value = self.mapping(obj, key, path) or {}
        result = {}
        for name, item in value.items():
            if isinstance(item, str):
                result[name] = item
            else:
                self.type_error(f"{path}/{key}/{name}", "error.expected.jsstring")
        return result


def _port_definitions(c: _Checker, body: dict[str, Any]) -> list[dict[str, Any]]:
    ports = c.array(body, "ports", "")
    definitions = c.array(body, "portDefinitions", "")
    if ports is not None and definitions is not None:
        if [d.get("port") if isinstance(d, dict) else None for d in definitions] != ports and ports and definitions:
            c.error("/", "cannot specify both ports and port definitions")
    if definitions is None and ports is not None:
        definitions = []
        for i, port in enumerate(ports):
            if isinstance(port, bool) or not isinstance(port, int):
                c.type_error(f"/ports({i})", "error.expected.jsnumber")
                continue
            definitions.append({"port": port, "protocol": "tcp", "labels": {}})
        without_random = [p for p in ports if p != 0]
        if len(set(without_random)) != len(without_random):
            c.error("/", "ports must be unique")
    if definitions is None:
        return copy.deepcopy(DEFAULT_PORT_DEFINITIONS)
    result = []
    for i, item in enumerate(definitions):
        path = f"/portDefinitions({i})"
        if not isinstance(item, dict):
            c.type_error(path, "error.expected.jsobject")
            continue
        if "port" not in item:
            c.type_error(f"{path}/port", "error.path.missing")
        port = c.integer(item, "port", path, 0, 0, 65535)
        protocol = c.string(item, "protocol", path, "tcp")
        if protocol not in ("tcp", "udp", "udp,tcp"):
            c.error(f"{path}/protocol", "Invalid protocol. Only 'udp' or 'tcp' are allowed.")
        entry: dict[str, Any] = {"port": port, "protocol": protocol}
        name = c.string(item, "name", path)
        if name is not None:
            if not PORT_NAME_RE.fullmatch(name):
                c.error(f"{path}/name", f"must fully match regular expression '{PORT_NAME_RE.pattern}'")
            entry["name"] = name
        entry["labels"] = c.string_map(item, "labels", path)
        result.append(entry)
    names = [d["name"] for d in result if "name" in d]
    if len(set(names)) != len(names):
        c.error("/portDefinitions", "Port names must be unique.")
    numbers = [d["port"] for d in result if d["port"] != 0]
    if len(set(numbers)) != len(numbers):
        c.error("/portDefinitions", "Ports must be unique.")
    return result


def _health_checks(c: _Checker, body: dict[str, Any], port_count: int) -> list[dict[str, Any]]:
    checks = c.array(body, "healthChecks", "") or []
    result = []
    for i, item in enumerate(checks):
        path = f"/healthChecks({i})"
        if not isinstance(item, dict):
            c.type_error(path, "error.expected.jsobject")
            continue
        protocol = c.string(item, "protocol", path, "HTTP")
        if protocol not in HEALTH_PROTOCOLS:
            c.type_error(f"{path}/protocol", f"{protocol} is not a valid protocol")
            continue
        if "command" in item or protocol not in SERVED_HEALTH_PROTOCOLS:
            c.error(f"{path}/protocol", f"health check protocol {protocol} {NOT_SERVED} (served: "
                    + ", ".join(SERVED_HEALTH_PROTOCOLS) + ")")
        check: dict[str, Any] = {
            "gracePeriodSeconds": c.integer(item, "gracePeriodSeconds", path, 300, 0),
            "intervalSeconds": c.integer(item, "intervalSeconds", path, 60, 0),
            "maxConsecutiveFailures": c.integer(item, "maxConsecutiveFailures", path, 3, 0),
            "timeoutSeconds": c.integer(item, "timeoutSeconds", path, 20, 0),
            "delaySeconds": c.integer(item, "delaySeconds", path, 15, 0),
            "protocol": protocol,
        }
        if protocol in ("HTTP", "MESOS_HTTP"):
            check["path"] = c.string(item, "path", path, "/")
            check["ipProtocol"] = c.string(item, "ipProtocol", path, "IPv4")
            if check["ipProtocol"] not in ("IPv4", "IPv6"):
                c.type_error(f"{path}/ipProtocol", "error.expected.validenumvalue")
            elif check["ipProtocol"] != "IPv4":
                c.error(path, "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks")
            if "ignoreHttp1xx" in item:
                check["ignoreHttp1xx"] = c.boolean(item, "ignoreHttp1xx", path, False)
        port = c.integer(item, "port", path, None, 0, 65535)
        index = c.integer(item, "portIndex", path, None, 0, 65535)
        if port is not None:
            check["port"] = port
        elif index is not None:
            check["portIndex"] = index
        elif port_count == 1:
            check["portIndex"] = 0
        if port is None and (index is None and port_count != 1 or index is not None and index >= port_count):
            c.error(path, "Health check port indices must address an element of the ports array or container "
                          "port mappings.")
        result.append(check)
    mesos_checks = sum(1 for h in result if h["protocol"].startswith("MESOS_"))
    if mesos_checks > 1:
        c.error("/", "AppDefinition can contain at most one Mesos health check")
    return result


def _constraints(c: _Checker, body: dict[str, Any]) -> list[list[str]]:
    constraints = c.array(body, "constraints", "") or []
    result = []
    for i, item in enumerate(constraints):
        path = f"/constraints({i})"
        if not (isinstance(item, list) and 2 <= len(item) <= 3 and all(isinstance(x, str) for x in item)):
            c.type_error(path, "Constraint definition must be an array of strings in format: "
                               "<key>, <operator>[, value]")
            continue
        field, operator = item[0], item[1]
        if operator not in CONSTRAINT_OPERATORS:
            c.type_error(path, "Constraint operator must be one of the following: ["
                         + ", ".join(CONSTRAINT_OPERATORS) + "]")
            continue
        if field != "hostname" or operator not in SERVED_CONSTRAINTS:
            c.error(path, f"constraint {item!r} {NOT_SERVED} (served: hostname CLUSTER, LIKE, UNIQUE)")
        elif operator == "UNIQUE" and len(item) != 2:
            c.error(path, "Value specified but not used")
        elif operator in ("CLUSTER", "LIKE") and len(item) != 3:
            c.error(path, "Missing value")
        elif operator == "LIKE":
            try:
                re.compile(item[2])
            except re.error:
                c.error(path, "Invalid regular expression")
        result.append(list(item))
    return result


def _fetch(c: _Checker, body: dict[str, Any]) -> list[dict[str, Any]]:
    fetch = c.array(body, "fetch", "")
    uris = c.array(body, "uris", "")
    if uris and fetch:
        c.error("/uris", "may not be set in conjunction with fetch")
    if fetch is None:
        fetch = [{"uri": u, "extract": isinstance(u, str) and u.endswith(EXTRACTABLE)} for u in uris or []]
    result = []
    for i, item in enumerate(fetch):
        path = f"/fetch({i})"
        if not isinstance(item, dict):
            c.type_error(path, "error.expected.jsobject")
            continue
        uri = c.string(item, "uri", path)
        if not uri:
            c.type_error(f"{path}/uri", "error.path.missing")
            continue
        entry = {"uri": uri, "extract": c.boolean(item, "extract", path, True),
                 "executable": c.boolean(item, "executable", path, False),
                 "cache": c.boolean(item, "cache", path, False)}
        output = c.string(item, "outputFile", path)
        if output is not None:
            entry["outputFile"] = output
        result.append(entry)
    return result


def _not_served(c: _Checker, body: dict[str, Any]) -> None:
    """Fields whose meaning the stand-in does not implement: refused rather than silently ignored."""
    if body.get("container") is not None:
        c.error("/container", f"containers {NOT_SERVED}: give `cmd` or `args` for the Mesos command executor")
    if body.get("readinessChecks"):
        c.error("/readinessChecks", f"readiness checks {NOT_SERVED}")
    if body.get("secrets"):
        c.error("/secrets", f"secrets {NOT_SERVED}")
    if body.get("residency") is not None:
        c.error("/residency", f"residency (persistent volumes) {NOT_SERVED}")
    if body.get("ipAddress") is not None:
        c.error("/ipAddress", f"IP-per-task {NOT_SERVED}")
    networks = body.get("networks")
    if networks not in (None, [], [{"mode": "host"}]):
        c.error("/networks", f"networks other than host networking {NOT_SERVED}")
    if body.get("gpus") not in (None, 0):
        c.error("/gpus", f"GPU resources {NOT_SERVED}")
    if body.get("executor") not in (None, "", "//cmd"):
        c.error("/executor", f"custom executors {NOT_SERVED}")
    if "version" in body and set(body) - {"id", "version"} == set():
        c.error("/", f"rolling back to a version {NOT_SERVED} (no version history)")
    env = body.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            if isinstance(value, dict):
                c.error(f"/env/{name}", f"secret references {NOT_SERVED}")


def normalize(app_id: str, body: Any) -> dict[str, Any]:
    """The app definition Marathon would store for a PUT/POST body, with every default filled in.

    Raises Invalid (422). `app_id` is the canonical ID from the URL; a body `id`, when present, must name the
    same app (a stand-in strictness: the ID comes from the URL).
    """
    if not isinstance(body, dict):
        raise Invalid("Invalid JSON", [{"path": "/", "errors": ["error.expected.jsobject"]}])
    c = _Checker()
    if body.get("id") is not None:
        if not isinstance(body["id"], str):
            c.type_error("/id", "error.expected.jsstring")
        elif canonical_id(body["id"]) != app_id:
            c.error("/id", f"the app ID in the body ('{body['id']}') must name the app of the URL ('{app_id}')")
    for message in id_errors(app_id):
        c.error("/id", message)
    _not_served(c, body)
    cmd = c.string(body, "cmd", "")
    args = c.array(body, "args", "")
    if args is not None and not all(isinstance(a, str) for a in args):
        c.type_error("/args", "error.expected.jsstring")
    if cmd == "":
        c.type_error("/cmd", "error.minLength")
    if bool(cmd) == bool(args):
        c.error("/", "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.")
    app: dict[str, Any] = {"id": app_id}
    if cmd:
        app["cmd"] = cmd
    if args:
        app["args"] = list(args)
    user = c.string(body, "user", "")
    if user is not None:
        app["user"] = user
    env = c.mapping(body, "env", "") or {}
    app["env"] = {k: v for k, v in env.items() if isinstance(v, str)}
    for name, value in env.items():
        if not isinstance(value, (str, dict)):
            c.type_error(f"/env/{name}", "error.expected.jsstring")
    app["instances"] = c.integer(body, "instances", "", 1, 0)
    app["cpus"] = c.number(body, "cpus", "", 1.0, 0.001)
    app["mem"] = c.number(body, "mem", "", 128.0, 0.0)
    app["disk"] = c.number(body, "disk", "", 0.0, 0.0)
    app["gpus"] = 0
    app["executor"] = ""
    app["constraints"] = _constraints(c, body)
    app["fetch"] = _fetch(c, body)
    app["backoffSeconds"] = c.integer(body, "backoffSeconds", "", 1, 0)
    app["backoffFactor"] = c.number(body, "backoffFactor", "", 1.15, 1.0)
    app["maxLaunchDelaySeconds"] = c.integer(body, "maxLaunchDelaySeconds", "", DEFAULT_MAX_LAUNCH_DELAY, 0)
    app["portDefinitions"] = _port_definitions(c, body)
    app["requirePorts"] = c.boolean(body, "requirePorts", "", False)
    if app["requirePorts"] and any(d["port"] == 0 for d in app["portDefinitions"]):
        c.error("/", "requirePorts needs every port definition to name a port (port 0 is 'any')")
    app["healthChecks"] = _health_checks(c, body, len(app["portDefinitions"]))
    app["labels"] = c.string_map(body, "labels", "")
    dependencies = c.array(body, "dependencies", "") or []
    app["dependencies"] = [canonical_id(d) for d in dependencies if isinstance(d, str)]
    strategy = c.mapping(body, "upgradeStrategy", "") or {}
    app["upgradeStrategy"] = {
        "minimumHealthCapacity": c.number(strategy, "minimumHealthCapacity", "/upgradeStrategy", 1.0, 0.0, 1.0),
        "maximumOverCapacity": c.number(strategy, "maximumOverCapacity", "/upgradeStrategy", 1.0, 0.0, 1.0)}
    grace = c.integer(body, "taskKillGracePeriodSeconds", "", None, 0)
    if grace is not None:
        app["taskKillGracePeriodSeconds"] = grace
    roles = c.array(body, "acceptedResourceRoles", "")
    if roles is not None:
        if not roles:
            c.error("/acceptedResourceRoles", "must not be empty")
        app["acceptedResourceRoles"] = [r for r in roles if isinstance(r, str)]
    selection = c.string(body, "killSelection", "", "YOUNGEST_FIRST")
    if selection not in ("YOUNGEST_FIRST", "OLDEST_FIRST"):
        c.type_error("/killSelection", "error.expected.validenumvalue")
    app["killSelection"] = selection
    unreachable = body.get("unreachableStrategy")
    app["unreachableStrategy"] = unreachable if unreachable is not None else {
        "inactiveAfterSeconds": 0, "expungeAfterSeconds": 0}
    app["networks"] = [{"mode": "host"}]
    c.raise_if_any()
    return app


def merge_update(stored_body: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """PUT with `partialUpdate=true` (Marathon 1.x's default): fields absent from the update keep their values."""
    merged = dict(stored_body)
    merged.update(update)
    if "ports" in update and "portDefinitions" not in update:
        merged.pop("portDefinitions", None)
    if "portDefinitions" in update and "ports" not in update:
        merged.pop("ports", None)
    if "fetch" in update and "uris" not in update:
        merged.pop("uris", None)
    if "uris" in update and "fetch" not in update:
        merged.pop("fetch", None)
    if "cmd" in update and "args" not in update:
        merged.pop("args", None)
    if "args" in update and "cmd" not in update:
        merged.pop("cmd", None)
    return merged


def config_of(app: dict[str, Any]) -> dict[str, Any]:
    """What makes two definitions 'the same configuration' (everything but the instance count)."""
    return {k: v for k, v in app.items() if k != "instances"}


# ---------------------------------------------------------------------------------------------------------
# Matching and the task environment
# ---------------------------------------------------------------------------------------------------------


def constraint_allows(constraint: list[str], hostname: str, hosts_in_use: list[str]) -> bool:
    """hostname CLUSTER (equal), LIKE (regex, full match), UNIQUE (no other task of the app on that host)."""
    operator = constraint[1]
    if operator == "CLUSTER":
        return hostname == constraint[2]
    if operator == "LIKE":
        return re.fullmatch(constraint[2], hostname) is not None
    if operator == "UNIQUE":
        return hostname not in hosts_in_use
    return False


def _double(value: float) -> str:
    """Scala's Double.toString for the values an app has (1.0, 0.25, 128.0)."""
    return repr(float(value))


def task_environment(app: dict[str, Any], version: str, task_id: str, host: str,
                     host_ports: list[int]) -> dict[str, str]:
    """The environment Marathon's TaskBuilder gives a command task: its own variables, then the app's `env`
    (which wins, as in TaskBuilder: taskContextEnv ++ portsEnv ++ HOST ++ app env)."""
    env = {"MESOS_TASK_ID": task_id, "MARATHON_APP_ID": app["id"], "MARATHON_APP_VERSION": version,
           "MARATHON_APP_RESOURCE_CPUS": _double(app["cpus"]), "MARATHON_APP_RESOURCE_MEM": _double(app["mem"]),
           "MARATHON_APP_RESOURCE_DISK": _double(app["disk"]), "MARATHON_APP_RESOURCE_GPUS": str(app["gpus"])}
    labels = {}
    for key, value in app["labels"].items():
        if len(key) < 512 - len("MARATHON_APP_LABEL_") and len(value) < 512:
            labels[re.sub(r"[^a-zA-Z0-9_]+", "_", key).upper()] = value
    env["MARATHON_APP_LABELS"] = " ".join(labels)
    for name, value in labels.items():
        env[f"MARATHON_APP_LABEL_{name}"] = value
    if host_ports:
        for index, port in enumerate(host_ports):
            env[f"PORT{index}"] = str(port)
        for definition, port in zip(app["portDefinitions"], host_ports):
            requested = definition["port"] if app["requirePorts"] else 0
            env[f"PORT_{requested or port}"] = str(port)
            if definition.get("name"):
                env[f"PORT_{definition['name'].upper()}"] = str(port)
        env["PORT"] = str(host_ports[0])
        env["PORTS"] = ",".join(str(p) for p in host_ports)
    env["HOST"] = host
    env.update(app["env"])
    return env

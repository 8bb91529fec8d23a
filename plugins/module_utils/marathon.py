# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Marathon v2 apps: pure decisions (ids, validation, idempotence, readiness, errors) and a thin HTTP client.

The decisions are pure functions so that the unit tests pin them without a Marathon; the client only turns
``rest.request_json`` answers into app JSON or a MarathonError that already carries the words for the user.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.streamops.flink_mesos.plugins.module_utils import rest

# Marathon's own rule for one segment of an app id (PathId validation): lowercase letters, digits, '-' and '.',
# no '-' at either end of a dot-separated label.
SEGMENT_RE = re.compile(r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])$")

HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
# Protocols that probe a URL path (Marathon defaults the path to "/") and, like the TCP ones, a port.
PATH_PROTOCOLS = ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS")
PORT_PROTOCOLS = PATH_PROTOCOLS + ("TCP", "MESOS_TCP")

# Fields Marathon adds to an app in GET that describe its runtime, not its definition: left out of the "before"
# of a deletion's diff so that the diff shows what is removed, not task churn.
STATUS_KEYS = ("version", "versionInfo", "tasksRunning", "tasksStaged", "tasksHealthy", "tasksUnhealthy",
               "deployments", "tasks", "lastTaskFailure", "taskStats", "readinessCheckResults")

# Cause ids of failures (the module's cause_id); stable, so that playbooks may test for them.
CAUSE_LOCKED = "marathon_locked"
CAUSE_AUTH = "marathon_auth"
CAUSE_FORBIDDEN = "marathon_forbidden"
CAUSE_INVALID_APP = "marathon_invalid_app"
CAUSE_NOT_FOUND = "marathon_not_found"
CAUSE_ERROR = "marathon_error"
CAUSE_UNREACHABLE = "marathon_unreachable"
CAUSE_TIMEOUT = "marathon_timeout"
CAUSE_INVALID_INPUT = "invalid_input"


def normalize_app_id(raw: Any, option: str = "app_id") -> str:
    """The absolute Marathon app id for a user's input ('flink/a', '/flink/a/' -> '/flink/a').

    Why: Marathon stores ids as absolute paths, and the id is also the URL path of every request, so it is checked
    here against Marathon's own segment rule: a refused id never reaches Marathon as an odd URL (``..`` would
    name another app), and the message says what to change instead of Marathon's 422. Raises ValueError.
    """
    if not isinstance(raw, str):
        raise ValueError(f"{option} is {raw!r}; give the app id as a string such as /flink/session-a")
    text = raw.strip()
    path = text.strip("/")
    if not path:
        raise ValueError(f"{option} is {raw!r}, which names no app; give a path such as /flink/session-a")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"{option} is {raw!r}; empty, '.' and '..' path segments are not allowed, give the "
                             "absolute id such as /flink/session-a")
        if not SEGMENT_RE.match(segment):
            raise ValueError(
                f"{option} is {raw!r}; the segment {segment!r} is not a valid Marathon id segment: use lowercase "
                "letters, digits, '-' and '.' only, starting and ending with a letter or digit")
    return "/" + path


def validate_marathon_url(url: Any) -> str:
    """The Marathon base URL without trailing slash, or ValueError saying what to change.

    Why: the module appends /v2/apps/<id> itself; a URL that already holds a path (/v2, /ui/) would send every
    request to a wrong resource, whose 404 could even be mistaken for "app absent".
    """
    text = url.strip() if isinstance(url, str) else ""
    example = "e.g. http://marathon.example:8080"
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError(f"marathon_url is {url!r}, not a URL ({exc}); give {example}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValueError(f"marathon_url is {url!r}; give http:// or https:// with a host (and port), {example}")
    extra = parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    if extra not in ("", "/"):
        raise ValueError(f"marathon_url is {url!r}; remove {extra!r} and give only scheme, host and port "
                         f"({parts.scheme}://{parts.netloc}): the module adds /v2/apps/<id> itself")
    return f"{parts.scheme}://{parts.netloc}"


def resolve_app_id(app_id: Optional[str], app: Optional[Mapping[str, Any]]) -> str:
    """The one app id the module manages, from O(app_id), ``app.id`` or both (which must then agree).

    Why: the id in the URL and the id in the body must be the same app, or Marathon would be asked to PUT one
    app under another's path. Raises ValueError naming the options.
    """
    given = app.get("id") if isinstance(app, Mapping) else None
    if app_id is None and given is None:
        raise ValueError("app_id is required (or app.id); give the app's id such as /flink/session-a")
    from_option = normalize_app_id(app_id) if app_id is not None else None
    from_app = normalize_app_id(given, "app.id") if given is not None else None
    if from_option and from_app and from_option != from_app:
        raise ValueError(f"app_id {app_id!r} and app.id {given!r} name different apps ({from_option} and "
                         f"{from_app}); give one of them, or make them the same")
    return from_option or from_app  # type: ignore[return-value]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _health_check_problems(index: int, check: Any) -> List[str]:
    where = f"app.healthChecks[{index}]"
    if not isinstance(check, Mapping):
        return [f"{where} is {check!r}; give a dict such as {{protocol: HTTP, path: /, portIndex: 0}}"]
    problems = []
    protocol = check.get("protocol", "HTTP")  # Marathon's default protocol
    if protocol not in HEALTH_PROTOCOLS:
        problems.append(f"{where}.protocol is {protocol!r}; use one of {', '.join(HEALTH_PROTOCOLS)}")
        return problems
    if protocol in PATH_PROTOCOLS and "path" in check and not isinstance(check["path"], str):
        problems.append(f"{where}.path is {check['path']!r}; give a URL path such as / (or leave it out for /)")
    if protocol in PORT_PROTOCOLS:
        if check.get("port") is not None and check.get("portIndex") is not None:
            problems.append(f"{where} has both port and portIndex; give only one of them (or neither for "
                            "portIndex 0)")
        for key in ("port", "portIndex"):
            value = check.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                problems.append(f"{where}.{key} is {value!r}; give a whole number >= 0")
    if protocol == "COMMAND" and not isinstance(check.get("command"), Mapping):
        problems.append(f"{where} has protocol COMMAND but no command; give command: {{value: <shell command>}}")
    return problems


def validate_app(app: Any) -> List[str]:
    """Problems of an app definition that Marathon would refuse, each naming the key and what to change.

    Why: caught before any request, a mistake costs no deployment and no 422 round trip, and the message can say
    which option to change in playbook terms. Only checks Marathon is certain to make are done here; everything
    else is left to Marathon (its 422 details are reported too). Empty list: fine.
    """
    if not isinstance(app, Mapping):
        return [f"app is {app!r}; give the app definition as a dict"]
    problems = []
    if all(app.get(key) is None for key in ("cmd", "args", "container")):
        problems.append("app has none of cmd, args and container; give a command (cmd), arguments (args) or a "
                        "container image (container)")
    instances = app.get("instances")
    if instances is not None and (not isinstance(instances, int) or isinstance(instances, bool) or instances < 0):
        problems.append(f"app.instances is {instances!r}; give a whole number >= 0")
    for key in ("cpus", "mem"):
        value = app.get(key)
        if value is not None and (not _is_number(value) or value <= 0):
            problems.append(f"app.{key} is {value!r}; give a number > 0")
    checks = app.get("healthChecks")
    if checks is not None:
        if not isinstance(checks, list):
            problems.append(f"app.healthChecks is {checks!r}; give a list of health checks")
        else:
            for index, check in enumerate(checks):
                problems.extend(_health_check_problems(index, check))
    return problems


def desired_satisfied(desired: Any, current: Any) -> bool:
    """Whether the current app (as GET returns it) already has every value the user gave.

    Why: Marathon fills in defaults and adds fields (versions, task counts, port names, health check delays), so
    comparing whole documents would PUT on every run. Only the user's keys count: dicts compare the desired keys
    recursively, lists element by element with the same rule and equal length (a removed list element is a
    change), numbers numerically (Marathon returns ``cpus: 1`` as 1.0). A desired null is met by an absent key.
    """
    if isinstance(desired, Mapping):
        if not isinstance(current, Mapping):
            return False
        for key, value in desired.items():
            if value is None:
                if current.get(key) is not None:
                    return False
            elif key not in current or not desired_satisfied(value, current[key]):
                return False
        return True
    if isinstance(desired, list):
        return (isinstance(current, list) and len(desired) == len(current)
                and all(desired_satisfied(d, c) for d, c in zip(desired, current)))
    if _is_number(desired):
        return _is_number(current) and desired == current
    if isinstance(desired, bool) or isinstance(current, bool):
        return isinstance(desired, bool) and isinstance(current, bool) and desired == current
    return desired == current


def _project(desired: Any, current: Any) -> Any:
    """``current`` cut down to the shape of ``desired`` (extra list elements stay: they would be removed)."""
    if isinstance(desired, Mapping) and isinstance(current, Mapping):
        return {k: _project(v, current[k]) for k, v in desired.items() if k in current}
    if isinstance(desired, list) and isinstance(current, list):
        return [_project(desired[i], c) if i < len(desired) else c for i, c in enumerate(current)]
    return current


def as_text(value: Any) -> str:
    """Sorted-key, indented JSON text: stable, so that a diff shows only real differences."""
    return json.dumps(value, sort_keys=True, indent=2) + "\n"


def desired_view(desired: Mapping[str, Any], current: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """The before/after texts of a --diff: the desired keys only, as they are now and as they will be.

    Why: the GET answer carries many fields the user never set; showing them would drown the change. ``before``
    is the current values of the desired keys (nested the same way; {} when the app does not exist).
    """
    before = _project(dict(desired), dict(current)) if current is not None else {}
    return {"before": as_text(before), "after": as_text(dict(desired))}


def definition_of(app_json: Mapping[str, Any]) -> Dict[str, Any]:
    """An app as GET returns it without its runtime fields (the "before" of a deletion)."""
    return {k: v for k, v in app_json.items() if k not in STATUS_KEYS}


def deployment_ids(app_json: Mapping[str, Any]) -> List[str]:
    """IDs of the deployments GET lists for an app (running ones only: finished ones disappear)."""
    return [str(d.get("id")) for d in app_json.get("deployments") or [] if isinstance(d, Mapping)]


def app_ready(app_json: Mapping[str, Any], want_instances: int) -> Tuple[bool, str]:
    """Whether an app is deployed and serving, with the reason in words either way.

    Why: a PUT only starts a deployment. The app is ready once Marathon lists no deployment for it, at least
    ``want_instances`` tasks run and, when the app has health checks, that many are healthy (tasksRunning
    counts a task that is still failing its checks). The reason becomes the timeout message.
    """
    running = int(app_json.get("tasksRunning") or 0)
    healthy = int(app_json.get("tasksHealthy") or 0)
    counts = (f"tasksRunning {running}, tasksHealthy {healthy}, tasksUnhealthy "
              f"{int(app_json.get('tasksUnhealthy') or 0)}, tasksStaged {int(app_json.get('tasksStaged') or 0)}")
    deployments = deployment_ids(app_json)
    if deployments:
        return False, f"deployment(s) {', '.join(deployments)} still running ({counts})"
    if running < want_instances:
        return False, f"{running} of {want_instances} task(s) running ({counts})"
    if app_json.get("healthChecks") and healthy < want_instances:
        return False, f"{healthy} of {want_instances} task(s) healthy ({counts})"
    return True, f"no deployment running and {want_instances} task(s) ready ({counts})"


def summarize_tasks(app_json: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The tasks of an app as an operator asks about them: where they run and whether they are healthy.

    ``healthy`` is null when the app has no health checks (Marathon reports no results then), else whether every
    check result says alive; a task without results yet is not healthy.
    """
    has_checks = bool(app_json.get("healthChecks"))
    tasks = []
    for task in app_json.get("tasks") or []:
        if not isinstance(task, Mapping):
            continue
        results = [r for r in task.get("healthCheckResults") or [] if isinstance(r, Mapping)]
        tasks.append({
            "id": task.get("id"),
            "host": task.get("host"),
            "ports": list(task.get("ports") or []),
            "state": task.get("state"),
            "healthy": (bool(results) and all(r.get("alive") is True for r in results)) if has_checks else None,
        })
    return tasks


def _parse(body_text: str) -> Dict[str, Any]:
    try:
        data = json.loads(body_text) if body_text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def classify_error(status: Optional[int], body_text: str, app_id: str) -> Tuple[str, str]:
    """(cause_id, message) for an HTTP error answer of Marathon about an app.

    Why: Marathon's answers are precise (a 409 names the deployments that lock the app, a 422 every invalid
    field), but as "HTTP 409 Conflict" they say nothing; the message says what happened and what to change.
    """
    data = _parse(body_text)
    said = str(data.get("message") or "").strip() or body_text.strip()[:200]
    if status == 409:
        ids = [str(d.get("id")) for d in data.get("deployments") or [] if isinstance(d, Mapping) and d.get("id")]
        if not ids:
            ids = re.findall(r"/v2/deployments/([A-Za-z0-9\-]+)", said)
        locked_by = ", ".join(ids) if ids else "(not named in Marathon's answer)"
        return CAUSE_LOCKED, (f"app {app_id} is locked by deployment(s) {locked_by}; wait for them to finish "
                              "(GET /v2/deployments) or set force: true to override")
    if status == 401:
        return CAUSE_AUTH, (f"Marathon refused the credentials for app {app_id} (HTTP 401): they are missing or "
                            "wrong. Set url_username and url_password, and force_basic_auth: true so that they are "
                            "sent with the first request")
    if status == 403:
        return CAUSE_FORBIDDEN, (f"the user is not authorised for app {app_id} (HTTP 403{': ' + said if said else ''}"
                                 "); use credentials (url_username) that Marathon permits to change this app's path")
    if status in (400, 422):
        details = []
        for detail in data.get("details") or []:
            if not isinstance(detail, Mapping):
                continue
            errors = detail.get("errors") or []
            errors = errors if isinstance(errors, list) else [errors]
            details.append(f"{detail.get('path', '/')}: {'; '.join(str(e) for e in errors)}")
        listed = "; ".join(details) if details else said or "no details given"
        return CAUSE_INVALID_APP, (f"Marathon refused app {app_id} as invalid (HTTP {status}): {listed}. Correct "
                                   "these keys of app")
    if status == 404:
        return CAUSE_NOT_FOUND, (f"Marathon answered 404 for app {app_id}{': ' + said if said else ''}; check that "
                                 "marathon_url points at Marathon itself")
    return CAUSE_ERROR, f"Marathon answered HTTP {status} for app {app_id}{': ' + said if said else ''}"


class MarathonError(Exception):
    """A request about an app failed; ``cause_id`` and ``status`` go into the module's failure result."""

    def __init__(self, message: str, cause_id: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.cause_id = cause_id
        self.status = status


def is_absent_answer(status: Optional[int], body_text: str) -> bool:
    """Whether an error answer is Marathon saying the app does not exist (404 with its JSON message).

    Why: a 404 from something that is not Marathon (a wrong marathon_url behind a proxy) must not count as
    "absent", or state=absent would report success without having asked Marathon.
    """
    return status == 404 and "message" in _parse(body_text)


class MarathonClient:
    """The three requests the module makes, errors turned into MarathonError with words for the user."""

    def __init__(self, base: str, http: rest.HttpOptions = rest.DEFAULT_HTTP, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.http = http
        self.timeout = timeout

    def app_url(self, app_id: str) -> str:
        """The app's resource URL (ids are checked by normalize_app_id, so they need no quoting)."""
        return f"{self.base}/v2/apps{app_id}"

    def _request(self, app_id: str, method: str, force: bool = False, data: Any = None) -> Any:
        url = self.app_url(app_id) + ("?force=true" if force else "")
        try:
            return rest.request_json(url, method=method, timeout=self.timeout, http=self.http, data=data,
                                     error_body_limit=4000)[1]
        except rest.HttpError as exc:
            if exc.status is None:
                raise MarathonError(f"Marathon did not answer: {exc}", CAUSE_UNREACHABLE) from exc
            if method == "GET" and is_absent_answer(exc.status, exc.body):
                return None
            cause, message = classify_error(exc.status, exc.body, app_id)
            raise MarathonError(f"{method} {url}: {message}", cause, exc.status) from exc

    def get_app(self, app_id: str) -> Optional[Dict[str, Any]]:
        """The app as Marathon describes it, or None when Marathon says it does not exist."""
        data = self._request(app_id, "GET")
        if data is None:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("app"), dict):
            raise MarathonError(f"GET {self.app_url(app_id)}: the answer has no 'app'; check that marathon_url "
                                "points at Marathon", CAUSE_ERROR, 200)
        return data["app"]

    def put_app(self, app_id: str, app: Mapping[str, Any], force: bool = False) -> Dict[str, Any]:
        """Create or update; Marathon answers with the deployment it started."""
        data = self._request(app_id, "PUT", force=force, data=dict(app))
        return data if isinstance(data, dict) else {}

    def delete_app(self, app_id: str, force: bool = False) -> Dict[str, Any]:
        """Destroy the app (Marathon kills its tasks in a deployment)."""
        data = self._request(app_id, "DELETE", force=force)
        return data if isinstance(data, dict) else {}

# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE)
"""Minimal JSON-over-HTTP client for the Flink REST API and the Mesos master API, plus pure result parsers.

Standard library only (urllib), so that the same code runs inside modules on the target, in unit tests
against a local http.server, and in tools/bench_appmaster.py without Ansible. Redirects are followed, which is
how a non-leading Mesos master sends us to the leader (307 with a protocol-relative Location).
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple


class HttpError(Exception):
    """The endpoint did not answer with usable JSON; the text says which URL and why.

    ``status``/``body`` are set when a server did answer (e.g. Flink's 503 during leader election): that an
    HTTP server answered at all is itself evidence the JVM got that far.
    """

    def __init__(self, message: str, status: Optional[int] = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def request_json(url: str, method: str = "GET", timeout: float = 5.0) -> Tuple[int, Any, str]:
    """Send one request; return (status, parsed JSON or None, final URL after redirects).

    Errors in the transport become HttpError so that callers decide whether "not answering" is a failure
    (info modules) or just "not yet" (readiness polling).
    """
    req = urllib.request.Request(url, method=method, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (URLs come from the playbook)
            body = resp.read()
            status = resp.status
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        try:
            body_text = exc.read().decode("utf-8", errors="replace")[:300]
        except OSError:
            body_text = ""
        raise HttpError(f"{method} {url}: HTTP {exc.code} {exc.reason}", exc.code, body_text) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HttpError(f"{method} {url}: {reason}") from exc
    if not body.strip():
        return status, None, final
    try:
        return status, json.loads(body.decode("utf-8")), final
    except ValueError as exc:
        raise HttpError(f"{method} {url}: the answer is not JSON ({body[:80]!r})") from exc


def get_json(url: str, timeout: float = 5.0) -> Any:
    """GET and parse; see request_json."""
    return request_json(url, timeout=timeout)[1]


def base_url(endpoint: str, default_port: int) -> str:
    """Turn 'host', 'host:port' or 'http(s)://host:port/' into a base URL without trailing slash."""
    endpoint = endpoint.strip().rstrip("/")
    if re.match(r"^https?://", endpoint):
        return endpoint
    if re.match(r"^(\[[^\]]+\]|[^:]+)$", endpoint):
        endpoint = f"{endpoint}:{default_port}"
    return f"http://{endpoint}"


def mesos_api_from_master(master: str) -> Optional[str]:
    """The HTTP base URL of a Mesos master given as Flink's mesos.master, when it names one directly.

    zk:// and file:// values do not (the leader is found through ZooKeeper), so None: callers then need an
    explicit API URL; any master will do since non-leaders redirect to the leader.
    """
    if master.startswith(("zk://", "file://")) or not master:
        return None
    return base_url(master, 5050)


def is_flink_overview(data: Any) -> bool:
    """A Flink /overview answer has at least flink-version and the slot counters."""
    return isinstance(data, dict) and "flink-version" in data and "slots-total" in data


def flink_overview(base: str, timeout: float,
                   on_error: Optional[Callable[[HttpError], None]] = None) -> Optional[Dict[str, Any]]:
    """Readiness probe: the cluster's /overview, or None while REST does not answer with one.

    Flink's REST accepts connections during leader election without answering usefully, so callers keep the
    timeout short. on_error sees each failed request (the module records the first HTTP answer it got).
    """
    try:
        data = get_json(f"{base}/overview", timeout=timeout)
    except HttpError as exc:
        if on_error is not None:
            on_error(exc)
        return None
    return data if is_flink_overview(data) else None


def active_framework(mesos_api: str, name: str, hostname: Optional[str],
                     timeout: float) -> Optional[Dict[str, Any]]:
    """Readiness probe: the active framework of this name registered from this host, or None."""
    try:
        found = find_frameworks(get_json(f"{mesos_api}/master/frameworks", timeout=timeout), name, hostname)
    except HttpError:
        return None
    return found[0] if found else None


def find_frameworks(state: Any, name: str, hostname: Optional[str] = None, active_only: bool = True) -> List[Dict]:
    """Frameworks in a Mesos /master/state (or /master/frameworks) answer matching a name and hostname.

    Flink registers with FrameworkInfo.hostname = jobmanager.rpc.address, so the hostname tells our appmaster
    from another Flink with the same framework name.
    """
    if not isinstance(state, dict):
        return []
    found = []
    for fw in state.get("frameworks") or []:
        if fw.get("name") != name:
            continue
        if hostname and fw.get("hostname") != hostname:
            continue
        if active_only and not fw.get("active", False):
            continue
        found.append(fw)
    return found


def summarize_mesos_state(state: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of /master/state an operator asks about: leader, agents, frameworks."""
    slaves = state.get("slaves") or []
    frameworks = state.get("frameworks") or []
    return {
        "version": state.get("version"),
        "leader": state.get("leader"),
        "cluster": state.get("cluster"),
        "activated_agents": state.get("activated_slaves", len([s for s in slaves if s.get("active")])),
        "agents": [
            {
                "id": s.get("id"),
                "hostname": s.get("hostname"),
                "active": s.get("active"),
                "resources": s.get("resources"),
                "attributes": s.get("attributes"),
            }
            for s in slaves
        ],
        "frameworks": [
            {
                "id": f.get("id"),
                "name": f.get("name"),
                "hostname": f.get("hostname"),
                "active": f.get("active"),
                "connected": f.get("connected"),
                "user": f.get("user"),
                "role": f.get("role"),
                "webui_url": f.get("webui_url"),
                "tasks": len(f.get("tasks") or []),
            }
            for f in frameworks
        ],
    }

# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""JSON-over-HTTP client for the Flink REST API and the Mesos master API, plus pure result parsers.

Requests go through Ansible's own ``open_url`` so that TLS verification, client certificates, proxies and basic
auth behave as in every other Ansible module, and the options that control them (HTTP_ARGUMENT_SPEC, documented
once in the ``streamops.flink_mesos.http_client`` doc fragment) mean the same in each module of this collection.
Their defaults keep plain http to Mesos and Flink working as before. Redirects are followed the way urllib does,
which is how a non-leading Mesos master sends us to the leader (307 with a protocol-relative Location).
"""
from __future__ import annotations

import json
import re
import ssl
import urllib.error
from dataclasses import dataclass, fields
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlencode

from ansible.module_utils.urls import open_url

# The standard HTTP client options, in one place: every module that talks HTTP merges this into its argument_spec
# and extends the streamops.flink_mesos.http_client doc fragment, which documents exactly these keys.
HTTP_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = dict(
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    url_username=dict(type="str"),
    url_password=dict(type="str", no_log=True),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    use_proxy=dict(type="bool", default=True),
    force_basic_auth=dict(type="bool", default=False),
)


def with_http_options(argument_spec: Dict[str, Any]) -> Dict[str, Any]:
    """A module's own options plus the HTTP client options (a new dict; module options may not redefine them)."""
    clash = sorted(set(argument_spec) & set(HTTP_ARGUMENT_SPEC))
    if clash:
        raise ValueError(f"options {clash} are HTTP client options; define them only in HTTP_ARGUMENT_SPEC")
    merged = {k: dict(v) for k, v in HTTP_ARGUMENT_SPEC.items()}
    merged.update(argument_spec)
    return merged


@dataclass(frozen=True)
class HttpOptions:
    """How to connect: the values of the HTTP_ARGUMENT_SPEC options, passed on to open_url unchanged."""

    validate_certs: bool = True
    ca_path: Optional[str] = None
    url_username: Optional[str] = None
    url_password: Optional[str] = None
    client_cert: Optional[str] = None
    client_key: Optional[str] = None
    use_proxy: bool = True
    force_basic_auth: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "HttpOptions":
        """The options from a module's params (absent keys keep the defaults, as for callers outside Ansible)."""
        values = {f.name: params[f.name] for f in fields(cls) if params.get(f.name) is not None}
        return cls(**values)

    def open_url_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for open_url; netrc stays unread so credentials come only from the options."""
        kwargs: Dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        kwargs["use_netrc"] = False
        return kwargs


DEFAULT_HTTP = HttpOptions()


class HttpError(Exception):
    """The endpoint did not answer with usable JSON; the text says which URL and why.

    ``status``/``body`` are set when a server did answer (e.g. Flink's 503 during leader election): that an
    HTTP server answered at all is itself evidence the JVM got that far.
    """

    def __init__(self, message: str, status: Optional[int] = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def is_tls_error(exc: BaseException) -> bool:
    """Whether a transport error comes from TLS (certificate verification, handshake, client key)."""
    reason = getattr(exc, "reason", None)
    return isinstance(exc, ssl.SSLError) or isinstance(reason, ssl.SSLError)


def transport_error_message(method: str, url: str, exc: BaseException) -> str:
    """What went wrong before any HTTP answer, in words that name the option to change for TLS failures."""
    reason = getattr(exc, "reason", None) or exc
    if is_tls_error(exc):
        return (f"{method} {url}: TLS failed ({reason}). If the server's certificate is signed by a private CA, "
                "set ca_path to that CA's bundle; set validate_certs: false only to skip verification on a "
                "trusted network; check client_cert/client_key when the server asks for a client certificate.")
    return f"{method} {url}: {reason}"


# How much of an error answer HttpError keeps by default (enough for a one-line reason in a message). Marathon's
# 409/422 JSON (deployment IDs, every invalid field) is longer: the Marathon client asks for more.
ERROR_BODY_LIMIT = 300


def request_json(url: str, method: str = "GET", timeout: float = 5.0,
                 http: HttpOptions = DEFAULT_HTTP, data: Any = None,
                 error_body_limit: int = ERROR_BODY_LIMIT,
                 form: Optional[Mapping[str, str]] = None) -> Tuple[int, Any, str]:
    """Send one request; return (status, parsed JSON or None, final URL after redirects).

    ``data``, when not None, is sent as the JSON body (Content-Type application/json), as Marathon's PUT wants;
    ``form`` as a form-encoded body, as the Mesos master's operator endpoints (/master/teardown) want.
    An error answer's body is kept in HttpError.body up to ``error_body_limit`` characters, so that a caller
    that parses it (Marathon's JSON errors) can ask for all of it.
    Errors in the transport become HttpError so that callers decide whether "not answering" is a failure
    (info modules) or just "not yet" (readiness polling).
    """
    headers = {"Accept": "application/json"}
    payload = None
    if data is not None:
        payload = json.dumps(data).encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif form is not None:
        payload = urlencode(form).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        resp = open_url(url, data=payload, method=method, headers=headers, timeout=timeout,
                        follow_redirects="urllib2", **http.open_url_kwargs())
        with resp:
            body = resp.read()
            status = resp.status
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        try:
            body_text = exc.read().decode("utf-8", errors="replace")[:error_body_limit]
        except (OSError, AttributeError):
            body_text = ""
        raise HttpError(f"{method} {url}: HTTP {exc.code} {exc.reason}", exc.code, body_text) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HttpError(transport_error_message(method, url, exc)) from exc
    if not body.strip():
        return status, None, final
    try:
        return status, json.loads(body.decode("utf-8")), final
    except ValueError as exc:
        raise HttpError(f"{method} {url}: the answer is not JSON ({body[:80]!r})") from exc


def get_json(url: str, timeout: float = 5.0, http: HttpOptions = DEFAULT_HTTP) -> Any:
    """GET and parse; see request_json."""
    return request_json(url, timeout=timeout, http=http)[1]


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


def flink_overview(base: str, timeout: float, on_error: Optional[Callable[[HttpError], None]] = None,
                   http: HttpOptions = DEFAULT_HTTP) -> Optional[Dict[str, Any]]:
    """Readiness probe: the cluster's /overview, or None while REST does not answer with one.

    Flink's REST accepts connections during leader election without answering usefully, so callers keep the
    timeout short. on_error sees each failed request (the module records the first HTTP answer it got).
    """
    try:
        data = get_json(f"{base}/overview", timeout=timeout, http=http)
    except HttpError as exc:
        if on_error is not None:
            on_error(exc)
        return None
    return data if is_flink_overview(data) else None


def active_framework(mesos_api: str, name: str, hostname: Optional[str], timeout: float,
                     http: HttpOptions = DEFAULT_HTTP) -> Optional[Dict[str, Any]]:
    """Readiness probe: the active framework of this name registered from this host, or None."""
    try:
        found = find_frameworks(get_json(f"{mesos_api}/master/frameworks", timeout=timeout, http=http), name,
                                hostname)
    except HttpError:
        return None
    return found[0] if found else None


def teardown_framework(mesos_api: str, framework_id: str, timeout: float, http: HttpOptions = DEFAULT_HTTP) -> None:
    """Ask the Mesos master to remove a framework (``POST /master/teardown``, form field ``frameworkId``).

    Mesos kills the framework's tasks and refuses the ID from then on. Used when the appmaster was ended by a signal
    (a supervisor's kill), on which Flink 1.13 leaves its framework registered until mesos.failover-timeout.
    """
    request_json(f"{mesos_api}/master/teardown", method="POST", timeout=timeout, http=http,
                 form={"frameworkId": framework_id})


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

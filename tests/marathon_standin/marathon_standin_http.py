"""TEST-ONLY STAND-IN, NOT MARATHON: the REST API of the Marathon 1.11 imitation (a subset of /v2, with
Marathon's own field names and answers; docs/docs/rest-api/public/api/v2/*.raml).

Served: GET /ping, GET /v2/info, GET|POST /v2/apps, GET|PUT|DELETE /v2/apps/{id},
POST /v2/apps/{id}/restart, GET /v2/apps/{id}/tasks, GET /v2/deployments. Everything else answers 404
`{"message": "HTTP 404 Not Found"}` (or 405 for a known path with another method).

Every answer carries `Server: marathon-standin/1.11.0-standin (TEST-ONLY STAND-IN, NOT MARATHON)`.
With `--http_credentials user:password` every /v2 path needs HTTP basic auth: without it or with wrong
credentials 401 and `WWW-Authenticate: Basic realm="<--http_realm>"` (Marathon's default realm `Mesosphere`).
"""
from __future__ import annotations

import base64
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import marathon_standin_apps as apps
from marathon_standin_core import Conflict, Locked, Marathon, NotFound
from marathon_standin_mesos import log

STANDIN_VERSION = "1.11.0-standin"
STANDIN_NAME = "marathon-standin (TEST-ONLY STAND-IN, NOT MARATHON)"
SERVER_HEADER = f"marathon-standin/{STANDIN_VERSION} (TEST-ONLY STAND-IN, NOT MARATHON)"

Answer = tuple[int, dict[str, str], Any]


def _flag_true(params: dict[str, list[str]], name: str, default: bool = False) -> bool:
    values = params.get(name)
    if not values:
        return default
    return values[-1].lower() in ("true", "1", "")


def _embed(params: dict[str, list[str]], prefix: str) -> set[str] | None:
    """`embed=apps.tasks&embed=apps.counts` -> {"tasks", "counts"}; `apps.failures` = lastTaskFailure + tasks."""
    values = [v for item in params.get("embed", []) for v in item.split(",") if v]
    if not values:
        return None
    result: set[str] = set()
    for value in values:
        name = value[len(prefix) + 1:] if value.startswith(prefix + ".") else value
        if name == "failures":
            result.update({"lastTaskFailure", "tasks"})
        else:
            result.add(name)
    return result


class Api:
    """Routing, authentication and the answers; the state lives in marathon_standin_core.Marathon."""

    def __init__(self, marathon: Marathon | None, credentials: str | None, realm: str, info: dict[str, Any]) -> None:
        self.marathon = marathon
        self.credentials = credentials
        self.realm = realm
        self.info = info

    def authorized(self, header: str | None) -> bool:
        if not self.credentials:
            return True
        if not header or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given.encode(), self.credentials.encode())

    def handle(self, method: str, target: str, body: bytes, auth: str | None) -> Answer:
        split = urllib.parse.urlsplit(target)
        path = split.path
        params = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        if path in ("/ping", "/ping/"):
            if method != "GET":
                return 405, {"Allow": "GET"}, {"message": "HTTP 405 Method Not Allowed"}
            return 200, {"Content-Type": "text/plain"}, b"pong"
        if not path.startswith("/v2/"):
            return 404, {}, {"message": "HTTP 404 Not Found"}
        if self.marathon is None:
            return 503, {}, {"message": "starting"}
        if not self.authorized(auth):
            return 401, {"WWW-Authenticate": f'Basic realm="{self.realm}"'}, {"message": "Unauthorized"}
        try:
            return self._v2(method, path.rstrip("/"), params, body)
        except apps.Invalid as err:
            return 422, {}, err.body()
        except NotFound as err:
            return 404, {}, {"message": str(err)}
        except Locked as err:
            return 409, {}, {"message": str(err), "deployments": [{"id": i} for i in err.deployment_ids]}
        except Conflict as err:
            return 409, {}, {"message": str(err)}

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body or b"{}")
        except ValueError as err:
            raise apps.Invalid("Invalid JSON", [{"path": "/", "errors": [f"error.invalid.json: {err}"]}]) from err

    def _v2(self, method: str, path: str, params: dict[str, list[str]], body: bytes) -> Answer:
        marathon = self.marathon
        assert marathon is not None
        force = _flag_true(params, "force")
        if path == "/v2/info":
            return (200, {}, self._info()) if method == "GET" else (405, {"Allow": "GET"}, None)
        if path == "/v2/deployments":
            return (200, {}, marathon.deployments_json()) if method == "GET" else (405, {"Allow": "GET"}, None)
        if path == "/v2/apps":
            if method == "GET":
                return 200, {}, marathon.apps_json(_embed(params, "apps"))
            if method == "POST":
                status, app = marathon.post_app(self._json(body))
                return status, {"Location": f"/v2/apps{app['id']}"}, app
            return 405, {"Allow": "GET, POST"}, None
        if not path.startswith("/v2/apps/"):
            return 404, {}, {"message": "HTTP 404 Not Found"}
        rest = path[len("/v2/apps"):]
        segments = apps.path_segments(rest)
        if segments and segments[-1] == "restart" and len(segments) > 1:
            if method != "POST":
                return 405, {"Allow": "POST"}, None
            return 200, {}, marathon.restart_app(apps.canonical_id("/".join(segments[:-1])), force)
        if segments and segments[-1] == "tasks" and len(segments) > 1:
            if method != "GET":
                return 405, {"Allow": "GET"}, None
            return 200, {}, marathon.app_tasks_json(apps.canonical_id("/".join(segments[:-1])))
        app_id = apps.canonical_id(rest)
        if method == "GET":
            return 200, {}, marathon.app_json(app_id, _embed(params, "app"))
        if method == "PUT":
            status, result = marathon.put_app(app_id, self._json(body), force,
                                              _flag_true(params, "partialUpdate", default=True))
            return status, {}, result
        if method == "DELETE":
            return 200, {}, marathon.delete_app(app_id, force)
        return 405, {"Allow": "GET, PUT, DELETE"}, None

    def _info(self) -> dict[str, Any]:
        info = dict(self.info)
        info["frameworkId"] = self.marathon.framework_id if self.marathon else None
        return info


def serve(api: Api, address: str, port: int) -> ThreadingHTTPServer:
    """Start the threaded HTTP/1.1 server on its own thread; answers JSON unless a route says otherwise."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = SERVER_HEADER
        sys_version = ""

        def version_string(self) -> str:
            return SERVER_HEADER

        def _dispatch(self, method: str, head: bool = False) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, headers, payload = api.handle(method, self.path, body, self.headers.get("Authorization"))
            except Exception as err:  # noqa: BLE001 - a stand-in answers, it does not die
                log(f"{method} {self.path} failed: {err!r}")
                status, headers, payload = 500, {}, {"message": f"{type(err).__name__}: {err}"}
            if payload is None and status == 405:
                payload = {"message": "HTTP 405 Method Not Allowed"}
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            headers = dict(headers)
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("GET")

        def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("GET", head=True)

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("POST")

        def do_PUT(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("PUT")

        def do_DELETE(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("DELETE")

        def do_PATCH(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("PATCH")

        def log_message(self, fmt: str, *args: Any) -> None:
            """No access log: health checks and polling would flood the journal."""

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"http-{port}", daemon=True).start()
    return server

"""The HTTP client options: defined once, documented once, passed to open_url, and TLS failures explained.

Why: the modules talk to Flink and Mesos through Ansible's open_url so that TLS, client certificates, proxies and
basic auth work as in every Ansible module. These tests pin that each option reaches open_url unchanged, that
the defaults keep plain http working, that every HTTP module offers exactly the same options as the doc
fragment documents, and that a TLS failure says which option to change. The TLS tests use a real HTTPS server
on 127.0.0.1 with a self-signed certificate made by openssl for the test.
"""
from __future__ import annotations

import json
import ssl
import subprocess
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import yaml

from ansible_collections.streamops.flink_mesos.plugins.doc_fragments.http_client import ModuleDocFragment
from ansible_collections.streamops.flink_mesos.plugins.module_utils import rest
from ansible_collections.streamops.flink_mesos.plugins.modules import appmaster, flink_info, mesos_info

ALL_SET = dict(validate_certs=False, ca_path="/etc/ca.pem", url_username="ops", url_password="s3cret",
               client_cert="/etc/client.pem", client_key="/etc/client.key", use_proxy=False, force_basic_auth=True)


class FakeResponse:
    """What open_url returns, as far as request_json uses it."""

    status = 200

    def __init__(self, body: bytes, url: str) -> None:
        self.body = body
        self.url = url

    def read(self) -> bytes:
        return self.body

    def geturl(self) -> str:
        return self.url

    def __enter__(self) -> "FakeResponse":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Records every open_url call and answers {"ok": true}."""
    seen: List[Dict[str, Any]] = []

    def fake_open_url(url: str, **kwargs: Any) -> FakeResponse:
        seen.append(dict(kwargs, url=url))
        return FakeResponse(b'{"ok": true}', url)

    monkeypatch.setattr(rest, "open_url", fake_open_url)
    return seen


def test_every_option_reaches_open_url(calls: List[Dict[str, Any]]) -> None:
    http = rest.HttpOptions.from_params(dict(ALL_SET, url="ignored", timeout=3))
    status, data, final = rest.request_json("https://am1:8081/overview", method="DELETE", timeout=3, http=http)
    assert (status, data, final) == (200, {"ok": True}, "https://am1:8081/overview")
    call = calls[0]
    for key, value in ALL_SET.items():
        assert call[key] == value, key
    assert call["method"] == "DELETE"
    assert call["timeout"] == 3
    assert call["follow_redirects"] == "urllib2"  # a non-leading Mesos master redirects to the leader
    assert call["use_netrc"] is False  # credentials come from the options only


def test_defaults_are_plain_http_as_before(calls: List[Dict[str, Any]]) -> None:
    rest.get_json("http://master1:5050/master/state")
    call = calls[0]
    assert call["validate_certs"] is True and call["use_proxy"] is True and call["force_basic_auth"] is False
    assert all(call[k] is None for k in ("ca_path", "url_username", "url_password", "client_cert", "client_key"))


def test_options_from_params_ignore_unset_values() -> None:
    params = {k: None for k in rest.HTTP_ARGUMENT_SPEC}
    assert rest.HttpOptions.from_params(params) == rest.DEFAULT_HTTP
    assert rest.HttpOptions.from_params({"validate_certs": False}).validate_certs is False


def test_probes_pass_the_options_on(calls: List[Dict[str, Any]]) -> None:
    http = rest.HttpOptions(ca_path="/etc/ca.pem")
    rest.flink_overview("https://am1:8081", timeout=1, http=http)
    rest.active_framework("https://master1:5050", "Flink", None, timeout=1, http=http)
    assert [c["url"] for c in calls] == ["https://am1:8081/overview", "https://master1:5050/master/frameworks"]
    assert all(c["ca_path"] == "/etc/ca.pem" for c in calls)


@pytest.mark.parametrize("module", [appmaster, flink_info, mesos_info], ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_http_modules_merge_the_one_spec(module: Any) -> None:
    spec = module.argument_spec()
    for key, definition in rest.HTTP_ARGUMENT_SPEC.items():
        assert spec[key] == definition, key
    assert spec["url_password"]["no_log"] is True


def test_a_module_option_may_not_redefine_an_http_option() -> None:
    with pytest.raises(ValueError, match="validate_certs"):
        rest.with_http_options({"validate_certs": {"type": "str"}})


def test_doc_fragment_documents_exactly_the_spec() -> None:
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(rest.HTTP_ARGUMENT_SPEC)
    for key, definition in rest.HTTP_ARGUMENT_SPEC.items():
        assert documented[key]["type"] == definition["type"], key
        assert documented[key].get("default") == definition.get("default"), key


@pytest.mark.parametrize("role", ["flink_session", "flink_job"])
def test_role_http_options_are_the_one_spec(role: str) -> None:
    """Role argument_specs have no doc fragments, so the roles' `<role>_http` sub-options are a written copy of
    HTTP_ARGUMENT_SPEC; this keeps the copy equal (names, types, no_log) to the one spec the modules merge."""
    roles = Path(__file__).resolve().parents[4] / "roles"
    spec = yaml.safe_load((roles / role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"][f"{role}_http"]["options"]
    assert set(options) == set(rest.HTTP_ARGUMENT_SPEC)
    for key, definition in rest.HTTP_ARGUMENT_SPEC.items():
        assert options[key]["type"] == definition["type"], (role, key)
        assert bool(options[key].get("no_log")) == bool(definition.get("no_log")), (role, key)


# ---- real TLS ----

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    """An HTTPS server on 127.0.0.1 answering Flink's /overview, with a self-signed certificate for 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.dumps({"flink-version": "1.13.6", "slots-total": 0}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"https://127.0.0.1:{server.server_address[1]}", "cert": cert}
    server.shutdown()
    server.server_close()


def test_untrusted_certificate_names_the_options_to_change(tls_server: Dict[str, Any]) -> None:
    with pytest.raises(rest.HttpError) as err:
        rest.get_json(f"{tls_server['url']}/overview", timeout=5)
    message = str(err.value)
    assert message.startswith(f"GET {tls_server['url']}/overview: TLS failed")
    assert "ca_path" in message and "validate_certs" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify failed" in message


def test_ca_path_makes_the_certificate_trusted(tls_server: Dict[str, Any]) -> None:
    http = rest.HttpOptions(ca_path=str(tls_server["cert"]))
    assert rest.flink_overview(tls_server["url"], timeout=5, http=http) == {"flink-version": "1.13.6", "slots-total": 0}


def test_validate_certs_false_skips_verification(tls_server: Dict[str, Any]) -> None:
    http = rest.HttpOptions(validate_certs=False)
    assert rest.get_json(f"{tls_server['url']}/overview", timeout=5, http=http)["flink-version"] == "1.13.6"


def test_plain_http_to_a_tls_port_is_not_called_a_tls_problem(tls_server: Dict[str, Any]) -> None:
    plain = tls_server["url"].replace("https://", "http://")
    with pytest.raises(rest.HttpError) as err:
        rest.get_json(f"{plain}/overview", timeout=5)
    assert "ca_path" not in str(err.value)


def test_transport_error_message_for_non_tls_errors() -> None:
    message = rest.transport_error_message("GET", "http://x:1/overview", ConnectionRefusedError(111, "refused"))
    assert message.startswith("GET http://x:1/overview: ")
    assert "validate_certs" not in message


def test_tls_error_is_recognised_inside_urlerror() -> None:
    wrapped = urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    assert rest.is_tls_error(wrapped)
    assert not rest.is_tls_error(urllib.error.URLError(ConnectionRefusedError(111, "refused")))

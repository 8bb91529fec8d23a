#!/usr/bin/env python3
"""TEST-ONLY STAND-IN, NOT MESOS: a tiny imitation of the Mesos 1.11 master and agent daemons.

Why it exists: no Mesos 1.11 binaries can be installed on the machines this collection is tested on, yet the
`mesos` role must be exercised end to end (package install, units, `MESOS_*` environment files, ZooKeeper
URLs, quorum, agent registration, agent-info changes). This program reproduces exactly the observable
surface the role and its tests touch, and nothing more:

* flag loading with stout's rules (command line wins over `MESOS_*` environment, unknown and missing
  required flags are errors worded like Mesos 1.11, exit status 1);
* a master that publishes itself in ZooKeeper the way Mesos does (ephemeral sequential `json.info_` znodes
  under the `zk://` path, the lowest is the leader) and serves `/master/health`, `/master/state`,
  `/master/slaves`, `/master/frameworks`, `/master/flags` and `/version` with Mesos 1.11 field names;
  non-leading masters answer 307 to the leader;
* an agent that checks its recorded agent info like Mesos (`<work_dir>/meta/slaves/latest`), registers with
  its master over a PRIVATE stand-in endpoint (`POST /master/standin/register`, then heartbeats) and
  re-registers when the master restarts.

It runs no tasks, offers no resources to frameworks, has no replicated log and ships no libmesos.so:
a passing test against it says nothing about Mesos itself. See docs/mesos.md.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

STANDIN_VERSION = "1.11.0-standin"
BANNER = "mesos-standin: TEST-ONLY STAND-IN, NOT MESOS"

# ---------------------------------------------------------------------------------------------------------
# Flag tables. Names come from apache/mesos 1.11.0 src/master/flags.cpp, src/slave/flags.cpp,
# src/logging/flags.cpp and the flags each main.cpp adds; every name is accepted so that a role written
# against real Mesos is never rejected by the stand-in for a flag Mesos knows. Types matter only for the
# flags whose values the stand-in parses (bool/int); everything else is kept as a string.
# ---------------------------------------------------------------------------------------------------------

LOGGING_FLAGS = "quiet logging_level log_dir logbufsecs initialize_driver_logging external_log_file"

MASTER_FLAGS = (
    "version hostname hostname_lookup root_submissions work_dir registry quorum zk_session_timeout "
    "registry_strict registry_fetch_timeout registry_store_timeout log_auto_initialize agent_reregister_timeout "
    "recovery_agent_removal_limit agent_removal_rate_limit webui_dir whitelist role_sorter framework_sorter "
    "allocation_interval cluster roles weights authenticate_frameworks authenticate_agents "
    "authenticate_http_readwrite authenticate_http_readonly authenticate_http_frameworks credentials acls "
    "firewall_rules rate_limits max_executors_per_agent offer_timeout modules modules_dir authenticators allocator "
    "allocator_agent_recovery_factor allocator_recovery_timeout fair_sharing_excluded_resource_names "
    "filter_gpu_resources min_allocatable_resources hooks agent_ping_timeout max_agent_ping_timeouts authorizers "
    "http_authenticators http_framework_authenticators max_operator_event_stream_subscribers "
    "max_completed_frameworks max_completed_tasks_per_framework max_unreachable_tasks_per_framework "
    "master_contender master_detector registry_gc_interval registry_max_agent_age registry_max_agent_count ip "
    "port advertise_ip advertise_port memory_profiling zk ip_discovery_command require_agent_domain "
    "publish_per_framework_metrics domain"
)
MASTER_ALIASES = {
    "slave_reregister_timeout": "agent_reregister_timeout",
    "recovery_slave_removal_limit": "recovery_agent_removal_limit",
    "slave_removal_rate_limit": "agent_removal_rate_limit",
    "user_sorter": "role_sorter",
    "authenticate": "authenticate_frameworks",
    "authenticate_slaves": "authenticate_agents",
    "authenticate_http": "authenticate_http_readwrite",
    "max_executors_per_slave": "max_executors_per_agent",
    "slave_ping_timeout": "agent_ping_timeout",
    "max_slave_ping_timeouts": "max_agent_ping_timeouts",
}

AGENT_FLAGS = (
    "hostname hostname_lookup version resources resource_provider_config_dir csi_plugin_config_dir "
    "disk_profile_adaptor isolation launcher image_providers image_provisioner_backend image_gc_config "
    "appc_simple_discovery_uri_prefix appc_store_dir docker_registry docker_store_dir docker_volume_checkpoint_dir "
    "docker_volume_chown docker_ignore_runtime default_role attributes fetcher_cache_size fetcher_cache_dir "
    "fetcher_stall_timeout work_dir runtime_dir hadoop_home switch_user volume_gid_range http_heartbeat_interval "
    "frameworks_home registration_backoff_factor authentication_backoff_factor authentication_timeout_min "
    "authentication_timeout_max executor_environment_variables executor_registration_timeout "
    "executor_reregistration_timeout executor_reregistration_retry_interval executor_shutdown_grace_period "
    "jwt_secret_key gc_delay gc_disk_headroom gc_non_executor_container_sandboxes disk_watch_interval "
    "container_logger recover recovery_timeout reconfiguration_policy strict max_completed_executors_per_framework "
    "cgroups_destroy_timeout cgroups_hierarchy cgroups_root cgroups_enable_cfs cgroups_limit_swap "
    "cgroups_cpu_enable_pids_and_tids_count cgroups_net_cls_primary_handle cgroups_net_cls_secondary_handles "
    "allowed_devices agent_subsystems host_path_volume_force_creation nvidia_gpu_devices perf_events perf_interval "
    "perf_duration revocable_cpu_low_priority systemd_enable_support systemd_runtime_directory "
    "effective_capabilities bounding_capabilities default_container_shm_size disallow_sharing_agent_ipc_namespace "
    "disallow_sharing_agent_pid_namespace agent_features firewall_rules credential acls containerizers docker "
    "docker_remove_delay docker_kill_orphans docker_mesos_image docker_socket docker_config sandbox_directory "
    "domain_socket_location default_container_dns default_container_info docker_stop_timeout "
    "ephemeral_ports_per_container eth0_name lo_name egress_rate_limit_per_container "
    "egress_unique_flow_per_container egress_flow_classifier_parent network_enable_socket_statistics_summary "
    "network_enable_socket_statistics_details network_enable_snmp_statistics container_ports_watch_interval "
    "check_agent_port_range_only enforce_container_ports container_ports_isolated_range network_cni_plugins_dir "
    "network_cni_config_dir network_cni_root_dir_persist network_cni_metrics container_disk_watch_interval "
    "enforce_container_disk_quota modules modules_dir authenticatee authorizer http_authenticators "
    "authenticate_http_readwrite authenticate_http_readonly authenticate_http_executors "
    "http_executor_domain_sockets http_credentials hooks secret_resolver resource_estimator qos_controller "
    "qos_correction_interval_min oversubscribed_resources_interval master_detector xfs_project_range "
    "xfs_kill_containers seccomp_config_dir seccomp_profile_name http_command_executor ip ip6 port advertise_ip "
    "advertise_port master zk_session_timeout ip_discovery_command ip6_discovery_command memory_profiling domain"
)
AGENT_ALIASES = {
    "executor_secret_key": "jwt_secret_key",
    "slave_subsystems": "agent_subsystems",
    "allowed_capabilities": "effective_capabilities",
}

BOOL_FLAGS = {
    "help", "version", "quiet", "initialize_driver_logging", "hostname_lookup", "root_submissions",
    "registry_strict", "log_auto_initialize", "authenticate_frameworks", "authenticate_agents",
    "authenticate_http_readwrite", "authenticate_http_readonly", "authenticate_http_frameworks",
    "filter_gpu_resources", "require_agent_domain", "publish_per_framework_metrics", "switch_user",
    "systemd_enable_support", "strict", "cgroups_enable_cfs", "cgroups_limit_swap", "docker_kill_orphans",
    "docker_volume_chown", "docker_ignore_runtime", "gc_non_executor_container_sandboxes",
    "host_path_volume_force_creation", "revocable_cpu_low_priority", "check_agent_port_range_only",
    "enforce_container_ports", "enforce_container_disk_quota", "network_cni_root_dir_persist",
    "network_cni_metrics", "network_enable_socket_statistics_summary", "network_enable_socket_statistics_details",
    "network_enable_snmp_statistics", "egress_unique_flow_per_container", "authenticate_http_executors",
    "http_executor_domain_sockets", "xfs_kill_containers", "disallow_sharing_agent_ipc_namespace",
    "disallow_sharing_agent_pid_namespace", "cgroups_cpu_enable_pids_and_tids_count", "memory_profiling",
}
INT_FLAGS = {"port", "quorum", "max_completed_frameworks", "max_completed_tasks_per_framework",
             "max_agent_ping_timeouts", "ephemeral_ports_per_container", "max_completed_executors_per_framework",
             "logbufsecs"}

# Defaults the stand-in reports (and uses), the same values Mesos 1.11 has for these flags.
MASTER_DEFAULTS = {"port": "5050", "registry": "replicated_log", "hostname_lookup": "true",
                   "authenticate_frameworks": "false", "authenticate_agents": "false", "logging_level": "INFO",
                   "log_auto_initialize": "true", "registry_strict": "false", "zk_session_timeout": "10secs",
                   "allocation_interval": "1secs", "help": "false", "version": "false", "quiet": "false"}
AGENT_DEFAULTS = {"port": "5051", "containerizers": "mesos", "isolation": "posix/cpu,posix/mem",
                  "launcher": "linux", "switch_user": "true", "systemd_enable_support": "true",
                  "hostname_lookup": "true", "reconfiguration_policy": "equal", "strict": "true",
                  "recover": "reconnect", "logging_level": "INFO", "help": "false", "version": "false",
                  "quiet": "false"}


class FlagError(Exception):
    """A flag-loading error; the message is worded as Mesos 1.11 (stout) words it."""


@dataclass(frozen=True)
class FlagSpec:
    """What one daemon accepts: flag names, aliases (deprecated names), required flags, defaults."""

    program: str
    names: frozenset[str]
    aliases: Mapping[str, str]
    required: frozenset[str]
    defaults: Mapping[str, str]


def master_spec() -> FlagSpec:
    """The master's flags (Mesos 1.11: no flag is `required`; work_dir/quorum are checked later)."""
    names = set(MASTER_FLAGS.split()) | set(LOGGING_FLAGS.split()) | {"help"}
    return FlagSpec("mesos-master", frozenset(names), MASTER_ALIASES, frozenset(), MASTER_DEFAULTS)


def agent_spec(program: str = "mesos-agent") -> FlagSpec:
    """The agent's flags (Mesos 1.11: `work_dir` is a required flag)."""
    names = set(AGENT_FLAGS.split()) | set(LOGGING_FLAGS.split()) | {"help"}
    return FlagSpec(program, frozenset(names), AGENT_ALIASES, frozenset({"work_dir"}), AGENT_DEFAULTS)


def parse_command_line(argv: Iterable[str]) -> list[tuple[str, str | None]]:
    """(name, value) pairs from the command line exactly as stout reads them.

    Why a list: stout keeps duplicates (a multimap) so that it can refuse a flag given twice. Arguments that
    do not start with `--` are skipped, `--` ends flag parsing, names are lower-cased.
    """
    pairs: list[tuple[str, str | None]] = []
    for raw in argv:
        arg = raw.strip()
        if arg == "--":
            break
        if not arg.startswith("--"):
            continue
        if "=" in arg:
            name, value = arg[2:].split("=", 1)
            pairs.append((name.lower(), value))
        else:
            pairs.append((arg[2:].lower(), None))
    return pairs


def extract_environment(environ: Mapping[str, str], spec: FlagSpec, prefix: str = "MESOS_") -> dict[str, str]:
    """`MESOS_<FLAG>` variables that name a KNOWN flag (stout ignores unknown ones silently).

    Why this matters to the role: a misspelt `MESOS_*` variable is ignored by Mesos, not rejected, so the role
    must never rely on Mesos to catch its own typos.
    """
    values: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):].lower()
        bare = name[3:] if name.startswith("no-") else name
        if bare in spec.names or bare in spec.aliases:
            values[name] = value
    return values


def _convert(name: str, value: str) -> str:
    """Check a value the way stout's parsers do and return its canonical string form."""
    if name in BOOL_FLAGS:
        if value in ("true", "1"):
            return "true"
        if value in ("false", "0"):
            return "false"
        raise FlagError(f"Failed to load flag '{name}': Failed to load value '{value}': "
                        "Expecting a boolean (e.g., true or false)")
    if name in INT_FLAGS:
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            raise FlagError(f"Failed to load flag '{name}': Failed to load value '{value}': "
                            f"Failed to convert '{value}' to number")
        return str(int(value))
    return value


def load_flags(spec: FlagSpec, argv: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """All flag values of one daemon: defaults, then environment, then command line (command line wins).

    Raises FlagError with stout's wording for unknown flags, flags given twice, bad values and missing
    required flags. Names are visited in sorted order, as stout's std::multimap visits them, so the first
    error reported is the one Mesos would report.
    """
    given = parse_command_line(argv)
    from_cli = {n for n, _ in given}
    for name, value in extract_environment(environ, spec).items():
        if name not in from_cli:
            given.append((name, value))
    loaded: dict[str, str] = {}
    loaded_via: dict[str, str] = {}
    for name, value in sorted(given, key=lambda p: p[0]):
        negated = name.startswith("no-")
        flag = name[3:] if negated else name
        canonical = spec.aliases.get(flag, flag)
        if canonical not in spec.names:
            raise FlagError(f"Failed to load unknown flag '{flag}'" + (f" via '{name}'" if negated else ""))
        if canonical in loaded_via:
            raise FlagError(f"Flag '{flag}' is already loaded via name '{loaded_via[canonical]}'")
        if canonical not in BOOL_FLAGS:
            if negated:
                raise FlagError(f"Failed to load non-boolean flag '{flag}' via '{name}'")
            if value is None:
                raise FlagError(f"Failed to load non-boolean flag '{flag}': Missing value")
            text = value
        elif value is None or value == "":
            text = "false" if negated else "true"
        elif negated:
            raise FlagError(f"Failed to load boolean flag '{flag}' via '{name}' with value '{value}'")
        else:
            text = value
        loaded[canonical] = _convert(canonical, text)
        loaded_via[canonical] = flag
    for name in sorted(spec.required):
        if name not in loaded:
            raise FlagError(f"Flag '{name}' is required, but it was not provided")
    return {**spec.defaults, **loaded}


def master_exit_error(flags: Mapping[str, str]) -> str | None:
    """The checks Mesos 1.11's master main() makes after loading flags (its EXIT messages), or None."""
    if "ip" in flags and "ip_discovery_command" in flags:
        return "Only one of `--ip` or `--ip_discovery_command` should be specified"
    registry = flags.get("registry", "replicated_log")
    if registry == "in_memory":
        if flags.get("registry_strict") == "true":
            return "Cannot use '--registry_strict' when using in-memory storage based registry"
    elif registry == "replicated_log":
        if "work_dir" not in flags:
            return "--work_dir needed for replicated log based registry"
        if "zk" in flags and "quorum" not in flags:
            return "Need to specify --quorum for replicated log based registry when using ZooKeeper"
    else:
        return f"'{registry}' is not a supported option for registry persistence"
    if "zk" in flags:
        try:
            parse_zk_url(read_indirect(flags["zk"]))
        except ValueError as err:
            return f"Error parsing ZooKeeper URL: {err}"
    return None


def agent_exit_error(flags: Mapping[str, str]) -> str | None:
    """The checks Mesos 1.11's agent main() makes after loading flags (its EXIT messages), or None."""
    if "master" not in flags and "master_detector" not in flags:
        return "Missing required option `--master` or `--master_detector`"
    if "master" in flags and "master_detector" in flags:
        return "Only one of `--master` or `--master_detector` should be specified"
    if "ip" in flags and "ip_discovery_command" in flags:
        return "Only one of `--ip` or `--ip_discovery_command` should be specified"
    return None


# ---------------------------------------------------------------------------------------------------------
# Small pure helpers: URLs, attributes, resources.
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZkUrl:
    """A parsed `zk://[user:password@]host:port,.../path`."""

    servers: str
    path: str
    auth: str | None = None


def read_indirect(value: str) -> str:
    """Mesos accepts `file:///path` for --zk/--master: the file holds the real value."""
    if value.startswith("file://"):
        return Path(value[len("file://"):]).read_text().strip()
    return value


def parse_zk_url(url: str) -> ZkUrl:
    """Parse a ZooKeeper URL as Mesos does (the error texts follow zookeeper::URL::parse)."""
    if not url.startswith("zk://"):
        raise ValueError("Expecting 'zk://' at the beginning of the URL")
    rest = url[len("zk://"):]
    auth = None
    if "@" in rest.split("/", 1)[0]:
        auth, rest = rest.split("@", 1)
    if "/" not in rest:
        raise ValueError("Expecting '/' at the end of the server list")
    servers, path = rest.split("/", 1)
    if not servers:
        raise ValueError("Expecting at least one server")
    return ZkUrl(servers, "/" + path.rstrip("/") if path else "/", auth)


def parse_attributes(text: str | None) -> dict[str, Any]:
    """`rack:a;zone:b;level:2` -> {"rack": "a", "zone": "b", "level": 2}, as /master/slaves shows them.

    Mesos shows scalar attributes as numbers and text attributes as strings.
    """
    result: dict[str, Any] = {}
    for item in (text or "").split(";"):
        if not item.strip():
            continue
        key, _, value = item.partition(":")
        value = value.strip()
        if re.fullmatch(r"-?\d+", value):
            result[key.strip()] = int(value)
        elif re.fullmatch(r"-?\d+\.\d+", value):
            result[key.strip()] = float(value)
        else:
            result[key.strip()] = value
    return result


def parse_resources(text: str | None) -> dict[str, Any]:
    """`cpus:2;mem:1024;ports:[31000-32000]` merged over the stand-in's fixed defaults.

    The stand-in does not probe the host (real Mesos does): without --resources an agent offers
    cpus:1, mem:1024, disk:10240, ports:[31000-32000].
    """
    resources: dict[str, Any] = {"cpus": 1.0, "mem": 1024.0, "disk": 10240.0, "gpus": 0.0,
                                 "ports": "[31000-32000]"}
    for item in (text or "").split(";"):
        if not item.strip():
            continue
        key, _, value = item.partition(":")
        key = key.split("(", 1)[0].strip()
        value = value.strip()
        try:
            resources[key] = float(value)
        except ValueError:
            resources[key] = value
    return resources


def agent_info(flags: Mapping[str, str], hostname: str) -> dict[str, Any]:
    """The parts of SlaveInfo that Mesos compares on restart (reconfiguration_policy)."""
    return {"hostname": hostname, "port": int(flags.get("port", "5051")),
            "attributes": parse_attributes(flags.get("attributes")),
            "resources": parse_resources(flags.get("resources"))}


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


def parse_master_address(value: str) -> tuple[str, int]:
    """`host:port` (or `host`, port 5050) -> (host, port)."""
    value = value.strip()
    if value.startswith("master@"):
        value = value[len("master@"):]
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, 5050
    return host, int(port)


def log(msg: str) -> None:
    """One line on stderr, which systemd sends to the journal."""
    print(f"{time.strftime('%H:%M:%S')} mesos-standin[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


def own_address(flags: Mapping[str, str]) -> tuple[str, str]:
    """(hostname, ip) this daemon advertises: --hostname/--advertise_ip/--ip, else the host's name."""
    hostname = flags.get("hostname") or socket.getfqdn()
    ip = flags.get("advertise_ip") or flags.get("ip")
    if not ip or ip == "0.0.0.0":
        try:
            ip = socket.gethostbyname(socket.gethostname())
        except OSError:
            ip = "127.0.0.1"
    return hostname, ip


def ip_to_int(ip: str) -> int:
    """MasterInfo.ip is the IPv4 address as a little-endian integer (network byte order in memory)."""
    parts = [int(p) for p in ip.split(".")]
    return parts[0] | parts[1] << 8 | parts[2] << 16 | parts[3] << 24


# ---------------------------------------------------------------------------------------------------------
# HTTP plumbing.
# ---------------------------------------------------------------------------------------------------------

Route = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, dict[str, str], Any]]


def serve(bind: str, port: int, routes: dict[tuple[str, str], Route]) -> ThreadingHTTPServer:
    """Start a threaded HTTP server for (method, path) routes; answers are JSON unless bytes/None."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self, method: str) -> None:
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            route = routes.get((method, path))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if route is None:
                status, headers, payload = 404, {}, b""
            else:
                try:
                    status, headers, payload = route(self, body)
                except Exception as err:  # noqa: BLE001 - a stand-in must answer, not die
                    status, headers, payload = 500, {}, str(err).encode()
            data = payload if isinstance(payload, bytes) else (b"" if payload is None
                                                               else json.dumps(payload).encode())
            self.send_response(status)
            ctype = "application/json" if not isinstance(payload, bytes) and payload is not None else "text/plain"
            self.send_header("Content-Type", ctype)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("GET")

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch("POST")

        def log_message(self, fmt: str, *args: Any) -> None:
            """Keep the journal quiet: health checks would flood it."""

    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def http_json(method: str, url: str, payload: Any = None, timeout: float = 5.0) -> tuple[int, Any, str]:
    """(status, decoded JSON or None, Location header) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None, ""
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            decoded = json.loads(body) if body else None
        except ValueError:
            decoded = body.decode(errors="replace")
        return err.code, decoded, err.headers.get("Location", "")


# ---------------------------------------------------------------------------------------------------------
# ZooKeeper (python3-kazoo, imported only when a zk:// URL is used).
# ---------------------------------------------------------------------------------------------------------

def zk_client(url: ZkUrl) -> Any:
    """A started kazoo client; retries until ZooKeeper answers (Mesos waits for ZooKeeper too)."""
    from kazoo.client import KazooClient  # pylint: disable=import-outside-toplevel

    auth = [("digest", url.auth)] if url.auth else None
    while True:
        client = KazooClient(hosts=url.servers, timeout=10.0, auth_data=auth)
        try:
            client.start(timeout=15)
            return client
        except Exception as err:  # noqa: BLE001 - keep trying like Mesos does
            log(f"waiting for ZooKeeper {url.servers}: {err}")
            client.close()
            time.sleep(2)


def zk_leader(client: Any, path: str) -> dict[str, Any] | None:
    """MasterInfo of the leading master: the `json.info_` child with the lowest sequence number."""
    try:
        children = [c for c in client.get_children(path) if c.startswith("json.info_")]
    except Exception:  # noqa: BLE001 - no node yet, connection lost: no leader known
        return None
    for child in sorted(children, key=lambda c: c.rsplit("_", 1)[-1]):
        try:
            data, _ = client.get(f"{path}/{child}")
            return {**json.loads(data), "_znode": child}
        except Exception:  # noqa: BLE001 - the node went away between list and read
            continue
    return None


# ---------------------------------------------------------------------------------------------------------
# Master.
# ---------------------------------------------------------------------------------------------------------

@dataclass
class MasterState:
    """In-memory state of a stand-in master (nothing is persisted, like Mesos' in-memory registry)."""

    flags: dict[str, str]
    info: dict[str, Any]
    start_time: float = field(default_factory=time.time)
    elected_time: float | None = None
    leader: dict[str, Any] | None = None
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_agent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def is_leader(self) -> bool:
        """True when the leader known from ZooKeeper (or standalone mode) is this master."""
        return self.leader is not None and self.leader.get("id") == self.info["id"]


def slave_json(agent: dict[str, Any]) -> dict[str, Any]:
    """An agent as Mesos 1.11's /master/slaves and /master/state show it."""
    res = agent["info"]["resources"]
    zero = {"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
    return {
        "id": agent["id"],
        "pid": f"slave(1)@{agent['ip']}:{agent['info']['port']}",
        "hostname": agent["info"]["hostname"],
        "port": agent["info"]["port"],
        "registered_time": agent["registered_time"],
        "reregistered_time": agent.get("reregistered_time", agent["registered_time"]),
        "resources": res,
        "used_resources": zero,
        "offered_resources": zero,
        "reserved_resources": {},
        "unreserved_resources": res,
        "attributes": agent["info"]["attributes"],
        "active": True,
        "deactivated": False,
        "version": agent.get("version", STANDIN_VERSION),
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "RESOURCE_PROVIDER",
                         "RESIZE_VOLUME", "AGENT_OPERATION_FEEDBACK", "AGENT_DRAINING", "TASK_RESOURCE_LIMITS"],
        "reserved_resources_full": {},
        "unreserved_resources_full": [],
        "used_resources_full": [],
        "offered_resources_full": [],
    }


def run_master(flags: dict[str, str]) -> int:
    """Serve the master endpoints and take part in leader election until killed."""
    hostname, ip = own_address(flags)
    port = int(flags["port"])
    master_id = str(uuid.uuid4())
    info = {"id": master_id, "ip": ip_to_int(ip), "port": port, "pid": f"master@{ip}:{port}",
            "hostname": hostname, "version": STANDIN_VERSION,
            "address": {"hostname": hostname, "ip": ip, "port": port}}
    state = MasterState(flags=flags, info=info)
    if "work_dir" in flags:
        Path(flags["work_dir"]).mkdir(parents=True, exist_ok=True)

    def leader_location(path: str) -> tuple[int, dict[str, str], Any] | None:
        if state.is_leader():
            return None
        if state.leader is None:
            return 503, {}, b"No leader elected"
        addr = state.leader["address"]
        return 307, {"Location": f"//{addr['hostname']}:{addr['port']}{path}"}, b""

    def health(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, b""

    def version(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"version": STANDIN_VERSION, "build_date": "stand-in", "build_time": 0,
                         "build_user": "mesos-standin", "git_tag": "standin"}

    def flags_ep(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"flags": dict(sorted(flags.items()))}

    def slaves(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        redirect = leader_location("/master/slaves")
        if redirect:
            return redirect
        with state.lock:
            return 200, {}, {"slaves": [slave_json(a) for a in state.agents.values()], "recovered_slaves": []}

    def frameworks(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        redirect = leader_location("/master/frameworks")
        return redirect or (200, {}, {"frameworks": [], "completed_frameworks": [], "unregistered_frameworks": []})

    def state_ep(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        redirect = leader_location("/master/state")
        if redirect:
            return redirect
        with state.lock:
            agents = [slave_json(a) for a in state.agents.values()]
        body: dict[str, Any] = {
            "version": STANDIN_VERSION, "git_tag": "standin", "build_date": "stand-in", "build_time": 0,
            "build_user": "mesos-standin", "start_time": state.start_time, "elected_time": state.elected_time,
            "id": master_id, "pid": info["pid"], "hostname": hostname,
            "activated_slaves": len(agents), "deactivated_slaves": 0, "unreachable_slaves": 0,
            "leader": state.leader["pid"] if state.leader else None,
            "leader_info": {k: v for k, v in (state.leader or {}).items() if not k.startswith("_")},
            "log_dir": flags.get("log_dir", ""), "flags": dict(sorted(flags.items())),
            "slaves": agents, "frameworks": [], "completed_frameworks": [], "orphan_tasks": [],
            "unregistered_frameworks": [],
        }
        if "cluster" in flags:
            body["cluster"] = flags["cluster"]
        return 200, {}, body

    def register(_h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """PRIVATE stand-in endpoint: an agent (re-)registers; Mesos uses libprocess messages instead."""
        redirect = leader_location("/master/standin/register")
        if redirect:
            return redirect
        req = json.loads(body)
        now = time.time()
        with state.lock:
            agent_id = req.get("id")
            if not agent_id:
                agent_id = f"{master_id}-S{state.next_agent}"
                state.next_agent += 1
            # One agent per host:port, as Mesos removes the old agent when a new ID shows up there.
            for other_id in [k for k, a in state.agents.items()
                             if (a["ip"], a["info"]["port"]) == (req["ip"], req["info"]["port"]) and k != agent_id]:
                del state.agents[other_id]
            known = state.agents.get(agent_id)
            state.agents[agent_id] = {"id": agent_id, "ip": req["ip"], "info": req["info"],
                                      "version": req.get("version", STANDIN_VERSION),
                                      "registered_time": known["registered_time"] if known else now,
                                      "reregistered_time": now, "last_seen": now}
        log(f"agent {agent_id} at {req['info']['hostname']} {'re-registered' if known else 'registered'}")
        return 200, {}, {"slave_id": agent_id, "master_id": master_id}

    def heartbeat(_h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], Any]:
        """PRIVATE stand-in endpoint: 404 tells the agent to register again (e.g. after a master restart)."""
        redirect = leader_location("/master/standin/heartbeat")
        if redirect:
            return redirect
        req = json.loads(body)
        with state.lock:
            agent = state.agents.get(req.get("id", ""))
            if agent is None:
                return 404, {}, {"error": "unknown agent"}
            agent["last_seen"] = time.time()
        return 200, {}, {"master_id": master_id}

    routes: dict[tuple[str, str], Route] = {
        ("GET", "/master/health"): health, ("GET", "/health"): health, ("GET", "/version"): version,
        ("GET", "/master/flags"): flags_ep, ("GET", "/flags"): flags_ep,
        ("GET", "/master/state"): state_ep, ("GET", "/state"): state_ep,
        ("GET", "/master/slaves"): slaves, ("GET", "/slaves"): slaves,
        ("GET", "/master/frameworks"): frameworks, ("GET", "/frameworks"): frameworks,
        ("POST", "/master/standin/register"): register, ("POST", "/master/standin/heartbeat"): heartbeat,
    }
    serve(flags.get("ip", "0.0.0.0"), port, routes)
    log(f"{BANNER}; master {master_id} listening on {ip}:{port} as {hostname}")

    if "zk" not in flags:
        state.leader = info
        state.elected_time = time.time()
        log("standalone master: elected as the leading master (no --zk)")
        while True:
            time.sleep(3600)

    url = parse_zk_url(read_indirect(flags["zk"]))
    client = zk_client(url)
    client.ensure_path(url.path)
    znode: str | None = None
    while True:
        try:
            if znode is None or client.exists(znode) is None:
                znode = client.create(f"{url.path}/json.info_", json.dumps(info).encode(),
                                      ephemeral=True, sequence=True)
                log(f"published {znode} in ZooKeeper {url.servers}")
            leader = zk_leader(client, url.path)
            was_leader = state.is_leader()
            state.leader = leader
            if state.is_leader() and not was_leader:
                state.elected_time = time.time()
                log("elected as the leading master")
            elif leader and not state.is_leader() and was_leader is not False:
                log(f"the leading master is {leader.get('pid')}")
        except Exception as err:  # noqa: BLE001 - ZooKeeper hiccups: retry
            log(f"ZooKeeper error: {err}")
            znode = None if client.state != "CONNECTED" else znode
        time.sleep(1)


# ---------------------------------------------------------------------------------------------------------
# Agent.
# ---------------------------------------------------------------------------------------------------------

def meta_dir(work_dir: str) -> Path:
    """<work_dir>/meta/slaves, where Mesos checkpoints agent info."""
    return Path(work_dir) / "meta" / "slaves"


def recover_agent(work_dir: str, info: dict[str, Any], policy: str) -> tuple[str | None, str | None]:
    """(checkpointed agent id or None, error or None) from `<work_dir>/meta/slaves/latest`."""
    latest = meta_dir(work_dir) / "latest"
    info_file = latest / "slave.info"
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


def run_agent(flags: dict[str, str]) -> int:
    """Recover, serve the agent endpoints and stay registered with the leading master until killed."""
    hostname, ip = own_address(flags)
    port = int(flags["port"])
    info = agent_info(flags, hostname)
    Path(flags["work_dir"]).mkdir(parents=True, exist_ok=True)
    agent_id, error = recover_agent(flags["work_dir"], info, flags.get("reconfiguration_policy", "equal"))
    if error:
        latest = meta_dir(flags["work_dir"]) / "latest"
        print(f"EXIT with status 1: Failed to perform recovery: {error}\n"
              "If recovery failed due to a change in configuration and you want to\n"
              "keep the current agent id, you might want to change the\n"
              "`--reconfiguration_policy` flag to a more permissive value.\n\n"
              "To restart this agent with a new agent id instead, do as follows:\n"
              f"rm -f {latest}\n"
              "This ensures that the agent does not recover old live executors.\n", file=sys.stderr, flush=True)
        return 1
    current: dict[str, Any] = {"id": agent_id, "master": None}

    def flags_ep(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"flags": dict(sorted(flags.items()))}

    def state_ep(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"version": STANDIN_VERSION, "id": current["id"], "pid": f"slave(1)@{ip}:{port}",
                         "hostname": hostname, "resources": info["resources"], "attributes": info["attributes"],
                         "master_hostname": current["master"][0] if current["master"] else None,
                         "flags": dict(sorted(flags.items())), "frameworks": [], "completed_frameworks": []}

    def health(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, b""

    def version(_h: BaseHTTPRequestHandler, _b: bytes) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"version": STANDIN_VERSION, "build_user": "mesos-standin"}

    serve(flags.get("ip", "0.0.0.0"), port, {
        ("GET", "/flags"): flags_ep, ("GET", "/slave(1)/flags"): flags_ep,
        ("GET", "/state"): state_ep, ("GET", "/slave(1)/state"): state_ep,
        ("GET", "/health"): health, ("GET", "/slave(1)/health"): health, ("GET", "/version"): version,
    })
    log(f"{BANNER}; agent on {ip}:{port} as {hostname}, master {flags['master']}")
    zk: dict[str, Any] = {}
    registered = False
    while True:
        try:
            master = find_master(flags, zk)
            if master is None:
                log("no leading master known yet")
                registered = False
            elif not registered or master != current["master"]:
                status, body, _ = http_json("POST", f"http://{master[0]}:{master[1]}/master/standin/register",
                                            {"id": current["id"], "ip": ip, "info": info,
                                             "version": STANDIN_VERSION})
                if status == 200:
                    if current["id"] != body["slave_id"]:
                        checkpoint_agent(flags["work_dir"], body["slave_id"], info)
                    current["id"], current["master"] = body["slave_id"], master
                    registered = True
                    log(f"registered with master {master[0]}:{master[1]} as agent {current['id']}")
                else:
                    log(f"registration with {master[0]}:{master[1]} answered {status}; retrying")
            else:
                status, _, _ = http_json("POST", f"http://{master[0]}:{master[1]}/master/standin/heartbeat",
                                         {"id": current["id"]})
                if status != 200:
                    log(f"master {master[0]}:{master[1]} answered {status} to a heartbeat; re-registering")
                    registered = False
        except (OSError, ValueError) as err:
            log(f"cannot reach the master: {err}")
            registered = False
        time.sleep(1 if not registered else 2)


def main(argv: list[str]) -> int:
    """`mesos_standin.py master|agent [flags]`: load flags like Mesos, then run the daemon."""
    if len(argv) < 2 or argv[1] not in ("master", "agent"):
        print("usage: mesos_standin.py master|agent [--flag=value ...]", file=sys.stderr)
        return 2
    role = argv[1]
    program = os.environ.get("MESOS_STANDIN_PROGRAM", f"mesos-{role}")
    spec = master_spec() if role == "master" else agent_spec(program)
    try:
        flags = load_flags(spec, argv[2:], os.environ)
    except FlagError as err:
        print(f"{err}\n\nSee `{program} --help` for a list of supported flags.", file=sys.stderr)
        return 1
    if flags.get("version") == "true":
        print(f"mesos {STANDIN_VERSION}")
        return 0
    if flags.get("help") == "true":
        print(f"Usage: {program} [options]\n\n{BANNER}: accepts the flags of Mesos 1.11.")
        return 0
    error = master_exit_error(flags) if role == "master" else agent_exit_error(flags)
    if error:
        print(f"EXIT with status 1: {error}", file=sys.stderr)
        return 1
    return run_master(flags) if role == "master" else run_agent(flags)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""TEST-ONLY STAND-IN, NOT MARATHON: an imitation of Marathon 1.11 for tests only (entry point and flags).

Why it exists: no Marathon (nor Mesos) can be installed on the machines this collection is tested on, yet a
role or module that runs a Flink session under Marathon must be exercised against something that speaks
Marathon's REST API and really runs the tasks on Mesos. This program is a Mesos framework on the TEST-ONLY
Mesos stand-in (tests/mesos_standin/), speaking the v1 scheduler HTTP API (JSON + RecordIO), and serves a
subset of Marathon's /v2 REST API with Marathon's own field names (see README.md).

It is not Marathon, shares no code with it and keeps everything in memory (no ZooKeeper, no leader election):
a passing test against it says nothing about Marathon itself.

    python3 marathon_standin.py --master 127.0.0.1:5050 --http_port 8080 [--flag value | --flag=value ...]

Flags have Marathon's names; each may also come from `MARATHON_<FLAG>` (the command line wins). Only the
Python 3.11 standard library is used: on a container it runs as /usr/lib/marathon-standin/marathon_standin.py.
"""
from __future__ import annotations

import getpass
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from marathon_standin_core import Marathon, Settings
from marathon_standin_http import STANDIN_NAME, STANDIN_VERSION, Api, serve
from marathon_standin_mesos import log, parse_masters

BANNER = "marathon-standin: TEST-ONLY STAND-IN, NOT MARATHON"

# Flags the stand-in acts on: name -> (kind, default). Kinds: str, int, toggle.
ACTED_ON: dict[str, tuple[str, Any]] = {
    "master": ("str", None),
    "http_port": ("int", 8080),
    "http_address": ("str", "0.0.0.0"),
    "hostname": ("str", None),                       # default: this machine's hostname
    "framework_name": ("str", "marathon"),
    "http_credentials": ("str", None),
    "http_realm": ("str", "Mesosphere"),
    "failover_timeout": ("int", 604800),
    "mesos_role": ("str", "*"),
    "mesos_user": ("str", None),                     # default: the current user
    "task_launch_timeout": ("int", 300000),
    "decline_offer_duration": ("int", 5000),         # Marathon: 120000; see README
    "reconciliation_initial_delay": ("int", 15000),
    "reconciliation_interval": ("int", 600000),
    "webui_url": ("str", None),
}
# Real Marathon flags that are accepted (so that a unit written for Marathon is not refused) and ignored.
IGNORED_VALUE_FLAGS = (
    "zk zk_timeout zk_session_timeout zk_max_versions zk_max_node_size local_port_min local_port_max executor "
    "default_accepted_resource_roles enable_features mesos_authentication_principal "
    "mesos_authentication_secret_file mesos_leader_ui_url env_vars_prefix max_apps logging_level "
    "access_control_allow_origin https_port https_address ssl_keystore_path ssl_keystore_password "
    "event_subscriber http_endpoints leader_proxy_connection_timeout leader_proxy_read_timeout "
    "max_tasks_per_offer launch_tokens launch_token_refresh_interval offer_matching_timeout "
    "min_revive_offers_interval revive_offers_repetitions task_launch_confirm_timeout scale_apps_initial_delay "
    "scale_apps_interval task_lost_expunge_gc task_lost_expunge_initial_delay task_lost_expunge_interval "
    "on_elected_prepare_timeout http_max_concurrent_requests assets_path artifact_store "
    "http_event_callback_slow_consumer_timeout zk_compression_threshold kill_retry_timeout "
    "mesos_heartbeat_interval mesos_heartbeat_failure_threshold default_network_name"
).split()
TOGGLES = "ha checkpoint http metrics tracing zk_compression store_cache revive_offers_for_new_apps".split()


class FlagError(Exception):
    """A command line Marathon would refuse; main() prints it and exits 1."""


def _toggle_names() -> dict[str, tuple[str, bool]]:
    """`--ha` / `--disable_ha` style toggles -> (toggle, value)."""
    names = {}
    for name in TOGGLES:
        names[name] = (name, True)
        names[f"disable_{name}"] = (name, False)
    return names


def load_flags(argv: Sequence[str], environ: Mapping[str, str]) -> dict[str, Any]:
    """Defaults, then `MARATHON_<FLAG>` environment variables, then the command line (which wins).

    Both `--flag value` and `--flag=value` are accepted. Unknown flags, missing values, bad numbers and a
    missing `--master` raise FlagError. Unknown `MARATHON_*` variables are ignored (a task environment is
    full of MARATHON_APP_* variables).
    """
    values = set(ACTED_ON) | set(IGNORED_VALUE_FLAGS)
    toggles = _toggle_names()
    given: dict[str, Any] = {}
    for name in sorted(values):
        env = environ.get(f"MARATHON_{name.upper()}")
        if env is not None:
            given[name] = env
    for name, (toggle, value) in toggles.items():
        env = environ.get(f"MARATHON_{name.upper()}")
        if env is not None and env.lower() not in ("false", "0"):
            given[toggle] = value
    if "http_credentials" not in given and environ.get("MESOSPHERE_HTTP_CREDENTIALS"):
        given["http_credentials"] = environ["MESOSPHERE_HTTP_CREDENTIALS"]
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("--") or arg == "--":
            raise FlagError(f"Excess arguments provided: '{' '.join(args[index - 1:])}'")
        name, sep, value = arg[2:].partition("=")
        if name in ("help", "version"):
            given[name] = True
            continue
        if name in toggles:
            if sep:
                raise FlagError(f"Option '{name}' does not take a value")
            toggle, flag_value = toggles[name]
            given[toggle] = flag_value
            continue
        if name not in values:
            raise FlagError(f"Unknown option '{name}'")
        if not sep:
            if index >= len(args) or args[index].startswith("--"):
                raise FlagError(f"Option '{name}' needs one argument")
            value = args[index]
            index += 1
        given[name] = value
    if given.get("help") or given.get("version"):
        return given
    flags: dict[str, Any] = {}
    for name, (kind, default) in ACTED_ON.items():
        value = given.get(name, default)
        if kind == "int" and value is not None:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise FlagError(f"Bad argument for option '{name}': '{value}' is not a number") from None
        flags[name] = value
    if not flags["master"]:
        raise FlagError("Required option 'master' not found")
    if not 0 <= flags["http_port"] <= 65535:
        raise FlagError(f"Bad argument for option 'http_port': {flags['http_port']}")
    if flags["http_credentials"] and ":" not in flags["http_credentials"]:
        raise FlagError("Bad argument for option 'http_credentials': expected username:password")
    flags["hostname"] = flags["hostname"] or socket.gethostname()
    flags["mesos_user"] = flags["mesos_user"] or _current_user()
    flags["ignored"] = {k: v for k, v in given.items() if k not in ACTED_ON}
    return flags


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root"


def info_json(flags: Mapping[str, Any], http_port: int) -> dict[str, Any]:
    """GET /v2/info (info.raml MarathonInfo), minus frameworkId which the API adds when asked."""
    ignored = flags.get("ignored") or {}
    return {
        "name": STANDIN_NAME, "version": STANDIN_VERSION, "buildref": "standin", "elected": True,
        "leader": f"{flags['hostname']}:{http_port}",
        "marathon_config": {
            "master": flags["master"], "failover_timeout": flags["failover_timeout"],
            "framework_name": flags["framework_name"], "ha": False, "checkpoint": True,
            "local_port_min": int(ignored.get("local_port_min", 10000)),
            "local_port_max": int(ignored.get("local_port_max", 20000)), "executor": "//cmd",
            "hostname": flags["hostname"], "webui_url": flags["webui_url"], "mesos_role": flags["mesos_role"],
            "task_launch_timeout": flags["task_launch_timeout"],
            "reconciliation_initial_delay": flags["reconciliation_initial_delay"],
            "reconciliation_interval": flags["reconciliation_interval"], "mesos_user": flags["mesos_user"],
            "leader_proxy_connection_timeout_ms": 5000, "leader_proxy_read_timeout_ms": 10000,
            "mesos_leader_ui_url": ignored.get("mesos_leader_ui_url"), "features": []},
        "zookeeper_config": {"zk": ignored.get("zk"), "zk_timeout": 10000, "zk_connection_timeout": 10000,
                             "zk_session_timeout": 10000, "zk_max_versions": 50},
        "http_config": {"http_port": http_port, "https_port": int(ignored.get("https_port", 8443))},
    }


@dataclass
class Standin:
    """A running stand-in: the scheduler, the HTTP server and the port it listens on."""

    marathon: Marathon
    server: Any
    port: int

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.marathon.stop()


def start(flags: Mapping[str, Any]) -> Standin:
    """Start the REST API and the scheduler (in this process, on daemon threads). Raises ValueError for a
    `--master` the stand-in cannot use (zk://)."""
    masters = parse_masters(flags["master"])

    def build(port: int) -> Marathon:
        settings = Settings(  # the framework's webui_url needs the bound port
            masters=masters, hostname=flags["hostname"], http_port=port, framework_name=flags["framework_name"],
            failover_timeout=float(flags["failover_timeout"]), mesos_role=flags["mesos_role"],
            mesos_user=flags["mesos_user"], task_launch_timeout_ms=flags["task_launch_timeout"],
            decline_offer_duration_ms=flags["decline_offer_duration"],
            reconciliation_initial_delay_ms=flags["reconciliation_initial_delay"],
            reconciliation_interval_ms=flags["reconciliation_interval"], flags=dict(flags))
        marathon = Marathon(settings)
        if flags.get("webui_url"):
            marathon.client.framework_info["webui_url"] = flags["webui_url"]
        return marathon

    # Bind first: the framework's webui_url needs the port (`--http_port 0` picks a free one, for tests).
    api = Api(None, flags.get("http_credentials"), flags["http_realm"], {})
    server = serve(api, flags["http_address"], flags["http_port"])
    port = server.server_address[1]
    marathon = build(port)
    api.info = info_json(flags, port)
    api.marathon = marathon
    for name in sorted(flags.get("ignored") or {}):
        log(f"flag --{name} is accepted and ignored by the TEST-ONLY stand-in")
    log(f"TEST-ONLY STAND-IN, NOT MARATHON {STANDIN_VERSION}: REST API on {flags['http_address']}:{port}, "
        f"framework '{flags['framework_name']}' for the Mesos master(s) {flags['master']}; state in memory only")
    marathon.start()
    return Standin(marathon, server, port)


def main(argv: list[str]) -> int:
    """`marathon_standin.py [--flag value ...]`: load flags like Marathon, run until SIGTERM/SIGINT."""
    print(BANNER, file=sys.stderr, flush=True)
    try:
        flags = load_flags(argv[1:], os.environ)
    except FlagError as err:
        print(f"marathon-standin: [scallop] Error: {err}\nmarathon-standin: see --help for the flags of the "
              "TEST-ONLY stand-in", file=sys.stderr)
        return 1
    if flags.get("version"):
        print(STANDIN_VERSION)
        return 0
    if flags.get("help"):
        print(f"Usage: marathon_standin.py --master host:port [--flag value ...]\n\n{BANNER}\nflags acted on: "
              + ", ".join(f"--{n}" for n in ACTED_ON) + "\naccepted and ignored: "
              + ", ".join(f"--{n}" for n in IGNORED_VALUE_FLAGS) + ", "
              + ", ".join(f"--[disable_]{n}" for n in TOGGLES))
        return 0
    done = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log(f"signal {signum}: stopping (the framework stays registered until its failover_timeout)")
        done.set()

    # Before start(): the REST API answers as soon as it is bound, a SIGTERM may follow at once.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        standin = start(flags)
    except ValueError as err:
        print(f"marathon-standin: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"marathon-standin: cannot listen on {flags['http_address']}:{flags['http_port']}: {err}",
              file=sys.stderr)
        return 1
    while not done.wait(0.5):
        if standin.marathon.failed.is_set():
            break
    standin.stop()
    return 1 if standin.marathon.failed.is_set() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

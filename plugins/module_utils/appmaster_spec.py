# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure functions that turn the appmaster module's options into a systemd unit.

Everything here is free of I/O so that it can be unit-tested: the module reads files and calls systemctl,
this file decides what the unit must contain, whether the options are usable, and how a spec is shown
without its secrets. The unit is the spec: comparing the rendered unit text with the installed one is the
idempotence check, and its masked text is the ``--diff``.
"""
from __future__ import annotations

import hashlib
import re
import shlex
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

# The scripts Flink 1.13 ships for its Mesos application master (flink-dist mesos-bin/).
SCRIPTS = {"session": "mesos-appmaster.sh", "job": "mesos-appmaster-job.sh"}
# Scripts sourced by the two above; a Flink home without them cannot start an appmaster.
REQUIRED_BIN = ("mesos-jobmanager.sh", "config.sh")

UNIT_PREFIX = "flink-appmaster-"
MASK = "********"
SECRET_KEYS = frozenset({"mesos.resourcemanager.framework.secret"})
# Flink's own rule for values it hides in its logs (GlobalConfiguration.isSensitive): a key containing one of
# these, case-insensitively. Keystore passwords given as properties are secrets like the framework secret.
SENSITIVE_KEY_PARTS = ("password", "secret", "fs.azure.account.key", "apikey")
_SENSITIVE_ARG = re.compile(r"(?i)(-D[^=\s\"]*(?:" + "|".join(re.escape(p) for p in SENSITIVE_KEY_PARTS)
                            + r")[^=\s\"]*=)((?:\\.|[^\"\\\s])*)")


def is_secret_key(key: str) -> bool:
    """Whether a Flink key's value must never be shown: the framework secret and every key Flink hides."""
    lowered = key.lower()
    return key in SECRET_KEYS or any(part in lowered for part in SENSITIVE_KEY_PARTS)


# Loopback names and addresses: Mesos hands the framework hostname to agents and TaskManagers, so a loopback
# name there points every remote process at itself (Flink docs: jobmanager.rpc.address must not be localhost).
_LOOPBACK = re.compile(
    r"(?i)^(localhost(\.localdomain)?|localhost6|ip6-localhost|ip6-loopback|127(\.[0-9]{1,3}){3}|::1|"
    r"0:0:0:0:0:0:0:1|\[::1\]|0\.0\.0\.0)$"
)
# Forms of mesos.master Flink 1.13 accepts (MesosOptions): host:port, zk://[user:pw@]h1:p1,h2:p2/path, file:///.
_MASTER = re.compile(r"^(zk://[^\s/]+/\S*|file:///\S+|[^/:\s\[\]]+:[0-9]{1,5}|\[[0-9a-fA-F:]+\]:[0-9]{1,5})$")
_INSTANCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Structured option -> Flink configuration key. The module turns each set (not None) value into -Dkey=value.
# Only the framework settings and the instance's own master, address and port are options; every other Flink key
# reaches the appmaster through flink-conf.yaml (the flink role) or `properties`.
FRAMEWORK_KEYS = {
    "name": "mesos.resourcemanager.framework.name",
    "role": "mesos.resourcemanager.framework.role",
    "user": "mesos.resourcemanager.framework.user",
    "principal": "mesos.resourcemanager.framework.principal",
    "secret": "mesos.resourcemanager.framework.secret",
    "failover_timeout": "mesos.failover-timeout",
}
TOP_KEYS = {
    "mesos_master": "mesos.master",
    "rpc_address": "jobmanager.rpc.address",
    "rest_port": "rest.port",
}


class SpecError(ValueError):
    """Bad input, found before anything starts. The text names the option and says what to change."""


def is_loopback(host: str) -> bool:
    """True for names that resolve to this machine only; see _LOOPBACK for why they are refused."""
    return bool(_LOOPBACK.match(host.strip()))


def master_hosts(master: str) -> List[str]:
    """Hosts named in a mesos.master value (no ports, no credentials); none for file:// URLs."""
    if master.startswith("file://"):
        return []
    rest = master[len("zk://"):] if master.startswith("zk://") else master
    rest = rest.split("/", 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    hosts = []
    for part in rest.split(","):
        m = re.match(r"^\[([^\]]+)\](:[0-9]+)?$", part)
        hosts.append(m.group(1) if m else part.rsplit(":", 1)[0] if ":" in part else part)
    return hosts


def validate_master(master: str, option: str = "mesos_master") -> None:
    """Refuse master URLs Flink cannot use, before the JVM spends 5 s finding out."""
    if not master:
        raise SpecError(
            f"{option}: no Mesos master is set (neither the option nor mesos.master in flink-conf.yaml). "
            "Set it to host:5050 or zk://zk1:2181,zk2:2181/mesos."
        )
    if not _MASTER.match(master):
        raise SpecError(
            f"{option}: '{master}' is not a Mesos master URL. Use host:port (e.g. master1:5050), "
            "zk://host1:2181,host2:2181/mesos or file:///path/to/file."
        )
    for host in master_hosts(master):
        if is_loopback(host):
            raise SpecError(
                f"{option}: '{master}' names a loopback address ({host}); the Mesos master hands this address to "
                "agents and TaskManagers. Use the master's network name or address."
            )


def validate_rpc_address(address: str, option: str = "rpc_address") -> None:
    """jobmanager.rpc.address becomes the framework hostname; loopback breaks every remote TaskManager."""
    if not address:
        raise SpecError(
            f"{option}: jobmanager.rpc.address is not set (neither the option nor flink-conf.yaml). Set it to "
            "this host's network name, which agents must reach."
        )
    if is_loopback(address):
        raise SpecError(
            f"{option}: '{address}' is a loopback address; Flink's docs forbid it because Mesos agents and "
            "TaskManagers connect back to it. Use this host's network name or address."
        )


def validate_instance(name: str, option: str = "name") -> None:
    """The instance name becomes part of a unit name and a log file name, so keep it to safe characters.

    The roles apply the same rule to flink_session_name and flink_job_name (filter instance_name_problems).
    """
    if not _INSTANCE.match(name or ""):
        raise SpecError(
            f"{option}: '{name}' is not a valid instance name: it names the systemd unit "
            "flink-appmaster-<name>.service and the log files. Use 1-64 letters, digits, '_', '.' or '-' "
            "(starting with a letter or digit), e.g. clickstream-v2."
        )


def property_value(key: str, value: Any, option: str = "properties") -> str:
    """Render one Flink property value the way flink-conf.yaml spells it; refuse what Flink cannot parse.

    Flink's dynamic properties are flat strings. Booleans are lowercase there (Python's True would reach the
    JVM as 'True', which Flink happens to accept, but list/dict values would silently become Python reprs).
    """
    if not _PROPERTY_KEY.match(str(key)):
        raise SpecError(f"{option}: '{key}' is not a Flink configuration key (letters, digits, '.', '-', '_').")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            raise SpecError(f"{option}.{key}: the value contains a line break; Flink properties are one line.")
        return value
    raise SpecError(
        f"{option}.{key}: a {type(value).__name__} value cannot be a Flink property (only strings, numbers and "
        "booleans). Join lists the way Flink expects (usually comma-separated) or set each key separately."
    )


def structured_properties(params: Mapping[str, Any]) -> Dict[str, Any]:
    """Map the module's structured options to Flink keys. Unset (None) options are left to flink-conf.yaml."""
    out: Dict[str, Any] = {}
    for opt, key in TOP_KEYS.items():
        if params.get(opt) not in (None, ""):
            out[key] = params[opt]
    values = params.get("framework") or {}
    for opt, key in FRAMEWORK_KEYS.items():
        if values.get(opt) is not None:
            out[key] = values[opt]
    if params.get("mode") == "job" and params.get("jobgraph_path"):
        out["internal.jobgraph-path"] = params["jobgraph_path"]
    return out


def dynamic_properties(params: Mapping[str, Any]) -> Dict[str, str]:
    """All -D properties: the structured options plus the free ``properties`` dict (conflicts are errors)."""
    structured = structured_properties(params)
    free = params.get("properties") or {}
    reverse = {}
    for opt, key in TOP_KEYS.items():
        reverse[key] = opt
    for opt, key in FRAMEWORK_KEYS.items():
        reverse[key] = f"framework.{opt}"
    reverse["internal.jobgraph-path"] = "jobgraph_path"
    out: Dict[str, str] = {}
    for key, value in free.items():
        if key in structured:
            raise SpecError(
                f"properties.{key}: also set by the option {reverse.get(key, key)}. Set it in one place only."
            )
        out[str(key)] = property_value(key, value)
    for key, value in structured.items():
        out[key] = property_value(key, value, option=reverse.get(key, key))
    return out


def parse_flink_conf(text: str) -> Dict[str, str]:
    """Read flink-conf.yaml the way Flink 1.13 does (GlobalConfiguration): 'key: value' per line, '#' comments.

    Flink does not parse this file as YAML, so neither do we: quoting stays part of the value.
    """
    conf: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        key, value = line.split(":", 1)
        key, value = key.strip(), value.strip()
        if key and value:
            conf[key] = value
    return conf


def parse_env_file(text: str) -> Dict[str, str]:
    """Parse a systemd EnvironmentFile / shell 'KEY=value' file (as written by the flink role).

    Supports comments, blank lines, optional 'export ', and single or double quotes around the value.
    """
    env: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = re.sub(r'\\(["\\$`])', r"\1", value)
        if _ENV_NAME.match(key):
            env[key] = value
    return env


def effective_config(conf: Mapping[str, str], props: Mapping[str, str]) -> Dict[str, str]:
    """What the JVM will see: flink-conf.yaml overlaid with the -D properties (which win, as in Flink)."""
    merged = dict(conf)
    merged.update(props)
    return merged


def build_environment(
    params: Mapping[str, Any], file_env: Mapping[str, str], conf_dir: str, log_dir: str
) -> Dict[str, str]:
    """The appmaster's environment: env files first (the flink role's HADOOP_CLASSPATH, MESOS_NATIVE_JAVA_LIBRARY
    and JVM_ARGS), then ``environment`` (which wins).

    Only JVM_ARGS reaches the appmaster JVM (mesos-jobmanager.sh ignores env.java.opts), so the Java flags go
    there. FLINK_IDENT_STRING is the instance name so that two instances on one host write two log files.
    """
    env: Dict[str, str] = dict(file_env)
    env["FLINK_CONF_DIR"] = conf_dir
    env["FLINK_LOG_DIR"] = log_dir
    env["FLINK_IDENT_STRING"] = params["name"]
    for key, value in (params.get("environment") or {}).items():
        if not _ENV_NAME.match(str(key)):
            raise SpecError(f"environment.{key}: not a valid environment variable name.")
        if isinstance(value, (dict, list)):
            raise SpecError(f"environment.{key}: values must be strings.")
        env[str(key)] = property_value(key, value, option="environment") if not isinstance(value, str) else value
    return {k: v for k, v in env.items() if v is not None}


def command_line(flink_home: str, mode: str, props: Mapping[str, str]) -> List[str]:
    """The argv the Flink docs prescribe: the mesos-appmaster script followed by sorted -Dkey=value options."""
    script = f"{flink_home.rstrip('/')}/bin/{SCRIPTS[mode]}"
    return [script] + [f"-D{key}={props[key]}" for key in sorted(props)]


def mask_argv(argv: Iterable[str], secrets: Iterable[str]) -> List[str]:
    """Replace secret property values in an argv (for results, logs and --diff)."""
    secret_keys = set(secrets)
    out = []
    for arg in argv:
        key = arg[2:].split("=", 1)[0] if arg.startswith("-D") and "=" in arg else None
        if key is not None and (key in secret_keys or is_secret_key(key)):
            out.append(arg.split("=", 1)[0] + "=" + MASK)
        else:
            out.append(arg)
    return out


def systemd_quote(value: str) -> str:
    """Quote one word for ExecStart=/Environment=: double quotes, backslash escapes, and %/$ doubled.

    systemd expands %-specifiers in both and $VAR in ExecStart, so a literal '%' or '$' in a Flink property
    (e.g. a log pattern) must be escaped or the JVM would get a different value than the one asked for.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def unit_name(name: str) -> str:
    """One systemd service per instance, so several appmasters can share a host."""
    return f"{UNIT_PREFIX}{name}.service"


def log_file(log_dir: str, name: str, hostname: str) -> str:
    """Where mesos-jobmanager.sh writes: ${FLINK_LOG_DIR}/flink-${FLINK_IDENT_STRING}-mesos-appmaster-${HOSTNAME}.log."""
    return f"{log_dir.rstrip('/')}/flink-{name}-mesos-appmaster-{hostname}.log"


def config_digest(parts: Iterable[Tuple[str, bytes]]) -> str:
    """Digest of files the JVM reads at start (flink-conf.yaml, log4j); recorded in the unit so a change restarts."""
    h = hashlib.sha256()
    for label, data in parts:
        h.update(label.encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:16]


RELEASE_PREFIX = "# Flink release: "


def change_needs_restart(current: Optional[str], desired: str) -> bool:
    """Whether replacing the installed unit text with the desired one must restart a running appmaster.

    Any difference does, except one: a unit written before the release line existed (older versions of this
    collection) that matches the desired text once that line is left out. Upgrading the collection must not
    restart every appmaster (and lose its running jobs) only to record the release; the unit is rewritten with
    the line, and from then on a release change restarts.
    """
    if current is None or current == desired:
        return current is None
    if RELEASE_PREFIX not in current:
        without = "\n".join(line for line in desired.split("\n") if not line.startswith(RELEASE_PREFIX))
        return without != current
    return True


def render_unit(
    name: str,
    mode: str,
    argv: List[str],
    env: Mapping[str, str],
    user: str,
    group: Optional[str],
    working_dir: Optional[str],
    digest: str,
    release: Optional[str] = None,
) -> str:
    """The systemd unit; its text is the whole desired state of one instance.

    `release` is the Flink tree flink_home resolves to (the flink role points a stable link at one directory per
    version): recording it makes a version change alone change the unit, so the appmaster restarts onto the new tree.

    KillMode=control-group: the script runs java as a child (no exec), so stopping only the main PID would
    orphan the JVM. SuccessExitStatus=143: a JVM stopped by SIGTERM exits 128+15 and that is a clean stop.
    StartLimit*: a configuration that can never start (e.g. no libmesos) is retried a few times, not forever.
    """
    lines = [
        "# Managed by Ansible (streamops.flink_mesos.appmaster). Changes here are overwritten.",
        f"# Configuration digest (flink-conf.yaml and logging files): {digest}",
    ]
    if release:
        lines.append(f"{RELEASE_PREFIX}{release}")
    lines += [
        "[Unit]",
        f"Description=Flink Mesos application master {name} ({mode} mode)",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=3",
        "",
        "[Service]",
        "Type=simple",
        f"User={user}",
    ]
    if group:
        lines.append(f"Group={group}")
    if working_dir:
        lines.append(f"WorkingDirectory={working_dir}")
    for key in sorted(env):
        lines.append(f"Environment={systemd_quote(f'{key}={env[key]}')}")
    lines.append("ExecStart=" + " ".join(systemd_quote(a) for a in argv))
    lines += [
        "Restart=on-failure",
        "RestartSec=10",
        "KillMode=control-group",
        "SuccessExitStatus=143",
    ]
    if mode == "job":
        # A per-job cluster whose job FAILED exits 1443 (UNKNOWN: 1445): restarting would run the job again.
        lines.append("RestartPreventExitStatus=1443 1445")
    lines += [
        "TimeoutStopSec=60",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Remove secret values from any text shown to the user (unit diff, error output)."""
    # Also masks an older secret still present in the installed unit (the 'before' of a diff).
    text = _SENSITIVE_ARG.sub(lambda m: m.group(1) + MASK, text)
    for secret in secrets:
        if secret:
            text = text.replace(systemd_quote(secret)[1:-1], MASK).replace(secret, MASK)
    return text


def secret_values(props: Mapping[str, str]) -> List[str]:
    """Values that must never be printed."""
    return [value for key, value in props.items() if value and is_secret_key(key)]


def check_flink_home(flink_home: str, mode: str, exists: Callable[[str], bool]) -> None:
    """A Flink home without the Mesos scripts is Flink >= 1.14 (Mesos removed) or not a Flink tree at all."""
    missing = [
        f for f in (SCRIPTS[mode],) + REQUIRED_BIN if not exists(f"{flink_home.rstrip('/')}/bin/{f}")
    ]
    if missing:
        raise SpecError(
            f"flink_home: {flink_home} has no bin/{', bin/'.join(missing)}. Point flink_home at a Flink 1.13 "
            "installation (the last release with Mesos support), e.g. the flink role's /opt/flink."
        )


def unit_diff(before: Optional[str], after: Optional[str], path: str, secrets: Iterable[str]) -> Dict[str, str]:
    """An Ansible diff dict of the unit file, with secrets masked."""
    secrets = list(secrets)
    return {
        "before_header": path,
        "after_header": path,
        "before": mask_text(before or "", secrets),
        "after": mask_text(after or "", secrets),
    }


# Flink's MemorySize units (org.apache.flink.configuration.MemorySize.MemoryUnit), case-insensitive.
_MEMORY = re.compile(r"^\s*([0-9]+)\s*([a-zA-Z]*)\s*$")
_MEMORY_UNITS = {
    **dict.fromkeys(("", "b", "bytes"), 1),
    **dict.fromkeys(("k", "kb", "kibibytes"), 1 << 10),
    **dict.fromkeys(("m", "mb", "mebibytes"), 1 << 20),
    **dict.fromkeys(("g", "gb", "gibibytes"), 1 << 30),
    **dict.fromkeys(("t", "tb", "tebibytes"), 1 << 40),
}


def memory_mib(text: str, key: str) -> int:
    """A Flink memory size in whole MiB, rounded up (what a Mesos/Marathon ``mem`` must at least be)."""
    match = _MEMORY.match(str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _MEMORY_UNITS:
        raise SpecError(f"{key}: '{text}' is not a Flink memory size (e.g. 1600m, 2g). Correct it in flink-conf.yaml "
                        "(flink_jobmanager_memory_process_size) or properties.")
    return max(1, -(-int(match.group(1)) * _MEMORY_UNITS[unit] // (1 << 20)))


# The health check of the Flink documentation's Marathon app: Flink's REST root on the REST port. The grace period
# covers the JVM start and a ZooKeeper leader election (REST answers 503 until a leader is known).
MARATHON_HEALTH_CHECK: Dict[str, Any] = {
    "protocol": "HTTP", "path": "/", "gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20,
    "maxConsecutiveFailures": 3,
}


def marathon_app(app_id: str, argv: List[str], env: Mapping[str, str], user: str, rest_port: int, cpus: float,
                 mem: int, constraints: List[Any], health_check: Mapping[str, Any],
                 extra: Mapping[str, Any]) -> Dict[str, Any]:
    """The Marathon app that runs this appmaster, as Flink's Mesos page describes it, from the systemd inputs.

    ``cmd`` is the same command line the systemd unit runs (shell-quoted), ``env`` the same environment. One
    instance; no Marathon-allocated ports (the REST port is Flink's own, and the health check names it). The upgrade
    strategy stops the old appmaster before the new one starts: two appmasters of one cluster must never run at once
    (they would fight for the REST port and the framework). ``extra`` keys are merged last (the user's word wins).
    """
    app: Dict[str, Any] = {
        "id": app_id,
        "cmd": " ".join(shlex.quote(a) for a in argv),
        "cpus": cpus,
        "mem": mem,
        "instances": 1,
        "user": user,
        "env": dict(sorted(env.items())),
        "portDefinitions": [],
        "healthChecks": [{**MARATHON_HEALTH_CHECK, "port": rest_port, **dict(health_check)}],
        "upgradeStrategy": {"minimumHealthCapacity": 0, "maximumOverCapacity": 0},
    }
    if constraints:
        app["constraints"] = [list(c) for c in constraints]
    app.update(extra)
    return app

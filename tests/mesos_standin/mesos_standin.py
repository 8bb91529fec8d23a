"""TEST-ONLY STAND-IN, NOT MESOS: an imitation of the Mesos 1.11 master and agent daemons, for tests only.

Why it exists: no Mesos 1.11 binaries can be installed on the machines this collection is tested on, yet the
`mesos` role must be exercised end to end and Flink 1.13.6's Mesos ResourceManager (through a pure-Java
scheduler driver, tests/mesos_standin/driver/) must be able to register, get offers and run TaskManagers.
This program reproduces the observable surface those tests touch:

* flag loading with stout's rules (this file): command line wins over `MESOS_*` environment, unknown and
  missing required flags are errors worded like Mesos 1.11, exit status 1;
* a master (standin_master.py) that publishes itself in ZooKeeper like Mesos (ephemeral sequential
  `json.info_` znodes, lowest leads), serves the v1 scheduler HTTP API (`POST /api/v1/scheduler`, JSON only:
  SUBSCRIBE with a RecordIO event stream, ACCEPT/DECLINE/KILL/ACKNOWLEDGE/RECONCILE/REVIVE/SUPPRESS/TEARDOWN
  ...), allocates offers, tracks tasks, and serves `/master/state`, `/master/frameworks`, `/master/slaves`,
  `/master/tasks`, `/master/teardown`, `/master/flags`, `/master/health` and `/version`;
* an agent (standin_agent.py) that checks its checkpointed agent info like Mesos, registers over PRIVATE
  stand-in endpoints, and runs command tasks like Mesos' command executor (standin_executor.py).

It has no replicated log, no libprocess, no isolation and ships no libmesos.so: a passing test against it says
nothing about Mesos itself. See tests/mesos_standin/README.md and docs/mesos.md.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Iterable, Mapping

from standin_agent import (agent_info, agent_info_error, checkpoint_agent, meta_dir,  # noqa: F401 pylint: disable=unused-import
                           parse_attributes, parse_resources, recover_agent)
from standin_util import (BANNER, STANDIN_VERSION, ZkUrl, parse_master_address,  # noqa: F401 pylint: disable=unused-import
                          parse_zk_url, read_indirect)

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
    from_cli = {n for n, dummy in given}
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
    print(f"{BANNER} ({STANDIN_VERSION}): mesos-{role} stand-in starting", file=sys.stderr, flush=True)
    if role == "master":
        from standin_master import run_master  # pylint: disable=import-outside-toplevel
        return run_master(flags)
    from standin_agent import run_agent  # pylint: disable=import-outside-toplevel
    return run_agent(flags)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The appmaster module's pure parts: validation, -D properties, environment, command line, unit, masking.

Why: the unit text is the module's desired state (idempotence compares it, --diff shows it), and the command
line and environment must be exactly what Flink's docs prescribe; every bad input must be refused with the
option's name before anything starts.
"""
from __future__ import annotations

from typing import Any, Dict

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import appmaster_spec as spec


def params(**over: Any) -> Dict[str, Any]:
    p: Dict[str, Any] = dict(
        name="session", mode="session", jobgraph_path=None, mesos_master="master1:5050", rpc_address="am1",
        rest_port=8081, framework=None, properties={}, environment={},
    )
    p.update(over)
    return p


@pytest.mark.parametrize("master", ["localhost:5050", "127.0.0.1:5050", "zk://127.0.0.1:2181/mesos",
                                    "[::1]:5050", "zk://zk1:2181,localhost:2181/mesos"])
def test_loopback_master_is_refused(master: str) -> None:
    with pytest.raises(spec.SpecError, match=r"^mesos_master: .*loopback"):
        spec.validate_master(master)


@pytest.mark.parametrize("master", ["master1", "http://m:5050", "zk://zk1:2181", "m1:50a", "", "m1:5050/x"])
def test_malformed_master_is_refused(master: str) -> None:
    with pytest.raises(spec.SpecError, match=r"^mesos_master: "):
        spec.validate_master(master)


@pytest.mark.parametrize("master", ["master1:5050", "zk://zk1:2181,zk2:2181/mesos",
                                    "zk://u:pw@zk1:2181/mesos", "file:///etc/mesos/zk", "[fd00::1]:5050"])
def test_good_masters(master: str) -> None:
    spec.validate_master(master)


def test_master_hosts_strip_credentials_and_ports() -> None:
    assert spec.master_hosts("zk://u:pw@zk1:2181,zk2:2181/mesos") == ["zk1", "zk2"]
    assert spec.master_hosts("[fd00::1]:5050") == ["fd00::1"]
    assert spec.master_hosts("file:///x") == []


@pytest.mark.parametrize("addr", ["localhost", "127.0.1.1", "::1", "0.0.0.0"])
def test_loopback_rpc_address_is_refused(addr: str) -> None:
    with pytest.raises(spec.SpecError, match=r"^rpc_address: "):
        spec.validate_rpc_address(addr)


def test_instance_names() -> None:
    spec.validate_instance("session-1")
    for bad in ("", "a b", "../x", "-x"):
        with pytest.raises(spec.SpecError, match=r"^name: "):
            spec.validate_instance(bad)


def test_structured_options_become_flink_keys() -> None:
    props = spec.dynamic_properties(params(
        framework={"name": "fl", "secret": "s3", "failover_timeout": 60, "role": None},
        properties={"taskmanager.numberOfTaskSlots": 4, "state.backend.incremental": False,
                    "mesos.resourcemanager.tasks.cpus": 2.0},
    ))
    assert props == {
        "mesos.master": "master1:5050", "jobmanager.rpc.address": "am1", "rest.port": "8081",
        "mesos.resourcemanager.framework.name": "fl", "mesos.resourcemanager.framework.secret": "s3",
        "mesos.failover-timeout": "60", "mesos.resourcemanager.tasks.cpus": "2.0",
        "taskmanager.numberOfTaskSlots": "4", "state.backend.incremental": "false",
    }


def test_job_mode_passes_the_jobgraph_path() -> None:
    props = spec.dynamic_properties(params(mode="job", jobgraph_path="/var/lib/flink/j.graph"))
    assert props["internal.jobgraph-path"] == "/var/lib/flink/j.graph"
    argv = spec.command_line("/opt/flink/", "job", props)
    assert argv[0] == "/opt/flink/bin/mesos-appmaster-job.sh"
    assert "-Dinternal.jobgraph-path=/var/lib/flink/j.graph" in argv


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], None])
def test_non_scalar_property_is_refused(value: Any) -> None:
    with pytest.raises(spec.SpecError, match=r"^properties\.x\.y: .* cannot be a Flink property"):
        spec.dynamic_properties(params(properties={"x.y": value}))


def test_property_set_twice_is_refused() -> None:
    with pytest.raises(spec.SpecError, match=r"^properties\.mesos\.master: also set by the option mesos_master"):
        spec.dynamic_properties(params(properties={"mesos.master": "m2:5050"}))


def test_command_line_is_script_plus_sorted_dynamic_properties() -> None:
    argv = spec.command_line("/opt/flink", "session", {"z.k": "1", "a.k": "x y"})
    assert argv == ["/opt/flink/bin/mesos-appmaster.sh", "-Da.k=x y", "-Dz.k=1"]


def test_environment_option_wins_over_env_files() -> None:
    env = spec.build_environment(
        params(environment={"X": 1, "JVM_ARGS": "--add-opens=a --add-exports=b", "HADOOP_CLASSPATH": "/h/*"}),
        {"JVM_ARGS": "old", "HADOOP_CLASSPATH": "old", "JAVA_HOME": "/usr/lib/jvm/j17"},
        "/etc/flink", "/var/log/flink",
    )
    assert env == {
        "JVM_ARGS": "--add-opens=a --add-exports=b", "HADOOP_CLASSPATH": "/h/*", "JAVA_HOME": "/usr/lib/jvm/j17",
        "FLINK_CONF_DIR": "/etc/flink", "FLINK_LOG_DIR": "/var/log/flink", "FLINK_IDENT_STRING": "session",
        "X": "1",
    }


def test_env_file_parser_reads_the_flink_role_format() -> None:
    text = '# managed\nFLINK_CONF_DIR="/etc/flink"\nJVM_ARGS="--add-opens=java.base/java.lang=ALL-UNNAMED -Da=\\"q\\""\n' \
           "export A='x y'\nbad line\n"
    assert spec.parse_env_file(text) == {
        "FLINK_CONF_DIR": "/etc/flink", "JVM_ARGS": '--add-opens=java.base/java.lang=ALL-UNNAMED -Da="q"', "A": "x y"}


def test_flink_conf_parser_is_flinks_not_yaml() -> None:
    conf = spec.parse_flink_conf("# c\nmesos.master: zk://a:2181/mesos  # tail\nrest.port: 8082\nempty:\n")
    assert conf == {"mesos.master": "zk://a:2181/mesos", "rest.port": "8082"}
    assert spec.effective_config(conf, {"rest.port": "9000"})["rest.port"] == "9000"


def test_systemd_quoting_escapes_specifiers_and_variables() -> None:
    assert spec.systemd_quote('a "b" 50% $HOME \\') == '"a \\"b\\" 50%% $$HOME \\\\"'


def unit(**over: Any) -> str:
    props = spec.dynamic_properties(params(framework={"name": "fl", "secret": "topsecret"}, **over))
    argv = spec.command_line("/opt/flink", "session", props)
    env = {"JVM_ARGS": "--add-opens=x", "FLINK_CONF_DIR": "/etc/flink"}
    return spec.render_unit("session", "session", argv, env, "flink", None, None, "abc")


def test_unit_has_the_supervision_settings() -> None:
    text = unit()
    for line in ("Restart=on-failure", "KillMode=control-group", "SuccessExitStatus=143", "User=flink",
                 'Environment="JVM_ARGS=--add-opens=x"', "WantedBy=multi-user.target"):
        assert line in text.splitlines()
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_line.startswith('ExecStart="/opt/flink/bin/mesos-appmaster.sh" "-Djobmanager.rpc.address=am1"')


def test_only_a_job_unit_refuses_to_rerun_a_failed_job() -> None:
    """A per-job cluster exits 1443 when its job FAILED; systemd must not start the job again."""
    assert not any(line.startswith("RestartPreventExitStatus=") for line in unit().splitlines())
    job = spec.render_unit("j1", "job", ["/opt/flink/bin/mesos-appmaster-job.sh"], {}, "flink", None, None, "abc")
    assert "RestartPreventExitStatus=1443 1445" in job.splitlines()


def _release_unit(release: str | None) -> str:
    return spec.render_unit("s", "session", ["/opt/flink/bin/mesos-appmaster.sh"], {}, "flink", None, None, "abc",
                            release=release)


def test_a_release_change_alone_restarts() -> None:
    """The stable link /opt/flink moved to another version: the unit differs and a running appmaster restarts
    (issue 14: a Flink version change used to leave the old JVM running)."""
    old, new = _release_unit("/opt/flink-1.13.5"), _release_unit("/opt/flink-1.13.6")
    assert "# Flink release: /opt/flink-1.13.6" in new.splitlines()
    assert old != new
    assert spec.change_needs_restart(old, new)


def test_a_unit_from_before_the_release_line_is_adopted_without_a_restart() -> None:
    """Upgrading the collection must not restart every appmaster (and lose its jobs) only to add the line."""
    legacy, new = _release_unit(None), _release_unit("/opt/flink-1.13.6")
    assert "# Flink release:" not in legacy
    assert not spec.change_needs_restart(legacy, new)
    other_change = legacy.replace("User=flink", "User=other")
    assert spec.change_needs_restart(other_change, new), "any other difference still restarts"
    assert spec.change_needs_restart(None, new), "no unit yet: a start"
    assert not spec.change_needs_restart(new, new)


def test_same_spec_same_unit_and_changed_spec_differs() -> None:
    assert unit() == unit()
    assert unit() != unit(rest_port=8082)


def test_secret_is_masked_in_diff_and_argv() -> None:
    old = unit().replace("topsecret", "oldsecret")
    diff = spec.unit_diff(old, unit(), "/etc/systemd/system/x.service", ["topsecret"])
    assert "topsecret" not in diff["after"] and "oldsecret" not in diff["before"]
    assert "-Dmesos.resourcemanager.framework.secret=********" in diff["after"]
    argv = spec.mask_argv(["s.sh", "-Dmesos.resourcemanager.framework.secret=x", "-Da=b"], spec.SECRET_KEYS)
    assert argv == ["s.sh", "-Dmesos.resourcemanager.framework.secret=********", "-Da=b"]


@pytest.mark.parametrize("key,secret", [
    ("security.ssl.rest.keystore-password", True), ("security.ssl.rest.key-password", True),
    ("s3.secret-key", True), ("fs.azure.account.key.acc.blob.core.windows.net", True), ("metrics.reporter.x.apikey", True),
    ("mesos.resourcemanager.framework.secret", True), ("security.ssl.rest.keystore", False), ("rest.port", False),
])
def test_secret_keys_follow_flinks_sensitive_key_rule(key: str, secret: bool) -> None:
    assert spec.is_secret_key(key) is secret
    assert bool(spec.secret_values({key: "v4lue"})) is secret


def test_keystore_passwords_are_masked_everywhere_they_are_shown() -> None:
    props = {"security.ssl.rest.keystore-password": "k3ystore", "security.ssl.rest.keystore": "/etc/tls/ks",
             "rest.port": "8081"}
    secrets = spec.secret_values(props)
    assert secrets == ["k3ystore"]
    argv = spec.mask_argv(["s.sh", "-Dsecurity.ssl.rest.keystore-password=k3ystore", "-Dsecurity.ssl.rest.keystore=/etc/tls/ks"],
                          spec.SECRET_KEYS)
    assert argv == ["s.sh", "-Dsecurity.ssl.rest.keystore-password=********", "-Dsecurity.ssl.rest.keystore=/etc/tls/ks"]
    # An older password still in the installed unit (a diff's 'before') is masked although it is no longer known.
    before = 'ExecStart=/opt/flink/bin/mesos-appmaster.sh "-Dsecurity.ssl.rest.KEY-PASSWORD=old\\"pw" -Drest.port=8081'
    masked = spec.mask_text(before, secrets)
    assert "old" not in masked and "-Drest.port=8081" in masked
    assert "-Dsecurity.ssl.rest.KEY-PASSWORD=********" in masked


def test_flink_home_without_mesos_scripts_is_refused() -> None:
    present = {"/opt/flink/bin/config.sh", "/opt/flink/bin/mesos-jobmanager.sh", "/opt/flink/bin/mesos-appmaster.sh"}
    spec.check_flink_home("/opt/flink", "session", present.__contains__)
    with pytest.raises(spec.SpecError, match=r"^flink_home: .*mesos-appmaster-job.sh"):
        spec.check_flink_home("/opt/flink", "job", present.__contains__)


def test_log_file_name_is_per_instance() -> None:
    assert spec.log_file("/var/log/flink/", "s1", "am1") == "/var/log/flink/flink-s1-mesos-appmaster-am1.log"
    assert spec.unit_name("s1") == "flink-appmaster-s1.service"

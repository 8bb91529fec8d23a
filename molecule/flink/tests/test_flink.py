"""Verify the flink scenario: the install, its owner, flink-conf.yaml, the appmaster environment, the upgrade, and
that the installed tree really runs (a JobManager answers REST; the Mesos entrypoint gets past the Hadoop classes).

Why the runtime checks: files in the right place prove little. Flink on Mesos fails at start-up when the Hadoop
classes are missing (NoClassDefFoundError UserGroupInformation) or when Java 17 lacks the --add-opens flags, so
the tests start Flink's own scripts from the installed tree, as the flink user, with the role's environment file.
There is no Mesos here: the entrypoint test expects the run to end at "no mesos in java.library.path".
"""
from __future__ import annotations

import json
import os
import time

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

FLINK_VERSION = "1.13.6"
UPGRADED = "1.13.6-repack"
HADOOP_CLASSPATH = ":".join(
    f"/opt/hadoop-classpath/{jar}"
    for jar in ("hadoop-client-api-3.3.4.jar", "hadoop-client-runtime-3.3.4.jar", "commons-logging-1.1.3.jar")
)
ENV_FILE = "/etc/flink/appmaster.env"


def parse_flink_conf(text: str) -> dict[str, str]:
    """Read flink-conf.yaml the way Flink 1.13 does: 'key: value' per line, '#' starts a comment."""
    conf: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if ": " in line:
            key, value = line.split(": ", 1)
            conf[key.strip()] = value.strip()
    return conf


def parse_env_file(text: str) -> dict[str, str]:
    """Read KEY="value" lines of an EnvironmentFile (the role quotes every value)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key] = value.strip('"')
    return env


def as_flink(host, script: str, timeout: int = 120):
    """Run a bash script as the flink user with the appmaster environment file loaded."""
    wrapped = f"set -a; . {ENV_FILE}; set +a; {script}"
    return host.run(f"timeout {int(timeout)} runuser -u flink -- bash -c %s", wrapped)


def is_appmaster(host) -> bool:
    """The runtime checks need only run where the appmaster would run."""
    return host.backend.get_hostname() == "flink-am"


def test_published_facts_are_recorded_on_the_host(host) -> None:
    """Later runs without the flink role (playbooks/job.yml) read these instead of guessing defaults."""
    fact = host.file("/etc/ansible/facts.d/streamops_flink.fact")
    assert fact.user == "root" and fact.mode == 0o644, (fact.user, oct(fact.mode))
    assert json.loads(fact.content_string) == {
        "flink_home": "/opt/flink", "flink_conf_dir": "/etc/flink", "flink_appmaster_env_file": ENV_FILE,
        "flink_service_user": "flink", "flink_service_group": "flink", "flink_conf_rest_port": 8081,
        "mesos_master_endpoints": []}  # no mesos role in this scenario


def test_flink_user_is_a_system_user(host) -> None:
    user = host.user("flink")
    assert user.exists
    assert user.uid < 1000, "flink must be a system user"
    assert user.shell == "/usr/sbin/nologin"
    assert user.home == "/var/lib/flink"


def test_upgrade_switched_the_link_and_kept_the_old_tree(host) -> None:
    link = host.file("/opt/flink")
    assert link.is_symlink
    assert link.linked_to == f"/opt/flink-{UPGRADED}"
    for version in (FLINK_VERSION, UPGRADED):
        tree = f"/opt/flink-{version}"
        assert host.file(f"{tree}/bin/config.sh").exists, f"{tree} is incomplete or was removed"
        assert host.file(f"{tree}/lib/flink-dist_2.12-1.13.6.jar").exists
        assert host.file(tree).user == "flink"
        assert host.file(f"{tree}/lib/flink-dist_2.12-1.13.6.jar").user == "flink"
        assert host.file(f"{tree}/usrlib").is_directory


def test_upgrade_kept_user_data_and_edited_configuration(host) -> None:
    assert host.file("/var/lib/flink/upgrade-marker").content_string == "kept across upgrades\n"
    assert "# edited by the operator before the upgrade" in host.file("/etc/flink/log4j.properties").content_string


@pytest.mark.parametrize("script", ["mesos-appmaster.sh", "mesos-appmaster-job.sh", "mesos-taskmanager.sh"])
def test_mesos_scripts_are_installed(host, script) -> None:
    f = host.file(f"/opt/flink/bin/{script}")
    assert f.exists and f.mode & 0o111, f"{script} missing or not executable"


def test_hadoop_jars_are_in_place(host) -> None:
    for path in HADOOP_CLASSPATH.split(":"):
        jar = host.file(path)
        assert jar.exists and jar.size > 0, path
        assert jar.mode == 0o644


def test_flink_conf(host) -> None:
    conf_file = host.file("/etc/flink/flink-conf.yaml")
    assert conf_file.user == "root" and conf_file.group == "flink"
    assert conf_file.mode == 0o640
    conf = parse_flink_conf(conf_file.content_string)
    name = host.backend.get_hostname()
    assert conf["jobmanager.rpc.address"] == name
    assert conf["mesos.master"] == "flink-mesos-m1:5050"
    assert conf["mesos.resourcemanager.tasks.taskmanager-cmd"] == "/opt/flink/bin/mesos-taskmanager.sh"
    assert conf["mesos.resourcemanager.framework.name"] == "Flink scenario"
    assert conf["mesos.resourcemanager.framework.user"] == "flink"
    assert conf["mesos.resourcemanager.tasks.container.type"] == "mesos"
    assert conf["mesos.constraints.hard.hostattribute"] == "rack:r1"
    assert conf["jobmanager.memory.process.size"] == "1600m"
    assert conf["taskmanager.memory.process.size"] == "1728m"
    assert conf["containerized.taskmanager.env.HADOOP_CLASSPATH"] == HADOOP_CLASSPATH
    assert conf["containerized.taskmanager.env.FLINK_CONF_DIR"] == "/etc/flink"
    assert conf["rest.bind-address"] == "0.0.0.0", "flink_conf_extra was not merged"
    assert conf["env.java.home"] == parse_env_file(host.file(ENV_FILE).content_string)["JAVA_HOME"]
    assert "mesos.resourcemanager.framework.secret" not in conf
    if is_appmaster(host):
        assert "high-availability" not in conf
    else:
        assert conf["high-availability"] == "zookeeper"
        assert conf["high-availability.zookeeper.quorum"] == "flink-zk-1:2181,flink-zk-2:2181"
        assert conf["high-availability.storageDir"] == "file:///var/lib/flink/ha"
        assert conf["high-availability.cluster-id"] == "/flink-scenario"
    for log4j in ("log4j.properties", "log4j-console.properties", "log4j-cli.properties", "log4j-session.properties"):
        assert host.file(f"/etc/flink/{log4j}").exists, log4j


def java_major(host) -> int:
    """Major version of the JVM named by the environment file."""
    env = parse_env_file(host.file(ENV_FILE).content_string)
    out = host.run(f"{env['JAVA_HOME']}/bin/java -version")
    assert out.rc == 0, out.stderr
    version = out.stderr.split('"')[1]
    return int(version.split(".")[1]) if version.startswith("1.") else int(version.split(".")[0])


def test_java_comes_from_the_archive_on_the_appmaster_and_from_packages_on_the_agent(host) -> None:
    """flink-am installs Java 11 from the mirror's tarball (java_install_method=archive); the agent uses OpenJDK 17."""
    java_home = parse_env_file(host.file(ENV_FILE).content_string)["JAVA_HOME"]
    if is_appmaster(host):
        assert java_home == "/opt/java/java-11"
        link = host.file(java_home)
        assert link.is_symlink and link.linked_to == "/opt/java/temurin-11.0.13+8-jre-jlink-x64_linux", link.linked_to
        out = host.run(f"{java_home}/bin/java -version")
        assert out.rc == 0 and 'version "11.0.13"' in out.stderr and "Temurin-11.0.13+8" in out.stderr, out.stderr
        assert not host.package("openjdk-17-jre-headless").is_installed, "the archive install must not add a package"
    else:
        assert java_home.startswith("/usr/lib/jvm/java-17-openjdk-"), java_home
    assert java_major(host) == (11 if is_appmaster(host) else 17)


def test_flink_scripts_find_the_roles_java_without_java_home(host) -> None:
    """A TaskManager that a Mesos executor starts has no JAVA_HOME: Flink's config.sh must find the role's Java
    through env.java.home (on flink-am the archive's Java, which is not on the PATH)."""
    java_home = parse_env_file(host.file(ENV_FILE).content_string)["JAVA_HOME"]
    script = '. /opt/flink/bin/config.sh > /dev/null; echo "JAVA_RUN=$JAVA_RUN"'
    out = host.run("runuser -u flink -- env -i PATH=/usr/bin:/bin FLINK_CONF_DIR=/etc/flink bash -c %s", script)
    assert out.rc == 0 and f"JAVA_RUN={java_home}/bin/java" in out.stdout, out.stdout + out.stderr
    if is_appmaster(host):
        assert host.run("runuser -u flink -- env -i PATH=/usr/bin:/bin bash -c 'type java'").rc != 0, "java on PATH"


def test_environment_file(host) -> None:
    env_file = host.file(ENV_FILE)
    assert env_file.mode == 0o644
    env = parse_env_file(env_file.content_string)
    assert env["FLINK_CONF_DIR"] == "/etc/flink"
    assert env["HADOOP_CLASSPATH"] == HADOOP_CLASSPATH
    assert host.file(f"{env['JAVA_HOME']}/bin/java").exists
    assert "MESOS_NATIVE_JAVA_LIBRARY" not in env, "no libmesos here: the variable must be left out"
    conf = parse_flink_conf(host.file("/etc/flink/flink-conf.yaml").content_string)
    if java_major(host) >= 17:
        for flag in ("--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED"):
            assert flag in env["JVM_ARGS"].split()
            assert flag in conf["env.java.opts"].split()


def test_hadoop_user_group_information_loads_from_the_classpath(host) -> None:
    """UGI's own main() runs only when the role's HADOOP_CLASSPATH really carries Hadoop and its dependencies.

    The classpath is Flink's lib/ (which brings slf4j) plus HADOOP_CLASSPATH, as in Flink's scripts."""
    if not is_appmaster(host):
        pytest.skip("runtime checks run on the appmaster host")
    ugi = "org.apache.hadoop.security.UserGroupInformation"
    ok = as_flink(host, f'"$JAVA_HOME/bin/java" $JVM_ARGS -cp "/opt/flink/lib/*:$HADOOP_CLASSPATH" {ugi}')
    assert ok.rc == 0, ok.stdout + ok.stderr
    assert "User: flink" in ok.stdout + ok.stderr
    # Control: the same call without HADOOP_CLASSPATH must fail, or the check above proves nothing.
    bad = as_flink(host, f'"$JAVA_HOME/bin/java" $JVM_ARGS -cp "/opt/flink/lib/*" {ugi}')
    assert bad.rc != 0
    assert "UserGroupInformation" in bad.stdout + bad.stderr


def rest_get(host, path: str) -> dict | None:
    """GET a Flink REST path on the appmaster host; None while nothing answers."""
    out = host.run("curl -fsS --max-time 2 http://127.0.0.1:8081%s", path)
    return json.loads(out.stdout) if out.rc == 0 else None


def test_jobmanager_starts_from_the_installed_tree_and_answers_rest(host) -> None:
    if not is_appmaster(host):
        pytest.skip("runtime checks run on the appmaster host")
    start = as_flink(host, "/opt/flink/bin/jobmanager.sh start")
    assert start.rc == 0, start.stdout + start.stderr
    try:
        overview = None
        deadline = time.monotonic() + 90
        while overview is None and time.monotonic() < deadline:
            overview = rest_get(host, "/overview")
            if overview is None:
                time.sleep(1)
        logs = host.run("tail -n 40 /var/log/flink/flink-flink-standalonesession-*.log").stdout
        assert overview is not None, f"no REST answer within 90 s; log:\n{logs}"
        assert overview["flink-version"] == FLINK_VERSION
        config = rest_get(host, "/config")
        assert config is not None and config["flink-version"] == FLINK_VERSION
        # The JVM runs from the installed tree, with the Java 17 flags from env.java.opts.
        ps = host.run("ps -o user=,args= -C java").stdout
        jm = [line for line in ps.splitlines() if "StandaloneSessionClusterEntrypoint" in line]
        assert jm and jm[0].split()[0] == "flink", ps
        assert "/opt/flink/lib/flink-dist_2.12-1.13.6.jar" in jm[0] or "/opt/flink-" in jm[0]
        if java_major(host) >= 17:
            assert "--add-opens=java.base/java.util=ALL-UNNAMED" in jm[0]
        # The JobManager says which JVM it runs on: the archive's Java 11 on this host.
        jvm = host.run("grep -h ' JVM: ' /var/log/flink/flink-flink-standalonesession-*.log").stdout
        assert f" - {java_major(host)}/{java_major(host)}." in jvm, jvm
        taskmanager_from_the_agent_registers(host)
    finally:
        as_flink(host, "/opt/flink/bin/jobmanager.sh stop")


def taskmanager_from_the_agent_registers(am_host) -> None:
    """A TaskManager started from the agent's install (its /etc/flink, its Java, as flink) joins the JobManager.

    Not the Mesos launch path (that needs a Mesos executor), but the same tree, user, configuration directory and
    env.java.opts that mesos-taskmanager.sh uses on an agent. The agent's own flink-conf.yaml names itself as
    JobManager and turns HA on (rendering check), so the two keys are overridden for this standalone test."""
    agent = testinfra.get_host("ansible://flink-agent", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
    start = as_flink(agent, "/opt/flink/bin/taskmanager.sh start -Djobmanager.rpc.address=flink-am "
                            "-Dhigh-availability=NONE -Dtaskmanager.memory.process.size=1024m")
    assert start.rc == 0, start.stdout + start.stderr
    try:
        managers: list = []
        deadline = time.monotonic() + 90
        while not managers and time.monotonic() < deadline:
            answer = rest_get(am_host, "/taskmanagers")
            managers = answer["taskmanagers"] if answer else []
            if not managers:
                time.sleep(1)
        logs = agent.run("tail -n 40 /var/log/flink/flink-flink-taskexecutor-*.log").stdout
        assert managers, f"no TaskManager registered within 90 s; agent log:\n{logs}"
        assert "flink-agent" in json.dumps(managers) or len(managers) == 1, managers
        ps = agent.run("ps -o user=,args= -C java").stdout
        tm = [line for line in ps.splitlines() if "TaskManagerRunner" in line]
        assert tm and tm[0].split()[0] == "flink", ps
        if java_major(agent) >= 17:
            assert "--add-opens=java.base/java.util=ALL-UNNAMED" in tm[0], "env.java.opts from /etc/flink not applied"
    finally:
        as_flink(agent, "/opt/flink/bin/taskmanager.sh stop")


def run_appmaster(host, ident: str, hadoop_classpath: str | None) -> str:
    """Start the Mesos session entrypoint the way a unit would; return its log. It cannot stay up without libmesos."""
    override = "" if hadoop_classpath is None else f"export HADOOP_CLASSPATH='{hadoop_classpath}'; "
    out = as_flink(host, f"{override}export FLINK_IDENT_STRING={ident}; /opt/flink/bin/mesos-appmaster.sh", timeout=120)
    log = host.run(f"cat /var/log/flink/flink-{ident}-mesos-appmaster-*.log").stdout
    host.run(f"rm -f /var/log/flink/flink-{ident}-mesos-appmaster-*.log")
    assert out.rc != 124, f"the appmaster did not stop within 120 s (Mesos cannot be reached here):\n{log[-3000:]}"
    return log + out.stdout + out.stderr


def test_mesos_entrypoint_gets_past_the_hadoop_classes(host) -> None:
    """With the role's environment the Mesos entrypoint loads Hadoop's UGI and stops only at the missing libmesos
    (there is no Mesos on this machine); without HADOOP_CLASSPATH it dies on UGI. Both outcomes are asserted."""
    if not is_appmaster(host):
        pytest.skip("runtime checks run on the appmaster host")
    with_role = run_appmaster(host, "verify-role", None)
    assert "NoClassDefFoundError: org/apache/hadoop" not in with_role, with_role[-3000:]
    assert "IllegalAccessError" not in with_role, "Java 17 flags missing from JVM_ARGS:\n" + with_role[-3000:]
    assert "Rest endpoint listening" in with_role, with_role[-3000:]
    assert "no mesos in java.library.path" in with_role, with_role[-3000:]
    without = run_appmaster(host, "verify-nohadoop", "")
    assert "org/apache/hadoop/security/UserGroupInformation" in without, without[-3000:]

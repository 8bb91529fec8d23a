#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Ansible module: run Flink's Mesos application master as a systemd service and prove it is ready."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: appmaster
short_description: Run a Flink 1.13 Mesos application master (session or per-job) under systemd
version_added: 0.1.0
description:
  - Installs one systemd service per instance (C(flink-appmaster-<name>.service)) that starts Flink's
    C(bin/mesos-appmaster.sh) (session) or C(bin/mesos-appmaster-job.sh) (per-job) exactly as the Flink
    documentation prescribes, with C(-Dkey=value) dynamic properties on the command line and the environment
    (C(HADOOP_CLASSPATH), C(MESOS_NATIVE_JAVA_LIBRARY), C(JVM_ARGS), C(FLINK_CONF_DIR)) in the unit.
  - The unit text is the desired state. When it differs from the installed unit (or C(flink-conf.yaml) and the
    logging files changed, recorded as a digest in the unit, or O(flink_home) now resolves to another Flink
    release, recorded as the release directory), a running instance is stopped cleanly and started again, and
    C(--diff) shows the unit before and after (framework secret masked). A unit written by an older version of
    this collection, which lacks the release line, gets the line without a restart.
  - Readiness is checked, not assumed. The process must be alive, C(GET /overview) must answer, and with
    O(wait_for=framework) the Mesos master must list an active framework with the configured name and the
    RPC address as hostname; after that the process must stay alive for O(settle) seconds (Flink 1.13 brings
    REST up and dies 0.1 s later when libmesos is missing).
  - When the appmaster does not come up, the module fails with the cause found in its log in words (missing
    Hadoop classes, missing or unloadable libmesos, Java module-access errors, port in use, Mesos master
    unreachable or registration refused, unreadable JobGraph, invalid configuration), the log file path and
    its tail; the unit is then stopped so that systemd does not restart a broken configuration in a loop
    (see O(keep_on_failure)); it stays enabled.
  - Stopping sends C(DELETE /cluster) first, so the framework unregisters from Mesos at once instead of after
    C(mesos.failover-timeout), then stops the unit. O(state=absent) also removes the unit.
  - With C(high-availability=zookeeper), before a start the module reads the FrameworkID Flink stored in ZooKeeper
    and clears it when the Mesos master has removed that framework (see RV(ha)); any other stored ID must come back
    for the appmaster to be ready.
  - Values not given as options come from C(flink-conf.yaml) in O(conf_dir); options win (they are dynamic
    properties). Inputs are validated before anything changes.
author:
  - streamops team (@streamops)
options:
  name:
    description:
      - Instance name. Several appmasters may run on one host; each has its own unit, log file
        (C(FLINK_IDENT_STRING)) and REST port.
    type: str
    default: default
  state:
    description:
      - V(started) installs the unit and makes sure the instance runs and is ready.
      - V(restarted) always stops (cleanly) and starts it again.
      - V(stopped) stops it (C(DELETE /cluster), then C(systemctl stop)) and keeps the unit.
      - V(absent) stops it and removes the unit.
    type: str
    choices: [started, stopped, restarted, absent]
    default: started
  mode:
    description: V(session) runs C(mesos-appmaster.sh); V(job) runs C(mesos-appmaster-job.sh) for one JobGraph.
    type: str
    choices: [session, job]
    default: session
  jobgraph_path:
    description:
      - Per-job mode only, and required then. Absolute path of the serialized JobGraph on the host (as written
        by the M(streamops.flink_mesos.jobgraph) module). Passed as C(-Dinternal.jobgraph-path=).
    type: path
  flink_home:
    description: Flink 1.13 installation (must contain the C(bin/mesos-*.sh) scripts).
    type: path
    default: /opt/flink
  conf_dir:
    description: C(FLINK_CONF_DIR). Defaults to C(<flink_home>/conf).
    type: path
  log_dir:
    description: C(FLINK_LOG_DIR). Defaults to C(env.log.dir) from C(flink-conf.yaml), else C(<flink_home>/log).
    type: path
  mesos_master:
    description:
      - Flink's C(mesos.master) (C(host:port), C(zk://h1:2181,h2:2181/mesos), C(file:///path)). Never a loopback
        address. Defaults to the value in C(flink-conf.yaml).
    type: str
  mesos_api_url:
    description:
      - HTTP URL of a Mesos master for O(wait_for=framework) and for checking unregistration on stop. Any master
        works (non-leaders redirect to the leader). Defaults to C(http://<mesos.master>) when mesos.master is
        C(host:port); required with O(wait_for=framework) when mesos.master is C(zk://) or C(file://).
    type: str
  rpc_address:
    description:
      - C(jobmanager.rpc.address), the host name Mesos and TaskManagers use to reach this appmaster and the
        hostname the framework registers with. Never a loopback address. Defaults to C(flink-conf.yaml).
    type: str
  rest_port:
    description: C(rest.port). Defaults to C(flink-conf.yaml), else 8081. Must be free before a start.
    type: int
  rest_url:
    description: URL used to probe the REST API from this host. Defaults to C(http://127.0.0.1:<rest port>).
    type: str
  framework:
    description: Mesos framework settings (C(mesos.resourcemanager.framework.*), C(mesos.failover-timeout)).
    type: dict
    suboptions:
      name: {description: Framework name (default C(Flink)); readiness looks for it in Mesos., type: str}
      role: {description: Mesos role., type: str}
      user: {description: User the TaskManager tasks run as on the agents., type: str}
      principal: {description: Principal for framework authentication., type: str}
      secret: {description: Secret sent with the principal. Masked in results and diffs; visible in the process list to local users., type: str}
      failover_timeout: {description: Seconds Mesos keeps the framework after the appmaster disconnects., type: int}
  properties:
    description:
      - Any other Flink configuration keys, passed as C(-Dkey=value). Values must be strings, numbers or
        booleans; a key also set by a structured option is an error.
    type: dict
    default: {}
  environment_files:
    description:
      - Environment files on the host (C(KEY=value) lines, e.g. the flink role's C(flink_appmaster_env_file)).
        They are read and merged into the unit; the explicit options above and O(environment) win.
    type: list
    elements: path
    default: []
  environment:
    description: Extra environment variables (e.g. C(LIBPROCESS_IP), C(JAVA_HOME)).
    type: dict
    default: {}
  user:
    description: System user the appmaster runs as.
    type: str
    default: flink
  group:
    description: Group of the process; defaults to the user's primary group.
    type: str
  working_dir:
    description: Working directory of the process (a relative C(jobgraph_path) in Flink resolves against it).
    type: path
  wait_for:
    description:
      - V(none) returns after starting; V(process) requires the process alive; V(rest) also C(/overview);
        V(framework) also the framework registered in Mesos. Each held for O(settle) seconds.
      - With ZooKeeper HA, V(framework) also requires a leader published in ZooKeeper (RV(ha.leader_rest_address))
        and, after a start that kept a stored FrameworkID, that framework and the TaskManagers it had.
    type: str
    choices: [none, process, rest, framework]
    default: rest
  timeout:
    description: Seconds to wait for readiness (and for a clean stop).
    type: int
    default: 180
  settle:
    description: Seconds the process must stay alive after reaching O(wait_for) before it counts as ready.
    type: float
    default: 3.0
  keep_on_failure:
    description: Leave the unit running (restarting) when the appmaster does not become ready.
    type: bool
    default: false
  remove_ha_state:
    description:
      - With O(state=absent) only. After the appmaster is stopped and its unit removed, also remove this cluster's
        ZooKeeper HA state (the znode C(<high-availability.zookeeper.path.root><high-availability.cluster-id>) and
        everything under it, i.e. leader, job graphs, checkpoints and the stored FrameworkID) and, when
        C(high-availability.storageDir) is a local path (C(file://)), the cluster's directory under it. Jobs of this
        cluster that were still running are NOT recovered by a later start.
      - Never touches another cluster's state; a cluster-id of C(/) (the shared root) is refused. HA settings are
        read from C(flink-conf.yaml) in O(conf_dir) and O(properties). Storage on HDFS or S3 is reported, not
        removed.
      - Removal needs the cluster's framework gone from Mesos (unregistered or torn down). TaskManagers of a
        framework that is still registered keep running, and their ZooKeeper clients re-create the cluster's znode.
        So the module reads the stored FrameworkID first and asks the Mesos master (O(mesos_api_url), else derived
        from C(mesos.master)); while the master still lists that framework, or cannot be asked, the task fails and
        nothing is removed. A clean stop (C(DELETE /cluster)) unregisters the framework, so the usual run passes.
    type: bool
    default: false
  supervisor:
    description:
      - V(systemd) runs the appmaster as a systemd service on this host.
      - V(marathon) runs it as a Marathon app (one instance) on an agent Marathon picks, as Flink's Mesos page
        recommends. The app is rendered from the same inputs (C(cmd) is the command line the unit would run, C(env)
        its environment, C(mem) covers C(jobmanager.memory.process.size), an HTTP health check on the REST port) and
        PUT only when Marathon's app differs (see O(marathon)). Readiness is judged the same way, on the agent
        Marathon placed the task on; the task must stay the same Marathon task during the settle time.
      - V(marathon) needs ZooKeeper HA in the configuration (each Marathon restart otherwise registers a new framework
        and orphans the TaskManagers of the old one), session mode, and the same Flink layout (O(flink_home),
        O(conf_dir), environment files, the user) on every agent, as the roles install it. O(rpc_address) and
        O(rest_url) are refused with it.
      - Stopping under Marathon scales the app to 0 (V(stopped)) or deletes it (V(absent)); Marathon ends the JVM with
        a signal, on which Flink keeps its framework registered, so the module then tears that framework down in the
        Mesos master (RV(framework_torn_down)). The jobs stay in ZooKeeper HA and a later start recovers them (the
        module clears the torn-down FrameworkID first).
    type: str
    choices: [systemd, marathon]
    default: systemd
  marathon:
    description: Where and how to run the Marathon app. Required with O(supervisor=marathon).
    type: dict
    suboptions:
      url:
        description: Marathon's base URL, e.g. C(http://marathon.example:8080).
        type: str
        required: true
      app_id:
        description: The app's ID. Defaults to C(/flink/<name>) (lower case, C(_) as C(-)).
        type: str
      cpus:
        description: CPUs of the appmaster task.
        type: float
        default: 1.0
      mem:
        description:
          - MiB of the appmaster task. V(0) means C(jobmanager.memory.process.size) rounded up; a smaller value is
            refused.
        type: int
        default: 0
      constraints:
        description: Marathon placement constraints, e.g. C([[hostname, CLUSTER, agent-1]]).
        type: list
        elements: list
        default: []
      health_check:
        description:
          - Keys that override the health check (Flink's docs use C(protocol=HTTP), C(path=/), C(port)= the REST port,
            C(gracePeriodSeconds=300), C(intervalSeconds=60), C(timeoutSeconds=20), C(maxConsecutiveFailures=3)). The
            grace period must cover the start and a ZooKeeper leader election (REST answers 503 until then).
        type: dict
        default: {}
      app:
        description: More app keys (e.g. C(labels), C(fetch)), merged last.
        type: dict
        default: {}
      force:
        description: Pass C(?force=true) to override a deployment that locks the app.
        type: bool
        default: false
      storage_shared:
        description:
          - Say that a local C(high-availability.storageDir) (C(file://)) is one file system mounted on every agent.
            Without it (or a C(hostname CLUSTER) constraint that pins the app to one agent) local HA storage is
            refused, because Marathon may restart the appmaster on an agent that lacks what it wrote.
          - O(remove_ha_state) removes local HA storage only on the host the module runs on.
        type: bool
        default: false
      url_username:
        description: User for HTTP basic authentication to Marathon (C(--http_credentials)).
        type: str
      url_password:
        description: Its password.
        type: str
      force_basic_auth:
        description: Send the credentials with the first request instead of after a 401 challenge.
        type: bool
        default: false
      validate_certs:
        description: Verify Marathon's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: CA bundle that signed Marathon's certificate.
        type: path
extends_documentation_fragment:
  - streamops.flink_mesos.http_client
attributes:
  check_mode:
    support: full
    description: Reports whether the unit would change and whether the instance would be started or stopped.
  diff_mode:
    support: full
    description: Shows the unit file before and after, with the framework secret masked.
requirements:
  - systemd on the target host
  - Flink 1.13 (the last release with Mesos support), Java, the Hadoop classes and libmesos on the host
notes:
  - Only JVM_ARGS reaches the appmaster JVM; JobManager memory comes from C(flink-conf.yaml) only.
  - Without libmesos the appmaster cannot register with Mesos; the module then fails naming the library.
seealso:
  - module: streamops.flink_mesos.flink_info
  - module: streamops.flink_mesos.mesos_info
  - module: streamops.flink_mesos.jobgraph
"""

EXAMPLES = r"""
- name: Run a Flink session cluster on Mesos
  streamops.flink_mesos.appmaster:
    name: session
    flink_home: /opt/flink
    conf_dir: /etc/flink
    environment_files: [/etc/flink/appmaster.env]
    mesos_master: zk://zk1:2181,zk2:2181,zk3:2181/mesos
    mesos_api_url: http://master1:5050
    rpc_address: "{{ inventory_hostname }}"
    rest_port: 8081
    framework:
      name: flink-session
      principal: flink
      secret: "{{ vault_flink_secret }}"
    properties:
      taskmanager.numberOfTaskSlots: 4
      mesos.resourcemanager.tasks.cpus: 2.0
    wait_for: framework

- name: Run one job as a per-job cluster
  streamops.flink_mesos.appmaster:
    name: wordcount
    mode: job
    jobgraph_path: /var/lib/flink/jobs/wordcount.graph
    rest_port: 8082
    framework:
      name: flink-wordcount

- name: Stop the session (unregisters the framework from Mesos) and remove its unit
  streamops.flink_mesos.appmaster:
    name: session
    state: absent
"""

RETURN = r"""
unit:
  description: Name of the systemd unit.
  returned: always
  type: str
  sample: flink-appmaster-session.service
pid:
  description: PID of the appmaster JVM (child of the script), when running.
  returned: always
  type: int
  sample: 4242
main_pid:
  description: PID of the unit's main process (the Flink script), when running.
  returned: always
  type: int
command:
  description: The command line of the unit, framework secret masked.
  returned: always
  type: list
  elements: str
  sample: [/opt/flink/bin/mesos-appmaster.sh, -Dmesos.master=master1:5050]
environment:
  description: The environment set in the unit.
  returned: always
  type: dict
rest_url:
  description: URL the REST API was probed at.
  returned: always
  type: str
  sample: http://127.0.0.1:8081
overview:
  description: Flink's C(/overview) answer once ready.
  returned: when REST answered
  type: dict
framework_id:
  description: Mesos framework id of this appmaster.
  returned: when O(wait_for=framework) and registered
  type: str
ha:
  description:
    - ZooKeeper high availability of this cluster, when its configuration has C(high-availability=zookeeper).
    - Before it starts an appmaster the module reads the FrameworkID Flink stored in ZooKeeper and asks the Mesos
      master about it. An ID the master lists as completed (removed by its failover timeout or a teardown) is
      cleared, with a warning; Mesos would refuse it with C(Framework has been removed) and the appmaster would
      crash-loop. Any other stored ID is kept, and the appmaster is ready only once it re-registered with that ID.
  returned: when the configuration has HA on and O(state) is not V(stopped) or V(absent); the stored-ID keys only
    when the module started the appmaster (or, in check mode, would have)
  type: dict
  contains:
    quorum:
      description: C(high-availability.zookeeper.quorum).
      type: str
    cluster_path:
      description: The znode of this cluster's HA state (path root plus cluster-id).
      type: str
    framework_id_path:
      description: The znode holding the stored FrameworkID.
      type: str
      sample: /flink/flink-ha-scenario/mesos-workers/frameworkId
    stored_framework_id:
      description: The FrameworkID found there before the start (null when none).
      type: str
    stored_framework_state:
      description: What the master said about it.
      type: str
      choices: [none, active, removed, unknown, not_checked]
    cleared:
      description: Whether the module cleared the stored ID (never in check mode).
      type: bool
    message:
      description: The decision in words.
      type: str
    expected_taskmanagers:
      description:
        - With a kept stored ID, the number of workers Flink had stored in ZooKeeper; the appmaster is ready only
          once that many TaskManagers are registered (0 when no ID was kept).
      type: int
    registered_framework_id:
      description: Set when the appmaster registered a framework other than the stored one (the task then fails).
      type: str
    leader_rest_address:
      description:
        - With O(wait_for=framework), the REST address of the cluster's leading JobManager, read from the leader
          znode Flink writes (C(<root><cluster-id>/leader/rest_server_lock)). A ready appmaster always has one
          (readiness waits for it); null when readiness timed out before one was published.
      type: str
      sample: http://am-1:8081
ha_removed:
  description: What O(remove_ha_state) removed (in check mode, would remove).
  returned: when O(state=absent) and O(remove_ha_state=true)
  type: dict
  contains:
    cluster_path:
      description: The cluster's znode.
      type: str
    znodes_removed:
      description: Number of znodes removed (found, in check mode).
      type: int
    storage_path:
      description: The cluster's local HA storage directory; null when the storage is not a local path.
      type: str
    storage_removed:
      description: Whether that directory existed and was removed (would be, in check mode).
      type: bool
    message:
      description: What was done, in words.
      type: str
log_file:
  description: The appmaster log file.
  returned: always
  type: str
  sample: /var/log/flink/flink-session-mesos-appmaster-am1.log
cause:
  description: Why the appmaster did not come up, in words (also in C(msg)).
  returned: failure
  type: str
cause_id:
  description: Stable id of the cause (hadoop_missing, libmesos_missing, libmesos_unloadable, java_module_access,
    port_in_use, jobgraph_unreadable, mesos_registration_refused, mesos_unreachable, bad_configuration, timeout,
    ha_new_framework, ha_taskmanagers_missing, ha_no_leader, unknown).
  returned: failure
  type: str
log_tail:
  description: Last lines of the appmaster log.
  returned: failure
  type: list
  elements: str
rest_answer:
  description: First HTTP answer of the REST endpoint (e.g. C(HTTP 503 ... leader election)), evidence the JVM got that far.
  returned: when REST answered
  type: str
flink_version:
  description: Version from the JVM's startup banner in its log.
  returned: failure
  type: str
  sample: 1.13.6
rest_endpoint_started:
  description: Whether the log shows "Rest endpoint listening at".
  returned: failure
  type: bool
readiness:
  description: What readiness saw (reason, seconds to REST, seconds to exit, events).
  returned: when the instance was started or checked
  type: dict
marathon:
  description: With O(supervisor=marathon), the app and where its task runs.
  returned: with O(supervisor=marathon)
  type: dict
  contains:
    app_id:
      description: The app's ID.
      type: str
    url:
      description: The app's URL in Marathon's API.
      type: str
    deployment_id:
      description: The deployment the module started (PUT or DELETE), if any.
      type: str
    version:
      description: The app version Marathon answered the PUT with.
      type: str
    task_id:
      description: The Marathon task the appmaster runs in.
      type: str
    host:
      description: The agent host of that task (the REST API is at this host and the rest port).
      type: str
    tasks_running:
      description: Marathon's C(tasksRunning) of the app after readiness.
      type: int
    tasks_healthy:
      description: Marathon's C(tasksHealthy) then (0 until the first health check after the grace period).
      type: int
  sample:
    app_id: /flink/session
    url: http://marathon:8080/v2/apps/flink/session
    task_id: flink_session.6f5e0c1a
    host: agent-1
framework_torn_down:
  description: With O(supervisor=marathon), the ID of the framework the module tore down after Marathon ended the JVM.
  returned: when a stop under Marathon left the framework registered
  type: str
  sample: 7d9d0c6a-0000-4b7f-9d50-2a1f5c0c2b11-0003
framework_unregistered:
  description:
    - Whether the master stopped listing the framework after a stop (it is among the completed frameworks); only
      checked when a Mesos API URL is known. False when it stays listed as inactive, i.e. within its failover timeout
      (the appmaster ended on a signal instead of C(DELETE /cluster)).
  returned: when stopped
  type: bool
"""

import os
import pwd
import shutil
import socket
import stat
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.streamops.flink_mesos.plugins.module_utils import appmaster_spec as spec
from ansible_collections.streamops.flink_mesos.plugins.module_utils import flink_logs, ha, marathon, readiness, rest
from ansible_collections.streamops.flink_mesos.plugins.module_utils import zookeeper

UNIT_DIR = "/etc/systemd/system"


def read_text(path: str) -> Optional[str]:
    """File content or None when missing: the caller decides whether absence is an error."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_bytes(path: str) -> bytes:
    """File content as bytes, empty when missing (for digests)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def read_tail(path: str, size: int) -> str:
    """The last ``size`` bytes of a file as text ('' when missing)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def port_busy(host: str, port: int) -> bool:
    """True when something already accepts connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def unit_file_mode(secrets: List[str]) -> int:
    """0600 when the unit holds the framework secret (it is on the command line in the unit), else 0644."""
    return 0o600 if secrets else 0o644


def install_file(module: AnsibleModule, path: str, text: str, mode: int) -> None:
    """Replace ``path`` with ``text`` atomically, the file never readable beyond ``mode``.

    Written next to the destination (same file system), then moved with module.atomic_move, which keeps the
    SELinux context right. A umask of 077 around the move keeps a newly created file private until its final
    mode is set, so a unit holding the secret is never world-readable, not even for an instant. An existing
    destination is first narrowed to ``mode``: ansible-core before 2.17 has no ``keep_dest_attrs`` and always copies the old
    file's mode onto the new one, which must then already be the final mode.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        if os.path.exists(path):
            # Never loosen the old file (it may hold the secret): only drop the bits ``mode`` does not grant.
            os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) & mode)
        old_umask = os.umask(0o077)
        try:
            module.atomic_move(tmp, path)
        finally:
            os.umask(old_umask)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    os.chmod(path, mode)


def java_child(main_pid: int) -> Optional[int]:
    """The JVM the script started (the script does not exec, so the JVM is a child of the unit's main PID)."""
    if main_pid <= 0:
        return None
    try:
        with open(f"/proc/{main_pid}/task/{main_pid}/children", encoding="ascii") as fh:
            children = [int(p) for p in fh.read().split()]
    except OSError:
        return None
    # Before the JVM, the script forks subshells (classpath construction); only the java child counts.
    for pid in children:
        try:
            with open(f"/proc/{pid}/comm", encoding="ascii") as fh:
                if fh.read().strip() == "java":
                    return pid
        except OSError:
            continue
    return None


def process_alive(pid_before: int, main_pid_now: int) -> bool:
    """Whether the unit's main process seen before a stop request still runs: same MainPID and still in /proc.

    Why not the unit's ActiveState: between the process's exit and a restart systemd scheduled, the unit is
    'activating (auto-restart)', and a later MainPID is another process.
    """
    return pid_before > 0 and main_pid_now == pid_before and os.path.exists(f"/proc/{pid_before}")


class Systemd:
    """Thin wrapper around systemctl/journalctl so the manager reads like the decisions it makes."""

    def __init__(self, module: AnsibleModule, unit: str) -> None:
        self.module = module
        self.unit = unit
        self.systemctl = module.get_bin_path("systemctl", required=True)

    def run(self, *args: str, check: bool = True) -> str:
        rc, out, err = self.module.run_command([self.systemctl] + list(args))
        if check and rc != 0:
            self.module.fail_json(msg=f"systemctl {' '.join(args)} failed: {err.strip() or out.strip()}", unit=self.unit)
        return out

    def show(self) -> Dict[str, str]:
        out = self.run("show", self.unit, "-p", "ActiveState,SubState,MainPID,UnitFileState,LoadState", check=False)
        props = {}
        for line in out.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                props[k] = v
        return props

    def running(self) -> bool:
        return self.show().get("ActiveState") in ("active", "activating", "reloading")

    def main_pid(self) -> int:
        try:
            return int(self.show().get("MainPID", "0"))
        except ValueError:
            return 0

    def journal(self, lines: int = 30) -> str:
        journalctl = self.module.get_bin_path("journalctl")
        if not journalctl:
            return ""
        out = self.module.run_command([journalctl, "-u", self.unit, "-n", str(lines), "--no-pager", "-o", "cat"])[1]
        return out


# Mesos task states after which a task's process is gone (mesos.proto TaskState).
MESOS_TERMINAL_TASK_STATES = frozenset({"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST",
                                        "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR"})


class AppmasterManager:
    """Reads the current state, computes the desired unit, acts outside check mode, and judges readiness."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params
        self.name = self.p["name"]
        self.unit = spec.unit_name(self.name)
        self.unit_path = os.path.join(UNIT_DIR, self.unit)
        self.result: Dict[str, Any] = {"changed": False, "unit": self.unit, "pid": None, "main_pid": None}
        self.files_changed = False
        self.unit_rewritten = False
        self.http = rest.HttpOptions.from_params(self.p)

    # ---- preparation (pure decisions on data read from the host) ----
    def prepare(self) -> None:
        p = self.p
        try:
            spec.validate_instance(self.name)
            if p["remove_ha_state"] and p["state"] != "absent":
                raise spec.SpecError(f"remove_ha_state: only valid with state=absent (got state={p['state']}). "
                                     "Remove the option or set state: absent.")
            if p["state"] in ("stopped", "absent"):
                self.prepare_for_stop()
                return
            if p["mode"] == "job":
                if not p.get("jobgraph_path"):
                    raise spec.SpecError("jobgraph_path: required with mode=job. Set it to the JobGraph file "
                                         "written by the jobgraph module.")
                if not os.path.isfile(p["jobgraph_path"]) or not os.access(p["jobgraph_path"], os.R_OK):
                    raise spec.SpecError(f"jobgraph_path: {p['jobgraph_path']} does not exist or is not readable. "
                                         "Build it first (streamops.flink_mesos.jobgraph).")
            elif p.get("jobgraph_path"):
                raise spec.SpecError("jobgraph_path: only valid with mode=job. Remove it or set mode: job.")
            spec.check_flink_home(p["flink_home"], p["mode"], os.path.exists)
            try:
                pwd.getpwnam(p["user"])
            except KeyError:
                raise spec.SpecError(f"user: the user '{p['user']}' does not exist on this host. Create it (the "
                                     "flink role creates 'flink') or set user.") from None
            self.conf_dir = p.get("conf_dir") or os.path.join(p["flink_home"], "conf")
            conf_path = os.path.join(self.conf_dir, "flink-conf.yaml")
            conf_text = read_text(conf_path)
            if conf_text is None:
                raise spec.SpecError(f"conf_dir: {conf_path} does not exist. Point conf_dir at the directory "
                                     "holding flink-conf.yaml (the flink role's flink_conf_dir fact).")
            file_env: Dict[str, str] = {}
            for env_file in p["environment_files"]:
                text = read_text(env_file)
                if text is None:
                    raise spec.SpecError(f"environment_files: {env_file} does not exist. Run the flink role first "
                                         "or remove it from environment_files.")
                file_env.update(spec.parse_env_file(text))
            self.props = spec.dynamic_properties(p)
            conf = spec.parse_flink_conf(conf_text)
            eff = spec.effective_config(conf, self.props)
            self.log_dir = p.get("log_dir") or eff.get("env.log.dir") or os.path.join(p["flink_home"], "log")
            self.env = spec.build_environment(p, file_env, self.conf_dir, self.log_dir)
            spec.validate_master(eff.get("mesos.master", ""),
                                 "mesos_master" if p.get("mesos_master") else "mesos_master (mesos.master in flink-conf.yaml)")
            spec.validate_rpc_address(eff.get("jobmanager.rpc.address", ""),
                                      "rpc_address" if p.get("rpc_address") else "rpc_address (jobmanager.rpc.address in flink-conf.yaml)")
            lib = self.env.get("MESOS_NATIVE_JAVA_LIBRARY")
            if lib and not os.path.isfile(lib):
                raise spec.SpecError(f"environment: MESOS_NATIVE_JAVA_LIBRARY={lib} does not exist. Set it (in "
                                     "environment_files or environment) to the libmesos.so of the Mesos installation "
                                     "on this host (the mesos role's mesos_native_library fact), or leave it out to "
                                     "use java.library.path.")
            if not os.path.isdir(self.log_dir):
                raise spec.SpecError(f"log_dir: {self.log_dir} does not exist. Create it (the flink role creates "
                                     "flink_log_dir) or set log_dir.")
            try:
                self.ha = ha.settings(eff)
            except ValueError as exc:
                raise spec.SpecError(str(exc)) from None
            self.expected_framework_id: Optional[str] = None
            if self.ha is not None:
                self.result["ha"] = ha.describe(self.ha)
            self.eff = eff
            self.rest_port = int(eff.get("rest.port", "8081"))
            self.rest_url = (p.get("rest_url") or f"http://127.0.0.1:{self.rest_port}").rstrip("/")
            self.framework_name = eff.get("mesos.resourcemanager.framework.name", "Flink")
            self.rpc_address = eff["jobmanager.rpc.address"]
            self.mesos_api = p.get("mesos_api_url") or rest.mesos_api_from_master(eff["mesos.master"])
            if p["wait_for"] == "framework" and not self.mesos_api:
                raise spec.SpecError("mesos_api_url: required with wait_for=framework when mesos.master is "
                                     f"'{eff['mesos.master']}'. Set it to http://<any master>:5050.")
            digest = spec.config_digest(
                (f, read_bytes(os.path.join(self.conf_dir, f))) for f in ("flink-conf.yaml", "log4j.properties")
            )
            self.argv = spec.command_line(p["flink_home"], p["mode"], self.props)
            self.secrets = spec.secret_values(self.props)
            self.log_file = spec.log_file(self.log_dir, self.name, socket.gethostname())
            self.desired = spec.render_unit(self.name, p["mode"], self.argv, self.env, p["user"],
                                            p.get("group") or None, p.get("working_dir"), digest,
                                            release=os.path.realpath(p["flink_home"]))
            self.result.update(
                command=spec.mask_argv(self.argv, spec.SECRET_KEYS),
                environment=self.env,
                rest_url=self.rest_url,
                log_file=self.log_file,
            )
            if p["supervisor"] == "marathon":
                self.prepare_marathon(eff)
        except spec.SpecError as exc:
            self.module.fail_json(msg=str(exc), **self.result)

    def prepare_for_stop(self) -> None:
        """Stopping needs only the REST URL of the running instance, read back from the installed unit."""
        self.rest_port = self.p.get("rest_port") or 8081
        # flink-conf.yaml (with the properties), read once: HA removal and a Marathon stop take their settings from it.
        conf_dir = self.p.get("conf_dir") or os.path.join(self.p["flink_home"], "conf")
        conf_text = read_text(os.path.join(conf_dir, "flink-conf.yaml"))
        eff = spec.effective_config(spec.parse_flink_conf(conf_text or ""), spec.dynamic_properties(self.p))
        # The master to ask about the stopped cluster's framework when the running appmaster cannot tell.
        self.conf_mesos_api = self.p.get("mesos_api_url") or rest.mesos_api_from_master(eff.get("mesos.master", ""))
        if self.p["supervisor"] == "marathon":
            self.prepare_marathon_stop(eff)
        current = read_text(self.unit_path) or ""
        for word in current.split():
            if word.startswith('"-Drest.port='):
                self.rest_port = int(word.strip('"').split("=", 1)[1])
        self.rest_url = (self.p.get("rest_url") or f"http://127.0.0.1:{self.rest_port}").rstrip("/")
        self.mesos_api = self.p.get("mesos_api_url")
        self.result.update(rest_url=self.rest_url)
        self.ha_removal = None
        if self.p["remove_ha_state"]:
            if conf_text is None:
                raise spec.SpecError(f"remove_ha_state: {conf_dir}/flink-conf.yaml does not exist, so this cluster's "
                                     "HA settings are unknown. Point conf_dir at it; nothing was removed.")
            try:
                settings = ha.settings(eff)
            except ValueError as exc:
                raise spec.SpecError(f"remove_ha_state: {exc}") from None
            if settings is None:
                raise spec.SpecError("remove_ha_state: this cluster's configuration has no ZooKeeper HA "
                                     "(high-availability is not zookeeper), so it has no HA state to remove. Remove "
                                     "the option.")
            problem = ha.removal_problem(settings)
            if problem:
                raise spec.SpecError(problem)
            self.ha_removal = (settings, ha.local_storage_path(eff.get("high-availability.storageDir", ""),
                                                               settings.cluster_id))

    def marathon_settings(self) -> Dict[str, Any]:
        """The marathon options (required with supervisor=marathon), the client and the app ID they name."""
        m = self.p.get("marathon")
        if not m:
            raise spec.SpecError("marathon: required with supervisor=marathon. Give at least marathon.url, e.g. "
                                 "http://marathon.example:8080.")
        try:
            url = marathon.validate_marathon_url(m["url"])
            raw_id = m.get("app_id") or "/flink/" + self.name.lower().replace("_", "-")
            self.app_id = marathon.normalize_app_id(raw_id, "marathon.app_id")
        except ValueError as exc:
            raise spec.SpecError(str(exc).replace("marathon_url", "marathon.url", 1)) from None
        http = rest.HttpOptions(validate_certs=m["validate_certs"], ca_path=m.get("ca_path"),
                                url_username=m.get("url_username"), url_password=m.get("url_password"),
                                force_basic_auth=m["force_basic_auth"])
        self.marathon = marathon.MarathonClient(url, http=http, timeout=30.0)
        self.result["marathon"] = {"app_id": self.app_id, "url": self.marathon.app_url(self.app_id)}
        return m

    def prepare_marathon(self, eff: Dict[str, str]) -> None:
        """Supervisor Marathon: the same command line and environment, rendered as the Flink docs' Marathon app."""
        p = self.p
        if p["mode"] != "session":
            raise spec.SpecError("supervisor: marathon runs session clusters only; a per-job cluster's JobGraph file "
                                 "is on this host, not on the agent Marathon picks. Use supervisor: systemd.")
        not_used = (
            ("rpc_address", "jobmanager.rpc.address comes from flink-conf.yaml on the agent Marathon picks (the flink "
             "role writes each host's own name there)"),
            ("rest_url", "the REST API is probed on the agent Marathon picks, at its rest port"),
        )
        for option, why in not_used:
            if p.get(option):
                raise spec.SpecError(f"{option}: not used with supervisor=marathon: {why}. Remove {option}.")
        if self.ha is None:
            raise spec.SpecError(
                "supervisor: marathon needs ZooKeeper HA (high-availability: zookeeper in flink-conf.yaml). Marathon "
                "restarts a failed appmaster, and without HA each restart registers a new framework and leaves the "
                "TaskManagers and jobs of the old one behind. Set flink_ha_enabled: true (flink role) or use "
                "supervisor: systemd.")
        m = self.marathon_settings()
        storage = eff.get("high-availability.storageDir", "")
        pinned = any([str(x) for x in list(c)[:2]] == ["hostname", "CLUSTER"] for c in m["constraints"])
        if ha.local_storage_path(storage, self.ha.cluster_id) and not (pinned or m["storage_shared"]):
            raise spec.SpecError(
                f"high-availability.storageDir: '{storage}' is a path on the local file system, and Marathon may restart "
                "the appmaster on another agent, where the job graphs and checkpoint metadata it wrote are missing. Use "
                "storage every agent reaches (hdfs://, s3:// with a plugin), or a mount shared by every agent and say so "
                "with marathon.storage_shared: true, or pin the app to one agent with marathon.constraints "
                "[[hostname, CLUSTER, <agent>]].")
        key = "jobmanager.memory.process.size"
        needed = spec.memory_mib(eff.get(key, "1600m"), key)
        if m["mem"] and m["mem"] < needed:
            raise spec.SpecError(f"marathon.mem: {m['mem']} MiB is less than {key} ({eff.get(key, '1600m')} = {needed} "
                                 f"MiB), so Mesos would kill the appmaster for using its own heap. Set marathon.mem to "
                                 f"at least {needed} or leave it 0 (= {needed}).")
        if m["cpus"] <= 0:
            raise spec.SpecError(f"marathon.cpus: {m['cpus']} must be more than 0 (the Flink docs' app uses 1.0).")
        self.app = spec.marathon_app(self.app_id, self.argv, self.env, p["user"], self.rest_port, m["cpus"],
                                     m["mem"] or needed, m["constraints"], m["health_check"], m["app"])
        problems = marathon.validate_app(self.app)
        if problems:
            raise spec.SpecError("marathon: the rendered app is not valid: " + " ".join(problems))
        self.result["rest_url"] = None  # known once Marathon has placed the task
        self.result.pop("log_file", None)  # on the agent Marathon picks, not on this host

    def prepare_marathon_stop(self, eff: Dict[str, str]) -> None:
        """Supervisor Marathon, stopping: the app, and from flink-conf.yaml the REST port and framework name."""
        self.marathon_settings()
        self.rest_port = self.p.get("rest_port") or int(eff.get("rest.port", "8081"))
        self.framework_name = eff.get("mesos.resourcemanager.framework.name", "Flink")

    # ---- actions ----
    def write_unit(self, sd: Systemd) -> None:
        current = read_text(self.unit_path)
        if current == self.desired:
            return
        self.files_changed = spec.change_needs_restart(current, self.desired)
        self.unit_rewritten = True
        self.result["changed"] = True
        if self.module._diff:
            self.result["diff"] = spec.unit_diff(current, self.desired, self.unit_path, self.secrets)
        if self.module.check_mode:
            return
        install_file(self.module, self.unit_path, self.desired, unit_file_mode(self.secrets))
        sd.run("daemon-reload")

    def graceful_stop(self, sd: Systemd) -> None:
        """DELETE /cluster so Flink unregisters the framework, wait for the exit, then stop the unit."""
        framework = None
        self.learn_running_config()
        if self.mesos_api:
            framework = self.current_framework()
        main_pid = sd.main_pid()
        try:
            rest.request_json(f"{self.rest_url}/cluster", method="DELETE", timeout=5, http=self.http)
            deadline = time.monotonic() + self.p["timeout"]
            # Wait for THIS process to end, not for the unit to be inactive: with ZooKeeper HA Flink 1.13 exits 2
            # after a clean shutdown (its Mesos services fail to delete znodes its HA services already removed), so
            # systemd schedules a restart (Restart=on-failure), and a restarted appmaster registers a new framework
            # and runs the job again. The stop below cancels that scheduled restart.
            while time.monotonic() < deadline and process_alive(main_pid, sd.main_pid()):
                time.sleep(0.5)
        except rest.HttpError:
            pass  # Not answering: nothing to unregister through REST; systemctl stop below ends it.
        sd.run("stop", self.unit)
        sd.run("reset-failed", self.unit, check=False)
        if framework is not None:
            self.result["framework_unregistered"] = self.wait_unregistered(framework.get("id"))

    def learn_running_config(self) -> None:
        """Ask the running cluster for its framework name, RPC address and master (GET /jobmanager/config).

        On stop the options may be minimal (name + state), yet the unregistration check needs these values.
        """
        try:
            items = rest.get_json(f"{self.rest_url}/jobmanager/config", timeout=3, http=self.http) or []
        except rest.HttpError:
            return
        conf = {i.get("key"): i.get("value") for i in items if isinstance(i, dict)}
        if not getattr(self, "framework_name", None):
            self.framework_name = conf.get("mesos.resourcemanager.framework.name", "Flink")
        if not getattr(self, "rpc_address", None):
            self.rpc_address = conf.get("jobmanager.rpc.address")
        if not self.mesos_api and conf.get("mesos.master"):
            self.mesos_api = rest.mesos_api_from_master(conf["mesos.master"])

    def current_framework(self) -> Optional[Dict[str, Any]]:
        name = getattr(self, "framework_name", None)
        if name is None:
            return None
        framework = rest.active_framework(self.mesos_api, name, getattr(self, "rpc_address", None), timeout=3,
                                          http=self.http)
        expected = getattr(self, "expected_framework_id", None)
        if framework and expected and framework.get("id") != expected:
            # HA restart: a framework under a NEW id means Flink lost its state; not the cluster it had.
            self.result["ha"]["registered_framework_id"] = framework.get("id")
            return None
        return framework

    def check_stored_framework(self) -> None:
        """Before a start with ZooKeeper HA: clear a stored FrameworkID the Mesos master has removed, else expect it.

        Reads ZooKeeper and the master only; writes (an empty FrameworkID, as Flink itself writes for "none")
        only outside check mode and only for an ID the master lists as completed. ZooKeeper not answering fails
        the task before the start: an HA appmaster cannot lead without it.
        """
        settings = self.ha
        try:
            with zookeeper.Client(settings.quorum, timeout=5.0) as zk:
                stored = ha.decode_framework_id(zk.get(settings.framework_id_path))
                frameworks = None
                if stored and self.mesos_api:
                    try:
                        frameworks = rest.get_json(f"{self.mesos_api}/master/frameworks", timeout=5, http=self.http)
                    except rest.HttpError:
                        frameworks = None
                state = ha.stored_id_state(stored, frameworks)
                cleared = False
                if ha.should_clear(state) and not self.module.check_mode:
                    cleared = zk.set(settings.framework_id_path, b"")
                # The TaskManagers the cluster had: they must be back before a restart with the same ID is ready.
                workers = 0 if ha.should_clear(state) or not stored else len(zk.children(settings.workers_path) or [])
        except (zookeeper.ZooKeeperError, OSError, ValueError) as exc:
            self.module.fail_json(
                msg=f"high-availability.zookeeper.quorum: could not read {settings.framework_id_path} from ZooKeeper "
                f"at {settings.quorum}: {exc}. Start the ensemble (the zookeeper role) or correct the quorum "
                "(flink_ha_zookeeper_quorum); nothing was started.", **self.result)
        message = ha.explain(settings, stored, state, cleared, self.module.check_mode)
        self.result["ha"].update(ha.decision(stored, state, cleared, message))
        self.expected_framework_id = ha.expected_framework_id(stored, state, cleared)
        self.expected_workers = workers if self.expected_framework_id else 0
        self.result["ha"]["expected_taskmanagers"] = self.expected_workers
        if ha.should_clear(state):
            self.module.warn(message)

    def wait_unregistered(self, framework_id: Optional[str]) -> bool:
        """Whether the master no longer lists the framework (it is among the completed ones, or forgotten).

        An inactive framework that is still listed is only disconnected: Mesos keeps it, and its tasks, for its
        failover timeout, and a scheduler may re-register with its ID. That is not unregistered.
        """
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                data = rest.get_json(f"{self.mesos_api}/master/frameworks", timeout=3, http=self.http)
                if ha.stored_id_state(framework_id or "", data) in (ha.REMOVED, ha.UNKNOWN):
                    return True
            except rest.HttpError:
                pass
            time.sleep(1)
        return False

    def remove_ha_state(self) -> None:
        """Remove this cluster's znode tree and local HA storage (after the stop, so Flink cannot write them again)."""
        settings, storage = self.ha_removal
        check = self.module.check_mode
        try:
            with zookeeper.Client(settings.quorum, timeout=5.0) as zk:
                self.refuse_removal_while_registered(zk, settings)
                found = 0 if not zk.exists(settings.cluster_path) else (
                    self.count_tree(zk, settings.cluster_path) if check else zk.delete_tree(settings.cluster_path))
        except (zookeeper.ZooKeeperError, OSError, ValueError) as exc:
            self.module.fail_json(
                msg=f"remove_ha_state: could not remove {settings.cluster_path} from ZooKeeper at {settings.quorum}: "
                f"{exc}. The appmaster is stopped; start the ensemble and run again.", **self.result)
        stored = bool(storage) and os.path.isdir(storage)
        if stored and not check:
            shutil.rmtree(storage)
        verb = "would remove" if check else "removed"
        where = (f"{storage} {'(' + verb + ')' if stored else '(not present)'}" if storage
                 else "storage not on this host's file system: remove it with that file system's tools")
        self.result["ha_removed"] = {
            "cluster_path": settings.cluster_path, "znodes_removed": found, "storage_path": storage,
            "storage_removed": stored,
            "message": f"{verb} {found} znode(s) under {settings.cluster_path} on {settings.quorum}; HA storage: {where}.",
        }
        if found or stored:
            self.result["changed"] = True

    def refuse_removal_while_registered(self, zk: Any, settings: ha.HaSettings) -> None:
        """Fail, removing nothing, while the Mesos master still keeps the framework whose ID this cluster stored."""
        stored = ha.decode_framework_id(zk.get(settings.framework_id_path))
        mesos_api = self.mesos_api or self.conf_mesos_api
        frameworks = None
        if stored and mesos_api:
            try:
                frameworks = rest.get_json(f"{mesos_api}/master/frameworks", timeout=5, http=self.http)
            except rest.HttpError:
                frameworks = None
        refusal = ha.removal_refusal(settings, stored, ha.stored_id_state(stored, frameworks), mesos_api)
        if refusal:
            self.module.fail_json(msg=refusal, **self.result)

    @staticmethod
    def count_tree(zk: Any, path: str) -> int:
        """Znodes under and including path (check mode: what delete_tree would remove)."""
        return 1 + sum(AppmasterManager.count_tree(zk, f"{path.rstrip('/')}/{child}")
                       for child in zk.children(path) or [])

    def start_and_wait(self, sd: Systemd) -> None:
        self.result["changed"] = True
        if self.ha is not None:
            self.check_stored_framework()
        if self.module.check_mode:
            return
        sd.run("start", self.unit)
        self.judge(sd, settle=self.p["settle"])

    def judge(self, sd: Systemd, settle: float) -> None:
        main_pid = sd.main_pid()

        def alive() -> bool:
            # Same main PID still there: a systemd restart in between would hide a crash.
            return main_pid > 0 and sd.main_pid() == main_pid and os.path.exists(f"/proc/{main_pid}")

        since = time.time()

        def fatal() -> Optional[str]:
            # Only a small tail is read: the fatal line is among the last ones while the JVM shuts down.
            return flink_logs.fatal_since(read_tail(self.log_file, 262144), since - 2)

        probes = readiness.Probes(alive=alive, overview=self.overview_probe(), framework=self.current_framework,
                                  fatal=fatal, whole=self.whole_probe, leader=self.leader_probe())
        verdict = readiness.wait_ready(self.p["wait_for"], probes, timeout=self.p["timeout"], settle=settle)
        self.record_verdict(verdict)
        if verdict.ready:
            self.result["main_pid"] = main_pid
            self.result["pid"] = java_child(main_pid)
            return
        self.fail_not_ready(sd, verdict)

    def overview_probe(self) -> Any:
        """The REST probe of readiness: GET /overview at self.rest_url, remembering the first answer that was not 200."""

        def record_answer(exc: rest.HttpError) -> None:
            if exc.status is not None and "rest_answer" not in self.result:
                self.result["rest_answer"] = f"HTTP {exc.status} {exc.body}".strip()

        def overview() -> Optional[Dict[str, Any]]:
            # Short timeout: during Flink's leader election REST accepts connections but may not answer.
            data = rest.flink_overview(self.rest_url, timeout=1, on_error=record_answer, http=self.http)
            if data is not None:
                self.result["rest_answer"] = "HTTP 200 /overview"
            return data

        return overview

    def whole_probe(self, overview: Optional[Dict[str, Any]]) -> bool:
        """After a start that must re-register a stored framework: the TaskManagers it had stored are back."""
        return ha.workers_back(getattr(self, "expected_workers", 0), overview)

    def record_verdict(self, verdict: readiness.Verdict) -> None:
        """What readiness saw goes into the result, ready or not."""
        self.result["readiness"] = {
            "reason": verdict.reason,
            "rest_seen_after": verdict.rest_seen_after,
            "died_after": verdict.died_after,
            "elapsed": round(verdict.elapsed, 2),
            "events": verdict.events,
        }
        if verdict.overview:
            self.result["overview"] = verdict.overview
        if verdict.framework:
            self.result["framework_id"] = verdict.framework.get("id")
        if getattr(self, "ha", None) is not None and self.p["wait_for"] == "framework":
            self.result["ha"]["leader_rest_address"] = verdict.leader

    def leader_probe(self) -> Optional[Callable[[], Optional[str]]]:
        """With ZooKeeper HA: a probe of the REST endpoint that leads the cluster, as Flink published it in ZooKeeper.

        Why: with several appmaster hosts (standby JobManagers) the one that answered is not necessarily the leader,
        and clients find the cluster through the leader znode; readiness waits until one is published there. A
        reading that fails counts as "no leader yet". None without HA (nothing to ask). Each reading opens a ZooKeeper
        session, and readiness polls ten times a second: a reading is reused for a second.
        """
        if getattr(self, "ha", None) is None:
            return None
        last: Dict[str, Any] = {"at": None, "address": None}

        def leader() -> Optional[str]:
            if last["at"] is not None and time.monotonic() - last["at"] < 1.0:
                return last["address"]
            try:
                with zookeeper.Client(self.ha.quorum, timeout=5.0) as zk:
                    last["address"] = ha.decode_leader(zk.get(self.ha.rest_leader_path))
            except (zookeeper.ZooKeeperError, OSError, ValueError):
                last["address"] = None
            last["at"] = time.monotonic()
            return last["address"]

        return leader

    def fail_not_ready(self, sd: Systemd, verdict: readiness.Verdict) -> None:
        # Give the JVM a moment to finish writing its stack trace (it logs, then exits).
        time.sleep(0.5)
        log_text = read_text(self.log_file) or ""
        journal = sd.journal()
        cause = flink_logs.classify(log_text) or flink_logs.classify(journal)
        registered = (self.result.get("ha") or {}).get("registered_framework_id")
        if cause is None and verdict.reason == "timeout" and registered:
            cause = flink_logs.Cause(
                "ha_new_framework",
                f"The appmaster registered framework {registered}, not the stored FrameworkID "
                f"{self.expected_framework_id} it had to re-register with, so its TaskManagers and recovered workers "
                f"are orphaned. Check {self.ha.framework_id_path} in ZooKeeper and the appmaster log.", "")
        if cause is None and verdict.reason == "timeout" and verdict.framework and not self.whole_probe(verdict.overview):
            cause = flink_logs.Cause(
                "ha_taskmanagers_missing",
                f"The appmaster re-registered framework {verdict.framework.get('id')}, but only "
                f"{(verdict.overview or {}).get('taskmanagers', 0)} of the {self.expected_workers} TaskManagers it had "
                f"(workers stored at {self.ha.workers_path}) registered again within {self.p['timeout']} s. Check the "
                "agents and the TaskManager logs in their Mesos sandboxes.", "")
        if cause is None and verdict.reason == "timeout" and verdict.framework and verdict.leader is None \
                and self.ha is not None and self.whole_probe(verdict.overview):
            cause = flink_logs.Cause(
                "ha_no_leader",
                f"The appmaster answered on REST and framework {verdict.framework.get('id')} is active, but no leader "
                f"was published at {self.ha.rest_leader_path} in ZooKeeper ({self.ha.quorum}) within "
                f"{self.p['timeout']} s. Check that every appmaster host uses the same high-availability.cluster-id "
                "and ZooKeeper quorum, and the ZooKeeper servers' logs.", "")
        if cause is None and verdict.reason == "timeout":
            what = {"process": "the process to run", "rest": "the REST API at " + self.rest_url + "/overview",
                    "framework": f"framework '{self.framework_name}' from {self.rpc_address} in Mesos at {self.mesos_api}"}
            cause = flink_logs.Cause(
                "mesos_unreachable" if self.p["wait_for"] == "framework" and verdict.overview else "timeout",
                f"Timed out after {self.p['timeout']} s waiting for {what[self.p['wait_for']]}.", "")
        if cause is None:
            cause = flink_logs.Cause("unknown", "The appmaster stopped and its log names no cause.", "")
        if not self.p["keep_on_failure"]:
            sd.run("stop", self.unit, check=False)
            sd.run("reset-failed", self.unit, check=False)
        rest_note = ""
        if verdict.rest_seen_after is not None:
            rest_note = f" (REST had answered after {verdict.rest_seen_after:.1f} s, then the process {verdict.reason})"
        elif self.result.get("rest_answer"):
            rest_note = f" (the REST endpoint had answered '{self.result['rest_answer'][:80]}')"
        self.result.update(
            changed=self.files_changed or self.unit_rewritten,
            cause=cause.message,
            cause_id=cause.id,
            evidence=cause.evidence,
            log_tail=flink_logs.tail(spec.mask_text(log_text, self.secrets)),
            flink_version=flink_logs.flink_version(log_text),
            rest_endpoint_started=flink_logs.rest_came_up(log_text),
            journal_tail=spec.mask_text(journal, self.secrets).splitlines()[-20:],
        )
        self.module.fail_json(
            msg=f"The Flink appmaster {self.name} did not become ready ({verdict.reason}){rest_note}: {cause.message} "
            f"Log: {self.log_file}",
            **self.result)

    def ensure_enabled(self, sd: Systemd) -> None:
        if sd.show().get("UnitFileState") != "enabled":
            self.result["changed"] = True
            if not self.module.check_mode:
                sd.run("enable", self.unit)

    # ---- supervisor Marathon ----
    def run_marathon(self) -> None:
        """Deploy, check or stop the appmaster as a Marathon app; Marathon errors fail with their cause."""
        state = self.p["state"]
        try:
            current = self.marathon.get_app(self.app_id)
            if state in ("stopped", "absent"):
                self.stop_marathon(current, remove=state == "absent")
                if state == "absent" and self.ha_removal is not None:
                    self.remove_ha_state()
            else:
                self.start_marathon(current)
        except marathon.MarathonError as exc:
            self.module.fail_json(msg=str(exc), cause_id=exc.cause_id, status=exc.status, **self.result)
        self.module.exit_json(**self.result)

    def start_marathon(self, current: Optional[Dict[str, Any]]) -> None:
        """PUT the app when Marathon's differs (or state=restarted), then judge the appmaster on its agent."""
        satisfied = current is not None and marathon.desired_satisfied(self.app, current)
        restart = self.p["state"] == "restarted"
        url = self.result["marathon"]["url"]
        if self.module._diff and not satisfied:
            view = marathon.desired_view(self.app, current)
            self.result["diff"] = {"before": spec.mask_text(view["before"], self.secrets), "before_header": url,
                                   "after": spec.mask_text(view["after"], self.secrets), "after_header": url}
        earlier = {t["id"] for t in marathon.summarize_tasks(current or {})}
        if satisfied and not restart:
            if not self.module.check_mode:
                self.judge_marathon(earlier=set(), settle=0)
            return
        self.result["changed"] = True
        self.check_stored_framework()
        if self.module.check_mode:
            return
        app = self.app
        if satisfied:
            # state=restarted on an unchanged app: a new version (a label) makes Marathon replace the task.
            app = {**self.app, "labels": {**(self.app.get("labels") or {}),
                                          "streamops.restarted-at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
        answer = self.marathon.put_app(self.app_id, app, force=self.p["marathon"]["force"])
        self.result["marathon"].update(deployment_id=answer.get("deploymentId"), version=answer.get("version"))
        self.judge_marathon(earlier=earlier, settle=self.p["settle"])

    def marathon_task(self, earlier: set) -> Dict[str, Any]:
        """Wait for a running task of the app that is not one of ``earlier`` (the tasks before a PUT)."""
        deadline = time.monotonic() + self.p["timeout"]
        app: Dict[str, Any] = {}
        while time.monotonic() < deadline:
            app = self.marathon.get_app(self.app_id) or {}
            running = [t for t in marathon.summarize_tasks(app) if t["state"] == "TASK_RUNNING" and t["id"] not in earlier]
            if running:
                return running[0]
            time.sleep(1)
        failure = (app.get("lastTaskFailure") or {}).get("message")
        self.module.fail_json(
            msg=f"Marathon ran no task of app {self.app_id} within {self.p['timeout']} s: "
            f"{marathon.app_ready(app, 1)[1]}" + (f"; last task failure: {failure}" if failure else "") +
            ". Check the agents' resources (marathon.cpus, marathon.mem), marathon.constraints and the Marathon UI.",
            cause_id=marathon.CAUSE_TIMEOUT, tasks=marathon.summarize_tasks(app), **self.result)
        return {}

    def judge_marathon(self, earlier: set, settle: float) -> None:
        """The same readiness as under systemd, with the process observed through Marathon's task list."""
        task = self.marathon_task(earlier)
        host = task["host"]
        self.rest_url = f"http://{host}:{self.rest_port}"
        self.rpc_address = host
        self.result.update(rest_url=self.rest_url)
        self.result["marathon"].update(task_id=task["id"], host=host)
        seen = {"at": 0.0, "alive": True, "app": {}}

        def alive() -> bool:
            # At most one GET a second; Marathon not answering is not the appmaster dying.
            if time.monotonic() - seen["at"] >= 1.0:
                try:
                    seen["app"] = self.marathon.get_app(self.app_id) or {}
                    seen["alive"] = task["id"] in {t["id"] for t in marathon.summarize_tasks(seen["app"])
                                                   if t["state"] == "TASK_RUNNING"}
                except marathon.MarathonError:
                    pass
                seen["at"] = time.monotonic()
            return bool(seen["alive"])

        probes = readiness.Probes(alive=alive, overview=self.overview_probe(), framework=self.current_framework,
                                  whole=self.whole_probe, leader=self.leader_probe())
        verdict = readiness.wait_ready(self.p["wait_for"], probes, timeout=self.p["timeout"], settle=settle)
        self.record_verdict(verdict)
        app = seen["app"] or self.marathon.get_app(self.app_id) or {}
        self.result["marathon"].update(tasks_running=app.get("tasksRunning"), tasks_healthy=app.get("tasksHealthy"))
        if verdict.ready:
            return
        failure = (app.get("lastTaskFailure") or {}).get("message") or "none recorded"
        if not self.p["keep_on_failure"]:
            # Like the systemd unit's stop: Marathon would otherwise restart a broken configuration in a loop.
            self.marathon.put_app(self.app_id, {**marathon.definition_of(app or self.app), "instances": 0}, force=True)
        self.module.fail_json(
            msg=f"The Flink appmaster {self.name} (Marathon app {self.app_id}, task {task['id']} on {host}) did not "
            f"become ready ({verdict.reason}); Marathon's last task failure: {failure}. Its log is on {host} under "
            "the Flink log directory.", cause_id=verdict.reason, **self.result)

    def stop_marathon(self, current: Optional[Dict[str, Any]], remove: bool) -> None:
        """Stop the app's task (scale to 0, or delete the app), then remove the framework Flink leaves registered.

        Marathon ends the appmaster with a signal, on which Flink 1.13 keeps its framework registered for failover;
        so the module tears that framework down in the master (its TaskManagers end with it). A clean DELETE /cluster
        is not used: Flink would exit 0 and Marathon would start it again before the app is scaled down.
        """
        if current is None:
            return
        running = [t for t in marathon.summarize_tasks(current) if t["state"] == "TASK_RUNNING"]
        if not remove and int(current.get("instances") or 0) == 0 and not running:
            return
        self.result["changed"] = True
        if self.module._diff and remove:
            self.result["diff"] = {"before": spec.mask_text(marathon.as_text(marathon.definition_of(current)), []),
                                   "after": "", "before_header": self.result["marathon"]["url"]}
        if self.module.check_mode:
            return
        framework = None
        if running:
            self.rpc_address = running[0]["host"]
            self.rest_url = f"http://{self.rpc_address}:{self.rest_port}"
            self.learn_running_config()
            self.mesos_api = self.mesos_api or self.conf_mesos_api
            if self.mesos_api:
                framework = self.current_framework()
        if remove:
            answer = self.marathon.delete_app(self.app_id, force=True)
        else:
            answer = self.marathon.put_app(self.app_id, {**marathon.definition_of(current), "instances": 0}, force=True)
        self.result["marathon"]["deployment_id"] = answer.get("deploymentId")
        deadline = time.monotonic() + self.p["timeout"]
        while time.monotonic() < deadline:
            app = self.marathon.get_app(self.app_id)
            if app is None or not [t for t in marathon.summarize_tasks(app) if t["state"] not in MESOS_TERMINAL_TASK_STATES]:
                break
            time.sleep(1)
        if framework is not None:
            fid = framework.get("id")
            try:
                frameworks = rest.get_json(f"{self.mesos_api}/master/frameworks", timeout=5, http=self.http) or {}
                if ha.stored_id_state(fid, frameworks) == ha.ACTIVE:
                    rest.teardown_framework(self.mesos_api, fid, timeout=10, http=self.http)
                    self.result["framework_torn_down"] = fid
            except rest.HttpError as exc:
                self.module.warn(f"Could not tear down framework {fid} of the stopped appmaster: {exc}. Its "
                                 "TaskManagers run until mesos.failover-timeout; tear it down in the Mesos master.")
            self.result["framework_unregistered"] = self.wait_unregistered(fid)

    def run(self) -> None:
        self.prepare()
        if self.p["supervisor"] == "marathon":
            self.run_marathon()
            return
        sd = Systemd(self.module, self.unit)
        state = self.p["state"]
        installed = os.path.exists(self.unit_path)
        if state in ("stopped", "absent"):
            if installed and sd.running():
                self.result["changed"] = True
                if not self.module.check_mode:
                    self.graceful_stop(sd)
            if state == "absent" and installed:
                self.result["changed"] = True
                if self.module._diff:
                    self.result["diff"] = spec.unit_diff(read_text(self.unit_path), "", self.unit_path,
                                                         [])
                if not self.module.check_mode:
                    sd.run("disable", self.unit, check=False)
                    os.remove(self.unit_path)
                    sd.run("daemon-reload")
            if state == "absent" and self.ha_removal is not None:
                self.remove_ha_state()
            self.module.exit_json(**self.result)
        was_running = installed and sd.running()
        if not was_running and port_busy("127.0.0.1", self.rest_port):
            self.module.fail_json(
                msg=f"rest_port: port {self.rest_port} on this host is already in use by another process, so the "
                "appmaster's REST endpoint could not bind. Stop that process or choose another rest_port.",
                **self.result)
        self.write_unit(sd)
        self.ensure_enabled(sd)
        if state == "restarted" or (was_running and self.files_changed):
            self.result["changed"] = True
            if not self.module.check_mode:
                self.graceful_stop(sd)
            self.start_and_wait(sd)
        elif not was_running:
            self.start_and_wait(sd)
        elif not self.module.check_mode:
            # Running with the desired spec: check it is (still) ready, without a settle period.
            self.judge(sd, settle=0)
        self.module.exit_json(**self.result)


def argument_spec() -> Dict[str, Any]:
    """The module's options plus the shared HTTP client options (kept in one place; DOCUMENTATION mirrors it)."""
    return rest.with_http_options(dict(
        name=dict(type="str", default="default"),
        state=dict(type="str", default="started", choices=["started", "stopped", "restarted", "absent"]),
        mode=dict(type="str", default="session", choices=["session", "job"]),
        jobgraph_path=dict(type="path"),
        flink_home=dict(type="path", default="/opt/flink"),
        conf_dir=dict(type="path"),
        log_dir=dict(type="path"),
        mesos_master=dict(type="str"),
        mesos_api_url=dict(type="str"),
        rpc_address=dict(type="str"),
        rest_port=dict(type="int"),
        rest_url=dict(type="str"),
        framework=dict(type="dict", options=dict(
            name=dict(type="str"), role=dict(type="str"), user=dict(type="str"), principal=dict(type="str"),
            secret=dict(type="str", no_log=True), failover_timeout=dict(type="int"))),
        properties=dict(type="dict", default={}),
        environment_files=dict(type="list", elements="path", default=[]),
        environment=dict(type="dict", default={}),
        user=dict(type="str", default="flink"),
        group=dict(type="str"),
        working_dir=dict(type="path"),
        wait_for=dict(type="str", default="rest", choices=list(readiness.WAIT_LEVELS)),
        timeout=dict(type="int", default=180),
        settle=dict(type="float", default=3.0),
        keep_on_failure=dict(type="bool", default=False),
        remove_ha_state=dict(type="bool", default=False),
        supervisor=dict(type="str", default="systemd", choices=["systemd", "marathon"]),
        marathon=dict(type="dict", options=dict(
            url=dict(type="str", required=True),
            app_id=dict(type="str"),
            cpus=dict(type="float", default=1.0),
            mem=dict(type="int", default=0),
            constraints=dict(type="list", elements="list", default=[]),
            health_check=dict(type="dict", default={}),
            app=dict(type="dict", default={}),
            force=dict(type="bool", default=False),
            storage_shared=dict(type="bool", default=False),
            url_username=dict(type="str"),
            url_password=dict(type="str", no_log=True),
            force_basic_auth=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
        )),
    ))


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    AppmasterManager(module).run()


if __name__ == "__main__":
    main()

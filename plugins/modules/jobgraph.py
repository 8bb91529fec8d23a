#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Ansible module: build a Flink JobGraph file from a user jar with the installed Flink's client classes."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: jobgraph
short_description: Build a Flink JobGraph file from a user jar, for a per-job cluster
version_added: 0.1.0
description:
  - Runs the job's C(main) method under Flink's own client classes (C(PackagedProgram) and
    C(PackagedProgramUtils.createJobGraph)) on the target host, with the installed Flink and Java, and writes
    the resulting C(JobGraph) with Java serialization to O(dest). This is the file a per-job application master
    (C(mesos-appmaster-job.sh)) reads through C(-Dinternal.jobgraph-path); Flink 1.13's CLI cannot write it.
  - A small Java program shipped with the collection is run with the Java source launcher (Java 11 or newer) or
    compiled with C(javac) (Java 8). Either way the host needs a B(JDK), not only a runtime.
  - Idempotent. A sidecar file C(<dest>.inputs.json) records a digest of every input (the jar's and extra jars'
    content, entry class, arguments, parallelism, savepoint settings, job id, configuration, C(flink-conf.yaml)
    when O(flink_conf_dir) is set, the Flink version and the builder itself) and of the written file. When they
    match, nothing runs and the recorded job id, name and vertex count are returned.
  - The same JobGraph file is accepted by Flink's REST API (C(POST /jobs)) together with the jars.
author:
  - streamops team (@streamops)
options:
  jar:
    description:
      - Path of the job's jar on the target host.
      - Validated before Java starts, it must exist, be a jar and contain O(entry_class).
    type: path
    required: true
  entry_class:
    description:
      - Fully qualified name of the class whose C(main) builds the job.
      - When empty, the jar manifest's C(program-class) or C(Main-Class) is used (as Flink does).
    type: str
  args:
    description: Program arguments passed to C(main), byte for byte (no shell).
    type: list
    elements: str
    default: []
  parallelism:
    description: Default parallelism of the job (operators that set their own keep it). At least 1.
    type: int
    default: 1
  savepoint_path:
    description: Savepoint or retained checkpoint the job restores from. Empty means a fresh start.
    type: str
  allow_non_restored_state:
    description: Allow state in the savepoint that no operator claims (only with O(savepoint_path)).
    type: bool
    default: false
  extra_jars:
    description:
      - Jars the program needs besides its own jar (libraries, connectors), paths on the target host.
      - They are on the class path while C(main) runs. They are not recorded in the JobGraph, a per-job cluster
        loads them from its C(usrlib/) directory, and a REST submission uploads them with the job jar.
    type: list
    elements: path
    default: []
  job_id:
    description:
      - Fixed Flink job id (32 hexadecimal characters). Empty lets Flink pick a random one at build time.
      - The id only changes when the JobGraph is rebuilt, because inputs changed.
    type: str
  configuration:
    description:
      - Flink options applied while the job graph is built (for example C(pipeline.max-parallelism),
        C(execution.checkpointing.interval)). They take precedence over O(flink_conf_dir).
    type: dict
    default: {}
  flink_conf_dir:
    description:
      - Directory with the C(flink-conf.yaml) to read, as Flink's CLI does. Its content is part of the digest.
      - Empty means only O(configuration) is used.
    type: path
  flink_home:
    description: Flink installation whose C(lib/) provides the client classes (the C(flink_home) fact).
    type: path
    default: /opt/flink
  java_home:
    description:
      - JDK to run the builder with. Empty uses C(JAVA_HOME) from the module's environment, then C(java) on the PATH.
    type: path
  jvm_flags:
    description:
      - JVM flags for the builder. When not given, the C(--add-opens)/C(--add-exports) set Flink 1.13 needs is used
        on Java 17 and newer, and none on older Java (pass the C(java_flink_jvm_flags) fact to be explicit).
    type: list
    elements: str
  dest:
    description: Path of the JobGraph file to write. The sidecar is written next to it.
    type: path
  timeout:
    description: Seconds the builder may run before it is stopped and the task fails.
    type: int
    default: 300
  validate_only:
    description:
      - Only check the inputs that need no Flink (O(jar) exists and holds O(entry_class), O(parallelism),
        O(job_id), O(configuration) keys) and return the resolved entry class. Needs no Java.
      - Roles run this on the controller in their preflight, before anything changes on a host.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports whether the JobGraph would be rebuilt (and why, in RV(reason)) without running Java.
  diff_mode:
    support: full
    description: Shows the recorded inputs before and after (digests of the jars, arguments, settings).
  platform:
    support: full
    platforms: posix
    description: Runs on POSIX hosts with a JDK and a Flink installation.
notes:
  - The program's C(main) really runs (its output is captured). Programs that contact external systems while
    building their graph do so on the target host.
  - A missing entry class, a jar that is not a Flink program, or a program that throws fails the task with the
    program's own message.
seealso:
  - module: streamops.flink_mesos.appmaster
"""

EXAMPLES = r"""
- name: Build the JobGraph of the clickstream job
  streamops.flink_mesos.jobgraph:
    jar: /var/lib/flink/jobs/clickstream/usrlib/clickstream.jar
    entry_class: com.example.Clickstream
    args: ["--topic", "clicks"]
    parallelism: 4
    extra_jars:
      - /var/lib/flink/jobs/clickstream/usrlib/kafka-connector.jar
    java_home: "{{ java_home }}"
    jvm_flags: "{{ java_flink_jvm_flags }}"
    flink_home: "{{ flink_home }}"
    flink_conf_dir: "{{ flink_conf_dir }}"
    dest: /var/lib/flink/jobs/clickstream/job.graph
    owner: flink
    mode: "0640"
  register: clickstream_graph

- name: Restore the job from a savepoint, ignoring state of removed operators
  streamops.flink_mesos.jobgraph:
    jar: /var/lib/flink/jobs/clickstream/usrlib/clickstream.jar
    entry_class: com.example.Clickstream
    savepoint_path: hdfs:///flink/savepoints/savepoint-0c5d2a-5e1f0a3b2c6d
    allow_non_restored_state: true
    dest: /var/lib/flink/jobs/clickstream/job.graph

- name: Check a jar on the controller before anything changes
  streamops.flink_mesos.jobgraph:
    jar: files/clickstream.jar
    entry_class: com.example.Clickstream
    validate_only: true
  delegate_to: localhost
"""

RETURN = r"""
job_id:
  description: Flink job id recorded in the JobGraph (32 hexadecimal characters).
  returned: success, unless O(validate_only) or a check-mode run that would rebuild
  type: str
  sample: 42d5ce7d9746ce80c652cccfb6546c1b
job_name:
  description: Job name the program gave to C(execute()).
  returned: success, unless O(validate_only) or a check-mode run that would rebuild
  type: str
  sample: clickstream
vertices:
  description: Number of job vertices (chained operators count once).
  returned: success, unless O(validate_only) or a check-mode run that would rebuild
  type: int
  sample: 1
vertex_names:
  description: Names of the job vertices, sources first.
  returned: success, unless O(validate_only) or a check-mode run that would rebuild
  type: list
  elements: str
  sample: ["Source: Sequence Source -> Map -> Sink: Unnamed"]
entry_class:
  description: Entry class used (from O(entry_class) or the jar manifest).
  returned: always
  type: str
  sample: com.example.Clickstream
flink_version:
  description: Version of the Flink whose classes built the graph.
  returned: unless O(validate_only)
  type: str
  sample: 1.13.6
dest:
  description: Path of the JobGraph file.
  returned: unless O(validate_only)
  type: str
  sample: /var/lib/flink/jobs/clickstream/job.graph
digest:
  description: SHA-256 of the recorded inputs; it changes exactly when the JobGraph is rebuilt.
  returned: unless O(validate_only)
  type: str
rebuilt:
  description: Whether the JobGraph was (or, in check mode, would be) built in this run.
  returned: unless O(validate_only)
  type: bool
reason:
  description: Why the JobGraph was (or would be) rebuilt; empty when it was up to date.
  returned: unless O(validate_only)
  type: str
  sample: the inputs changed (args, jar_sha256)
build_seconds:
  description: Wall-clock seconds the Java builder ran (0 when nothing was built).
  returned: unless O(validate_only)
  type: float
  sample: 3.1
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.streamops.flink_mesos.plugins.module_utils.jobgraph import (
    build_command,
    default_jvm_flags,
    error_message,
    flink_version_from_lib,
    input_digest,
    input_record,
    jar_entry_class_problem,
    java_major_version,
    launcher_problem,
    parameter_problems,
    parse_builder_output,
    rebuild_reason,
)
from ansible_collections.streamops.flink_mesos.plugins.module_utils.jobgraph_java import JAVA_CLASS_NAME, JAVA_SOURCE


def file_sha256(path: str) -> Optional[str]:
    """SHA-256 of a file's content, None when it does not exist (content, not mtime: copies must not rebuild)."""
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sidecar(path: str) -> Optional[dict[str, Any]]:
    """The sidecar's content, None when it is missing or unreadable (then the graph is rebuilt)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def find_java(module: AnsibleModule) -> str:
    """Path of the java launcher: java_home, then JAVA_HOME, then PATH."""
    home = module.params["java_home"] or os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        if not os.access(java, os.X_OK):
            module.fail_json(msg=f"java_home {home} has no executable bin/java; set java_home to a JDK (the java_home fact).")
        return java
    return module.get_bin_path("java", required=True)


def probe_java_major(java: str) -> Optional[int]:
    """Major version of a java launcher (it prints its version on stderr)."""
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False, timeout=60)
    return java_major_version(proc.stderr + proc.stdout)


def run_builder(module: AnsibleModule, commands: list[list[str]], workdir: str) -> tuple[int, str, str, float]:
    """Run the builder command(s) in workdir; (rc, stdout, stderr, seconds). Fails the task on timeout."""
    started = time.monotonic()
    stdout = stderr = ""
    rc = 0
    for argv in commands:
        try:
            proc = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, check=False,
                                  timeout=module.params["timeout"], stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            module.fail_json(msg=f"Building the JobGraph did not finish within timeout={module.params['timeout']} s; "
                                 "the program's main() may block (it must only build the job, not wait for input).",
                             cmd=argv)
        rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
        if rc != 0:
            break
    return rc, stdout, stderr, time.monotonic() - started


def main() -> None:
    """Validate, compare the input digest with the sidecar, build when needed, report."""
    module = AnsibleModule(
        argument_spec=dict(
            jar=dict(type="path", required=True),
            entry_class=dict(type="str"),
            args=dict(type="list", elements="str", default=[]),
            parallelism=dict(type="int", default=1),
            savepoint_path=dict(type="str"),
            allow_non_restored_state=dict(type="bool", default=False),
            extra_jars=dict(type="list", elements="path", default=[]),
            job_id=dict(type="str"),
            configuration=dict(type="dict", default={}),
            flink_conf_dir=dict(type="path"),
            flink_home=dict(type="path", default="/opt/flink"),
            java_home=dict(type="path"),
            jvm_flags=dict(type="list", elements="str"),
            dest=dict(type="path"),
            timeout=dict(type="int", default=300),
            validate_only=dict(type="bool", default=False),
        ),
        required_if=[("validate_only", False, ("dest",))],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params
    problems = parameter_problems(p)
    entry_class, jar_problem = jar_entry_class_problem(p["jar"], p["entry_class"])
    if jar_problem:
        problems.append(jar_problem)
    for extra in p["extra_jars"]:
        if not os.path.isfile(extra):
            problems.append(f"extra_jars: {extra} does not exist; give paths of jars on the host.")
    if problems:
        module.fail_json(msg=" ".join(problems), problems=problems)
    if p["validate_only"]:
        module.exit_json(changed=False, entry_class=entry_class)

    lib_dir = os.path.join(p["flink_home"], "lib")
    try:
        flink_version = flink_version_from_lib(os.listdir(lib_dir))
    except OSError:
        flink_version = None
    if not flink_version:
        module.fail_json(msg=f"No flink-dist jar in {lib_dir}; set flink_home to an installed Flink (the flink_home fact).")
    conf_sha = None
    if p["flink_conf_dir"]:
        conf_sha = file_sha256(os.path.join(p["flink_conf_dir"], "flink-conf.yaml"))
        if conf_sha is None:
            module.fail_json(msg=f"flink_conf_dir {p['flink_conf_dir']} has no flink-conf.yaml; set it to Flink's conf directory or leave it empty.")

    record = input_record(
        jar_sha256=file_sha256(p["jar"]) or "",
        extra_jar_sha256=[(e, file_sha256(e) or "") for e in p["extra_jars"]],
        entry_class=entry_class or "",
        args=p["args"],
        parallelism=p["parallelism"],
        savepoint_path=p["savepoint_path"],
        allow_non_restored_state=p["allow_non_restored_state"],
        job_id=p["job_id"],
        configuration=p["configuration"],
        flink_conf_sha256=conf_sha,
        flink_version=flink_version or "",
    )
    digest = input_digest(record)
    dest = p["dest"]
    sidecar_path = dest + ".inputs.json"
    sidecar = read_sidecar(sidecar_path)
    reason = rebuild_reason(sidecar, record, file_sha256(dest))
    diff = {"before": json.dumps((sidecar or {}).get("inputs", {}), indent=2, sort_keys=True) + "\n",
            "after": json.dumps(record, indent=2, sort_keys=True) + "\n",
            "before_header": sidecar_path, "after_header": sidecar_path}
    result: dict[str, Any] = dict(dest=dest, digest=digest, flink_version=flink_version, entry_class=entry_class,
                                  rebuilt=reason is not None, reason=reason or "", build_seconds=0.0)

    if reason is None:
        # rebuild_reason returns None only for a sidecar whose "result" is a dict with a job id.
        recorded = (sidecar or {}).get("result") or {}
        result.update({k: recorded.get(k) for k in ("job_id", "job_name", "vertices", "vertex_names")})
        file_args = module.load_file_common_arguments(p, path=dest)
        changed = module.set_fs_attributes_if_different(file_args, False)
        module.exit_json(changed=changed, **result)
    if module.check_mode:
        module.exit_json(changed=True, diff=diff, **result)

    java = find_java(module)
    java_major = probe_java_major(java)
    jvm_flags = p["jvm_flags"] if p["jvm_flags"] is not None else default_jvm_flags(java_major)
    dest_dir = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(dest_dir):
        module.fail_json(msg=f"The directory of dest ({dest_dir}) does not exist; create it first.")
    workdir = tempfile.mkdtemp(prefix="jobgraph-", dir=module.tmpdir)
    try:
        with open(os.path.join(workdir, JAVA_CLASS_NAME + ".java"), "w", encoding="utf-8") as handle:
            handle.write(JAVA_SOURCE)
        tmp_graph = os.path.join(workdir, "job.graph")
        commands = build_command(
            java=java, java_major=java_major, jvm_flags=jvm_flags, flink_lib_dir=lib_dir, workdir=workdir,
            out_path=tmp_graph, jar=os.path.abspath(p["jar"]), entry_class=entry_class or "",
            parallelism=p["parallelism"], args=p["args"], savepoint_path=p["savepoint_path"],
            allow_non_restored_state=p["allow_non_restored_state"], job_id=p["job_id"],
            conf_dir=p["flink_conf_dir"], extra_jars=[os.path.abspath(e) for e in p["extra_jars"]],
            configuration={str(k): str(v) for k, v in p["configuration"].items()},
        )
        rc, stdout, stderr, seconds = run_builder(module, commands, workdir)
        built, error = parse_builder_output(stdout)
        if error is not None:
            module.fail_json(msg=error_message(error, entry_class or "", p["jar"]), causes=error.get("causes"),
                             stderr=stderr[-4000:])
        if rc != 0 or built is None or not os.path.isfile(tmp_graph):
            module.fail_json(msg=launcher_problem(rc, stderr + stdout, java), rc=rc, cmd=commands[-1])
        graph_sha = file_sha256(tmp_graph)
        module.atomic_move(tmp_graph, dest)
        sidecar_new = {"digest": digest, "graph_sha256": graph_sha, "inputs": record,
                       "result": {k: built.get(k) for k in ("job_id", "job_name", "vertices", "vertex_names", "flink_version")}}
        tmp_sidecar = os.path.join(workdir, "inputs.json")
        with open(tmp_sidecar, "w", encoding="utf-8") as handle:
            json.dump(sidecar_new, handle, indent=2, sort_keys=True)
            handle.write("\n")
        module.atomic_move(tmp_sidecar, sidecar_path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    file_args = module.load_file_common_arguments(p, path=dest)
    module.set_fs_attributes_if_different(file_args, True)
    sidecar_args = module.load_file_common_arguments(p, path=sidecar_path)
    module.set_fs_attributes_if_different(sidecar_args, True)
    result.update(job_id=built["job_id"], job_name=built["job_name"], vertices=built["vertices"],
                  vertex_names=built.get("vertex_names", []), build_seconds=round(seconds, 2))
    module.exit_json(changed=True, diff=diff, **result)


if __name__ == "__main__":
    main()

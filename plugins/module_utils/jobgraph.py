# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Pure helpers for the jobgraph module: input checks, the input digest, the Java command line, output parsing.

Why separate from the module: everything that decides *whether* to rebuild a JobGraph and *how* to call
Java is a pure function of its inputs, so it is unit-tested without Java, Flink or Ansible; the module keeps
only the thin I/O around it (hashing files, running Java, moving files).
"""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from typing import Any, Iterable, Optional

from ansible_collections.streamops.flink_mesos.plugins.module_utils.jobgraph_java import JAVA_CLASS_NAME, JAVA_SOURCE

# Bumped when the meaning of the sidecar changes, so an old sidecar never matches a new digest.
SIDECAR_FORMAT = 1
RESULT_MARKER = "JOBGRAPH_RESULT "
ERROR_MARKER = "JOBGRAPH_ERROR "

# The flags Flink 1.13 needs on Java 17 (seen on these machines: without them IPAddressUtil is inaccessible).
_JAVA17_OPENS = (
    "java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect", "java.text", "java.time",
    "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "java.util.concurrent.locks",
)
JAVA17_FLAGS = (
    ["--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED"]
    + [f"--add-opens=java.base/{pkg}=ALL-UNNAMED" for pkg in _JAVA17_OPENS]
)

_JAVA_IDENT = r"[A-Za-z_$][A-Za-z0-9_$]*"
_CLASS_NAME_RE = re.compile(rf"^{_JAVA_IDENT}(\.{_JAVA_IDENT})*$")
_JOB_ID_RE = re.compile(r"^[0-9a-fA-F]{32}$")
_FLINK_DIST_RE = re.compile(r"^flink-dist_[0-9.]+-(?P<version>[0-9]+\.[0-9]+(\.[0-9]+)?([-.][A-Za-z0-9]+)*)\.jar$")
_JAVA_VERSION_RE = re.compile(r'version "(?P<v>[0-9][^"]*)"')


def parameter_problems(params: dict[str, Any]) -> list[str]:
    """Problems with the module parameters that need no file access (empty list when they are fine).

    Why: bad input must fail before Java starts, with a message that names the option and says what to change.
    """
    problems: list[str] = []
    parallelism = params.get("parallelism")
    if parallelism is None or int(parallelism) < 1:
        problems.append(f"parallelism must be 1 or more (got {parallelism}); set it to the job's default parallelism.")
    entry = params.get("entry_class")
    if entry and not _CLASS_NAME_RE.match(entry):
        problems.append(
            f"entry_class '{entry}' is not a Java class name; give the fully qualified name, e.g. com.example.MyJob."
        )
    job_id = params.get("job_id")
    if job_id and not _JOB_ID_RE.match(job_id):
        problems.append(f"job_id '{job_id}' must be 32 hexadecimal characters (a Flink JobID), or left empty.")
    if params.get("allow_non_restored_state") and not params.get("savepoint_path"):
        problems.append("allow_non_restored_state only makes sense with savepoint_path; set savepoint_path or drop it.")
    for key in (params.get("configuration") or {}):
        if not key or "=" in key:
            problems.append(f"configuration key '{key}' is not a Flink option name (it must be non-empty, without '=').")
    return problems


def class_entry_name(entry_class: str) -> str:
    """The zip entry a class is stored under (com.example.Job -> com/example/Job.class)."""
    return entry_class.replace(".", "/") + ".class"


def manifest_entry_class(manifest_text: str) -> Optional[str]:
    """Entry class declared by a jar manifest: Flink's 'program-class' wins over 'Main-Class' (as in Flink)."""
    attributes: dict[str, str] = {}
    last = None
    for raw in manifest_text.splitlines():
        if raw.startswith(" ") and last:  # manifest continuation line
            attributes[last] += raw[1:]
            continue
        if ":" in raw:
            key, value = raw.split(":", 1)
            last = key.strip().lower()
            attributes[last] = value.strip()
    return attributes.get("program-class") or attributes.get("main-class") or None


def jar_entry_class_problem(jar_path: str, entry_class: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(entry class to use, problem) for a jar: reads only the zip directory and the manifest.

    Why here and not in Java: the check is cheap, runs on the controller in a role's preflight, and gives a
    message that names the option instead of a Java stack trace.
    """
    try:
        with zipfile.ZipFile(jar_path) as jar:
            names = set(jar.namelist())
            if not entry_class:
                manifest = jar.read("META-INF/MANIFEST.MF").decode("utf-8", "replace") if "META-INF/MANIFEST.MF" in names else ""
                entry_class = manifest_entry_class(manifest)
                if not entry_class:
                    return None, (f"{jar_path} names no entry class in its manifest (Main-Class or program-class); "
                                  "set entry_class to the fully qualified name of the job's main class.")
            if class_entry_name(entry_class) not in names:
                return entry_class, (f"entry_class '{entry_class}' is not in {jar_path} (no {class_entry_name(entry_class)}); "
                                     "check the class name and that the jar is the job's jar.")
            return entry_class, None
    except FileNotFoundError:
        return entry_class, f"jar {jar_path} does not exist; set jar to the path of the job's jar on the host."
    except (zipfile.BadZipFile, OSError) as exc:
        return entry_class, f"jar {jar_path} is not a readable jar ({exc}); set jar to a Flink program's jar."


def flink_version_from_lib(file_names: Iterable[str]) -> Optional[str]:
    """Flink version from the flink-dist jar name in lib/ (flink-dist_2.12-1.13.6.jar -> 1.13.6).

    Why the file name: it is what the idempotence check needs without starting a JVM.
    """
    for name in sorted(file_names):
        match = _FLINK_DIST_RE.match(name)
        if match:
            return match.group("version")
    return None


def java_major_version(version_output: str) -> Optional[int]:
    """Major Java release from `java -version` output ('1.8.0_392' -> 8, '17.0.15' -> 17)."""
    match = _JAVA_VERSION_RE.search(version_output)
    if not match:
        return None
    parts = match.group("v").split(".")
    try:
        first = int(re.sub(r"[^0-9].*$", "", parts[0]))
        return int(parts[1]) if first == 1 and len(parts) > 1 else first
    except ValueError:
        return None


def default_jvm_flags(java_major: Optional[int]) -> list[str]:
    """JVM flags Flink 1.13's client classes need on this Java (the Java 17 module opens, none before)."""
    return list(JAVA17_FLAGS) if java_major is not None and java_major >= 17 else []


def builder_source_digest() -> str:
    """Digest of the Java program, part of the input digest so that a new builder rebuilds old graphs."""
    return hashlib.sha256(JAVA_SOURCE.encode("utf-8")).hexdigest()


def input_record(
    jar_sha256: str,
    extra_jar_sha256: list[tuple[str, str]],
    entry_class: str,
    args: list[str],
    parallelism: int,
    savepoint_path: Optional[str],
    allow_non_restored_state: bool,
    job_id: Optional[str],
    configuration: dict[str, str],
    flink_conf_sha256: Optional[str],
    flink_version: str,
) -> dict[str, Any]:
    """Everything a JobGraph depends on, as a JSON-able record (stored in the sidecar and shown in --diff)."""
    return {
        "format": SIDECAR_FORMAT,
        "jar_sha256": jar_sha256,
        "extra_jars": [{"path": p, "sha256": d} for p, d in extra_jar_sha256],
        "entry_class": entry_class,
        "args": list(args),
        "parallelism": int(parallelism),
        "savepoint_path": savepoint_path or None,
        "allow_non_restored_state": bool(allow_non_restored_state),
        "job_id": job_id.lower() if job_id else None,
        "configuration": {str(k): str(v) for k, v in sorted((configuration or {}).items())},
        "flink_conf_sha256": flink_conf_sha256,
        "flink_version": flink_version,
        "builder_sha256": builder_source_digest(),
    }


def input_digest(record: dict[str, Any]) -> str:
    """Stable digest of an input record (canonical JSON, sorted keys)."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def rebuild_reason(sidecar: Optional[dict[str, Any]], record: dict[str, Any], graph_sha256: Optional[str]) -> Optional[str]:
    """Why the JobGraph must be (re)built, or None when the file on disk still matches the inputs.

    Why the graph's own digest is checked too: a JobGraph file replaced or truncated by hand must not be
    trusted just because its sidecar says the inputs did not change.
    """
    if graph_sha256 is None:
        return "the JobGraph file does not exist"
    if not sidecar:
        return "there is no sidecar recording the inputs of the existing JobGraph"
    if sidecar.get("digest") != input_digest(record):
        changed = changed_inputs(sidecar.get("inputs") or {}, record)
        return "the inputs changed" + (f" ({', '.join(changed)})" if changed else "")
    if sidecar.get("graph_sha256") != graph_sha256:
        return "the JobGraph file differs from the one the sidecar describes"
    recorded = sidecar.get("result")
    if not isinstance(recorded, dict) or not recorded.get("job_id"):
        return "the sidecar records no job id"
    return None


def changed_inputs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of the input fields that differ between two input records (for messages and diffs)."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def build_command(
    java: str,
    java_major: Optional[int],
    jvm_flags: list[str],
    flink_lib_dir: str,
    workdir: str,
    out_path: str,
    jar: str,
    entry_class: str,
    parallelism: int,
    args: list[str],
    savepoint_path: Optional[str] = None,
    allow_non_restored_state: bool = False,
    job_id: Optional[str] = None,
    conf_dir: Optional[str] = None,
    extra_jars: Optional[list[str]] = None,
    configuration: Optional[dict[str, str]] = None,
) -> list[list[str]]:
    """The commands that build the JobGraph: [javac ..., java ...] on Java 8, [java File.java ...] on 11+.

    Why a list of argv lists and no shell: user arguments reach the program byte for byte.
    """
    classpath = f"{flink_lib_dir.rstrip('/')}/*"
    builder_args = ["--out", out_path, "--jar", jar, "--class", entry_class, "--parallelism", str(int(parallelism))]
    if savepoint_path:
        builder_args += ["--savepoint", savepoint_path]
        if allow_non_restored_state:
            builder_args.append("--allow-non-restored-state")
    if job_id:
        builder_args += ["--job-id", job_id.lower()]
    if conf_dir:
        builder_args += ["--conf-dir", conf_dir]
    for extra in extra_jars or []:
        builder_args += ["--extra-jar", extra]
    for key, value in sorted((configuration or {}).items()):
        builder_args += ["--set", f"{key}={value}"]
    builder_args += ["--"] + [str(a) for a in args]
    source = f"{workdir.rstrip('/')}/{JAVA_CLASS_NAME}.java"
    if java_major is not None and java_major < 11:
        javac = java[: -len("java")] + "javac" if java.endswith("/java") else "javac"
        return [
            [javac, "-nowarn", "-cp", classpath, "-d", workdir, source],
            [java] + jvm_flags + ["-cp", f"{workdir}:{classpath}", JAVA_CLASS_NAME] + builder_args,
        ]
    return [[java] + jvm_flags + ["-cp", classpath, source] + builder_args]


def parse_builder_output(stdout: str) -> tuple[Optional[dict[str, Any]], Optional[dict[str, Any]]]:
    """(result, error) from the builder's stdout; both None when the builder printed neither line."""
    result = error = None
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            result = json.loads(line[len(RESULT_MARKER):])
        elif line.startswith(ERROR_MARKER):
            error = json.loads(line[len(ERROR_MARKER):])
    return result, error


def error_message(error: dict[str, Any], entry_class: str, jar: str) -> str:
    """One message from the builder's cause chain that leads with the program's own words.

    Why the innermost cause first: Flink wraps a user exception in 'The main method caused an error: <msg>';
    the user needs <msg> and the exception class, and the wrapper only for context.
    """
    causes = error.get("causes") or []
    if not causes:
        return f"Building the JobGraph of {entry_class} from {jar} failed without a message."
    root = causes[-1]
    text = f"Building the JobGraph of {entry_class} from {jar} failed: {root.get('class')}: {root.get('message')}"
    if len(causes) > 1:
        text += " | " + " <- ".join(f"{c.get('class')}: {c.get('message')}" for c in causes[:-1])
    return text


def launcher_problem(returncode: int, stderr: str, java: str) -> str:
    """Message for a builder that died before printing a result (no JDK, wrong Java, JVM crash)."""
    low = stderr.lower()
    if "jdk.compiler" in low or "source-file mode" in low or "no java compiler" in low or ("javac" in low and "not found" in low):
        hint = ("this Java has no compiler (jdk.compiler): install a JDK on the host "
                "(streamops.flink_mesos.java with java_package_type: jdk) or set java_home to one.")
    elif "unsupportedclassversionerror" in low:
        hint = "the Java given by java_home is older than the Flink jars need (Java 8 or newer)."
    elif "illegalaccess" in low or "inaccessibleobject" in low:
        hint = "the JVM flags do not open the JDK modules Flink needs; leave jvm_flags unset to get the Java 17 set."
    else:
        hint = "see the Java output below."
    tail = "\n".join(stderr.strip().splitlines()[-15:])
    return f"{java} exited with {returncode} before writing a JobGraph: {hint}\n{tail}"

"""The jobgraph module against a real Flink 1.13 tree and a real JDK on this machine.

Why: the pure tests cannot show that the Java builder compiles against Flink's client classes, that the file it
writes is a JobGraph Flink accepts, or that the program's own error message reaches the user. These tests run
the module exactly as Ansible does (a JSON argument file), then submit the written file to a standalone Flink
session through REST `POST /jobs` and wait for FINISHED.

They need a JDK (javac) and a Flink tree: FLINK_MESOS_TEST_FLINK_HOME, or the release tarball in the harness's
artifact mirror (FLINK_MESOS_MIRROR_DIR, set by tools/test), unpacked once per session. Without them they are
skipped, and pytest says why.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import jobgraph as jg

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "jobgraph"
FLINK_TARBALL = "flink/flink-1.13.6/flink-1.13.6-bin-scala_2.12.tgz"


@pytest.fixture(scope="session")
def flink_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An installed Flink 1.13 tree (given, or unpacked from the harness mirror)."""
    given = os.environ.get("FLINK_MESOS_TEST_FLINK_HOME")
    if given:
        return Path(given)
    mirror = os.environ.get("FLINK_MESOS_MIRROR_DIR", "")
    tarball = Path(mirror) / FLINK_TARBALL if mirror else None
    if tarball is None or not tarball.is_file():
        pytest.skip("no Flink tree: set FLINK_MESOS_TEST_FLINK_HOME or run through tools/test (artifact mirror)")
    dest = tmp_path_factory.mktemp("flink")
    with tarfile.open(tarball) as archive:
        archive.extractall(dest)  # noqa: S202 - the harness's own, checksum-verified release tarball
    homes = [p for p in dest.iterdir() if (p / "lib").is_dir()]
    assert len(homes) == 1, f"unexpected tarball layout: {list(dest.iterdir())}"
    return homes[0]


@pytest.fixture(scope="session")
def java_major() -> int:
    """Major version of the JDK on PATH (skips without javac: the builder needs a JDK)."""
    if not shutil.which("javac") or not shutil.which("java"):
        pytest.skip("no JDK (javac) on PATH")
    proc = subprocess.run(["java", "-version"], capture_output=True, text=True, check=True)
    major = jg.java_major_version(proc.stderr)
    assert major is not None
    return major


@pytest.fixture(scope="session")
def jars(flink_home: Path, java_major: int, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture programs compiled against the Flink tree: job.jar (programs) and naming.jar (a library)."""
    out = tmp_path_factory.mktemp("jars")
    dist = next((flink_home / "lib").glob("flink-dist*.jar"))
    lib_classes, job_classes = out / "lib-classes", out / "job-classes"
    release = ["--release", "8"] if java_major >= 9 else []
    subprocess.run(["javac", *release, "-d", str(lib_classes), *map(str, (FIXTURES / "lib").rglob("*.java"))],
                   check=True, capture_output=True)
    subprocess.run(["javac", *release, "-nowarn", "-cp", f"{dist}:{lib_classes}", "-d", str(job_classes),
                    *map(str, (FIXTURES / "src").rglob("*.java"))], check=True, capture_output=True)
    subprocess.run(["jar", "cf", str(out / "naming.jar"), "-C", str(lib_classes), "."], check=True)
    subprocess.run(["jar", "cf", str(out / "job.jar"), "-C", str(job_classes), "."], check=True)
    return {"job": out / "job.jar", "naming": out / "naming.jar"}


def run_module(args: dict[str, Any], tmp_path: Path, check_mode: bool = False) -> dict[str, Any]:
    """Run the module the way Ansible does (python -m with an argument file) and return its JSON answer."""
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check_mode, "_ansible_diff": True,
                                       "_ansible_tmpdir": str(tmp_path), "_ansible_remote_tmp": str(tmp_path)}}
    arg_file = tmp_path / f"args-{uuid.uuid4().hex}.json"
    arg_file.write_text(json.dumps(payload))
    env = dict(os.environ, PYTHONPATH=str(REPO / ".cache" / "collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.streamops.flink_mesos.plugins.modules.jobgraph",
                           str(arg_file)], capture_output=True, text=True, env=env, timeout=600, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"module printed no JSON (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def base_args(flink_home: Path, jars: dict[str, Path], dest: Path, **extra: Any) -> dict[str, Any]:
    """Arguments for the two-vertex fixture job."""
    args = {"jar": str(jars["job"]), "entry_class": "fixture.CountJob", "args": ["count", "5000"], "parallelism": 2,
            "extra_jars": [str(jars["naming"])], "flink_home": str(flink_home), "dest": str(dest)}
    args.update(extra)
    return args


def test_builds_and_is_idempotent(flink_home: Path, jars: dict[str, Path], tmp_path: Path) -> None:
    dest = tmp_path / "job.graph"
    started = time.monotonic()
    first = run_module(base_args(flink_home, jars, dest), tmp_path)
    elapsed = time.monotonic() - started
    assert first.get("failed") is not True, first.get("msg")
    assert first["changed"] is True and first["rebuilt"] is True
    # The job name comes from the library jar, so extra_jars reached main(); the rebalance makes 2 vertices.
    assert first["job_name"] == "fixture-count"
    assert first["vertices"] == 2
    assert len(first["job_id"]) == 32 and first["flink_version"] == "1.13.6"
    assert dest.stat().st_size > 1000 and Path(f"{dest}.inputs.json").is_file()
    print(f"JobGraph build: {first['build_seconds']} s in Java, {elapsed:.1f} s for the whole module run")

    graph_bytes = dest.read_bytes()
    second = run_module(base_args(flink_home, jars, dest), tmp_path)
    assert second["changed"] is False and second["rebuilt"] is False, second
    assert second["job_id"] == first["job_id"] and second["vertices"] == 2
    assert dest.read_bytes() == graph_bytes

    # Check mode with other arguments: reports the rebuild, touches nothing.
    preview = run_module(base_args(flink_home, jars, dest, args=["other", "10"]), tmp_path, check_mode=True)
    assert preview["changed"] is True and preview["reason"] == "the inputs changed (args)"
    assert '"other"' in preview["diff"]["after"] and '"count"' in preview["diff"]["before"]
    assert dest.read_bytes() == graph_bytes

    third = run_module(base_args(flink_home, jars, dest, args=["other", "10"]), tmp_path)
    assert third["changed"] is True and third["job_name"] == "fixture-other"
    assert third["job_id"] != first["job_id"]


def test_fixed_job_id_and_savepoint_settings(flink_home: Path, jars: dict[str, Path], tmp_path: Path) -> None:
    job_id = "0123456789abcdef0123456789ABCDEF"
    result = run_module(base_args(flink_home, jars, tmp_path / "g", job_id=job_id,
                                  savepoint_path="file:///savepoints/sp-1", allow_non_restored_state=True), tmp_path)
    assert result.get("failed") is not True, result.get("msg")
    assert result["job_id"] == job_id.lower()


@pytest.mark.parametrize("entry,expected", [
    ("fixture.Throws", "java.lang.IllegalStateException: missing --topic argument (got 2 arguments)"),
    ("fixture.NotAFlinkProgram", "hello from a plain Java program"),
])
def test_program_errors_carry_the_programs_message(
        flink_home: Path, jars: dict[str, Path], tmp_path: Path, entry: str, expected: str) -> None:
    result = run_module(base_args(flink_home, jars, tmp_path / "g", entry_class=entry), tmp_path)
    assert result.get("failed") is True
    assert expected in result["msg"], result["msg"]
    assert not (tmp_path / "g").exists() and not (tmp_path / "g.inputs.json").exists()


@pytest.mark.parametrize("override,expected", [
    ({"entry_class": "fixture.Missing"}, "entry_class 'fixture.Missing' is not in"),
    ({"parallelism": 0}, "parallelism must be 1 or more"),
    ({"jar": "/nonexistent/job.jar"}, "does not exist"),
    ({"extra_jars": ["/nonexistent/lib.jar"]}, "extra_jars: /nonexistent/lib.jar does not exist"),
])
def test_bad_input_fails_before_java(flink_home: Path, jars: dict[str, Path], tmp_path: Path,
                                     override: dict[str, Any], expected: str) -> None:
    started = time.monotonic()
    result = run_module(base_args(flink_home, jars, tmp_path / "g", **override), tmp_path)
    assert result.get("failed") is True and expected in result["msg"], result
    assert time.monotonic() - started < 5, "bad input must be refused before a JVM starts"


def free_port() -> int:
    """A free loopback port (the standalone session must not collide with other processes)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_json(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """GET (or POST when data is given) a Flink REST URL and decode its JSON."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def multipart(request: dict[str, Any], files: list[Path]) -> tuple[bytes, str]:
    """Body and content type of Flink's `POST /jobs`: a JSON part 'request' plus one part per file."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="request"\r\n'
             f"Content-Type: application/json\r\n\r\n{json.dumps(request)}\r\n".encode()]
    for index, path in enumerate(files):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file_{index}"; filename="{path.name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + path.read_bytes() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture()
def standalone_session(flink_home: Path, java_major: int, tmp_path: Path) -> Iterator[str]:
    """A one-TaskManager standalone Flink session on loopback; yields its REST base URL."""
    conf = tmp_path / "conf"
    shutil.copytree(flink_home / "conf", conf)
    rest = free_port()
    flags = " ".join(jg.default_jvm_flags(java_major))
    (conf / "flink-conf.yaml").write_text("\n".join([
        "jobmanager.rpc.address: localhost", f"jobmanager.rpc.port: {free_port()}",
        "jobmanager.bind-host: 127.0.0.1", "taskmanager.bind-host: 127.0.0.1", "taskmanager.host: localhost",
        f"rest.port: {rest}", "rest.address: localhost", "rest.bind-address: 127.0.0.1",
        "jobmanager.memory.process.size: 1024m", "taskmanager.memory.process.size: 1024m",
        "taskmanager.numberOfTaskSlots: 2", f'env.java.opts: "{flags}"', f"env.pid.dir: {tmp_path}", "",
    ]))
    (tmp_path / "log").mkdir()  # flink-daemon.sh does not create it
    env = dict(os.environ, FLINK_CONF_DIR=str(conf), FLINK_LOG_DIR=str(tmp_path / "log"))
    bin_dir = flink_home / "bin"
    subprocess.run([str(bin_dir / "jobmanager.sh"), "start"], env=env, check=True, capture_output=True)
    subprocess.run([str(bin_dir / "taskmanager.sh"), "start"], env=env, check=True, capture_output=True)
    url = f"http://127.0.0.1:{rest}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_json(f"{url}/overview")["taskmanagers"] >= 1:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-3000:] for p in (tmp_path / "log").glob("*.log"))
                raise AssertionError(f"standalone session did not come up on {url}:\n{logs}")
            time.sleep(0.5)
        yield url
    finally:
        subprocess.run([str(bin_dir / "taskmanager.sh"), "stop"], env=env, check=False, capture_output=True)
        subprocess.run([str(bin_dir / "jobmanager.sh"), "stop"], env=env, check=False, capture_output=True)


def test_written_jobgraph_runs_to_finished_on_a_flink_session(
        flink_home: Path, jars: dict[str, Path], tmp_path: Path, standalone_session: str) -> None:
    dest = tmp_path / "job.graph"
    built = run_module(base_args(flink_home, jars, dest), tmp_path)
    assert built.get("failed") is not True, built.get("msg")
    body, content_type = multipart(
        {"jobGraphFileName": dest.name, "jobJarFileNames": [jars["job"].name, jars["naming"].name]},
        [dest, jars["job"], jars["naming"]],
    )
    answer = http_json(f"{standalone_session}/jobs", data=body, headers={"Content-Type": content_type})
    assert answer == {"jobUrl": f"/jobs/{built['job_id']}"}
    deadline = time.monotonic() + 120
    state = None
    while time.monotonic() < deadline:
        job = http_json(f"{standalone_session}/jobs/{built['job_id']}")
        state = job["state"]
        if state in ("FINISHED", "FAILED", "CANCELED"):
            break
        time.sleep(0.5)
    assert state == "FINISHED", http_json(f"{standalone_session}/jobs/{built['job_id']}/exceptions")
    assert job["name"] == "fixture-count" and len(job["vertices"]) == 2
    assert {v["parallelism"] for v in job["vertices"]} == {2}
    result = http_json(f"{standalone_session}/jobs/{built['job_id']}/execution-result")
    assert result["job-execution-result"]["application-status"] == "SUCCEEDED"

"""Tests of the TEST-ONLY pure-Java stand-in for libmesos' MesosSchedulerDriver (NOT LIBMESOS).

Why: Flink 1.13's Mesos appmaster dies without libmesos.so, which cannot be installed here; the scenarios put
tests/mesos_standin/driver's jar in Flink's lib/ instead. If that jar spoke the v1 scheduler API wrongly, or
called the Scheduler callbacks differently from libmesos, a scenario could pass or fail for reasons that say
nothing about the collection. These tests build the jar with its build.sh against the real Flink 1.13.6
release jars (from the harness's artifact mirror), check that it is reproducible, holds only the stand-in and
has the same public API as the JNI class it shadows, and run its Java self tests (RecordIO, JSON, v0<->v1
conversion, master URLs, a fake master over HTTP, ZooKeeper leader detection).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "tests" / "mesos_standin" / "driver"
JAR_NAME = "mesos-standin-scheduler-driver-1.11.0.jar"
CACHE = Path(os.environ.get("FLINK_MESOS_CACHE", "/var/cache/streamops-flink-mesos"))
FLINK_TGZ = CACHE / "mirror" / "flink" / "flink-1.13.6" / "flink-1.13.6-bin-scala_2.12.tgz"
FLINK_SDIST = CACHE / "pypi" / "apache-flink-libraries-1.13.6.tar.gz"
LIB_JARS = ("flink-dist_2.12-1.13.6.jar", "flink-shaded-zookeeper-3.4.14.jar")

# Every Java self test; a test that silently disappears fails here.
SELF_TESTS = {
    "unit": [
        "recordio.encode", "recordio.several_records_in_one_chunk", "recordio.record_split_across_chunks",
        "recordio.bad_length", "recordio.reader_eof", "http.chunked_decoding", "http.redirect_locations",
        "json.round_trip", "json.errors", "convert.accept_launch", "convert.decline_with_filters", "convert.kill",
        "convert.acknowledge", "convert.reconcile", "convert.subscribe_teardown_revive_suppress_message_request",
        "convert.offers_event", "convert.update_event", "convert.subscribed_event", "convert.other_events",
        "convert.master_disconnected_updates", "masterurl.host_port", "masterurl.zk", "masterurl.file",
        "masterinfo.address", "zk.contenders_order",
    ],
    "driver": [
        "driver.status_before_start", "driver.fake_master_session", "driver.failover_id_implicit_ack_and_error",
        "driver.unavailable_master_backoff_and_lost_tasks", "driver.fatal_subscribe_answers",
        "driver.error_event_before_subscribed",
    ],
    "zk": ["zk.detector_follows_the_lowest_json_info", "zk.driver_follows_leader_change"],
}


def _need_jdk() -> None:
    missing = [t for t in ("java", "javac", "jar", "javap") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"the stand-in driver tests need a JDK 11+ ({', '.join(missing)} not found); "
                    "install openjdk-17-jdk-headless")


def _extract(archive: Path, prefix: str, dest: Path) -> None:
    wanted = {prefix + name: name for name in LIB_JARS}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name in wanted:
                fh = tar.extractfile(member)
                assert fh is not None
                with (dest / wanted.pop(member.name)).open("wb") as out:
                    shutil.copyfileobj(fh, out)
                if not wanted:
                    return
    pytest.fail(f"{archive} lacks {sorted(wanted)}")


@pytest.fixture(scope="module")
def flink_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Flink 1.13.6 release jars the driver compiles and runs against, from the harness's cache."""
    _need_jdk()
    dest = tmp_path_factory.mktemp("flink-lib")
    if FLINK_TGZ.is_file():
        _extract(FLINK_TGZ, "flink-1.13.6/lib/", dest)
    elif FLINK_SDIST.is_file():
        _extract(FLINK_SDIST, "apache-flink-libraries-1.13.6/deps/lib/", dest)
    else:
        pytest.fail(f"neither {FLINK_TGZ} nor {FLINK_SDIST} exists: build the artifact mirror first with "
                    f"`tools/test` (or `python tools/build_mirror.py --cache {CACHE} --out {CACHE / 'mirror'}`); "
                    "set FLINK_MESOS_CACHE if your cache lives elsewhere")
    return dest


def _build(out_dir: Path, lib: Path) -> Path:
    jar = out_dir / JAR_NAME
    run = subprocess.run(["bash", str(DRIVER / "build.sh"), str(jar), str(lib)], capture_output=True, text=True,
                         timeout=180, check=False)
    assert run.returncode == 0, f"build.sh failed:\n{run.stdout}\n{run.stderr}"
    assert run.stdout.strip().splitlines()[-1] == str(jar)
    return jar


@pytest.fixture(scope="module")
def driver_jar(flink_lib: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("jar-a"), flink_lib)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_jar_is_reproducible_and_holds_only_the_stand_in(
        driver_jar: Path, flink_lib: Path, tmp_path: Path) -> None:
    again = _build(tmp_path, flink_lib)
    assert _sha256(again) == _sha256(driver_jar), "two builds of the same sources differ"
    with zipfile.ZipFile(driver_jar) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names[:2] == ["META-INF/", "META-INF/MANIFEST.MF"]
        assert names[2:] == sorted(names[2:]), "entries are not sorted"
        assert {i.date_time[:3] for i in infos} == {(2020, 10, 13)}
        for name in names:
            assert (name in ("META-INF/", "META-INF/MANIFEST.MF", "META-INF/STANDIN-README.txt")
                    or re.fullmatch(r"org/apache/mesos/MesosSchedulerDriver\.class", name)
                    or re.fullmatch(r"org/apache/mesos/standin/[A-Za-z0-9$]+\.class", name)), name
        assert "org/apache/mesos/MesosSchedulerDriver.class" in names
        readme = zf.read("META-INF/STANDIN-README.txt").decode()
        assert readme.startswith("TEST-ONLY STAND-IN, NOT LIBMESOS")
        manifest = zf.read("META-INF/MANIFEST.MF").decode()
        assert "Implementation-Version: 1.11.0" in manifest
        assert "X-Stand-In: TEST-ONLY STAND-IN, NOT LIBMESOS" in manifest
        for name in names:
            if name.endswith(".class"):
                data = zf.read(name)
                assert b"MesosNativeLibrary" not in data and b"loadLibrary" not in data, f"{name} loads native code"
    assert driver_jar.stat().st_size < 200_000


def _public_members(classpath: str, *classes: str) -> list[set[str]]:
    """`javap -public` of each class: its declaration and public members, without native/synchronized."""
    out = subprocess.run(["javap", "-public", "-cp", classpath, *classes], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    result: list[set[str]] = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Compiled from"):
            result.append(set())
        elif line and line not in ("}", "static {};"):
            result[-1].add(re.sub(r"\b(native|synchronized) ", "", line))
    assert len(result) == len(classes), out
    return result


def test_public_api_is_that_of_the_libmesos_driver(driver_jar: Path, flink_lib: Path) -> None:
    dist = str(flink_lib / LIB_JARS[0])
    real, iface_members = _public_members(dist, "org.apache.mesos.MesosSchedulerDriver",
                                          "org.apache.mesos.SchedulerDriver")
    (ours,) = _public_members(f"{driver_jar}:{dist}", "org.apache.mesos.MesosSchedulerDriver")
    assert "public class org.apache.mesos.MesosSchedulerDriver implements org.apache.mesos.SchedulerDriver {" in real
    assert ours == real
    # Every method of the interface Flink compiles against is there (e.g. acceptOffers, suppressOffers).
    iface = {m.replace("public abstract ", "public ") for m in iface_members if "(" in m}
    assert len(iface) == 20
    assert iface <= ours


def test_java_self_tests(driver_jar: Path, flink_lib: Path, tmp_path: Path) -> None:
    libs = [str(flink_lib / name) for name in LIB_JARS]
    classes = tmp_path / "test-classes"
    sources = sorted(str(p) for p in (DRIVER / "test").rglob("*.java"))
    javac = subprocess.run(["javac", "--release", "11", "-encoding", "UTF-8", "-nowarn", "-cp",
                            ":".join([str(driver_jar), *libs]), "-d", str(classes), *sources],
                           capture_output=True, text=True, timeout=120, check=False)
    assert javac.returncode == 0, javac.stderr
    classpath = ":".join([str(driver_jar), str(classes), *libs])
    # The three groups are independent (own ports, own threads): run them side by side.
    procs = {group: subprocess.Popen(["java", "-cp", classpath, "org.apache.mesos.standin.SelfTest", group],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for group in SELF_TESTS}
    outputs = {}
    try:
        for group, proc in procs.items():
            outputs[group] = proc.communicate(timeout=120)[0]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    for group, names in SELF_TESTS.items():
        out = outputs[group]
        assert f"MesosSchedulerDriver loaded from file:{driver_jar}" in out, out
        assert procs[group].returncode == 0, out
        passed = set(re.findall(r"^PASS (\S+) \(\d+ ms\)$", out, re.MULTILINE))
        assert passed == set(names), out
        assert re.search(rf"^SELFTEST: {len(names)} passed, 0 failed$", out, re.MULTILINE), out
        assert "FAIL " not in out, out

"""Bad input to the hadoop role is refused before anything changes on a host, with a message naming the variable.

Why: the Hadoop classpath is needed by every Flink-on-Mesos start; a wrong mode, a jar without checksum or a mirror
that does not answer must stop the play at the start, not leave half a classpath behind.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from preflight_batch import Run, preflight_run
from refusal import free_port, refused

GROUPS = {"flink_appmaster": {"am-1": {}}, "mesos_agents": {"agent-1": {}}}
JAR = "hadoop-client-api-3.3.4.jar"


def _jar(workdir: Path) -> Path:
    """A small file standing in for a jar, in the run's own mirror directory."""
    path = workdir / "mirror" / JAR
    path.parent.mkdir()
    path.write_bytes(b"not really a jar, but checksummed like one\n")
    return path


@preflight_run(lambda workdir: Run("hadoop", GROUPS, {"hadoop_mode": "cloudera", "hadoop_jars_dir": str(workdir / "cp")}))
def test_unknown_mode_is_refused(result) -> None:
    refused(result, "hadoop_mode", "distribution, shaded, jars")
    assert not (result.workdir / "cp").exists()


@preflight_run(lambda: Run("hadoop", GROUPS, {"hadoop_jars": [{"url": "https://mirror.example/a.jar"}]}))
def test_jar_without_checksum_is_refused(result) -> None:
    refused(result, "hadoop_jars[0]", "checksum")


@preflight_run(lambda: Run("hadoop", GROUPS, {"hadoop_jars": [
    {"url": "https://mirror.example/a.jar", "src": "/tmp/a.jar", "checksum": "sha512:00"}]}))
def test_jar_with_url_and_src_is_refused(result) -> None:
    refused(result, "hadoop_jars[0]", "exactly one of")


@preflight_run(lambda: Run("hadoop", GROUPS, {"hadoop_mode": "shaded", "hadoop_shaded_url": "https://mirror.example/hadoop.tgz",
                                              "hadoop_install_dir": "opt/hadoop"}))
def test_shaded_url_that_is_not_a_jar_and_a_relative_path_are_named_at_once(result) -> None:
    """The paths and the settings of the mode in use are one check that names every problem."""
    refused(result, "hadoop_install_dir is 'opt/hadoop'; set an absolute path",
            "hadoop_mode is shaded but hadoop_shaded_url ('https://mirror.example/hadoop.tgz') is not an http(s)/file URL of a .jar")


@preflight_run(lambda: Run("hadoop", GROUPS, {"hadoop_mode": "distribution", "hadoop_version": "three",
                                              "hadoop_java_home": "/usr/lib/jvm/java-11"}))
def test_distribution_with_a_bad_version_is_refused(result) -> None:
    refused(result, "hadoop_mode is distribution but hadoop_version ('three')", "Set hadoop_version to a release such as 3.3.4")


@preflight_run(lambda: Run("hadoop", GROUPS, {"hadoop_mode": "distribution"}))
def test_distribution_without_java_home_is_refused(result) -> None:
    refused(result, "hadoop_java_home", "streamops.flink_mesos.java")


@preflight_run(lambda workdir: Run("hadoop", GROUPS, {
    "hadoop_jars": [{"url": _jar(workdir).as_uri(), "checksum": "sha512:" + "0" * 128}],
    "hadoop_jars_dir": str(workdir / "cp"),
    "common_local_cache_path": str(workdir / "cache"),
    "common_download_delay": 0,
}))
def test_checksum_mismatch_is_refused_before_host_changes(result) -> None:
    refused(result, "hadoop_jars", "checksum")
    assert not (result.workdir / "cp").exists()


def _silent_mirror(workdir: Path) -> Run:
    url = f"http://127.0.0.1:{free_port()}/maven2/{JAR}"
    return Run("hadoop", GROUPS, {
        "hadoop_jars": [{"url": url, "checksum": f"sha512:{url}.sha512"}],
        "hadoop_jars_dir": str(workdir / "cp"),
        "common_local_cache_path": str(workdir / "cache"),
        "common_download_delay": 0,
    })


@preflight_run(_silent_mirror)
def test_mirror_that_does_not_answer_is_refused(result) -> None:
    refused(result, "Could not fetch", "hadoop_jars", "reachable mirror")
    assert not (result.workdir / "cp").exists()


def _good_jar_list(workdir: Path) -> Run:
    jar = _jar(workdir)
    return Run("hadoop", GROUPS, {
        "hadoop_jars": [{"url": jar.as_uri(), "checksum": f"sha512:{hashlib.sha512(jar.read_bytes()).hexdigest()}"}],
        "hadoop_jars_dir": str(workdir / "cp"),
        "common_local_cache_path": str(workdir / "cache"),
        "common_download_delay": 0,
    })


@preflight_run(_good_jar_list)
def test_good_jar_list_passes_in_check_mode(result) -> None:
    """Control: the same play with a correct checksum succeeds (so the failures above are about the input)."""
    assert result.rc == 0, result.output
    assert (result.workdir / "cache" / JAR).read_bytes() == (result.workdir / "mirror" / JAR).read_bytes()
    assert not (result.workdir / "cp").exists(), "check mode must not create the jar directory"


SHADED_VERSION = "2.8.3-10.0"
SHADED_JAR = f"org/apache/flink/flink-shaded-hadoop-2-uber/{SHADED_VERSION}/flink-shaded-hadoop-2-uber-{SHADED_VERSION}.jar"


def _shaded_mirror(workdir: Path) -> Run:
    """A Maven layout under hadoop_maven_url holding the uber jar and its .sha1."""
    jar = workdir / "maven2" / SHADED_JAR
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"stand-in for the uber jar\n")
    (jar.parent / (jar.name + ".sha1")).write_text(hashlib.sha1(jar.read_bytes()).hexdigest() + "\n")
    return Run("hadoop", GROUPS, {
        "hadoop_mode": "shaded",
        "hadoop_maven_url": (workdir / "maven2").as_uri(),
        "hadoop_jars_dir": str(workdir / "cp"),
        "common_local_cache_path": str(workdir / "cache"),
        "common_download_delay": 0,
    })


@preflight_run(_shaded_mirror)
def test_shaded_mode_downloads_the_uber_jar_in_check_mode(result) -> None:
    """shaded mode takes the flink-shaded-hadoop-2-uber jar from the Maven layout under hadoop_maven_url."""
    jar = result.workdir / "maven2" / SHADED_JAR
    assert result.rc == 0, result.output
    assert (result.workdir / "cache" / jar.name).read_bytes() == jar.read_bytes()
    assert not (result.workdir / "cp").exists()

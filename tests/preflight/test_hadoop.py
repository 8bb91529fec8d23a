"""Bad input to the hadoop role is refused before anything changes on a host, with a message naming the variable.

Why: the Hadoop classpath is needed by every Flink-on-Mesos start; a wrong mode, a jar without checksum or a mirror
that does not answer must stop the play at the start, not leave half a classpath behind.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from refusal import free_port, host_changes, refused

GROUPS = {"flink_appmaster": {"am-1": {}}, "mesos_agents": {"agent-1": {}}}


@pytest.fixture()
def jar(tmp_path: Path) -> Path:
    """A small file standing in for a jar, with a known sha512."""
    path = tmp_path / "mirror" / "hadoop-client-api-3.3.4.jar"
    path.parent.mkdir()
    path.write_bytes(b"not really a jar, but checksummed like one\n")
    return path


def test_unknown_mode_is_refused(run_role, tmp_path) -> None:
    result = run_role("hadoop", GROUPS, {"hadoop_mode": "cloudera", "hadoop_jars_dir": str(tmp_path / "cp")})
    refused(result, "hadoop_mode", "distribution, shaded, jars")
    assert not (tmp_path / "cp").exists()


def test_unknown_mode_is_explained_by_preflight(run_role) -> None:
    result = run_role("hadoop", GROUPS, {"hadoop_mode": "cloudera"}, tasks_from="preflight")
    refused(result, "hadoop_mode is 'cloudera'", "Set hadoop_mode to one of distribution, shaded, jars")


def test_jar_without_checksum_is_refused(run_role) -> None:
    result = run_role("hadoop", GROUPS, {"hadoop_jars": [{"url": "https://mirror.example/a.jar"}]})
    refused(result, "hadoop_jars[0]", "checksum")


def test_jar_with_url_and_src_is_refused(run_role) -> None:
    bad = {"url": "https://mirror.example/a.jar", "src": "/tmp/a.jar", "checksum": "sha512:00"}
    result = run_role("hadoop", GROUPS, {"hadoop_jars": [bad]})
    refused(result, "hadoop_jars[0]", "exactly one of")


def test_distribution_without_java_home_is_refused(run_role) -> None:
    result = run_role("hadoop", GROUPS, {"hadoop_mode": "distribution"})
    refused(result, "hadoop_java_home", "streamops.flink_mesos.java")


def test_checksum_mismatch_is_refused_before_host_changes(run_role, jar, tmp_path) -> None:
    role_vars = {
        "hadoop_jars": [{"url": jar.as_uri(), "checksum": "sha512:" + "0" * 128}],
        "hadoop_jars_dir": str(tmp_path / "cp"),
        "common_local_cache_path": str(tmp_path / "cache"),
    }
    result = run_role("hadoop", GROUPS, role_vars)
    refused(result, "hadoop_jars", "checksum")
    assert not (tmp_path / "cp").exists()


def test_mirror_that_does_not_answer_is_refused(run_role, tmp_path) -> None:
    url = f"http://127.0.0.1:{free_port()}/maven2/hadoop-client-api-3.3.4.jar"
    role_vars = {
        "hadoop_jars": [{"url": url, "checksum": f"sha512:{url}.sha512"}],
        "hadoop_jars_dir": str(tmp_path / "cp"),
        "common_local_cache_path": str(tmp_path / "cache"),
    }
    result = run_role("hadoop", GROUPS, role_vars)
    refused(result, "Could not fetch", "hadoop_jars", "reachable mirror")
    assert not (tmp_path / "cp").exists()


def test_good_jar_list_passes_in_check_mode(run_role, jar, tmp_path) -> None:
    """Control: the same play with a correct checksum succeeds (so the failures above are about the input)."""
    digest = hashlib.sha512(jar.read_bytes()).hexdigest()
    role_vars = {
        "hadoop_jars": [{"url": jar.as_uri(), "checksum": f"sha512:{digest}"}],
        "hadoop_jars_dir": str(tmp_path / "cp"),
        "common_local_cache_path": str(tmp_path / "cache"),
    }
    result = run_role("hadoop", GROUPS, role_vars)
    assert result.rc == 0, result.output
    assert (tmp_path / "cache" / jar.name).read_bytes() == jar.read_bytes()
    assert not (tmp_path / "cp").exists(), "check mode must not create the jar directory"


def test_shaded_mode_downloads_the_uber_jar_in_check_mode(run_role, tmp_path) -> None:
    """shaded mode takes the flink-shaded-hadoop-2-uber jar from the Maven layout under hadoop_maven_url."""
    version = "2.8.3-10.0"
    jar = tmp_path / "maven2" / "org/apache/flink/flink-shaded-hadoop-2-uber" / version / f"flink-shaded-hadoop-2-uber-{version}.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"stand-in for the uber jar\n")
    (jar.parent / (jar.name + ".sha1")).write_text(hashlib.sha1(jar.read_bytes()).hexdigest() + "\n")
    role_vars = {
        "hadoop_mode": "shaded",
        "hadoop_maven_url": (tmp_path / "maven2").as_uri(),
        "hadoop_jars_dir": str(tmp_path / "cp"),
        "common_local_cache_path": str(tmp_path / "cache"),
    }
    result = run_role("hadoop", GROUPS, role_vars)
    assert result.rc == 0, result.output
    assert (tmp_path / "cache" / jar.name).read_bytes() == jar.read_bytes()
    assert not (tmp_path / "cp").exists()

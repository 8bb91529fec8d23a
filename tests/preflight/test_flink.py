"""Bad input to the flink role is refused before anything changes on a host, with a message naming the variable.

Why: Flink on Mesos fails late and far away (an appmaster that registers as 'localhost', a TaskManager that cannot
parse its memory size, two clusters sharing HA state). These tests prove the role stops such input at the start.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from preflight_batch import Run, preflight_run
from refusal import free_port, refused

APPMASTER = {"flink_appmaster": {"am-1": {}}}
GOOD: dict[str, Any] = {
    "flink_mesos_master": "zk://zk-1:2181,zk-2:2181/mesos",
    "flink_hadoop_classpath": "/opt/hadoop-classpath/hadoop-client-api-3.3.4.jar",
}

RELEASE = "flink-1.13.6-bin-scala_2.12.tgz"


def _preflight(groups: dict[str, dict[str, dict[str, Any]]], role_vars: dict[str, Any]) -> Run:
    """A run of the flink role's preflight entry point."""
    return Run("flink", groups, role_vars, tasks_from="preflight")


def _release(workdir: Path) -> Path:
    """A small file standing in for the release tarball, in the run's own mirror directory."""
    path = workdir / "mirror" / RELEASE
    path.parent.mkdir()
    path.write_bytes(b"stand-in for a release tarball\n")
    return path


@preflight_run(lambda: _preflight(
    {**APPMASTER, "mesos_agents": {"agent-1": {}}},
    {**GOOD, "flink_jobmanager_memory_process_size": "2 GB", "flink_taskmanager_memory_process_size": "1728m",
     "flink_container_type": "docker", "flink_container_image": "flink:1.13.6-scala_2.12"}))
def test_good_settings_pass_preflight(result) -> None:
    """Control: valid settings (including MemorySize forms with spaces and units) pass, so refusals mean something."""
    assert result.rc == 0, result.output


@preflight_run(lambda address: _preflight(APPMASTER, {**GOOD, "flink_jobmanager_rpc_address": address}))
@pytest.mark.parametrize("address", ["localhost", "127.0.0.1", "127.0.1.1", "::1"])
def test_loopback_rpc_address_is_refused(result, address) -> None:
    refused(result, f"flink_jobmanager_rpc_address is '{address}', a loopback address",
            "Set flink_jobmanager_rpc_address to this host's network name")


@preflight_run(lambda master: _preflight(APPMASTER, {**GOOD, "flink_mesos_master": master}))
@pytest.mark.parametrize("master", ["localhost:5050", "127.0.0.1:5050", "zk://zk-1:2181,127.0.0.1:2181/mesos",
                                    "zk://user:pw@localhost:2181/mesos", "[::1]:5050", "", "mesos-1"])
def test_bad_or_loopback_mesos_master_is_refused(result, master) -> None:
    refused(result, f"flink_mesos_master: '{master}'" if master else "flink_mesos_master: no Mesos master is set")


@preflight_run(lambda key, value, fragment: _preflight(
    {**APPMASTER, "mesos_agents": {"agent-1": {}}}, {**GOOD, "flink_conf_extra": {key: value}}))
@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("jobmanager.rpc.address", "127.0.0.1", "flink_conf_extra['jobmanager.rpc.address'] is '127.0.0.1', a loopback"),
    ("mesos.master", "localhost:5050", "flink_conf_extra['mesos.master']: 'localhost:5050' names a loopback address"),
], ids=["rpc-address", "mesos-master"])
def test_flink_conf_extra_is_checked_like_the_typed_variable(result, key: str, value: str, fragment: str) -> None:
    """What reaches flink-conf.yaml is checked, whichever variable set it (issue 14: free-form dicts)."""
    refused(result, fragment)


@preflight_run(lambda: _preflight({"mesos_agents": {"agent-1": {}}}, {"flink_mesos_master": ""}))
def test_mesos_master_is_not_needed_on_agents(result) -> None:
    assert result.rc == 0, result.output


@preflight_run(lambda: _preflight(APPMASTER, {**GOOD, "flink_container_type": "docker"}))
def test_docker_container_without_image_is_refused(result) -> None:
    refused(result, "flink_container_image", "docker needs flink_container_image")


@preflight_run(lambda size: _preflight(APPMASTER, {**GOOD, "flink_taskmanager_memory_process_size": size}))
@pytest.mark.parametrize("size", ["1.5g", "lots", "12 parsecs", "0m", "-1g"])
def test_unparsable_memory_is_refused(result, size) -> None:
    refused(result, f"flink_taskmanager_memory_process_size is '{size}'", "cannot parse as a memory size")


@preflight_run(lambda: _preflight(APPMASTER, {
    **GOOD, "flink_version": "1.13 6", "flink_container_type": "lxc", "flink_jobmanager_memory_process_size": "1.5g",
    "flink_taskmanager_slots": 0, "flink_user_jars": [{"url": "https://repo.example.com/x.jar"}]}))
def test_every_bad_setting_of_the_run_is_named_at_once(result) -> None:
    """The run's settings are one check that names every problem, not only the first."""
    refused(result, "The Flink release settings are not usable: flink_version='1.13 6'", "flink_container_type is 'lxc'",
            "flink_jobmanager_memory_process_size is '1.5g', which Flink cannot parse",
            "flink_taskmanager_slots (0) must be an integer >= 1", "flink_user_jars[0] is")


@preflight_run(lambda: _preflight(APPMASTER, {
    **GOOD, "flink_log_dir": "log/flink", "flink_jobmanager_rpc_address": "127.0.0.1",
    "flink_jvm_args_extra": ['-Dgreeting="hi"']}))
def test_every_bad_setting_of_a_host_is_named_at_once(result) -> None:
    """A host's own settings are one check that names every problem, not only the first."""
    refused(result, "flink_log_dir is 'log/flink'; set an absolute path",
            "flink_jobmanager_rpc_address is '127.0.0.1', a loopback address",
            "contains a double quote, backslash, '$', backtick or line break")


@preflight_run(lambda: _preflight(APPMASTER, {**GOOD, "flink_uris": "https://repo.example.com/x.jar"}))
def test_a_string_where_a_list_belongs_is_refused(result) -> None:
    refused(result, "flink_uris, flink_user_jars, flink_jvm_args_extra", "must be lists")


@preflight_run(lambda: _preflight(APPMASTER, {**GOOD, "flink_hadoop_classpath": ""}))
def test_missing_hadoop_classpath_is_refused_on_appmaster(result) -> None:
    refused(result, "flink_hadoop_classpath is empty", "UserGroupInformation")


@preflight_run(lambda: _preflight(APPMASTER, {**GOOD, "flink_ha_enabled": True, "flink_ha_zookeeper_quorum": "zk-1:2181"}))
def test_ha_without_storage_dir_is_refused(result) -> None:
    refused(result, "flink_ha_storage_dir")


@preflight_run(lambda: _preflight(
    {"flink_appmaster": {"am-1": {"flink_framework_name": "orders"}, "am-2": {"flink_framework_name": "billing"}}},
    {**GOOD, "flink_ha_enabled": True, "flink_ha_zookeeper_quorum": "zk-1:2181",
     "flink_ha_storage_dir": "hdfs:///flink/ha", "flink_ha_cluster_id": "/shared"}))
def test_two_clusters_with_one_ha_cluster_id_are_refused(result) -> None:
    refused(result, "flink_ha_cluster_id", "cluster-id /shared used by")


@preflight_run(lambda: _preflight(
    {"flink_appmaster": {"am-1": {"flink_framework_name": "orders"}, "am-2": {"flink_framework_name": "orders"},
                         "am-3": {"flink_framework_name": "billing"}}},
    {**GOOD, "flink_ha_enabled": True, "flink_ha_zookeeper_quorum": "zk-1:2181", "flink_ha_storage_dir": "hdfs:///flink/ha"}))
def test_standby_appmasters_of_one_cluster_share_the_id(result) -> None:
    """Control for the clash check: two appmaster hosts of the same framework (standbys) are fine, and the
    default cluster id differs per framework name."""
    assert result.rc == 0, result.output


STANDBYS = {"flink_appmaster": {"am-1": {"flink_framework_name": "orders"}, "am-2": {"flink_framework_name": "orders"}}}
LOCAL_HA = {**GOOD, "flink_ha_enabled": True, "flink_ha_zookeeper_quorum": "zk-1:2181",
            "flink_ha_storage_dir": "file:///var/lib/flink/ha"}


@preflight_run(lambda: _preflight(STANDBYS, LOCAL_HA))
def test_local_ha_storage_of_standby_appmasters_is_refused(result) -> None:
    refused(result, "flink_ha_storage_dir is 'file:///var/lib/flink/ha'", "am-1, am-2 run this cluster",
            "flink_ha_storage_shared=true")


@preflight_run(lambda: _preflight(STANDBYS, {**LOCAL_HA, "flink_ha_storage_shared": True}))
def test_local_ha_storage_declared_shared_is_accepted(result) -> None:
    """Control: the same inventory passes once the user says the mount is shared (and a single appmaster host
    with a local directory passes too: the ha scenario runs that way)."""
    assert result.rc == 0, result.output


@preflight_run(lambda: _preflight(APPMASTER, {**LOCAL_HA, "flink_ha_storage_dir": "var/lib/flink/ha"}))
def test_ha_storage_without_scheme_or_absolute_path_is_refused(result) -> None:
    refused(result, "flink_ha_storage_dir is 'var/lib/flink/ha'", "URI with a scheme")


@preflight_run(lambda: _preflight(APPMASTER, {**GOOD, "flink_conf_extra": {"metrics.scope.jm": "a#b"}}))
def test_hash_in_a_configuration_value_is_refused(result) -> None:
    refused(result, "metrics.scope.jm", "'#'")


@preflight_run(lambda: _preflight(
    APPMASTER, {**GOOD, "flink_framework_principal": "flink", "flink_framework_secret": "s3cr3t#value"}))
def test_secret_is_not_printed_on_failure(result) -> None:
    assert result.rc != 0
    assert "s3cr3t" not in result.output


def _checksum_mismatch(workdir: Path) -> Run:
    role_vars = {**GOOD, "flink_archive_url": _release(workdir).as_uri(), "flink_archive_checksum": "sha512:" + "1" * 128,
                 "flink_install_dir": str(workdir / "opt"), "flink_conf_dir": str(workdir / "etc"),
                 "common_local_cache_path": str(workdir / "cache"),
                 "common_download_delay": 0}
    return Run("flink", APPMASTER, role_vars)


@preflight_run(_checksum_mismatch)
def test_checksum_mismatch_is_refused_before_host_changes(result) -> None:
    refused(result, "flink_archive_url", "did not match", "or the checksum")
    assert not (result.workdir / "opt").exists() and not (result.workdir / "etc").exists()


def _checksum_file_mismatch(workdir: Path) -> Run:
    """Apache-format .sha512 file next to the artifact, with the wrong hash."""
    release = _release(workdir)
    (release.parent / (release.name + ".sha512")).write_text(f"{'2' * 128}  {release.name}\n")
    role_vars = {**GOOD, "flink_archive_url": release.as_uri(), "flink_install_dir": str(workdir / "opt"),
                 "common_local_cache_path": str(workdir / "cache"),
                 "common_download_delay": 0}
    return Run("flink", APPMASTER, role_vars)


@preflight_run(_checksum_file_mismatch)
def test_checksum_file_that_does_not_match_is_refused(result) -> None:
    """Apache-format .sha512 file next to the artifact, with the wrong hash."""
    refused(result, "flink_archive_url", "did not match")
    assert not (result.workdir / "opt").exists()


@preflight_run(lambda workdir: Run("flink", APPMASTER, {
    **GOOD, "flink_mirror_url": f"http://127.0.0.1:{free_port()}/flink",
    "flink_install_dir": str(workdir / "opt"), "common_local_cache_path": str(workdir / "cache"),
    "common_download_delay": 0}))
def test_mirror_that_does_not_answer_is_refused(result) -> None:
    refused(result, "Could not fetch", "flink_archive_url", "reachable mirror")
    assert not (result.workdir / "opt").exists()


def _matching_checksum_file(workdir: Path) -> Run:
    release = _release(workdir)
    digest = hashlib.sha512(release.read_bytes()).hexdigest()
    (release.parent / (release.name + ".sha512")).write_text(f"{digest}  {release.name}\n")
    role_vars = {**GOOD, "flink_archive_url": release.as_uri(), "flink_install_dir": str(workdir / "opt"),
                 "common_local_cache_path": str(workdir / "cache"),
                 "common_download_delay": 0}
    return Run("flink", APPMASTER, role_vars)


@preflight_run(_matching_checksum_file)
def test_matching_checksum_file_passes_the_download(result) -> None:
    """Control: the same download with the right Apache-format .sha512 gets past the download step."""
    release = result.workdir / "mirror" / RELEASE
    assert (result.workdir / "cache" / RELEASE).read_bytes() == release.read_bytes(), result.output
    assert "Could not fetch" not in result.output


SECRET = "fw-s3cret-4711"
KEYSTORE_PASSWORD = "ks-pass-0815"


def _configure_verbose(workdir: Path, secrets: bool) -> Run:
    """The flink role's configure step in check mode with -vvv and --diff (the unpacked release is not needed:
    the logging files are copied only when it exists)."""
    role_vars: dict[str, Any] = {**GOOD, "flink_conf_dir": str(workdir / "etc"),
                                 "flink_appmaster_env_file": str(workdir / "etc" / "appmaster.env"),
                                 "__flink_unpacked": False}
    if secrets:
        role_vars.update(flink_framework_principal="flink", flink_framework_secret=SECRET,
                         flink_conf_extra={"security.ssl.rest.keystore-password": KEYSTORE_PASSWORD})
    return Run("flink", APPMASTER, role_vars, tasks_from="configure", cli_args=("-vvv", "--diff"))


@preflight_run(lambda workdir: _configure_verbose(workdir, secrets=True))
def test_secrets_never_reach_verbose_output_or_diff(result) -> None:
    """The framework secret and a keystore password in flink_conf_extra: not in -vvv output, not in --diff."""
    assert result.rc == 0, result.output
    assert "TASK [streamops.flink_mesos.flink : Write flink-conf.yaml]" in result.output
    assert SECRET not in result.output and KEYSTORE_PASSWORD not in result.output
    assert "the output has been hidden" in result.output


@preflight_run(lambda workdir: _configure_verbose(workdir, secrets=False))
def test_without_secrets_the_diff_is_shown(result) -> None:
    """Control for the test above: without secrets the same run shows flink-conf.yaml in the diff, so the hiding
    above is the no_log rule at work, not an output that never shows configuration."""
    assert result.rc == 0, result.output
    assert "+mesos.master: zk://zk-1:2181,zk-2:2181/mesos" in result.output, result.output

"""The rule filters the roles use (plugins/filter/rules.py): the same rules as the modules, as problem lists."""
from __future__ import annotations

import pytest

from pathlib import Path

import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.streamops.flink_mesos.plugins.filter import rules
from ansible_collections.streamops.flink_mesos.plugins.module_utils import readiness

ROLES = Path(__file__).resolve().parents[4] / "roles"


def test_filters_are_registered() -> None:
    names = {"mesos_value_problems", "address_problems", "mesos_master_problems", "path_problems", "secret_keys",
             "checksum_problems", "instance_name_problems", "artifact_problems"}
    assert set(rules.FilterModule().filters()) == names


@pytest.mark.parametrize("host", ["localhost", "127.0.1.1", "::1", "ip6-localhost", "localhost6", "0.0.0.0"])
def test_loopback_addresses_are_problems(host: str) -> None:
    assert rules.address_problems(host, "mesos_hostname") == [
        f"mesos_hostname is '{host}', a loopback address: the advertised address must be one the other hosts reach. "
        "Set mesos_hostname to this host's network name or address."]


@pytest.mark.parametrize("host", ["", None, "agent-1", "10.0.0.5", "agent-1.example.com"])
def test_reachable_or_empty_addresses_pass(host: str | None) -> None:
    assert not rules.address_problems(host, "mesos_hostname")


def test_master_urls_use_the_appmaster_module_rule() -> None:
    assert not rules.mesos_master_problems("zk://zk-1:2181,zk-2:2181/mesos", "m")
    assert not rules.mesos_master_problems("m1:5050", "m")
    assert "names a loopback address" in rules.mesos_master_problems("localhost:5050", "m")[0]
    assert "is not a Mesos master URL" in rules.mesos_master_problems("m1", "m")[0]
    assert "no Mesos master is set" in rules.mesos_master_problems("", "m")[0]


def test_paths_must_be_absolute_unless_optional_and_empty() -> None:
    paths = {"a_dir": "/var/lib/a", "b_dir": "rel/b", "c_home": "", "d_file": ""}
    assert rules.path_problems(paths, ["c_home"]) == [
        "b_dir is 'rel/b'; set an absolute path (starting with /).",
        "d_file is ''; set an absolute path (starting with /)."]
    with pytest.raises(AnsibleFilterError):
        rules.path_problems(["/a"])


def test_value_problems_wraps_the_grammar() -> None:
    assert rules.mesos_value_problems({"cpus": "2"}, "resources", "r") == []
    with pytest.raises(AnsibleFilterError):
        rules.mesos_value_problems({}, "ports", "r")


def test_secret_keys_follow_the_module_rule() -> None:
    conf = {"security.ssl.rest.keystore-password": "x", "mesos.resourcemanager.framework.secret": "y",
            "fs.azure.account.key.acct.blob.core.windows.net": "z", "metrics.reporter.dd.apikey": "k", "rest.port": 1}
    assert rules.secret_keys(conf) == sorted(k for k in conf if k != "rest.port")
    with pytest.raises(AnsibleFilterError):
        rules.secret_keys(["a"])


@pytest.mark.parametrize("value", [
    "sha512:" + "a" * 128, "sha256:" + "F" * 64, "md5:" + "0" * 32, "sha1:" + "1" * 40,
    "sha512:https://mirror.example/flink.tgz.sha512", "sha256:file:///srv/x.sha256"])
def test_checksums_get_url_verifies_pass(value: str) -> None:
    assert rules.checksum_problems(value, "flink_archive_checksum") == []


def test_truncated_digest_names_the_variable_and_the_length() -> None:
    assert rules.checksum_problems("sha512:3f1c", "flink_archive_checksum") == [
        "flink_archive_checksum is 'sha512:3f1c': a sha512 digest is 128 hex digits (got 4 characters). Copy the "
        "digest again or give the URL of the checksum file instead."]
    assert "not all hex" in rules.checksum_problems("sha256:" + "z" * 64, "c")[0]


@pytest.mark.parametrize("value", ["crc32:abcd", "3f1c" * 32, "sha512:", "sha-512:" + "a" * 128, "SHA256:" + "f" * 64])
def test_unknown_algorithms_and_bare_digests_are_refused(value: str) -> None:
    (problem,) = rules.checksum_problems(value, "mesos_package_file_checksum")
    assert problem.startswith(f"mesos_package_file_checksum is '{value}'; set it to '<algorithm>:<hex digest>'")
    assert "md5, sha1, sha224, sha256, sha384, sha512" in problem


def test_empty_checksum_only_where_allowed() -> None:
    assert rules.checksum_problems("", "zookeeper_tarball_checksum", True) == []
    assert rules.checksum_problems(None, "x")[0].startswith("x is empty;")


def test_instance_names_use_the_appmaster_module_rule() -> None:
    assert rules.instance_name_problems("clickstream-v2", "flink_job_name") == []
    for bad in ("bad name!", "", "-lead", "x" * 65):
        (problem,) = rules.instance_name_problems(bad, "flink_job_name")
        assert problem.startswith(f"flink_job_name: '{bad}' is not a valid instance name"), problem


def _choices(role: str, option: str) -> list:
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"][option]["choices"]


@pytest.mark.parametrize("role, option", [("flink_session", "flink_session_wait_for"),
                                          ("flink_job", "flink_job_appmaster_wait")])
def test_role_wait_levels_are_the_modules(role: str, option: str) -> None:
    """Role argument specs are static YAML; this keeps their copy of readiness.WAIT_LEVELS (the home) equal."""
    assert _choices(role, option) == list(readiness.WAIT_LEVELS)


SHA = "sha512:" + "a" * 128


@pytest.mark.parametrize("entries", [
    [],
    [{"url": "https://repo.example.com/a.jar", "checksum": SHA}],
    [{"src": "/srv/jars/a.jar", "checksum": "sha512:https://repo.example.com/a.jar.sha512", "dest": "usrlib"}],
])
def test_good_artifact_lists_pass(entries: list) -> None:
    assert rules.artifact_problems(entries, "flink_user_jars", ".jar", ["lib", "usrlib"]) == []


@pytest.mark.parametrize("entry, hint", [
    ({"checksum": SHA}, "exactly one of url"),
    ({"url": "https://r/a.jar", "src": "/a.jar", "checksum": SHA}, "exactly one of url"),
    ({"url": "ftp://r/a.jar", "checksum": SHA}, "http://, https:// or file://"),
    ({"src": "jars/a.jar", "checksum": SHA}, "absolute controller path"),
    ({"url": "https://r/a.zip", "checksum": SHA}, "of a .jar"),
    ({"url": "https://r/a.jar", "checksum": SHA, "dest": "plugins"}, "dest: lib or usrlib"),
    ({"url": "https://r/a.jar"}, "Its checksum is empty"),
    ({"url": "https://r/a.jar", "checksum": "sha512:3f1c"}, "a sha512 digest is 128 hex digits"),
    ("https://r/a.jar", "exactly one of url"),
])
def test_bad_artifact_entries_name_their_index(entry, hint: str) -> None:
    good = {"url": "https://r/ok.jar", "checksum": SHA}
    problems = rules.artifact_problems([good, entry], "flink_user_jars", ".jar", ["lib", "usrlib"])
    assert len(problems) == 1 and problems[0].startswith("flink_user_jars[1] is "), problems
    assert hint in problems[0], problems


def test_artifact_list_rules_for_the_whole_list() -> None:
    assert rules.artifact_problems("a.jar", "hadoop_jars")[0].startswith("hadoop_jars is \"a.jar\"; set it to a list")
    assert rules.artifact_problems([], "hadoop_jars", allow_empty=False) == [
        "hadoop_jars is empty; give it at least one entry (a mapping with url or src and a checksum)."]
    # An entry may name its own variable (the lists the roles hand to _common's download step).
    labelled = [{"url": "https://r/flink.tgz", "checksum": "crc32:1", "variable": "flink_archive_url"}]
    assert rules.artifact_problems(labelled, "the download list")[0].startswith("flink_archive_url is {")

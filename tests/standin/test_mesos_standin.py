"""Unit tests of the TEST-ONLY Mesos stand-in's flag loading and agent-info rules (NOT Mesos).

Why: the `mesos` scenario trusts the stand-in to reject what Mesos 1.11 rejects, with Mesos' words. If the
stand-in accepted an unknown flag or ignored the command-line-over-environment precedence, a broken role could
pass the scenario. The expected strings are those of apache/mesos 1.11.0 (3rdparty/stout flags.hpp,
src/master/main.cpp, src/slave/main.cpp, src/slave/compatibility.cpp).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))

import mesos_standin as standin  # noqa: E402  pylint: disable=wrong-import-position

MASTER = standin.master_spec()
AGENT = standin.agent_spec()


def test_command_line_is_parsed_like_stout() -> None:
    """--name=value, --name, --no-name; non-flags skipped; `--` stops; names lower-cased; values kept as is."""
    pairs = standin.parse_command_line(["prog-arg", "--Port=5050", "--quiet", "--no-hostname_lookup",
                                        " --work_dir=/a=b ", "--", "--zk=ignored"])
    assert pairs == [("port", "5050"), ("quiet", None), ("no-hostname_lookup", None), ("work_dir", "/a=b")]


def test_command_line_wins_over_environment() -> None:
    flags = standin.load_flags(MASTER, ["--port=6060"], {"MESOS_PORT": "7070", "MESOS_WORK_DIR": "/w"})
    assert flags["port"] == "6060"
    assert flags["work_dir"] == "/w"


def test_environment_names_are_case_insensitive_after_the_prefix() -> None:
    flags = standin.load_flags(MASTER, [], {"MESOS_cluster": "c1", "MESOS_QUORUM": "2"})
    assert flags["cluster"] == "c1" and flags["quorum"] == "2"


def test_unknown_environment_variables_are_ignored_like_mesos() -> None:
    """Mesos silently ignores MESOS_* variables that name no flag (the role must check names itself)."""
    flags = standin.load_flags(MASTER, [], {"MESOS_NO_SUCH_FLAG": "x", "MESOS_WORK_DIR": "/w"})
    assert "no_such_flag" not in flags


def test_defaults_are_reported() -> None:
    assert standin.load_flags(MASTER, [], {})["port"] == "5050"
    assert standin.load_flags(AGENT, ["--work_dir=/w"], {})["port"] == "5051"


@pytest.mark.parametrize(("argv", "message"), [
    (["--foo"], "Failed to load unknown flag 'foo'"),
    (["--foo=bar"], "Failed to load unknown flag 'foo'"),
    (["--no-foo"], "Failed to load unknown flag 'foo' via 'no-foo'"),
    (["--no-work_dir"], "Failed to load non-boolean flag 'work_dir' via 'no-work_dir'"),
    (["--work_dir"], "Failed to load non-boolean flag 'work_dir': Missing value"),
    (["--no-quiet=true"], "Failed to load boolean flag 'quiet' via 'no-quiet' with value 'true'"),
    (["--quiet=maybe"], "Failed to load flag 'quiet': Failed to load value 'maybe': Expecting a boolean (e.g., true or false)"),
    (["--port=abc"], "Failed to load flag 'port': Failed to load value 'abc': Failed to convert 'abc' to number"),
    (["--port=1", "--port=2"], "Flag 'port' is already loaded via name 'port'"),
])
def test_bad_master_flags_are_rejected_with_mesos_wording(argv: list[str], message: str) -> None:
    with pytest.raises(standin.FlagError) as err:
        standin.load_flags(MASTER, argv, {})
    assert str(err.value) == message


def test_deprecated_alias_and_its_name_count_as_the_same_flag() -> None:
    flags = standin.load_flags(MASTER, ["--slave_ping_timeout=20secs"], {})
    assert flags["agent_ping_timeout"] == "20secs"
    with pytest.raises(standin.FlagError, match="is already loaded via name"):
        standin.load_flags(MASTER, ["--slave_ping_timeout=1secs", "--agent_ping_timeout=2secs"], {})


def test_unknown_flag_in_sorted_order_is_reported_first() -> None:
    """stout walks a std::multimap (sorted by name): the alphabetically first unknown flag is reported."""
    with pytest.raises(standin.FlagError, match="'aaa'"):
        standin.load_flags(MASTER, ["--zzz=1", "--aaa=1"], {})


def test_agent_requires_work_dir() -> None:
    with pytest.raises(standin.FlagError) as err:
        standin.load_flags(AGENT, ["--master=m:5050"], {})
    assert str(err.value) == "Flag 'work_dir' is required, but it was not provided"


def test_agent_work_dir_from_environment_satisfies_the_requirement() -> None:
    flags = standin.load_flags(AGENT, ["--master=m:5050"], {"MESOS_WORK_DIR": "/w"})
    assert flags["work_dir"] == "/w"


def test_boolean_values_are_normalised() -> None:
    flags = standin.load_flags(AGENT, ["--work_dir=/w", "--switch_user=0", "--no-systemd_enable_support"], {})
    assert flags["switch_user"] == "false"
    assert flags["systemd_enable_support"] == "false"


@pytest.mark.parametrize(("flags", "message"), [
    ({"registry": "replicated_log"}, "--work_dir needed for replicated log based registry"),
    ({"registry": "replicated_log", "work_dir": "/w", "zk": "zk://h:2181/mesos"},
     "Need to specify --quorum for replicated log based registry when using ZooKeeper"),
    ({"registry": "in_memory", "registry_strict": "true"},
     "Cannot use '--registry_strict' when using in-memory storage based registry"),
    ({"registry": "bogus"}, "'bogus' is not a supported option for registry persistence"),
    ({"registry": "in_memory", "zk": "h:2181/mesos"},
     "Error parsing ZooKeeper URL: Expecting 'zk://' at the beginning of the URL"),
])
def test_master_main_checks(flags: dict[str, str], message: str) -> None:
    assert standin.master_exit_error(flags) == message


def test_master_with_zk_quorum_and_work_dir_is_accepted() -> None:
    flags = {"registry": "replicated_log", "work_dir": "/w", "zk": "zk://a:2181,b:2181/mesos", "quorum": "2"}
    assert standin.master_exit_error(flags) is None


def test_agent_main_checks() -> None:
    assert standin.agent_exit_error({}) == "Missing required option `--master` or `--master_detector`"
    assert standin.agent_exit_error({"master": "m:5050"}) is None


def test_zk_url_parsing() -> None:
    url = standin.parse_zk_url("zk://u:p@h1:2181,h2:2181/mesos")
    assert (url.servers, url.path, url.auth) == ("h1:2181,h2:2181", "/mesos", "u:p")
    with pytest.raises(ValueError):
        standin.parse_zk_url("zk://h1:2181")


def test_attributes_are_typed_like_master_slaves_shows_them() -> None:
    assert standin.parse_attributes("rack:r1;level:2;weight:0.5") == {"rack": "r1", "level": 2, "weight": 0.5}


def test_resources_merge_over_defaults() -> None:
    res = standin.parse_resources("cpus:2;mem:1024;ports:[31000-32000]")
    assert res["cpus"] == 2.0 and res["mem"] == 1024.0 and res["ports"] == "[31000-32000]"
    assert res["disk"] == 10240.0


def _info(**over: object) -> dict[str, object]:
    base: dict[str, object] = {"hostname": "a1", "port": 5051, "attributes": {"rack": "r1"},
                               "resources": {"cpus": 2.0, "mem": 1024.0}}
    return {**base, **over}


def test_equal_policy_refuses_any_agent_info_change() -> None:
    assert standin.agent_info_error(_info(), _info(), "equal") is None
    error = standin.agent_info_error(_info(), _info(attributes={"rack": "r2"}), "equal")
    assert error is not None and error.startswith("Incompatible agent info detected.")


def test_additive_policy_allows_growth_only() -> None:
    grown = _info(attributes={"rack": "r1", "zone": "a"}, resources={"cpus": 4.0, "mem": 1024.0})
    assert standin.agent_info_error(_info(), grown, "additive") is None
    shrunk = _info(resources={"cpus": 1.0, "mem": 1024.0})
    assert "decreased from 2 to 1" in (standin.agent_info_error(_info(), shrunk, "additive") or "")
    moved = _info(hostname="a9")
    assert "Hostname changed from a1 to a9" in (standin.agent_info_error(_info(), moved, "additive") or "")


def test_recovery_reads_the_latest_checkpoint(tmp_path: Path) -> None:
    """The agent refuses to recover changed info from meta/slaves/latest, and starts fresh once it is gone."""
    work = str(tmp_path)
    standin.checkpoint_agent(work, "id-S0", _info())
    assert standin.recover_agent(work, _info(), "equal") == ("id-S0", None)
    agent_id, error = standin.recover_agent(work, _info(attributes={"rack": "r9"}), "equal")
    assert agent_id is None and error is not None and "Incompatible agent info" in error
    (tmp_path / "meta" / "slaves" / "latest").unlink()
    assert standin.recover_agent(work, _info(attributes={"rack": "r9"}), "equal") == (None, None)


def test_main_exits_non_zero_with_the_usage_hint(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESOS_STANDIN_PROGRAM", raising=False)
    assert standin.main(["x", "master", "--bogus=1"]) == 1
    err = capsys.readouterr().err
    assert "Failed to load unknown flag 'bogus'" in err
    assert "See `mesos-master --help` for a list of supported flags." in err
    assert standin.main(["x", "agent", "--master=m:5050"]) == 1
    assert "Flag 'work_dir' is required, but it was not provided" in capsys.readouterr().err


def test_version_says_stand_in(capsys: pytest.CaptureFixture[str]) -> None:
    assert standin.main(["x", "master", "--version"]) == 0
    assert "standin" in capsys.readouterr().out

"""Unit tests of the TEST-ONLY Mesos stand-in's command-task handling and status updates (NOT Mesos).

Why: a Flink TaskManager is a Mesos command task: its command line, environment, fetched artifacts and the
words of its final status are what users debug with. The expectations follow apache/mesos 1.11
(src/launcher/executor.cpp, src/launcher/fetcher.cpp, src/slave/slave.cpp, src/common/status_utils.hpp).
"""
from __future__ import annotations

import io
import os
import signal
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))

import standin_executor as ex  # noqa: E402  pylint: disable=wrong-import-position
import standin_tasks as tk  # noqa: E402  pylint: disable=wrong-import-position


# ---------------------------------------------------------------------------------------------------------
# Command line, environment, user.
# ---------------------------------------------------------------------------------------------------------

def test_shell_command_runs_through_bin_sh() -> None:
    assert ex.command_line({"value": "echo $HOME"}) == (["/bin/sh", "-c", "echo $HOME"], "/bin/sh")


def test_non_shell_command_execs_value_with_arguments_as_argv() -> None:
    argv, executable = ex.command_line({"shell": False, "value": "/bin/echo", "arguments": ["echo", "a b", "$X"]})
    assert (argv, executable) == (["echo", "a b", "$X"], "/bin/echo")
    assert ex.command_line({"shell": False, "value": "/bin/true"}) == (["/bin/true"], "/bin/true")


def _executor_env(flag_env: dict[str, str] | None = None) -> dict[str, str]:
    return ex.executor_environment(
        agent_env={"PATH": "/agent/bin", "FOO": "agent", "HOME": "/root"}, flag_env=flag_env,
        directory=Path("/w/sandbox"), framework_id="f1", executor_id="t1", task_id="t1", agent_id="a1",
        agent_ip="10.0.0.2", agent_port=5051, shutdown_grace="5secs")


def test_executor_environment_inherits_the_agent_and_adds_mesos_variables() -> None:
    env = _executor_env()
    assert env["FOO"] == "agent" and env["PATH"] == "/agent/bin"
    assert env["MESOS_SANDBOX"] == env["MESOS_DIRECTORY"] == "/w/sandbox"
    assert (env["MESOS_FRAMEWORK_ID"], env["MESOS_EXECUTOR_ID"], env["MESOS_TASK_ID"]) == ("f1", "t1", "t1")
    assert env["MESOS_AGENT_ENDPOINT"] == "10.0.0.2:5051"
    assert env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] == "5secs"


def test_executor_environment_flag_replaces_the_agent_environment() -> None:
    env = _executor_env({"ONLY": "this"})
    assert "FOO" not in env and "HOME" not in env
    assert env["ONLY"] == "this" and env["PATH"] == ex.HOST_DEFAULT_PATH
    assert ex.parse_environment_flag('{"A": "1"}') == {"A": "1"}
    with pytest.raises(ValueError):
        ex.parse_environment_flag('{"A": 1}')


def test_task_environment_wins_over_everything() -> None:
    command = {"environment": {"variables": [{"name": "FOO", "value": "task"},
                                             {"name": "MESOS_SANDBOX", "type": "VALUE", "value": "/x"}]}}
    env = ex.task_environment(_executor_env(), command)
    assert env["FOO"] == "task" and env["MESOS_SANDBOX"] == "/x"


def test_secret_environment_variables_are_refused() -> None:
    command = {"environment": {"variables": [{"name": "PW", "type": "SECRET", "secret": {"type": "REFERENCE"}}]}}
    with pytest.raises(ex.LaunchError, match="not supported by the TEST-ONLY Mesos stand-in"):
        ex.task_environment({}, command)


def test_task_user_follows_switch_user() -> None:
    assert ex.run_as_user(True, {"user": "tm"}, {"user": "flink"}) == "tm"
    assert ex.run_as_user(True, {}, {"user": "flink"}) == "flink"
    assert ex.run_as_user(False, {"user": "tm"}, {"user": "flink"}) is None
    with pytest.raises(ex.LaunchError, match="Failed to get user information for 'no-such-user-x'"):
        ex.credentials("no-such-user-x")


def test_running_as_self_needs_no_switch() -> None:
    import pwd  # pylint: disable=import-outside-toplevel
    me = pwd.getpwuid(os.geteuid()).pw_name
    assert ex.switch_needed(ex.credentials(me)) is False


def test_sandbox_layout_and_latest_link(tmp_path: Path) -> None:
    run = ex.sandbox_dir(str(tmp_path), "a1", "f1", "t1", "c1")
    assert run == tmp_path / "slaves/a1/frameworks/f1/executors/t1/runs/c1"
    ex.make_sandbox(run)
    assert (run / "stdout").is_file() and (run / "stderr").is_file()
    assert (run.parent / "latest").resolve() == run.resolve()


# ---------------------------------------------------------------------------------------------------------
# Fetcher.
# ---------------------------------------------------------------------------------------------------------

def test_fetch_plan_output_file_extract_and_executable(tmp_path: Path) -> None:
    plan = ex.plan_fetch({"value": "http://h:1/a/flink.tgz?x=1"}, tmp_path, None)
    assert (plan.kind, plan.dest, plan.extract, plan.executable) == ("http", tmp_path / "flink.tgz", True, False)
    plan = ex.plan_fetch({"value": "http://h/x", "output_file": "lib/deep/x.jar", "extract": False}, tmp_path, None)
    assert plan.dest == tmp_path / "lib/deep/x.jar" and plan.extract is False
    plan = ex.plan_fetch({"value": "file:///opt/run.sh", "executable": True}, tmp_path, None)
    assert (plan.kind, plan.source, plan.executable) == ("local", "/opt/run.sh", True)
    plan = ex.plan_fetch({"value": "conf.zip", "executable": True}, tmp_path, "/home/fw")
    assert plan.source == "/home/fw/conf.zip" and plan.extract is False, "executable wins over extract"
    assert ex.plan_fetch({"value": "/x/notes.txt"}, tmp_path, None).extract is False


@pytest.mark.parametrize(("uri", "message"), [
    ({"value": "relative.jar"}, "the Mesos framework home was not specified"),
    ({"value": "hdfs://nn/x.jar"}, "scheme 'hdfs' is not supported by the TEST-ONLY Mesos stand-in"),
    ({"value": "http://h/x", "output_file": "../escape"}, "must be a path inside the sandbox"),
])
def test_fetch_plan_refusals_name_the_uri(tmp_path: Path, uri: dict[str, Any], message: str) -> None:
    with pytest.raises(ex.LaunchError) as err:
        ex.plan_fetch(uri, tmp_path, None)
    assert message in str(err.value) and uri["value"] in str(err.value)


def _tgz(path: Path, members: dict[str, tuple[bytes, int]]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))


def test_fetch_copies_extracts_and_chmods(tmp_path: Path) -> None:
    src, sandbox = tmp_path / "src", tmp_path / "sandbox"
    src.mkdir()
    sandbox.mkdir()
    _tgz(src / "dist.tar.gz", {"flink/bin/start.sh": (b"#!/bin/sh\n", 0o755), "flink/conf/a.yaml": (b"a: 1\n", 0o644)})
    with zipfile.ZipFile(src / "more.zip", "w") as archive:
        archive.writestr("z/readme.txt", "zip")
    (src / "tool").write_text("#!/bin/sh\necho tool\n")
    lines: list[str] = []
    for uri in ({"value": str(src / "dist.tar.gz")}, {"value": f"file://{src / 'more.zip'}"},
                {"value": str(src / "tool"), "executable": True, "output_file": "bin/tool"},
                {"value": str(src / "dist.tar.gz"), "extract": False, "output_file": "keep/dist.tar.gz"}):
        ex.fetch(ex.plan_fetch(uri, sandbox, None), sandbox, lines.append)
    assert (sandbox / "flink/conf/a.yaml").read_text() == "a: 1\n"
    assert os.access(sandbox / "flink/bin/start.sh", os.X_OK)
    assert (sandbox / "z/readme.txt").read_text() == "zip"
    assert (sandbox / "bin/tool").stat().st_mode & 0o777 == 0o755
    assert (sandbox / "keep/dist.tar.gz").is_file() and not (sandbox / "keep/flink").exists()
    assert f"Fetching URI '{src / 'dist.tar.gz'}'" in lines
    assert any(line.startswith("Extracted ") for line in lines)


def test_fetch_failure_names_the_uri(tmp_path: Path) -> None:
    plan = ex.plan_fetch({"value": str(tmp_path / "missing.jar")}, tmp_path, None)
    with pytest.raises(ex.LaunchError) as err:
        ex.fetch(plan, tmp_path, lambda _l: None)
    assert str(err.value).startswith(f"Failed to fetch '{tmp_path / 'missing.jar'}'")


# ---------------------------------------------------------------------------------------------------------
# The command executor's outcome and kill policy.
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("returncode", "killed", "state", "message"), [
    (0, False, "TASK_FINISHED", "Command exited with status 0"),
    (0, True, "TASK_FINISHED", "Command exited with status 0"),
    (3, False, "TASK_FAILED", "Command exited with status 3"),
    (-signal.SIGTERM, True, "TASK_KILLED", "Command terminated with signal Terminated"),
    (-signal.SIGKILL, False, "TASK_FAILED", "Command terminated with signal Killed"),
    (143, True, "TASK_KILLED", "Command exited with status 143"),
])
def test_command_outcome_matches_the_command_executor(
        returncode: int, killed: bool, state: str, message: str) -> None:
    assert tk.command_outcome(tk.wait_status_from_returncode(returncode), killed) == (state, message)


def test_kill_grace_period_precedence() -> None:
    task = {"kill_policy": {"grace_period": {"nanoseconds": 2_000_000_000}}}
    assert tk.kill_grace_period({}, None) == 3.0
    assert tk.kill_grace_period(task, None) == 2.0
    assert tk.kill_grace_period(task, {"grace_period": {"nanoseconds": "500000000"}}) == 0.5


def test_terminal_states_are_mesos_ones() -> None:
    terminal = ("TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE",
                "TASK_GONE_BY_OPERATOR")
    assert all(tk.is_terminal(s) for s in terminal)
    assert not any(tk.is_terminal(s) for s in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING",
                                               "TASK_UNREACHABLE", "TASK_UNKNOWN"))


def test_task_id_validation() -> None:
    assert tk.validate_task_id("taskmanager-00001") is None
    assert tk.validate_task_id("") is not None
    assert tk.validate_task_id("..") is not None
    assert tk.validate_task_id("a b") is not None


# ---------------------------------------------------------------------------------------------------------
# The agent's status update stream.
# ---------------------------------------------------------------------------------------------------------

def _status(state: str, n: int) -> dict[str, Any]:
    return {"state": state, "uuid": f"u{n}"}


def test_update_stream_sends_in_order_one_at_a_time_until_acknowledged() -> None:
    stream = tk.UpdateStream()
    assert stream.add(_status("TASK_STARTING", 1)) is True
    assert stream.add(_status("TASK_RUNNING", 2)) is False
    assert stream.add(_status("TASK_FINISHED", 3)) is False
    assert stream.latest_state == "TASK_FINISHED"
    assert stream.head() == _status("TASK_STARTING", 1)
    assert stream.acknowledge("u2") == (False, None), "only the head can be acknowledged"
    assert stream.acknowledge("u1") == (True, _status("TASK_RUNNING", 2))
    assert stream.acknowledge("u2") == (True, _status("TASK_FINISHED", 3))
    assert not stream.done
    assert stream.acknowledge("u3") == (True, None)
    assert stream.done


def test_update_stream_retries_with_backoff_from_ten_seconds() -> None:
    stream = tk.UpdateStream()
    stream.add(_status("TASK_RUNNING", 1))
    assert stream.due(0.0) is not None
    stream.sent(0.0)
    assert stream.due(9.9) is None
    assert stream.due(10.0) == _status("TASK_RUNNING", 1)
    stream.sent(10.0)
    assert stream.due(29.9) is None and stream.due(30.0) is not None
    for dummy in range(10):
        stream.sent(0.0)
    assert stream.interval == tk.RETRY_MAX


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root, as in Mesos")
def test_task_runs_as_the_switched_user_in_a_sandbox_it_owns(tmp_path: Path) -> None:
    import pwd  # pylint: disable=import-outside-toplevel
    try:
        nobody = ex.credentials("nobody")
    except ex.LaunchError:
        pytest.skip("no user 'nobody' on this machine")
    base = Path(__import__("tempfile").mkdtemp(prefix="standin-su-", dir="/tmp"))
    try:
        base.chmod(0o755)
        sandbox = base / "run"
        ex.make_sandbox(sandbox)
        ex.chown_tree(sandbox, nobody)
        assert ex.switch_needed(nobody) is True
        proc = ex.start_process(["/bin/sh", "-c", "id -un; touch mine"], "/bin/sh", {"PATH": ex.HOST_DEFAULT_PATH},
                                sandbox, nobody)
        assert proc.wait(10) == 0
        assert (sandbox / "stdout").read_text() == "nobody\n"
        assert pwd.getpwuid((sandbox / "mine").stat().st_uid).pw_name == "nobody"
        assert (sandbox / "stdout").stat().st_uid == nobody.uid
    finally:
        import shutil  # pylint: disable=import-outside-toplevel
        shutil.rmtree(base)

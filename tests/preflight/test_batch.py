"""Tests of the batch machinery itself (preflight_batch.py, preflight_runner.py).

Why: every other preflight test trusts that the result it reads is its own run's. Ansible keeps per-process
state (parsed arguments, warnings shown, vault context): a runner that reused one process for two runs handed the
second the first run's arguments, so every case looked like the first. These tests put a refused and an accepted
run through ONE runner, in both orders, compare a batched run with a plain ansible-playbook process, and check
that equal runs are run once, and that runs start from facts gathered once for the batch, each in a cache of its own.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from preflight_batch import REPO, Run, ansible_env, fact_cache_env, playbook_args, run_batch

BAD = Run("zookeeper", {"zookeeper": {"zk-1": {}}}, {"zookeeper_4lw_commands": ["ruok"]}, tasks_from="preflight")
GOOD = Run("zookeeper", {"zookeeper": {"zk-1": {}, "zk-2": {}, "zk-3": {}}}, tasks_from="preflight")
REFUSAL = "zookeeper_4lw_commands must be a list that contains 'srvr'"


def _dirs(root: Path, *names: str) -> list[Path]:
    """Fresh work directories."""
    paths = [root / name for name in names]
    for path in paths:
        path.mkdir()
    return paths


def test_each_run_in_one_runner_gets_its_own_outcome(tmp_path: Path) -> None:
    """bad, good, bad, good through a single runner: outcomes alternate, each output names only its own hosts."""
    dirs = _dirs(tmp_path, "bad-1", "good-1", "bad-2", "good-2")
    runs = {d.name: (BAD if d.name.startswith("bad") else GOOD, d) for d in dirs}
    results = run_batch(runs, tmp_path / "queue", runners=1)
    for name in ("bad-1", "bad-2"):
        assert results[name].rc == 2, results[name].output
        assert REFUSAL in results[name].output, results[name].output
        assert "zk-2" not in results[name].output, results[name].output
    for name in ("good-1", "good-2"):
        assert results[name].rc == 0, results[name].output
        assert REFUSAL not in results[name].output, results[name].output
        assert "zk-3                       : ok=" in results[name].output, results[name].output
        assert "failed=1" not in results[name].output, results[name].output
    assert {r.workdir.name for r in results.values()} == set(runs)


def test_batched_run_prints_what_ansible_playbook_prints(tmp_path: Path) -> None:
    """The runner's child goes through ansible-playbook's own code path: same exit code, same output."""
    (workdir,) = _dirs(tmp_path, "bad")
    batched = run_batch({"bad": (BAD, workdir)}, tmp_path / "queue")["bad"]
    plain = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), *playbook_args(BAD, workdir)],
                           env={**ansible_env(), **fact_cache_env(workdir)}, capture_output=True, text=True,
                           timeout=300, check=False)
    assert batched.rc == plain.returncode == 2, plain.stdout + plain.stderr
    assert sorted(batched.output.splitlines()) == sorted((plain.stdout + plain.stderr).splitlines())


def test_equal_runs_run_once_and_share_the_result(tmp_path: Path) -> None:
    """Tests that assert on the same run (grouped bad-input rows) cost one playbook run, not one each."""
    dirs = _dirs(tmp_path, "bad-a", "bad-b", "good")
    runs = {d.name: (GOOD if d.name == "good" else BAD, d) for d in dirs}
    results = run_batch(runs, tmp_path / "queue")
    assert len(list((tmp_path / "queue" / "out").glob("*.log"))) == 2
    assert results["bad-a"].rc == results["bad-b"].rc == 2 and results["good"].rc == 0, results
    assert results["bad-a"].output == results["bad-b"].output and REFUSAL in results["bad-b"].output


GATHER = "TASK [streamops.flink_mesos.java : Gather the distribution and architecture facts"


def test_runs_start_from_facts_gathered_once_each_in_its_own_cache(tmp_path: Path) -> None:
    """The java role finds this machine's distribution facts without gathering them, in every run; each run has a
    cache of its own holding exactly its hosts (what one run gathers or caches cannot reach another)."""
    one, two = _dirs(tmp_path, "one", "two")
    runs = {"one": (Run("java", {"java_hosts": {"j-1": {}}}, tasks_from="preflight"), one),
            "two": (Run("java", {"java_hosts": {"j-1": {}, "j-2": {}}}, tasks_from="preflight"), two)}
    results = run_batch(runs, tmp_path / "queue", runners=1)
    for name, hosts in (("one", ["j-1"]), ("two", ["j-1", "j-2"])):
        result = results[name]
        assert result.rc == 0, result.output
        gather = result.output.split(GATHER, 1)[1].split("TASK [", 1)[0]
        assert [f"skipping: [{h}]" in gather for h in hosts] == [True] * len(hosts), result.output
        assert "Load the list of OpenJDK releases this distribution ships" in result.output
        assert sorted(p.name.rsplit("_", 1)[-1] for p in (result.workdir / "facts").iterdir()) == hosts

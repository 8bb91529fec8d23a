"""Describe preflight runs as data and run a whole batch of them with a few long-lived runner processes.

Why: the preflight suite used to start ansible-playbook once per case, which cost most of the unit-test stage.
Each case is still its own playbook run (own inventory, play, exit code and output: see preflight_runner.py for
why cases cannot share a play), but the runs go through a queue served by a few runner processes (runner_count), each
paying Ansible's start-up once.

Facts: every fake host is this machine, so the distribution and platform facts the roles gather (the java role's
subset; the mesos role's install step skips its own gathering when they are there) are gathered ONCE per batch, by
Ansible's own setup module into Ansible's jsonfile fact cache, and each run starts with a copy of them for each of its
hosts in a cache directory of its own (fact_cache_env): nothing a run gathers or caches reaches another run.
"""
from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().with_name("preflight_runner.py")


@dataclass(frozen=True)
class Run:
    """One playbook run: a role entry point (or a playbook of the collection) in check mode against fake local hosts.

    groups: {"group": {"host": {hostvars}}}; play_hosts: the host pattern of the play; role_vars: variables for
    the role (include_role vars, the same on every host); tasks_from: entry point (main runs argument_specs).
    """

    role: str
    groups: dict[str, dict[str, dict[str, Any]]]
    role_vars: dict[str, Any] = field(default_factory=dict)
    play_hosts: str = "all"
    tasks_from: str = "main"
    gather_facts: bool = False
    # A playbook of the collection to run instead of one role (e.g. "playbooks/validate.yml"); role_vars become
    # extra vars and play_hosts/tasks_from/gather_facts are not used.
    playbook_file: str | None = None
    # More ansible-playbook options, e.g. ("-vvv", "--diff") for the tests that secrets never reach the output.
    cli_args: tuple[str, ...] = ()


@dataclass
class PlayResult:
    """Outcome of one ansible-playbook run, and the directory its files were prepared in."""

    rc: int
    output: str
    workdir: Path


def inventory(run: Run) -> dict[str, Any]:
    """The JSON inventory of a run: every host uses the local connection and this Python."""
    children = {
        group: {"hosts": {h: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **hv}
                          for h, hv in hosts.items()}}
        for group, hosts in run.groups.items()
    }
    return {"all": {"children": children}}


def playbook(run: Run) -> list[dict[str, Any]]:
    """The playbook of a run: one play that includes the role's entry point with the role variables."""
    return [{
        "name": f"preflight test of {run.role}",
        "hosts": run.play_hosts,
        "gather_facts": run.gather_facts,
        "tasks": [{
            "name": f"Run {run.role}",
            "ansible.builtin.include_role": {"name": f"streamops.flink_mesos.{run.role}", "tasks_from": run.tasks_from},
            "vars": run.role_vars,
        }],
    }]


def ansible_env() -> dict[str, str]:
    """Environment that makes the collection importable from the checkout."""
    env = dict(os.environ)
    venv_site = REPO / ".venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{REPO / '.cache' / 'collections'}:{venv_site}"
    env["ANSIBLE_FORCE_COLOR"] = "false"
    env["ANSIBLE_NOCOLOR"] = "true"
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    # One local process per module instead of a temporary directory, a copy and a chmod around it (the same
    # setting the Molecule scenarios and the lab use); the output of a run does not depend on it.
    env["ANSIBLE_PIPELINING"] = "true"
    return env


# The subset the java role gathers (roles/java/tasks/preflight.yml); it holds os_family and distribution_release too,
# which the mesos role's install step reads.
FACT_SUBSET = "!all,!min,distribution,platform"
# Ansible reads the cache plugin's name once, at import (C.CACHE_PLUGIN), so the runners start with it set; the
# directory is read when a run creates its fact cache, so each case sets its own.
FACT_CACHE_PLUGIN = {"ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile"}


def fact_cache_env(workdir: Path) -> dict[str, str]:
    """The environment of a run whose fact cache is workdir/facts (one file per host, Ansible's jsonfile format)."""
    return {**FACT_CACHE_PLUGIN, "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(workdir / "facts")}


# module_bytecode/sitecustomize.py: the fake hosts' Pythons keep the bytecode of what modules import from their zip.
MODULE_BYTECODE = Path(__file__).resolve().with_name("module_bytecode")


def module_bytecode_env(queue: Path) -> dict[str, str]:
    """The environment that gives the Pythons of a batch's module runs a bytecode cache of the batch's own
    (module_bytecode/sitecustomize.py says why); empty when PREFLIGHT_MODULE_BYTECODE=0, for comparisons."""
    if os.environ.get("PREFLIGHT_MODULE_BYTECODE", "1") == "0":
        return {}
    cache = queue / "module-bytecode"
    cache.mkdir(exist_ok=True)
    path = os.pathsep.join(filter(None, [str(MODULE_BYTECODE), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path, "PREFLIGHT_MODULE_BYTECODE_DIR": str(cache)}


def gather_facts_once(queue: Path) -> Path | None:
    """Gather this machine's FACT_SUBSET once with Ansible's setup module into a jsonfile cache under the queue;
    the path of the cached facts, or None when gathering failed (the runs then gather for themselves, as before)."""
    source = queue / "facts-source"
    done = subprocess.run([str(Path(sys.executable).with_name("ansible")), "localhost", "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", "-m", "ansible.builtin.setup",
                           "-a", f"gather_subset={FACT_SUBSET}"],
                          env={**ansible_env(), **fact_cache_env(source)}, capture_output=True, text=True,
                          timeout=120, check=False)
    # One file per host, named by the plugin (Ansible 2.19 puts a format prefix before the host name: s1_localhost).
    files = list((source / "facts").glob("*localhost")) if done.returncode == 0 else []
    return files[0] if len(files) == 1 else None


def seed_facts(run: Run, workdir: Path, facts: Path | None) -> None:
    """Give each host of the run a copy of the gathered facts in the run's own cache directory."""
    cache = workdir / "facts"
    cache.mkdir(exist_ok=True)
    for host in {h for members in run.groups.values() for h in members} if facts else ():
        shutil.copyfile(facts, cache / f"{facts.name[:-len('localhost')]}{host}")


def playbook_args(run: Run, workdir: Path) -> list[str]:
    """Write the run's inventory and playbook into workdir; the ansible-playbook arguments that run them."""
    inv = workdir / "inventory.json"
    inv.write_text(json.dumps(inventory(run)))
    if run.playbook_file:
        extra = workdir / "extra_vars.json"
        extra.write_text(json.dumps(run.role_vars))
        return ["-i", str(inv), "--check", *run.cli_args, "-e", f"@{extra}", str(REPO / run.playbook_file)]
    play = workdir / "play.json"
    play.write_text(json.dumps(playbook(run)))
    return ["-i", str(inv), "--check", *run.cli_args, str(play)]


def expected_cost(run: Run) -> int:
    """A rough rank of how long a run takes, for the queue's order: a playbook of the collection (the validation
    play, site.yml: every role on every host) costs most, then more hosts, then a role's main entry point (argument
    specs and the tasks after its preflight) over a task file of its own."""
    hosts = sum(len(members) for members in run.groups.values())
    return (1000 if run.playbook_file else 0) + 10 * hosts + (5 if run.tasks_from == "main" else 0)


def runner_count() -> int:
    """One runner per CPU plus one, to use the CPU while a run sleeps (download retries, result polling);
    PREFLIGHT_RUNNERS overrides."""
    return max(1, int(os.environ.get("PREFLIGHT_RUNNERS") or (os.cpu_count() or 1) + 1))


MARKER = "preflight_run"


def preflight_run(builder: Callable[..., Run | None]) -> pytest.MarkDecorator:
    """Mark a test with the builder of its playbook run.

    The builder takes the test's parameters by name, and `workdir` (an empty directory of the run's own, for the
    files it needs) if it asks for it; it returns the Run, or None when the test will skip on this machine.
    """
    return getattr(pytest.mark, MARKER).with_args(builder)


def build_run(builder: Callable[..., Run | None], params: dict[str, Any], workdir: Path) -> Run | None:
    """Call a builder with the parameters it names, in a fresh workdir."""
    workdir.mkdir(parents=True)
    names = inspect.signature(builder).parameters
    return builder(**{name: workdir if name == "workdir" else params[name] for name in names})


@dataclass
class Batch:
    """A batch whose runner processes were started (start_batch) and that finish_batch reads back."""

    runs: dict[str, tuple[Run, Path]]
    queue: Path
    names: dict[str, str]
    procs: list[subprocess.Popen]


def _lower_priority() -> None:
    """In a runner process: yield the CPU to the tests that run meanwhile (some of them time things)."""
    os.nice(RUNNER_NICENESS)


RUNNER_NICENESS = 10


def start_batch(runs: dict[str, tuple[Run, Path]], queue: Path, runners: int | None = None,
                background: bool = False) -> Batch:
    """Write every (Run, workdir) into the queue and start the runners; they work while the caller goes on.

    Runs that are equal are queued once and their keys share the result (files written to the first one's workdir).

    background: the runners run at a lower CPU priority (a batch started before the other tests run).
    """
    for sub in ("todo", "claimed", "out", "rc"):
        (queue / sub).mkdir(parents=True)
    facts = gather_facts_once(queue)
    names: dict[str, str] = {}
    queued: list[tuple[Run, str]] = []
    # Runners take the queue in name order: the longest runs go first, so that no runner is left with one of them
    # while the others have finished (sorted() is stable: tests keep their order within one cost).
    for key, (run, workdir) in sorted(runs.items(), key=lambda item: -expected_cost(item[1][0])):
        # Equal runs (several tests asserting on one playbook run, e.g. grouped bad-input rows) run once.
        same = next((name for other, name in queued if other == run), None)
        if same is None:
            same = f"{len(queued):04d}"
            queued.append((run, same))
            seed_facts(run, workdir, facts)
            (queue / "todo" / f"{same}.json").write_text(json.dumps({"args": playbook_args(run, workdir),
                                                                    "env": fact_cache_env(workdir)}))
        names[key] = same
    count = max(1, min(runners or runner_count(), len(queued))) if queued else 0
    procs = []
    for number in range(count):
        # The runners' own output goes to a file, so that no pipe fills up while nobody reads it.
        with (queue / f"runner-{number}.log").open("wb") as log:
            procs.append(subprocess.Popen([sys.executable, str(RUNNER), str(queue)],
                                          env={**ansible_env(), **FACT_CACHE_PLUGIN, **module_bytecode_env(queue)},
                                          cwd=queue,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          preexec_fn=_lower_priority if background else None))
    return Batch(runs, queue, names, procs)


def finish_batch(batch: Batch, timeout: float = 1800) -> dict[str, PlayResult]:
    """Wait for the runners of a started batch and return key -> PlayResult.

    A key missing an exit code (its runner died) gets rc -1 and the runners' own output, so its test fails.
    """
    for proc in batch.procs:
        proc.wait(timeout=timeout)
    runner_output = "".join(log.read_text(errors="replace") for log in sorted(batch.queue.glob("runner-*.log")))
    return {key: _result(batch.queue, batch.names[key], workdir, runner_output)
            for key, (dummy, workdir) in batch.runs.items()}


def run_batch(runs: dict[str, tuple[Run, Path]], queue: Path, runners: int | None = None) -> dict[str, PlayResult]:
    """Run every (Run, workdir) and return key -> PlayResult; inventory and playbook are written to the workdir.

    A key missing an exit code (its runner died) gets rc -1 and the runners' own output, so its test fails.
    """
    return finish_batch(start_batch(runs, queue, runners))


def _result(queue: Path, name: str, workdir: Path, runner_output: str) -> PlayResult:
    """Read one finished case back from the queue directory."""
    log = queue / "out" / f"{name}.log"
    output = log.read_text(errors="replace") if log.exists() else ""
    rc_file = queue / "rc" / name
    if not rc_file.exists():
        return PlayResult(-1, f"{output}\n[runner did not finish this case]\n{runner_output}", workdir)
    return PlayResult(int(rc_file.read_text()), output, workdir)

"""The bad-input table on real containers (rows of tests/bad_inputs/cases.yml marked `containers: true`).

Why: the local table runs use fake hosts in check mode; here site.yml runs for real (no --check) against fresh
containers over the docker connection, as a new user would run it. Each row must stop in the validation play
with every expected fragment and no task may report a change; at the end, no file under the system directories
of any container is newer than a marker written before the first row, so nothing changed on any host.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

testinfra_hosts = ["ansible://bad-master"]

REPO = Path(__file__).resolve().parents[3]
CASES = [c for c in yaml.safe_load((REPO / "tests" / "bad_inputs" / "cases.yml").read_text()) if c.get("containers")]
HOSTS = ["bad-master", "bad-agent", "bad-am"]
MARKER = "/root/.bad-inputs-marker"
# Directories a converge would change (packages, units, configuration, installs, data); Ansible's own remote
# temporary directory (/root/.ansible) is not a change to the host.
WATCHED = ["/etc", "/opt", "/usr", "/var/lib", "/var/log/mesos", "/var/log/flink", "/srv"]


def docker_exec(host: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", host, "sh", "-c", command], capture_output=True, text=True, check=False)


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    cfg = Path(env.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "ansible.cfg"
    if cfg.exists():
        env["ANSIBLE_CONFIG"] = str(cfg)
    env.update(ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="true", ANSIBLE_STDOUT_CALLBACK="default")
    return env


def inventory() -> str:
    path = os.environ.get("MOLECULE_INVENTORY_FILE", "")
    if path and Path(path).exists():
        return path
    return str(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory")


@pytest.fixture(scope="module")
def marker() -> None:
    """Write the marker on every host before the first row (its mtime is the reference)."""
    for host in HOSTS:
        assert docker_exec(host, f"touch {MARKER}").returncode == 0, host


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_row_is_refused_on_containers(marker: None, tmp_path: Path, case: dict[str, Any]) -> None:
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(case["vars"]))
    run = subprocess.run(["ansible-playbook", "-i", inventory(), "-e", f"@{extra}", str(REPO / "playbooks" / "site.yml")],
                         capture_output=True, text=True, env=ansible_env(), cwd=REPO, check=False, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    flat = " ".join(out.split())
    for fragment in ["problem(s) in the inventory; nothing was changed on any host", f"] {case['role']}: ",
                     *case["expect"]]:
        assert " ".join(fragment.split()) in flat, f"{fragment!r} not in:\n{out}"
    assert "PLAY [ZooKeeper ensemble]" not in out, out
    # The controller's download cache (tasks delegated to localhost, e.g. the Mesos package checked by the mesos
    # role) may fill on the first row; that is not a change to a host.
    host_changes = [line for line in out.splitlines() if line.startswith("changed: [") and "-> localhost]" not in line]
    assert not host_changes, out


def test_nothing_changed_on_any_host(marker: None) -> None:
    """Runs after every row (file order): no watched file on any host is newer than the marker."""
    for host in HOSTS:
        found = docker_exec(host, f"find {' '.join(WATCHED)} -xdev -newer {MARKER} 2>/dev/null | head -20")
        assert found.stdout.strip() == "", f"{host} changed:\n{found.stdout}"

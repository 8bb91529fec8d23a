"""Shared fixture for preflight tests.

Why: every role must refuse bad input *before* anything changes on a host. These tests run a role with bad
variables against an inventory of fake hosts that use the local connection, in check mode, and assert that the
play fails in the preflight stage with a message that names the variable. Nothing is changed on the machine:
check mode plus a failure before any state-changing task.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class PlayResult:
    """Outcome of one ansible-playbook run."""

    rc: int
    output: str


def _ansible_env() -> dict[str, str]:
    """Environment that makes the collection importable from the checkout."""
    env = dict(os.environ)
    venv_site = REPO / ".venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{REPO / '.cache' / 'collections'}:{venv_site}"
    env["ANSIBLE_FORCE_COLOR"] = "false"
    env["ANSIBLE_NOCOLOR"] = "true"
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    return env


@pytest.fixture()
def run_role() -> Callable[..., PlayResult]:
    """Return a function that runs one role entry point in check mode against fake local hosts.

    groups: {"group": {"host": {hostvars}}}; play_hosts: the host pattern of the play;
    role_vars: variables for the role; tasks_from: entry point (default main).
    """

    def _run(
        role: str,
        groups: dict[str, dict[str, dict[str, Any]]],
        role_vars: dict[str, Any] | None = None,
        play_hosts: str = "all",
        tasks_from: str = "main",
        gather_facts: bool = False,
    ) -> PlayResult:
        inventory: dict[str, Any] = {"all": {"children": {}}}
        for group, hosts in groups.items():
            inventory["all"]["children"][group] = {
                "hosts": {h: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **hv}
                          for h, hv in hosts.items()}
            }
        play = [{
            "name": f"preflight test of {role}",
            "hosts": play_hosts,
            "gather_facts": gather_facts,
            "tasks": [{
                "name": f"Run {role}",
                "ansible.builtin.include_role": {"name": f"streamops.flink_mesos.{role}", "tasks_from": tasks_from},
                "vars": role_vars or {},
            }],
        }]
        with tempfile.TemporaryDirectory() as tmp:
            inv = Path(tmp) / "inventory.json"
            inv.write_text(json.dumps(inventory))
            pb = Path(tmp) / "play.json"
            pb.write_text(json.dumps(play))
            proc = subprocess.run(
                [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), "--check", str(pb)],
                env=_ansible_env(), capture_output=True, text=True, timeout=300, check=False,
            )
        return PlayResult(proc.returncode, proc.stdout + proc.stderr)

    return _run

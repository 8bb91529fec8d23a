"""Shared fixtures for preflight tests.

Why: every role must refuse bad input *before* anything changes on a host. These tests run a role with bad
variables against an inventory of fake hosts that use the local connection, in check mode, and assert that the
play fails in the preflight stage with a message that names the variable. Nothing is changed on the machine:
check mode plus a failure before any state-changing task.

How: a test names its playbook run with the marker `preflight_run(builder)`. The builder gets the test's
parameters by name (and `workdir`, an empty directory of its own, if it asks for it) and returns the Run (or None
when the test will skip on this machine). Before the first such test, one session fixture runs the playbooks of
all collected tests as one batch (preflight_batch.py); each test then gets the result of its own run, found by
its node id, as the `result` fixture. Each run keeps its own inventory, exit code and output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from preflight_batch import MARKER, PlayResult, Run, build_run, run_batch


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that a typo in its name is an error under --strict-markers."""
    config.addinivalue_line("markers", f"{MARKER}(builder): the playbook run whose result the test asserts on")


def _build(item: pytest.Item, workdir: Path) -> Run | None:
    """The Run of one marked test, built from the test's own parameters."""
    params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    return build_run(item.get_closest_marker(MARKER).args[0], params, workdir)


@pytest.fixture(scope="session")
def preflight_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the playbooks of every collected preflight test once, as one batch; node id -> PlayResult or None."""
    root = tmp_path_factory.mktemp("preflight")
    marked = [item for item in request.session.items if item.get_closest_marker(MARKER)]
    runs = {item.nodeid: (_build(item, root / f"{n:04d}"), root / f"{n:04d}") for n, item in enumerate(marked)}
    results: dict[str, Any] = {nodeid: None for nodeid, (run, dummy) in runs.items() if run is None}
    results.update(run_batch({k: v for k, v in runs.items() if v[0] is not None}, root / ".queue"))
    return results


@pytest.fixture()
def result(request: pytest.FixtureRequest, preflight_results: dict[str, Any]) -> PlayResult | None:
    """The result of this test's own playbook run (None when its builder declined to run on this machine)."""
    if request.node.get_closest_marker(MARKER) is None:
        raise LookupError(f"{request.node.nodeid} asks for `result` but has no @{MARKER}(...) marker")
    return preflight_results[request.node.nodeid]

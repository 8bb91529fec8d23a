"""Shared fixtures for preflight tests.

Why: every role must refuse bad input *before* anything changes on a host. These tests run a role with bad
variables against an inventory of fake hosts that use the local connection, in check mode, and assert that the
play fails in the preflight stage with a message that names the variable. Nothing is changed on the machine:
check mode plus a failure before any state-changing task.

How: a test names its playbook run with the marker `preflight_run(builder)`. The builder gets the test's
parameters by name (and `workdir`, an empty directory of its own, if it asks for it) and returns the Run (or None
when the test will skip on this machine). As soon as collection ends, the playbooks of all collected tests start
as one batch (preflight_batch.py) in the background, at a lower CPU priority, while the tests collected before
them run; the session fixture waits for the batch before the first such test. Each test then gets the result of
its own run, found by its node id, as the `result` fixture. Each run keeps its own inventory, exit code and
output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from preflight_batch import MARKER, Batch, PlayResult, Run, build_run, finish_batch, start_batch


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that a typo in its name is an error under --strict-markers."""
    config.addinivalue_line("markers", f"{MARKER}(builder): the playbook run whose result the test asserts on")


def _build(item: pytest.Item, workdir: Path) -> Run | None:
    """The Run of one marked test, built from the test's own parameters."""
    params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    return build_run(item.get_closest_marker(MARKER).args[0], params, workdir)


_BATCH = pytest.StashKey[tuple[dict[str, Any], Batch]]()


def _start(session: pytest.Session, root: Path) -> tuple[dict[str, Any], Batch]:
    """Build the runs of every collected preflight test and start them; (node id -> None for skips, the batch)."""
    marked = [item for item in session.items if item.get_closest_marker(MARKER)]
    runs = {item.nodeid: (_build(item, root / f"{n:04d}"), root / f"{n:04d}") for n, item in enumerate(marked)}
    skipped: dict[str, Any] = {nodeid: None for nodeid, (run, dummy) in runs.items() if run is None}
    batch = start_batch({k: v for k, v in runs.items() if v[0] is not None}, root / ".queue", background=True)
    return skipped, batch


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the batch now, so that it runs while the tests before the preflight tests run."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or session.config.option.collectonly:
        return
    if any(item.get_closest_marker(MARKER) for item in session.items):
        session.config.stash[_BATCH] = _start(session, factory.mktemp("preflight"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop runners that are still working when the session ends early (-x, an interrupt)."""
    started = session.config.stash.get(_BATCH, None)
    for proc in started[1].procs if started else []:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def preflight_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The playbook results of every collected preflight test, run once as one batch; node id -> PlayResult or None."""
    started = request.config.stash.get(_BATCH, None)
    skipped, batch = started if started else _start(request.session, tmp_path_factory.mktemp("preflight"))
    results = dict(skipped)
    results.update(finish_batch(batch))
    return results


@pytest.fixture()
def result(request: pytest.FixtureRequest, preflight_results: dict[str, Any]) -> PlayResult | None:
    """The result of this test's own playbook run (None when its builder declined to run on this machine)."""
    if request.node.get_closest_marker(MARKER) is None:
        raise LookupError(f"{request.node.nodeid} asks for `result` but has no @{MARKER}(...) marker")
    return preflight_results[request.node.nodeid]

"""The rows of the bad-input table (tests/bad_inputs/cases.yml) that do not run on containers.

Why: the table is the one list of inputs the collection must refuse before any host changes (issue 14). The
Molecule scenario `bad_inputs` runs the rows marked `containers: true` through site.yml on real containers; every
other row runs here, through the validation play (validate.yml) restricted to the roles of its rows, on fake local hosts
in check mode, so that each row runs in every test run without paying for a full validation each time. Rows of
different roles share one run (row_groups), which brings the table's 24 local rows down to 9 runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight_batch import Run, preflight_run
from refusal import refused

CASES = yaml.safe_load((Path(__file__).resolve().parents[1] / "bad_inputs" / "cases.yml").read_text())
ROLES = {"java", "zookeeper", "mesos", "hadoop", "flink", "flink_session", "flink_job"}
GROUPS: dict[str, dict[str, dict[str, Any]]] = {
    "zookeeper": {"zk-1": {}},
    "mesos_masters": {"m-1": {}},
    "mesos_agents": {"a-1": {}},
    "flink_appmaster": {"am-1": {}},
}


def test_table_rows_are_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for case in CASES:
        assert set(case) <= {"id", "role", "vars", "expect", "containers"}, case
        assert case["vars"] and case["expect"] and case["role"] in ROLES, case
    assert any(case.get("containers") for case in CASES) and not all(case.get("containers") for case in CASES)


LOCAL = [case for case in CASES if not case.get("containers")]
# site.yml's order of the roles (the validation play checks them in the order given).
ORDER = ["java", "zookeeper", "mesos", "hadoop", "flink", "flink_session", "flink_job"]


def row_groups(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows that can share one validation run: the k-th row of each role goes into group k.

    Why: a validation run costs seconds, and the play reports each role's problems on its own (one include per
    role, each with its own rescue), so rows of DIFFERENT roles do not hide each other. Two rows of one role would
    (the first refused check ends that role's checks on the host), hence at most one row per role in a group.
    """
    groups: list[list[dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for case in rows:
        rank = seen.get(case["role"], 0)
        seen[case["role"]] = rank + 1
        if rank == len(groups):
            groups.append([])
        groups[rank].append(case)
    return groups


GROUP_OF = {case["id"]: group for group in row_groups(LOCAL) for case in group}


def test_grouped_rows_set_different_variables() -> None:
    """Rows that share a run may not set the same variable (the run could not give each its own value)."""
    for group in row_groups(LOCAL):
        names = [name for case in group for name in case["vars"]]
        assert len(names) == len(set(names)), [case["id"] for case in group]
        assert len({case["role"] for case in group}) == len(group), [case["id"] for case in group]
    assert sorted(case["id"] for group in row_groups(LOCAL) for case in group) == sorted(c["id"] for c in LOCAL)


def group_run(case: dict[str, Any]) -> Run:
    """The validation run of the row's group: every row's variables, restricted to the rows' roles."""
    group = GROUP_OF[case["id"]]
    merged = {name: value for row in group for name, value in row["vars"].items()}
    roles = [role for role in ORDER if role in {row["role"] for row in group}]
    return Run("validate", GROUPS, {**merged, "flink_mesos_validate_roles": roles},
               playbook_file="playbooks/validate.yml")


@preflight_run(group_run)
@pytest.mark.parametrize("case", LOCAL, ids=[case["id"] for case in LOCAL])
def test_row_is_refused_by_the_validation_play(result, case: dict[str, Any]) -> None:
    refused(result, "problem(s) in the inventory; nothing was changed on any host", *case["expect"])
    # The row's first fragment is reported as a problem of the row's own role (not of a role another row broke).
    lines = [line for line in result.output.splitlines() if case["expect"][0] in line]
    assert any(f"] {case['role']}: " in line for line in lines), result.output

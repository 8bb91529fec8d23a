"""The rows of the bad-input table (tests/bad_inputs/cases.yml) that do not run on containers.

Why: the table is the one list of inputs the collection must refuse before any host changes (issue 14). The
Molecule scenario `bad_inputs` runs the rows marked `containers: true` through site.yml on real containers; every
other row runs here, through the validation play (validate.yml) restricted to the row's role, on fake local hosts
in check mode, so that each row runs in every test run without paying for a full validation each time.
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


@preflight_run(lambda case: Run("validate", GROUPS, {**case["vars"], "flink_mesos_validate_roles": [case["role"]]},
                                playbook_file="playbooks/validate.yml"))
@pytest.mark.parametrize("case", LOCAL, ids=[case["id"] for case in LOCAL])
def test_row_is_refused_by_the_validation_play(result, case: dict[str, Any]) -> None:
    refused(result, "problem(s) in the inventory; nothing was changed on any host", f"] {case['role']}: ",
            *case["expect"])

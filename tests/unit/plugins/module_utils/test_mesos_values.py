"""The Mesos attributes/resources grammar the mesos role checks agent values with (module_utils/mesos_values.py).

Why: a value Mesos cannot parse kills a new agent at start, and an old agent hides it behind the agent-info-change
guard. Each case below is a value the Mesos 1.11 parser (attributes.cpp, values.cpp, resources.cpp) or its
documented grammar (docs/attributes-resources.md) accepts or refuses.
"""
from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import mesos_values as mv


@pytest.mark.parametrize(("kind", "name", "value"), [
    ("attributes", "rack", "r1"),
    ("attributes", "level", 2),
    ("attributes", "level", "2.5"),
    ("attributes", "slots", "[1-4, 8-9]"),
    ("attributes", "os", "debian/12.x-y_z"),
    ("resources", "cpus", 2),
    ("resources", "mem(flink)", "2048"),
    ("resources", "ports", "[31000-32000]"),
    ("resources", "disks", "{ssd1, ssd2}"),
    ("resources", "gpus", 0),
])
def test_values_mesos_accepts(kind: str, name: str, value: Any) -> None:
    assert mv.value_problem(kind, name, value) is None


@pytest.mark.parametrize(("kind", "name", "value", "fragment"), [
    ("attributes", "rack", "1;zone", "contains ';'"),
    ("attributes", "rack", "a:b", "contains ';', ':'"),
    ("attributes", "zones", "{a,b}", "is a set"),
    ("attributes", "rack", "r 1?", "characters other than"),
    ("attributes", "ra ck!", "r1", "attribute name"),
    ("attributes", "slots", "[1-4", "is not '[begin-end,...]'"),
    ("attributes", "rack", "", "empty"),
    ("attributes", "rack", True, "not a scalar"),
    ("resources", "cpus", "abc", "Mesos has no text resources"),
    ("resources", "mem", -5, "negative"),
    ("resources", "ports", "[32000-31000]", "ends before it begins"),
    ("resources", "ports", "[a-b]", "whole numbers"),
    ("resources", "disks", "{ssd1,}", "set item ''"),
    ("resources", "cpus()", 1, "role in 'cpus()'"),
    ("resources", "cpus(a)(b)", 1, "resource name"),
    ("resources", "cpus", "nan", "Mesos has no text resources"),
])
def test_values_mesos_refuses(kind: str, name: str, value: Any, fragment: str) -> None:
    problem = mv.value_problem(kind, name, value)
    assert problem is not None and fragment in problem, problem


def test_problems_name_the_variable_and_the_key_for_dicts_and_flag_strings() -> None:
    assert mv.problems("resources", {"cpus": "abc", "mem": 1024}, "mesos_agent_resources") == [
        "mesos_agent_resources['cpus']: 'abc' is not a number, '[begin-end,...]' or '{item,...}' (Mesos has no text "
        "resources). Mesos 1.11 would refuse to start the agent; fix this value."]
    flag = mv.problems("attributes", "rack:r1;zone", "mesos_agent_extra_flags.attributes")
    assert flag == ["mesos_agent_extra_flags.attributes (entry 'zone'): Mesos needs 'name:value' entries separated by "
                    "';' and this one has no ':'."]
    assert mv.problems("attributes", ":r1", "x") == ["x: an entry has an empty name before ':' ('r1')."]
    assert mv.problems("attributes", {}, "x") == [] and mv.problems("resources", "", "x") == []
    assert "must be a dict" in mv.problems("resources", ["cpus:1"], "x")[0]
    with pytest.raises(ValueError):
        mv.problems("ports", {}, "x")

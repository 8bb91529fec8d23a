"""Unit tests of the converge benchmark's pure functions (tools/bench_converge.py).

The benchmark itself is run by hand (tools/bench_converge) and judges nothing; these tests make sure the
figures it prints are read correctly from ansible-playbook's recap and the mirror's access log.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bench_converge", Path(__file__).resolve().parents[2] / "tools" / "bench_converge.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

RECAP = """
TASK [something] ***
ok: [bench-master-1]

PLAY RECAP *********************************************************************
bench-agent-1              : ok=40   changed=12   unreachable=0    failed=0    skipped=20   rescued=0    ignored=1
bench-master-1             : ok=30   changed=10   unreachable=0    failed=1    skipped=5    rescued=2    ignored=0
"""


def test_parse_recap_reads_every_counter_of_every_host() -> None:
    recap = bench.parse_recap("bench-agent-1 : ok=1 changed=1\n" + RECAP)
    assert recap["bench-agent-1"] == {"ok": 40, "changed": 12, "unreachable": 0, "failed": 0, "skipped": 20,
                                      "rescued": 0, "ignored": 1}
    assert recap["bench-master-1"]["failed"] == 1
    assert set(recap) == {"bench-agent-1", "bench-master-1"}


def test_parse_recap_without_recap_is_empty() -> None:
    assert bench.parse_recap("ERROR! the playbook could not be found") == {}


def test_recap_totals_counts_tasks_without_double_counting_changed() -> None:
    totals = bench.recap_totals(bench.parse_recap(RECAP))
    # ok already contains changed: 40+0+20+0+1 + 30+1+5+2+0
    assert totals == {"changed": 22, "failed": 1, "tasks": 99, "hosts": 2}


def test_mirror_fetches_counts_only_successful_gets_with_file_sizes() -> None:
    lines = [
        '127.0.0.1 - - [02/Dec/2026 03:42:26] "GET /flink/f.tgz HTTP/1.1" 200 -',
        '127.0.0.1 - - [02/Dec/2026 03:42:27] "GET /flink/f.tgz HTTP/1.1" 200 -',
        '127.0.0.1 - - [02/Dec/2026 03:42:27] "GET /flink/f.tgz.sha512 HTTP/1.1" 200 -',
        '127.0.0.1 - - [02/Dec/2026 03:42:28] "GET /missing HTTP/1.1" 404 -',
        'Serving HTTP on 127.0.0.1 port 18080 (http://127.0.0.1:18080/) ...',
    ]
    fetched = bench.mirror_fetches(lines, {"/flink/f.tgz": 1000, "/flink/f.tgz.sha512": 130})
    assert fetched == {"/flink/f.tgz": {"count": 2, "bytes": 2000}, "/flink/f.tgz.sha512": {"count": 1, "bytes": 130}}


def test_bench_inventory_has_the_lab_layout_with_n_agents() -> None:
    inv = bench.bench_inventory(3)
    children = inv["all"]["children"]
    assert list(children["mesos_agents"]["hosts"]) == ["bench-agent-1", "bench-agent-2", "bench-agent-3"]
    assert children["zookeeper"]["hosts"] == {"bench-master-1": {"zookeeper_id": 1}}
    assert bench.inventory_hosts(inv) == ["bench-master-1", "bench-agent-1", "bench-agent-2", "bench-agent-3",
                                          "bench-appmaster-1"]
    assert inv["all"]["vars"]["ansible_pipelining"] is True  # one docker exec per module, as in the lab
    json.dumps(inv)  # the inventory is written as JSON (valid YAML)
    with pytest.raises(ValueError):
        bench.bench_inventory(0)


def test_bench_inventory_takes_the_connection_mitogen_replaces() -> None:
    """--mitogen writes the short `docker` name: Mitogen's strategy swaps only short names for its transport."""
    assert bench.bench_inventory(1)["all"]["vars"]["ansible_connection"] == "community.docker.docker"
    inv = bench.bench_inventory(1, connection=bench.MITOGEN_CONNECTION)
    assert inv["all"]["vars"]["ansible_connection"] == "docker"
    assert inv["all"]["vars"]["ansible_pipelining"] is True


def test_mitogen_env_points_ansible_at_the_packages_strategy(tmp_path: Path) -> None:
    assert bench.mitogen_env(tmp_path / "ansible_mitogen") == {
        "ANSIBLE_STRATEGY_PLUGINS": str(tmp_path / "ansible_mitogen" / "plugins" / "strategy"),
        "ANSIBLE_STRATEGY": "mitogen_linear",
    }


def test_find_mitogen_says_how_to_install_it_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit) as stop:
        bench.find_mitogen()
    assert "--mitogen needs the mitogen package" in str(stop.value)
    assert "pip install mitogen" in str(stop.value)


def test_floor_plan_puts_each_install_where_site_yml_does() -> None:
    plan = bench.floor_plan(bench.bench_inventory(1), "/m/flink.tgz", ["/m/a.jar"], "/m/mesos.deb")
    master, agent, appmaster = plan["bench-master-1"], plan["bench-agent-1"], plan["bench-appmaster-1"]
    installs = {h: " ".join(s[1][2] for s in steps if s[0] == "exec" and "apt-get" in s[1][2])
                for h, steps in plan.items()}
    assert "zookeeperd" in installs["bench-master-1"]
    assert "zookeeperd" not in installs["bench-agent-1"]
    assert all("openjdk-17-jre-headless" in cmd and "/tmp/mesos.deb" in cmd for cmd in installs.values())
    copies = {h: [s[1][0] for s in steps if s[0] == "copy"] for h, steps in plan.items()}
    assert "/m/flink.tgz" not in copies["bench-master-1"]
    assert copies["bench-agent-1"] == copies["bench-appmaster-1"] == ["/m/mesos.deb", "/m/flink.tgz", "/m/a.jar"]
    assert master and agent and appmaster


def test_site_args_pass_the_standin_driver_only_when_given() -> None:
    assert bench.site_args("") == [] and bench.site_args("[]") == []
    args = bench.site_args('[{"url": "http://m/d.jar", "checksum": "sha512:http://m/d.jar.sha512", "dest": "lib"}]')
    assert args[0] == "-e"
    assert json.loads(args[1]) == {"flink_user_jars": [
        {"url": "http://m/d.jar", "checksum": "sha512:http://m/d.jar.sha512", "dest": "lib"}]}


def test_summarise_gives_the_target_ratios() -> None:
    rows = [
        {"kind": "floor (docker exec)", "agents": 1, "seconds": 50.0},
        {"kind": "cold", "agents": 1, "seconds": 100.0},
        {"kind": "rerun", "agents": 1, "seconds": 20.0},
        {"kind": "cold", "agents": 4, "seconds": 130.0},
    ]
    assert bench.summarise(rows, 50.0) == {"cold_over_floor": 2.0, "rerun_over_cold": 0.2, "cold_4_agents_over_1": 1.3}
    assert bench.summarise(rows[1:], None)["cold_over_floor"] is None


def test_render_table_shows_rows_ratios_and_fetches() -> None:
    rows = [{"kind": "cold", "agents": 1, "seconds": 100.0, "changed": 5, "tasks": 50, "failed": 0}]
    text = bench.render_table(rows, {"rerun_over_cold": None}, {"cold": {"/f.tgz": {"count": 1, "bytes": 9}}})
    assert "cold" in text and "100.0" in text and "rerun_over_cold" in text and "n/a" in text
    assert "1 x            9 B  /f.tgz" in text

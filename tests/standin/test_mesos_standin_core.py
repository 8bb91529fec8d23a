"""Unit tests of the TEST-ONLY Mesos stand-in's master core (NOT Mesos): frameworks, offers, tasks, no I/O.

Why: Flink's ResourceManager makes its decisions from offers, status updates and reconciliation answers. The
core decides all of them, so it is driven here with a fake clock, asserting the exact events Mesos 1.11 would
send (src/master/master.cpp, src/master/http.cpp, docs/scheduler-http-api.md, docs/reconciliation.md).
"""
from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))

import standin_core as sm  # noqa: E402  pylint: disable=wrong-import-position
import standin_resources as rs  # noqa: E402  pylint: disable=wrong-import-position

MASTER_ID = "m1"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_core(**config: Any) -> tuple[sm.MasterCore, Clock]:
    clock = Clock()
    core = sm.MasterCore(sm.MasterConfig(MASTER_ID, {"id": MASTER_ID, "hostname": "m"}, **config), clock)
    return core, clock


def add_agent(core: sm.MasterCore, agent_id: str = "m1-S0", resources: str = "cpus:2;mem:1024;ports:[31000-31010]",
              port: int = 5051, attributes: str = "rack:r1") -> str:
    answer, dummy = core.register_agent({
        "id": agent_id, "ip": "10.0.0.1", "version": "x",
        "info": {"hostname": f"a-{agent_id}", "port": port, "attributes": {}, "resources": {}},
        "total_resources": rs.list_to_json(rs.parse_text(resources)),
        "attributes_v1": rs.parse_attributes_v1(attributes)})
    return answer["slave_id"]


def events(effects: list[tuple], stream: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    return [e[2] for e in effects if e[0] == "send" and stream in (None, e[1]) and kind in (None, e[2]["type"])]


def subscribe(core: sm.MasterCore, stream: str = "s1", **info: Any) -> tuple[str, list[tuple]]:
    effects = core.subscribe({"user": "flink", "name": "Flink", **info}, stream)
    subscribed = events(effects, stream, "SUBSCRIBED")
    return subscribed[0]["subscribed"]["framework_id"]["value"], effects


def offers_of(effects: list[tuple]) -> list[dict[str, Any]]:
    return [o for ev in events(effects, kind="OFFERS") for o in ev["offers"]["offers"]]


def task_info(task_id: str, agent_id: str, resources: str = "cpus:1;mem:256", command: str = "sleep 1",
              **extra: Any) -> dict[str, Any]:
    return {"name": task_id, "task_id": {"value": task_id}, "agent_id": {"value": agent_id},
            "resources": rs.list_to_json(rs.parse_text(resources), "*"), "command": {"value": command}, **extra}


def launch(core: sm.MasterCore, fid: str, offer: dict[str, Any], *tasks: dict[str, Any],
           filters: dict[str, Any] | None = None) -> list[tuple]:
    accept: dict[str, Any] = {"offer_ids": [offer["id"]],
                              "operations": [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}]}
    if filters is not None:
        accept["filters"] = filters
    return core.call(fid, {"type": "ACCEPT", "framework_id": {"value": fid}, "accept": accept})


def update(core: sm.MasterCore, fid: str, agent_id: str, task_id: str, state: str, uuid: str,
           latest: str | None = None) -> list[tuple]:
    status = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_EXECUTOR", "uuid": uuid,
              "agent_id": {"value": agent_id}, "executor_id": {"value": task_id}, "timestamp": 1.0}
    code, effects = core.status_update(agent_id, {"framework_id": fid, "status": status,
                                                  "latest_state": latest or state})
    assert code == 202
    return effects


def uuid_b64(n: int) -> str:
    return base64.b64encode(bytes([n]) * 16).decode()


# ---------------------------------------------------------------------------------------------------------
# Subscription lifecycle.
# ---------------------------------------------------------------------------------------------------------

def test_first_subscription_gets_a_mesos_style_id_subscribed_then_heartbeat() -> None:
    core, dummy = make_core()
    fid, effects = subscribe(core)
    assert fid == "m1-0000"
    sent = events(effects, "s1")
    assert [e["type"] for e in sent] == ["SUBSCRIBED", "HEARTBEAT"]
    assert sent[0]["subscribed"]["heartbeat_interval_seconds"] == 15.0
    assert sent[0]["subscribed"]["master_info"]["id"] == MASTER_ID
    assert subscribe(core, "s2")[0] == "m1-0001"


def test_resubscription_keeps_the_id_and_closes_the_old_stream_with_failed_over() -> None:
    core, dummy = make_core()
    fid, dummy = subscribe(core, "s1", failover_timeout=60)
    effects = core.subscribe({"user": "flink", "name": "Flink", "id": {"value": fid}}, "s2")
    assert events(effects, "s1") == [sm.event_error("Framework failed over")]
    assert ("close", "s1") in effects
    assert events(effects, "s2", "SUBSCRIBED")[0]["subscribed"]["framework_id"]["value"] == fid
    assert core.frameworks[fid].stream_id == "s2"


def test_disconnected_framework_within_failover_timeout_can_come_back() -> None:
    core, clock = make_core()
    fid, dummy = subscribe(core, failover_timeout=60)
    core.disconnected("s1")
    fw = core.frameworks[fid]
    assert (fw.connected, fw.active) == (False, False)
    clock.now += 59
    assert core.expire(clock.now) == [] and fid in core.frameworks
    subscribe(core, "s2", id={"value": fid})
    assert core.frameworks[fid].connected


def test_failover_timeout_removes_the_framework_and_resubscribing_gets_framework_has_been_removed() -> None:
    """The message Flink users see after a stale framework ID (mesosphere/dcos-flink-service#44)."""
    core, clock = make_core()
    fid, dummy = subscribe(core, failover_timeout=60)
    core.disconnected("s1")
    clock.now += 60
    core.expire(clock.now)
    assert fid not in core.frameworks
    assert [f.id for f in core.completed] == [fid]
    effects = core.subscribe({"user": "flink", "name": "Flink", "id": {"value": fid}}, "s9")
    assert effects == [("send", "s9", sm.event_error("Framework has been removed")), ("close", "s9")]


def test_default_failover_timeout_zero_removes_at_disconnection() -> None:
    core, dummy = make_core()
    fid, dummy = subscribe(core)
    core.disconnected("s1")
    assert fid not in core.frameworks and core.completed_framework(fid) is not None


def test_unknown_framework_id_is_accepted_as_a_failover_after_master_restart() -> None:
    core, dummy = make_core()
    fid, dummy = subscribe(core, id={"value": "old-master-0007"})
    assert fid == "old-master-0007"


def test_framework_info_validation_refuses_roles_without_multi_role() -> None:
    core, dummy = make_core()
    effects = core.subscribe({"user": "u", "name": "n", "roles": ["a"]}, "s1")
    assert effects[0][2]["error"]["message"] == "'FrameworkInfo.roles' is set but MULTI_ROLE capability is not"


# ---------------------------------------------------------------------------------------------------------
# Offers and the allocator.
# ---------------------------------------------------------------------------------------------------------

def test_offer_has_v1_shape_with_allocation_info_attributes_and_url() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    assert offer["framework_id"] == {"value": fid} and offer["agent_id"] == {"value": agent}
    assert offer["allocation_info"] == {"role": "*"}
    assert {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*",
            "allocation_info": {"role": "*"}} in offer["resources"]
    assert {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 31010}]}, "role": "*",
            "allocation_info": {"role": "*"}} in offer["resources"]
    assert offer["attributes"] == [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}]
    assert offer["url"]["path"] == "/slave(1)" and offer["url"]["address"]["port"] == 5051
    assert offer["hostname"] == f"a-{agent}"


def test_nothing_is_offered_twice() -> None:
    core, dummy = make_core()
    add_agent(core)
    subscribe(core, "s1")
    subscribe(core, "s2")
    first = offers_of(core.allocate())
    assert len(first) == 1, "one agent, offered whole to one framework"
    assert offers_of(core.allocate()) == []
    held = rs.add(core.offered(), [])
    assert rs.model(held)["cpus"] == 2.0


def test_accept_uses_part_and_the_rest_returns_under_the_default_filter() -> None:
    core, clock = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    effects = launch(core, fid, offer, task_info("t1", agent, "cpus:0.5;mem:128;ports:[31000-31001]"))
    assert [e[2] for e in effects if e[0] == "agent"] == ["launch"]
    assert core.offers == {}
    assert rs.model(core.used(agent)) == {"cpus": 0.5, "gpus": 0.0, "mem": 128.0, "disk": 0.0,
                                          "ports": "[31000-31001]"}
    assert offers_of(core.allocate()) == [], "the unused rest is refused to this framework for 5 s"
    clock.now += 5
    again = offers_of(core.allocate())[0]
    left = rs.list_from_json(again["resources"])
    assert rs.model(left) == {"cpus": 1.5, "gpus": 0.0, "mem": 896.0, "disk": 0.0, "ports": "[31002-31010]"}


def test_decline_filter_expires_after_refuse_seconds() -> None:
    core, clock = make_core()
    add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    core.call(fid, {"type": "DECLINE", "framework_id": {"value": fid},
                    "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 30}}})
    clock.now += 29.9
    assert offers_of(core.allocate()) == []
    clock.now += 0.1
    assert len(offers_of(core.allocate())) == 1


def test_zero_refuse_seconds_sets_no_filter_and_negative_means_default() -> None:
    core, clock = make_core()
    add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    core.call(fid, {"type": "DECLINE", "framework_id": {"value": fid},
                    "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0}}})
    offer = offers_of(core.allocate())[0]
    core.call(fid, {"type": "DECLINE", "framework_id": {"value": fid},
                    "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": -1}}})
    clock.now += 4.9
    assert offers_of(core.allocate()) == []
    clock.now += 0.1
    assert len(offers_of(core.allocate())) == 1


def test_filter_does_not_hide_more_resources_than_were_refused() -> None:
    """Mesos' refused-offer filter only hides offers contained in what was refused."""
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    launch(core, fid, offer, task_info("t1", agent, "cpus:1;mem:512"))
    update(core, fid, agent, "t1", "TASK_FINISHED", uuid_b64(1))
    back = offers_of(core.allocate())
    assert len(back) == 1 and rs.quantity(rs.list_from_json(back[0]["resources"]), "cpus") == 2.0


def test_suppress_stops_offers_and_revive_clears_filters_and_suppression() -> None:
    core, dummy = make_core()
    add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    core.call(fid, {"type": "DECLINE", "framework_id": {"value": fid},
                    "decline": {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 3600}}})
    core.call(fid, {"type": "SUPPRESS", "framework_id": {"value": fid}})
    core.call(fid, {"type": "REVIVE", "framework_id": {"value": fid}})
    assert len(offers_of(core.allocate())) == 1
    core.call(fid, {"type": "SUPPRESS", "framework_id": {"value": fid}})
    assert len(core.offers) == 1, "SUPPRESS does not rescind outstanding offers"
    offer = next(iter(core.offers.values()))
    core.call(fid, {"type": "DECLINE", "framework_id": {"value": fid},
                    "decline": {"offer_ids": [{"value": offer.id}], "filters": {"refuse_seconds": 0}}})
    assert offers_of(core.allocate()) == [], "suppressed: nothing is offered although nothing is filtered"


def test_subscribe_with_suppressed_roles_gets_no_offers() -> None:
    core, dummy = make_core()
    add_agent(core)
    core.subscribe({"user": "u", "name": "n"}, "s1", suppressed_roles=["*"])
    assert offers_of(core.allocate()) == []


def test_offer_timeout_rescinds() -> None:
    core, clock = make_core(offer_timeout=10.0)
    add_agent(core)
    subscribe(core)
    offer = offers_of(core.allocate())[0]
    clock.now += 10
    effects = core.expire(clock.now)
    assert events(effects, "s1", "RESCIND") == [{"type": "RESCIND", "rescind": {"offer_id": offer["id"]}}]
    assert core.offers == {}


def test_offers_are_only_made_to_connected_frameworks() -> None:
    core, dummy = make_core()
    add_agent(core)
    fid, dummy = subscribe(core, failover_timeout=60)
    assert len(core.offers) == 0 and len(offers_of(core.allocate())) == 1
    core.disconnected("s1")
    assert core.offers == {}, "a disconnected framework's offers go back at once"
    assert offers_of(core.allocate()) == []
    assert fid in core.frameworks


# ---------------------------------------------------------------------------------------------------------
# ACCEPT validation.
# ---------------------------------------------------------------------------------------------------------

def test_launch_on_an_invalid_offer_gives_task_lost_with_reason_invalid_offers() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    core.call(fid, {"type": "DECLINE", "framework_id": {"value": fid}, "decline": {"offer_ids": [offer["id"]]}})
    effects = launch(core, fid, offer, task_info("t1", agent))
    status = events(effects, "s1", "UPDATE")[0]["update"]["status"]
    assert (status["state"], status["reason"], status["source"]) == (
        "TASK_LOST", "REASON_INVALID_OFFERS", "SOURCE_MASTER")
    assert status["message"] == f"Task launched with invalid offers: Offer {offer['id']['value']} is no longer valid"
    assert "uuid" not in status
    assert core.frameworks[fid].tasks == {}


def test_partition_aware_frameworks_get_task_dropped_for_invalid_offers() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core, capabilities=[{"type": "PARTITION_AWARE"}])
    effects = launch(core, fid, {"id": {"value": "m1-O99"}}, task_info("t1", agent))
    assert events(effects, "s1", "UPDATE")[0]["update"]["status"]["state"] == "TASK_DROPPED"


@pytest.mark.parametrize(("task", "message"), [
    (lambda a: task_info("t1", a, "cpus:3"), "Task uses more resources"),
    (lambda a: task_info("t1", a, "ports:[32000-32000];cpus:0.1"), "Task uses more resources"),
    (lambda a: task_info("t/1", a), "'TaskID.value' is invalid: '/' is disallowed"),
    (lambda a: task_info("t1", "other-agent"), "Task uses invalid agent: other-agent"),
    (lambda a: {**task_info("t1", a), "command": None},
     "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"),
    (lambda a: {**task_info("t1", a), "resources": []}, "Task uses no resources"),
])
def test_invalid_tasks_get_task_error_and_use_nothing(task: Any, message: str) -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    info = task(agent)
    if info.get("command") is None:
        info.pop("command")
    effects = launch(core, fid, offer, info)
    status = events(effects, "s1", "UPDATE")[0]["update"]["status"]
    assert (status["state"], status["reason"]) == ("TASK_ERROR", "REASON_TASK_INVALID")
    assert status["message"].startswith(message)
    assert core.used(agent) == []


def test_duplicate_task_ids_in_one_accept_and_across_accepts() -> None:
    core, clock = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    effects = launch(core, fid, offer, task_info("t1", agent, "cpus:0.5"), task_info("t1", agent, "cpus:0.5"))
    assert [e[2] for e in effects if e[0] == "agent"] == ["launch"]
    assert events(effects, "s1", "UPDATE")[0]["update"]["status"]["message"] == "Task has duplicate ID: t1"
    clock.now += 5
    offer = offers_of(core.allocate())[0]
    effects = launch(core, fid, offer, task_info("t1", agent, "cpus:0.5"))
    assert events(effects, "s1", "UPDATE")[0]["update"]["status"]["message"] == "Task has duplicate ID: t1"


def test_task_resources_without_allocation_info_are_accepted() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    info = task_info("t1", agent)
    info["resources"] = rs.list_to_json(rs.parse_text("cpus:1;mem:256"))
    effects = launch(core, fid, offer, info)
    assert [e[2] for e in effects if e[0] == "agent"] == ["launch"]


# ---------------------------------------------------------------------------------------------------------
# Status updates, acknowledgements, kill, reconciliation.
# ---------------------------------------------------------------------------------------------------------

def test_updates_are_forwarded_and_a_terminal_task_stays_listed_until_acknowledged() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    launch(core, fid, offers_of(core.allocate())[0], task_info("t1", agent))
    effects = update(core, fid, agent, "t1", "TASK_RUNNING", uuid_b64(1))
    assert events(effects, "s1", "UPDATE")[0]["update"]["status"]["state"] == "TASK_RUNNING"
    update(core, fid, agent, "t1", "TASK_RUNNING", uuid_b64(1), latest="TASK_FINISHED")
    assert core.frameworks[fid].tasks["t1"].state == "TASK_FINISHED", "latest_state releases resources"
    assert core.used(agent) == []
    ack = {"agent_id": {"value": agent}, "task_id": {"value": "t1"}, "uuid": uuid_b64(1)}
    effects = core.call(fid, {"type": "ACKNOWLEDGE", "framework_id": {"value": fid}, "acknowledge": ack})
    assert effects == [("agent", agent, "acknowledge", {"framework_id": fid, "task_id": "t1", "uuid": uuid_b64(1)})]
    assert "t1" in core.frameworks[fid].tasks, "the terminal update itself is not acknowledged yet"
    update(core, fid, agent, "t1", "TASK_FINISHED", uuid_b64(2))
    ack["uuid"] = uuid_b64(2)
    core.call(fid, {"type": "ACKNOWLEDGE", "framework_id": {"value": fid}, "acknowledge": ack})
    assert "t1" not in core.frameworks[fid].tasks
    assert [t.id for t in core.frameworks[fid].completed_tasks] == ["t1"]


def test_kill_goes_to_the_agent_and_unknown_task_is_reconciled_as_lost() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    launch(core, fid, offers_of(core.allocate())[0], task_info("t1", agent))
    policy = {"grace_period": {"nanoseconds": 1000000000}}
    effects = core.call(fid, {"type": "KILL", "framework_id": {"value": fid},
                              "kill": {"task_id": {"value": "t1"}, "kill_policy": policy}})
    assert effects == [("agent", agent, "kill", {"framework_id": fid, "task_id": "t1", "kill_policy": policy})]
    effects = core.call(fid, {"type": "KILL", "framework_id": {"value": fid}, "kill": {"task_id": {"value": "nope"}}})
    status = events(effects, "s1", "UPDATE")[0]["update"]["status"]
    assert (status["state"], status["reason"], status["message"]) == (
        "TASK_LOST", "REASON_RECONCILIATION", "Reconciliation: Task is unknown")


def test_explicit_and_implicit_reconciliation() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    launch(core, fid, offer, task_info("t1", agent, "cpus:0.5"), task_info("t2", agent, "cpus:0.5"))
    update(core, fid, agent, "t1", "TASK_RUNNING", uuid_b64(1))
    effects = core.call(fid, {"type": "RECONCILE", "framework_id": {"value": fid}, "reconcile": {"tasks": [
        {"task_id": {"value": "t1"}, "agent_id": {"value": agent}}, {"task_id": {"value": "gone"}},
        {"task_id": {"value": "gone2"}, "agent_id": {"value": agent}}]}})
    statuses = [e["update"]["status"] for e in events(effects, "s1", "UPDATE")]
    assert [(s["task_id"]["value"], s["state"]) for s in statuses] == [
        ("t1", "TASK_RUNNING"), ("gone", "TASK_LOST"), ("gone2", "TASK_LOST")]
    assert all(s["reason"] == "REASON_RECONCILIATION" and "uuid" not in s and s["source"] == "SOURCE_MASTER"
               for s in statuses)
    assert statuses[2]["message"] == "Reconciliation: Task is unknown to the agent"
    implicit = core.call(fid, {"type": "RECONCILE", "framework_id": {"value": fid}, "reconcile": {}})
    assert sorted((e["update"]["status"]["task_id"]["value"], e["update"]["status"]["state"])
                  for e in events(implicit, "s1", "UPDATE")) == [("t1", "TASK_RUNNING"), ("t2", "TASK_STAGING")]


def test_reconciling_a_partition_aware_framework_reports_unknown_and_gone() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core, capabilities=[{"type": "PARTITION_AWARE"}])
    effects = core.call(fid, {"type": "RECONCILE", "framework_id": {"value": fid}, "reconcile": {"tasks": [
        {"task_id": {"value": "a"}}, {"task_id": {"value": "b"}, "agent_id": {"value": agent}}]}})
    assert [e["update"]["status"]["state"] for e in events(effects, "s1", "UPDATE")] == ["TASK_UNKNOWN", "TASK_GONE"]


# ---------------------------------------------------------------------------------------------------------
# Teardown and agents.
# ---------------------------------------------------------------------------------------------------------

def test_teardown_kills_tasks_closes_the_stream_and_sends_nothing_more() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    launch(core, fid, offers_of(core.allocate())[0], task_info("t1", agent))
    update(core, fid, agent, "t1", "TASK_RUNNING", uuid_b64(1))
    effects = core.call(fid, {"type": "TEARDOWN", "framework_id": {"value": fid}})
    assert events(effects) == []
    assert ("close", "s1") in effects
    assert ("agent", agent, "shutdown_framework", {"framework_id": fid}) in effects
    assert fid not in core.frameworks
    done = core.framework_json(core.completed[0])
    assert (done["active"], done["connected"]) == (False, False) and "unregistered_time" in done
    assert done["completed_tasks"][0]["state"] == "TASK_KILLED"
    assert done["completed_tasks"][0]["statuses"][-1]["state"] == "TASK_KILLED"
    assert core.used(agent) == []
    assert core.status_update(agent, {"framework_id": fid, "status": {"task_id": {"value": "t1"},
                                                                      "state": "TASK_KILLED"}}) == (
        202, [("agent", agent, "shutdown_framework", {"framework_id": fid})])


def test_operator_teardown_answers_like_mesos() -> None:
    core, dummy = make_core()
    fid, dummy = subscribe(core)
    assert core.teardown("nope")[:2] == (400, b"No framework found with specified ID")
    status, body, effects = core.teardown(fid)
    assert (status, body) == (200, b"") and ("close", "s1") in effects
    assert core.teardown(fid)[0] == 400


def test_silent_agent_is_removed_with_lost_tasks_rescinded_offers_and_failure() -> None:
    core, clock = make_core()
    agent = add_agent(core)
    other = add_agent(core, "m1-S1", port=5052)
    fid, dummy = subscribe(core)
    offers = offers_of(core.allocate())
    mine = next(o for o in offers if o["agent_id"]["value"] == agent)
    launch(core, fid, mine, task_info("t1", agent))
    update(core, fid, agent, "t1", "TASK_RUNNING", uuid_b64(1))
    clock.now += 74
    core.heartbeat(other)
    core.heartbeat(agent)
    clock.now += 75
    core.heartbeat(other)
    effects = core.expire(clock.now)
    status = events(effects, "s1", "UPDATE")[0]["update"]["status"]
    assert (status["state"], status["reason"], status["source"]) == ("TASK_LOST", "REASON_AGENT_REMOVED",
                                                                     "SOURCE_MASTER")
    assert events(effects, "s1", "FAILURE") == [{"type": "FAILURE", "failure": {"agent_id": {"value": agent}}}]
    assert agent not in core.agents and other in core.agents
    assert core.unreachable_agents == {agent: clock.now}


def test_rescind_when_agent_goes_away_with_an_outstanding_offer() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    subscribe(core)
    offer = offers_of(core.allocate())[0]
    effects = core.remove_agent(agent, unreachable=False, message="bye")
    assert {"type": "RESCIND", "rescind": {"offer_id": offer["id"]}} in events(effects, "s1")


def test_reregistering_agent_reports_tasks_a_restarted_master_did_not_know() -> None:
    core, dummy = make_core()
    answer, dummy = core.register_agent({
        "id": "old-S3", "ip": "10.0.0.1", "info": {"hostname": "a", "port": 5051},
        "total_resources": rs.list_to_json(rs.parse_text("cpus:2;mem:1024")),
        "frameworks": [{"info": {"user": "u", "name": "Flink", "id": {"value": "old-0001"}, "failover_timeout": 60},
                        "tasks": [{"task": task_info("t1", "old-S3"), "state": "TASK_RUNNING", "statuses": []}]}]})
    assert answer["slave_id"] == "old-S3"
    fw = core.frameworks["old-0001"]
    assert (fw.recovered, fw.connected, fw.tasks["t1"].state) == (True, False, "TASK_RUNNING")
    assert rs.quantity(core.used("old-S3"), "cpus") == 1.0
    fid, dummy = subscribe(core, id={"value": "old-0001"})
    assert fid == "old-0001" and core.frameworks[fid].recovered is False


def test_state_views_show_used_and_offered_resources() -> None:
    core, dummy = make_core()
    agent = add_agent(core)
    fid, dummy = subscribe(core)
    offer = offers_of(core.allocate())[0]
    launch(core, fid, offer, task_info("t1", agent, "cpus:0.5;mem:128"), filters={"refuse_seconds": 0})
    offers_of(core.allocate())
    slave = core.agent_json(core.agents[agent])
    assert slave["used_resources"]["cpus"] == 0.5 and slave["offered_resources"]["cpus"] == 1.5
    assert slave["resources"]["cpus"] == 2.0 and slave["attributes"] == {"rack": "r1"}
    fw = core.frameworks_view()["frameworks"][0]
    assert (fw["id"], fw["active"], fw["connected"], fw["pid"]) == (fid, True, True, None)
    assert fw["tasks"][0]["state"] == "TASK_STAGING" and fw["TASK_STAGING"] == 1
    assert fw["offers"][0]["resources"]["cpus"] == 1.5
    assert core.tasks_view()["tasks"][0]["id"] == "t1"


# ---------------------------------------------------------------------------------------------------------
# Call validation (the 400s of src/master/http.cpp).
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "expected"), [
    ({}, "Failed to validate scheduler::Call: Expecting 'type' to be present"),
    ({"type": "NOPE"}, "Failed to convert JSON into Call protobuf: Failed to find enum for 'NOPE'"),
    ({"type": "SUBSCRIBE"}, "Failed to validate scheduler::Call: Expecting 'subscribe' to be present"),
    ({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"name": "n"}}},
     "Failed to convert JSON into Call protobuf: Missing required fields: subscribe.framework_info.user"),
    ({"type": "SUBSCRIBE", "framework_id": {"value": "a"}, "subscribe": {"framework_info": {"user": "u", "name": "n"}}},
     "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'"),
    ({"type": "DECLINE"}, "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"),
    ({"type": "ACCEPT", "framework_id": {"value": "f"}}, "Failed to validate scheduler::Call: Expecting 'accept' to be present"),
    ({"type": "ACKNOWLEDGE", "framework_id": {"value": "f"}, "acknowledge": {
        "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "bm90IDE2IGJ5dGVz"}},
     "Failed to validate scheduler::Call: Failed to parse UUID: 'acknowledge.uuid' is not 16 base64-encoded bytes"),
])
def test_call_validation_messages(call: dict[str, Any], expected: str) -> None:
    problem = sm.validate_call(call)
    assert problem is not None and problem[0] + problem[1] == expected


def test_valid_calls_pass_validation() -> None:
    assert sm.validate_call({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "n"}}}) is None
    assert sm.validate_call({"type": "REVIVE", "framework_id": {"value": "f"}}) is None
    assert sm.validate_call({"type": "ACKNOWLEDGE", "framework_id": {"value": "f"}, "acknowledge": {
        "agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": uuid_b64(7)}}) is None

"""Marathon's pure decisions: app ids, input validation, idempotence, the diff, readiness and error words.

Why: the marathon_app module PUTs an app only when a key the user gave differs from what Marathon reports, and
Marathon reports much more than was given (defaults, versions, task counts, numbers as floats). A wrong decision
here means a redeployment of every app on every run, or a change that is never made; these tests pin both ways
on answers shaped like Marathon's. They also pin the words of the failures, which name what to change.
"""
from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import marathon

# What Marathon 1.x answers for an app created from {"id": "/flink/a", "cmd": "run", "instances": 2, "cpus": 1,
# "mem": 512, "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}],
# "portDefinitions": [{"port": 0}]}: defaults filled in, fields added, numbers as floats.
MARATHON_GET: Dict[str, Any] = {
    "id": "/flink/a", "cmd": "run", "args": None, "instances": 2, "cpus": 1.0, "mem": 512.0, "disk": 0.0, "gpus": 0,
    "backoffFactor": 1.15, "backoffSeconds": 1, "maxLaunchDelaySeconds": 3600, "requirePorts": False,
    "env": {}, "labels": {}, "constraints": [], "uris": [], "fetch": [],
    "portDefinitions": [{"port": 10000, "protocol": "tcp", "name": "default", "labels": {}}],
    "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0, "gracePeriodSeconds": 300,
                      "intervalSeconds": 60, "timeoutSeconds": 20, "maxConsecutiveFailures": 3,
                      "delaySeconds": 15, "ipProtocol": "IPv4"}],
    "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
    "version": "2024-05-01T10:00:00.000Z",
    "versionInfo": {"lastScalingAt": "2024-05-01T10:00:00.000Z", "lastConfigChangeAt": "2024-05-01T10:00:00.000Z"},
    "tasksStaged": 0, "tasksRunning": 2, "tasksHealthy": 2, "tasksUnhealthy": 0, "deployments": [],
    "tasks": [
        {"id": "flink_a.1", "host": "agent-1", "ports": [31000], "state": "TASK_RUNNING",
         "healthCheckResults": [{"alive": True}]},
        {"id": "flink_a.2", "host": "agent-2", "ports": [31001], "state": "TASK_RUNNING",
         "healthCheckResults": [{"alive": False}]},
    ],
}

DESIRED: Dict[str, Any] = {
    "id": "/flink/a", "cmd": "run", "instances": 2, "cpus": 1, "mem": 512,
    "healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}],
    "portDefinitions": [{"port": 10000}],
}


# ---- app ids --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("flink", "/flink"), ("/flink", "/flink"), ("/flink/session-a/", "/flink/session-a"),
    ("flink/session-a", "/flink/session-a"), ("/a.b-c/d0", "/a.b-c/d0"), (" /x ", "/x"),
])
def test_app_ids_are_absolute_without_trailing_slash(raw: str, expected: str) -> None:
    assert marathon.normalize_app_id(raw) == expected


@pytest.mark.parametrize("raw, words", [
    ("", "names no app"), ("/", "names no app"), ("/flink/../other", "'..' path segments are not allowed"),
    ("/flink//a", "empty"), ("/Flink", "segment 'Flink'"), ("/flink_a", "segment 'flink_a'"),
    ("/-flink", "segment '-flink'"), ("/flink-", "segment 'flink-'"), ("/a b", "segment 'a b'"),
    ("/flink/./a", "'.'"), (7, "as a string"),
])
def test_app_ids_marathon_would_refuse_are_refused(raw: Any, words: str) -> None:
    with pytest.raises(ValueError) as exc:
        marathon.normalize_app_id(raw)
    assert str(exc.value).startswith("app_id is "), str(exc.value)
    assert words in str(exc.value)


def test_app_id_and_app_id_key_must_name_the_same_app() -> None:
    assert marathon.resolve_app_id("flink/a", {"id": "/flink/a/"}) == "/flink/a"
    assert marathon.resolve_app_id(None, {"id": "flink/a"}) == "/flink/a"
    assert marathon.resolve_app_id("flink/a", None) == "/flink/a"
    with pytest.raises(ValueError, match=r"app_id 'flink/a' and app.id '/flink/b' name different apps"):
        marathon.resolve_app_id("flink/a", {"id": "/flink/b"})
    with pytest.raises(ValueError, match=r"^app_id is required \(or app.id\)"):
        marathon.resolve_app_id(None, {"cmd": "run"})
    with pytest.raises(ValueError, match=r"^app.id is '/A'"):
        marathon.resolve_app_id(None, {"id": "/A"})


@pytest.mark.parametrize("url, expected", [
    ("http://marathon.example:8080", "http://marathon.example:8080"),
    ("https://marathon.example/", "https://marathon.example"), (" http://m:8080 ", "http://m:8080"),
])
def test_marathon_urls_accepted(url: str, expected: str) -> None:
    assert marathon.validate_marathon_url(url) == expected


@pytest.mark.parametrize("url, words", [
    ("http://m:8080/v2", "remove '/v2' and give only scheme, host and port (http://m:8080)"),
    ("http://m:8080/ui/", "remove '/ui/'"), ("http://m:8080?x=1", "remove '?x=1'"),
    ("marathon:8080", "give http:// or https:// with a host"), ("ftp://m", "give http:// or https://"),
    ("http://:8080", "with a host"), ("http://m:port", "not a URL"),
])
def test_marathon_urls_refused_say_what_to_change(url: str, words: str) -> None:
    with pytest.raises(ValueError) as exc:
        marathon.validate_marathon_url(url)
    assert str(exc.value).startswith(f"marathon_url is {url!r}"), str(exc.value)
    assert words in str(exc.value)


# ---- validation -----------------------------------------------------------------------------------------------------

def test_a_complete_app_has_no_problems() -> None:
    assert marathon.validate_app(DESIRED) == []
    assert marathon.validate_app({"container": {"docker": {"image": "flink:1.13"}}, "instances": 0}) == []
    assert marathon.validate_app({"args": ["run"], "healthChecks": [{"protocol": "TCP", "port": 8080},
                                                                    {"protocol": "MESOS_HTTP"},
                                                                    {"command": {"value": "true"},
                                                                     "protocol": "COMMAND"}]}) == []


@pytest.mark.parametrize("app, message", [
    ({"instances": 1}, "app has none of cmd, args and container; give a command (cmd)"),
    ({"cmd": "x", "instances": -1}, "app.instances is -1; give a whole number >= 0"),
    ({"cmd": "x", "instances": "2"}, "app.instances is '2'; give a whole number >= 0"),
    ({"cmd": "x", "instances": True}, "app.instances is True; give a whole number >= 0"),
    ({"cmd": "x", "cpus": 0}, "app.cpus is 0; give a number > 0"),
    ({"cmd": "x", "mem": "1G"}, "app.mem is '1G'; give a number > 0"),
    ({"cmd": "x", "healthChecks": [{"protocol": "HTTPX"}]},
     "app.healthChecks[0].protocol is 'HTTPX'; use one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, "
     "MESOS_TCP"),
    ({"cmd": "x", "healthChecks": [{"protocol": "TCP"}, {"protocol": "HTTP", "port": 80, "portIndex": 0}]},
     "app.healthChecks[1] has both port and portIndex; give only one of them"),
    ({"cmd": "x", "healthChecks": [{"protocol": "HTTP", "path": 5}]}, "app.healthChecks[0].path is 5"),
    ({"cmd": "x", "healthChecks": [{"protocol": "COMMAND"}]},
     "app.healthChecks[0] has protocol COMMAND but no command"),
    ({"cmd": "x", "healthChecks": {"protocol": "HTTP"}}, "app.healthChecks is {'protocol': 'HTTP'}; give a list"),
    ("cmd: x", "app is 'cmd: x'; give the app definition as a dict"),
])
def test_validation_names_the_key_and_what_to_change(app: Any, message: str) -> None:
    problems = marathon.validate_app(app)
    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems


def test_validation_reports_every_problem_at_once() -> None:
    problems = marathon.validate_app({"instances": -1, "cpus": -1, "mem": 0})
    assert [p.split(" ", maxsplit=1)[0] for p in problems] == ["app", "app.instances", "app.cpus", "app.mem"]


# ---- idempotence ----------------------------------------------------------------------------------------------------

def test_marathon_added_defaults_and_floats_do_not_count_as_a_change() -> None:
    assert marathon.desired_satisfied(DESIRED, MARATHON_GET) is True


@pytest.mark.parametrize("change", [
    {"instances": 3},
    {"cmd": "run --verbose"},
    {"mem": 1024},
    {"env": {"A": "1"}},  # Marathon answers env {} for an app without one
    {"healthChecks": [{"protocol": "HTTP", "path": "/ready", "portIndex": 0}]},  # nested value
    {"healthChecks": []},  # a list shortened to nothing
    {"healthChecks": [{"protocol": "HTTP", "path": "/health", "portIndex": 0}, {"protocol": "TCP", "portIndex": 0}]},
    {"portDefinitions": [{"port": 10000, "protocol": "udp"}]},  # a key Marathon filled in, now given otherwise
    {"requirePorts": 0},  # a number is not a boolean
    {"backoffSeconds": "1"},  # a string is not a number
    {"constraints": [["hostname", "UNIQUE"]]},
])
def test_a_given_value_that_differs_is_a_change(change: Dict[str, Any]) -> None:
    assert marathon.desired_satisfied(dict(DESIRED, **change), MARATHON_GET) is False


def test_numbers_compare_numerically_and_booleans_exactly() -> None:
    assert marathon.desired_satisfied({"cpus": 1}, {"cpus": 1.0}) is True
    assert marathon.desired_satisfied({"cpus": 0.5}, {"cpus": 0.50}) is True
    assert marathon.desired_satisfied({"cpus": 1}, {"cpus": 1.5}) is False
    assert marathon.desired_satisfied({"requirePorts": False}, {"requirePorts": False}) is True
    assert marathon.desired_satisfied({"requirePorts": False}, {"requirePorts": 0}) is False
    assert marathon.desired_satisfied({"instances": 1}, {"instances": True}) is False


def test_a_missing_key_is_a_change_and_a_null_is_met_by_absence() -> None:
    assert marathon.desired_satisfied({"user": "flink"}, {"cmd": "run"}) is False
    assert marathon.desired_satisfied({"args": None}, MARATHON_GET) is True
    assert marathon.desired_satisfied({"user": None}, {"cmd": "run"}) is True
    assert marathon.desired_satisfied({"cmd": None}, {"cmd": "run"}) is False


def test_a_nested_dict_compares_only_its_given_keys() -> None:
    desired = {"upgradeStrategy": {"minimumHealthCapacity": 1}}
    assert marathon.desired_satisfied(desired, MARATHON_GET) is True
    assert marathon.desired_satisfied({"upgradeStrategy": {"minimumHealthCapacity": 0.5}}, MARATHON_GET) is False
    assert marathon.desired_satisfied({"upgradeStrategy": 1}, MARATHON_GET) is False


# ---- diff -----------------------------------------------------------------------------------------------------------

def test_the_diff_shows_only_the_given_keys() -> None:
    desired = dict(DESIRED, instances=3)
    view = marathon.desired_view(desired, MARATHON_GET)
    before, after = json.loads(view["before"]), json.loads(view["after"])
    assert after == desired
    assert set(before) == set(desired)
    assert before["instances"] == 2 and before["cpus"] == 1.0
    # nested keys Marathon added stay out of the view too
    assert before["healthChecks"] == [{"protocol": "HTTP", "path": "/health", "portIndex": 0}]
    assert "version" not in before and "tasks" not in before
    assert view["before"] == json.dumps(before, sort_keys=True, indent=2) + "\n"  # sorted keys: stable text


def test_the_diff_of_a_new_app_starts_from_nothing() -> None:
    view = marathon.desired_view(DESIRED, None)
    assert view["before"] == "{}\n"
    assert json.loads(view["after"]) == DESIRED


def test_the_diff_keeps_list_elements_that_would_be_removed() -> None:
    current = {"constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY"]]}
    view = marathon.desired_view({"constraints": [["hostname", "UNIQUE"]]}, current)
    assert json.loads(view["before"]) == current


def test_a_deletion_shows_the_definition_without_runtime_fields() -> None:
    definition = marathon.definition_of(MARATHON_GET)
    assert "cmd" in definition and "healthChecks" in definition
    assert not set(definition) & {"tasks", "tasksRunning", "deployments", "version", "versionInfo"}


# ---- readiness ------------------------------------------------------------------------------------------------------

def test_an_app_without_deployments_and_with_enough_healthy_tasks_is_ready() -> None:
    ready, reason = marathon.app_ready(MARATHON_GET, 2)
    assert ready is True
    assert reason.startswith("no deployment running and 2 task(s) ready")


def test_a_running_deployment_means_not_ready_and_is_named() -> None:
    app = dict(MARATHON_GET, deployments=[{"id": "d-1"}, {"id": "d-2"}])
    ready, reason = marathon.app_ready(app, 2)
    assert ready is False
    assert reason.startswith("deployment(s) d-1, d-2 still running (tasksRunning 2, tasksHealthy 2")


def test_too_few_running_tasks_means_not_ready() -> None:
    ready, reason = marathon.app_ready(dict(MARATHON_GET, tasksRunning=1, tasksStaged=1), 2)
    assert ready is False
    assert reason.startswith("1 of 2 task(s) running") and "tasksStaged 1" in reason


def test_health_counts_only_when_the_app_has_health_checks() -> None:
    unhealthy = dict(MARATHON_GET, tasksHealthy=0, tasksUnhealthy=2)
    ready, reason = marathon.app_ready(unhealthy, 2)
    assert ready is False and reason.startswith("0 of 2 task(s) healthy")
    assert marathon.app_ready(dict(unhealthy, healthChecks=[]), 2)[0] is True


def test_an_app_scaled_to_zero_is_ready_once_its_deployment_ended() -> None:
    assert marathon.app_ready({"instances": 0, "tasksRunning": 0, "deployments": []}, 0)[0] is True


def test_tasks_are_summarized_with_their_health() -> None:
    tasks = marathon.summarize_tasks(MARATHON_GET)
    assert tasks == [
        {"id": "flink_a.1", "host": "agent-1", "ports": [31000], "state": "TASK_RUNNING", "healthy": True},
        {"id": "flink_a.2", "host": "agent-2", "ports": [31001], "state": "TASK_RUNNING", "healthy": False},
    ]
    no_results_yet = dict(MARATHON_GET, tasks=[{"id": "t", "healthCheckResults": []}])
    assert marathon.summarize_tasks(no_results_yet)[0]["healthy"] is False
    without_checks = dict(MARATHON_GET, healthChecks=[])
    assert [t["healthy"] for t in marathon.summarize_tasks(without_checks)] == [None, None]


# ---- errors ---------------------------------------------------------------------------------------------------------

LOCKED = json.dumps({
    "message": "App is locked by one or more deployments. Override with the option '?force=true'. View details at "
               "'/v2/deployments/<DEPLOYMENT_ID>'.",
    "deployments": [{"id": "97c136bf-5a28-4821-9d94-480d9fbb01c8"}, {"id": "2e72dbf1-2b2a-4204-b628-e8bd160945dd"}],
})


def test_409_names_the_locking_deployments_and_both_ways_out() -> None:
    cause, message = marathon.classify_error(409, LOCKED, "/flink/a")
    assert cause == "marathon_locked"
    assert message == ("app /flink/a is locked by deployment(s) 97c136bf-5a28-4821-9d94-480d9fbb01c8, "
                       "2e72dbf1-2b2a-4204-b628-e8bd160945dd; wait for them to finish (GET /v2/deployments) or set "
                       "force: true to override")


def test_409_without_a_deployments_list_takes_the_id_from_the_message() -> None:
    body = json.dumps({"message": "App is locked by one or more deployments. Override with the option "
                                  "'?force=true'. View details at '/v2/deployments/abc-123'."})
    assert "deployment(s) abc-123;" in marathon.classify_error(409, body, "/x")[1]


def test_401_says_which_options_carry_the_credentials() -> None:
    cause, message = marathon.classify_error(401, '{"message": "Invalid username or password."}', "/x")
    assert cause == "marathon_auth"
    assert "refused the credentials" in message
    assert "url_username" in message and "url_password" in message and "force_basic_auth: true" in message


def test_403_says_the_user_is_not_authorised() -> None:
    cause, message = marathon.classify_error(403, '{"message": "Not Authorized to perform this action!"}', "/x")
    assert cause == "marathon_forbidden"
    assert message.startswith("the user is not authorised for app /x (HTTP 403: Not Authorized")


def test_422_lists_every_invalid_field() -> None:
    body = json.dumps({"message": "Object is not valid", "details": [
        {"path": "/mem", "errors": ["got 0.0, expected 0.0 or more"]},
        {"path": "/healthChecks(0)/path", "errors": ["must be absolute", "too long"]}]})
    cause, message = marathon.classify_error(422, body, "/x")
    assert cause == "marathon_invalid_app"
    assert message == ("Marathon refused app /x as invalid (HTTP 422): /mem: got 0.0, expected 0.0 or more; "
                       "/healthChecks(0)/path: must be absolute; too long. Correct these keys of app")


def test_404_and_500_keep_marathons_words() -> None:
    cause, message = marathon.classify_error(404, "<html>Not Found</html>", "/x")
    assert cause == "marathon_not_found" and "marathon_url points at Marathon" in message
    cause, message = marathon.classify_error(500, '{"message": "Futures timed out"}', "/x")
    assert (cause, message) == ("marathon_error", "Marathon answered HTTP 500 for app /x: Futures timed out")


def test_only_marathons_own_404_means_absent() -> None:
    assert marathon.is_absent_answer(404, '{"message": "App \'/x\' does not exist"}') is True
    assert marathon.is_absent_answer(404, "<html>Not Found</html>") is False
    assert marathon.is_absent_answer(410, '{"message": "gone"}') is False

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Ansible module: one Marathon app through Marathon's v2 REST API, idempotent, waiting for its deployment."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: marathon_app
short_description: Manage one Marathon app (create, update, delete) and wait until it is deployed and healthy
version_added: 0.2.0
description:
  - Creates, updates or deletes one app through Marathon's v2 REST API (C(GET), C(PUT) and C(DELETE) on
    C(/v2/apps/<id>)).
  - Idempotent. Marathon fills in defaults and adds fields when it answers (C(version), task counts, port names,
    health check delays), so only the keys given in O(app) are compared, nested dicts by their given keys, lists
    element by element and with equal length, numbers numerically. The app is sent (C(PUT)) only when one of them
    differs; C(--diff) shows those keys before and after.
  - A C(PUT) or C(DELETE) starts a Marathon deployment. With O(wait=true) the module waits until Marathon lists no
    deployment for the app, at least C(instances) tasks run and, when the app has health checks, as many are
    healthy; after a deletion, until Marathon no longer knows the app. A run that changes nothing waits as well
    (only while the app is not ready), so a second run reports a still unhealthy app.
  - Inputs (the URL, the app id, the app definition) are validated before any request, and Marathon's refusals
    are explained (a deployment locking the app, invalid fields, refused credentials); see RV(cause_id).
author:
  - streamops team (@streamops)
options:
  marathon_url:
    description:
      - Marathon's base URL, scheme, host and port only (for example C(http://marathon.example:8080)). A path
        other than C(/) is refused; the module adds C(/v2/apps/<id>) itself.
      - Any Marathon instance works; a non-leading one forwards the requests to the leader.
    type: str
    required: true
  app_id:
    description:
      - The app's id, an absolute path such as C(/flink/session-a); C(flink) means C(/flink), a trailing C(/) is
        dropped. Each path segment may hold lowercase letters, digits, C(-) and C(.) (Marathon's rule); empty,
        C(.) and C(..) segments are refused.
      - Required unless O(app) has an C(id). When both are given they must name the same app.
    type: str
  app:
    description:
      - The app definition as Marathon's C(/v2/apps) API takes it (C(cmd), C(args), C(container), C(instances),
        C(cpus), C(mem), C(env), C(healthChecks), C(constraints), ...). Required with O(state=present).
      - Its C(id) is set to the normalised app id. Checked before any request - one of C(cmd), C(args) or
        C(container); C(instances) a whole number >= 0; C(cpus) and C(mem) numbers > 0; each C(healthChecks)
        entry with a C(protocol) Marathon knows (default C(HTTP)), at most one of C(port) and C(portIndex)
        (neither means C(portIndex) 0), C(path) defaults to C(/).
      - Keys not given are left to Marathon (its defaults on creation, the current value on update).
    type: dict
  state:
    description:
      - V(present) creates the app or updates it when a given key differs.
      - V(absent) deletes it (Marathon kills its tasks).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Send C(?force=true) with C(PUT) and C(DELETE), which overrides a deployment that locks the app (Marathon
        then cancels it). Without it a locked app fails with the deployment IDs named.
    type: bool
    default: false
  wait:
    description: Wait until the app is deployed and ready (or, with O(state=absent), gone). Not in check mode.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait with O(wait=true). On timeout the module fails with the task counts and deployments.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two C(GET) of the app while waiting; must be greater than 0.
    type: float
    default: 2
  request_timeout:
    description: Seconds one HTTP request to Marathon may take.
    type: float
    default: 30
extends_documentation_fragment:
  - streamops.flink_mesos.http_client
attributes:
  check_mode:
    support: full
    description: Reads the app and reports whether it would be created, updated or deleted; sends no C(PUT) or C(DELETE), does not wait.
  diff_mode:
    support: full
    description: Shows the given keys of the app before and after as sorted JSON (before is C({}) for a new app).
notes:
  - Marathon with HTTP basic authentication (its C(mesosphere.marathon.plugin.http.auth) plugin or a proxy in front
    of it) needs O(url_username) and O(url_password) and usually O(force_basic_auth=true), because the credentials
    are otherwise only sent after a 401 answer that asks for them.
  - The module returns the app as Marathon describes it, including its C(env); keep secrets out of C(env) or do not
    show the result.
seealso:
  - module: streamops.flink_mesos.mesos_info
  - name: Marathon REST API
    description: The C(/v2/apps) endpoints this module uses.
    link: https://mesosphere.github.io/marathon/docs/rest-api.html
"""

EXAMPLES = r"""
- name: Run two Flink TaskManager-like workers on Marathon and wait until they are healthy
  streamops.flink_mesos.marathon_app:
    marathon_url: http://marathon.example:8080
    app_id: /flink/workers
    app:
      cmd: /opt/worker/bin/run --port $PORT0
      instances: 2
      cpus: 1
      mem: 1024
      portDefinitions:
        - port: 0
      healthChecks:
        - protocol: HTTP
          path: /health
          portIndex: 0
    wait_timeout: 300

- name: Update through a Marathon with basic authentication, overriding a stuck deployment
  streamops.flink_mesos.marathon_app:
    marathon_url: https://marathon.example:8443
    url_username: deployer
    url_password: "{{ vault_marathon_password }}"
    force_basic_auth: true
    ca_path: /etc/ssl/certs/internal-ca.pem
    app:
      id: /flink/workers
      cmd: /opt/worker/bin/run --port $PORT0
      instances: 3
    force: true

- name: Delete the app and wait until Marathon no longer knows it
  streamops.flink_mesos.marathon_app:
    marathon_url: http://marathon.example:8080
    app_id: /flink/workers
    state: absent
"""

RETURN = r"""
app_id:
  description: The normalised app id.
  returned: always
  type: str
  sample: /flink/workers
app:
  description:
    - The app as Marathon's C(GET /v2/apps/<id>) described it at the end (after the change and the wait), with the
      fields Marathon adds (C(version), C(tasksRunning), C(deployments), C(tasks), ...).
    - In check mode, the current app. C({}) when the app does not exist (or no longer does).
  returned: always
  type: dict
deployment_id:
  description: ID of the Marathon deployment the C(PUT) or C(DELETE) started.
  returned: when a C(PUT) or C(DELETE) was sent
  type: str
  sample: 5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43
version:
  description:
    - After a C(PUT) or C(DELETE), the version Marathon answered with; otherwise the app's current C(version).
  returned: when the app exists or was changed
  type: str
  sample: "2024-05-01T10:00:00.000Z"
tasks_running:
  description: C(tasksRunning) of the app (0 when it does not exist).
  returned: always
  type: int
  sample: 2
tasks_healthy:
  description: C(tasksHealthy) of the app (0 when it does not exist or has no health checks).
  returned: always
  type: int
  sample: 2
tasks:
  description: The app's tasks.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Marathon's task id.
      type: str
    host:
      description: The agent the task runs on.
      type: str
    ports:
      description: The host ports assigned to the task.
      type: list
      elements: int
    state:
      description: The task's Mesos state (for example C(TASK_RUNNING)).
      type: str
    healthy:
      description: Whether every health check result of the task says alive; null when the app has no health checks.
      type: bool
cause_id:
  description:
    - Why the module failed, as a stable id - C(invalid_input) (refused before any request), C(marathon_locked)
      (409, a deployment locks the app), C(marathon_auth) (401), C(marathon_forbidden) (403),
      C(marathon_invalid_app) (422 or 400), C(marathon_not_found) (404 not from Marathon), C(marathon_error)
      (other answers), C(marathon_unreachable) (no answer, TLS failure), C(marathon_timeout) (not ready in time).
  returned: failure
  type: str
  sample: marathon_locked
status:
  description: The HTTP status of Marathon's answer that made the module fail (null when there was none).
  returned: failure
  type: int
  sample: 409
"""

import time
from typing import Any, Dict, NoReturn, Optional

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.streamops.flink_mesos.plugins.module_utils import marathon, rest


class MarathonAppManager:
    """One run of the module: validate, read, change when needed, wait, report."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.p = module.params
        self.result: Dict[str, Any] = dict(changed=False, app={}, tasks_running=0, tasks_healthy=0, tasks=[])
        self.app_id = ""
        self.desired: Dict[str, Any] = {}
        self.client = marathon.MarathonClient("")  # replaced in prepare(), once marathon_url is known to be valid

    def fail(self, msg: str, cause_id: str, status: Optional[int] = None) -> NoReturn:
        self.module.fail_json(msg=msg, cause_id=cause_id, status=status, **self.result)
        raise AssertionError("fail_json returned")  # for type checkers: fail_json exits

    def prepare(self) -> None:
        """Everything that can be checked without Marathon, before the first request."""
        p = self.p
        problems = []
        base = ""
        try:
            base = marathon.validate_marathon_url(p["marathon_url"])
        except ValueError as exc:
            problems.append(str(exc))
        app = p["app"]
        try:
            self.app_id = marathon.resolve_app_id(p["app_id"], app)
            self.result["app_id"] = self.app_id
        except ValueError as exc:
            problems.append(str(exc))
        if p["state"] == "present":
            if app is None:
                problems.append("app is required with state=present; give the app definition (at least cmd, args "
                                "or container)")
            else:
                problems.extend(marathon.validate_app(app))
        if p["poll_interval"] <= 0:
            problems.append(f"poll_interval is {p['poll_interval']}; give a number of seconds > 0")
        if p["wait_timeout"] < 0:
            problems.append(f"wait_timeout is {p['wait_timeout']}; give a number of seconds >= 0")
        if p["request_timeout"] <= 0:
            problems.append(f"request_timeout is {p['request_timeout']}; give a number of seconds > 0")
        if problems:
            self.fail("; ".join(problems) + ". Nothing was sent to Marathon.", marathon.CAUSE_INVALID_INPUT)
        if app is not None:
            self.desired = dict(app, id=self.app_id)
        self.client = marathon.MarathonClient(base, rest.HttpOptions.from_params(p), p["request_timeout"])

    def describe(self, app_json: Optional[Dict[str, Any]]) -> None:
        """Put an app's GET answer (or its absence) into the result."""
        app_json = app_json or {}
        self.result.update(
            app=app_json,
            tasks_running=int(app_json.get("tasksRunning") or 0),
            tasks_healthy=int(app_json.get("tasksHealthy") or 0),
            tasks=marathon.summarize_tasks(app_json),
        )
        if app_json.get("version") and "deployment_id" not in self.result:
            self.result["version"] = app_json["version"]

    def get(self) -> Optional[Dict[str, Any]]:
        try:
            return self.client.get_app(self.app_id)
        except marathon.MarathonError as exc:
            self.fail(str(exc), exc.cause_id, exc.status)

    def changed_by(self, answer: Dict[str, Any]) -> None:
        """Record the deployment a PUT or DELETE started."""
        self.result["deployment_id"] = answer.get("deploymentId")
        if answer.get("version"):
            self.result["version"] = answer["version"]

    def want_instances(self, app_json: Dict[str, Any]) -> int:
        wanted = self.desired.get("instances")
        return int(wanted if wanted is not None else app_json.get("instances", 1))

    def wait_ready(self, app_json: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        """Poll until app_ready says yes; the first check uses the answer at hand (no GET when already ready)."""
        deadline = time.monotonic() + self.p["wait_timeout"]
        while True:
            if app_json is None:
                self.fail(f"app {self.app_id} disappeared from Marathon while waiting for it to become ready (deleted "
                          "by someone else?)", marathon.CAUSE_NOT_FOUND, 404)
            ready, reason = marathon.app_ready(app_json, self.want_instances(app_json))
            if ready:
                return app_json
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.describe(app_json)
                self.fail(f"app {self.app_id} was not ready after {self.p['wait_timeout']} s: {reason}. Look at "
                          "the app's tasks and deployments in Marathon (GET /v2/deployments) and the tasks' sandbox "
                          "logs in Mesos; raise wait_timeout if the app only needs longer.", marathon.CAUSE_TIMEOUT)
            time.sleep(min(self.p["poll_interval"], remaining))
            app_json = self.get()

    def wait_gone(self, app_json: Dict[str, Any]) -> None:
        """Poll until Marathon answers 404 for the app."""
        deadline = time.monotonic() + self.p["wait_timeout"]
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                deployments = ", ".join(marathon.deployment_ids(app_json)) or "none listed"
                self.describe(app_json)
                self.fail(f"app {self.app_id} still existed after {self.p['wait_timeout']} s (tasksRunning "
                          f"{int(app_json.get('tasksRunning') or 0)}, deployments: {deployments}). Look at the "
                          "deployment in Marathon (GET /v2/deployments); raise wait_timeout if its tasks only need "
                          "longer to stop.", marathon.CAUSE_TIMEOUT)
            time.sleep(min(self.p["poll_interval"], remaining))
            current = self.get()
            if current is None:
                return
            app_json = current

    def set_diff(self, before: Dict[str, str]) -> None:
        if self.module._diff:
            url = self.client.app_url(self.app_id)
            self.result["diff"] = dict(before, before_header=url, after_header=url)

    def present(self) -> None:
        current = self.get()
        self.describe(current)
        if current is not None and marathon.desired_satisfied(self.desired, current):
            if self.p["wait"] and not self.module.check_mode:
                self.describe(self.wait_ready(current))
            return
        self.result["changed"] = True
        self.set_diff(marathon.desired_view(self.desired, current))
        if self.module.check_mode:
            return
        try:
            self.changed_by(self.client.put_app(self.app_id, self.desired, force=self.p["force"]))
        except marathon.MarathonError as exc:
            self.fail(str(exc), exc.cause_id, exc.status)
        after = self.get()
        if self.p["wait"]:
            after = self.wait_ready(after)
        self.describe(after)

    def absent(self) -> None:
        current = self.get()
        self.describe(current)
        if current is None:
            return
        self.result["changed"] = True
        self.set_diff({"before": marathon.as_text(marathon.definition_of(current)), "after": marathon.as_text({})})
        if self.module.check_mode:
            return
        try:
            self.changed_by(self.client.delete_app(self.app_id, force=self.p["force"]))
        except marathon.MarathonError as exc:
            self.fail(str(exc), exc.cause_id, exc.status)
        if self.p["wait"]:
            self.wait_gone(current)
            self.describe(None)
        else:
            self.describe(self.get())

    def run(self) -> None:
        self.prepare()
        if self.p["state"] == "present":
            self.present()
        else:
            self.absent()
        self.module.exit_json(**self.result)


def argument_spec() -> Dict[str, Any]:
    """The module's options plus the shared HTTP client options (DOCUMENTATION mirrors it)."""
    return rest.with_http_options(dict(
        marathon_url=dict(type="str", required=True),
        app_id=dict(type="str"),
        app=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        force=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=2),
        request_timeout=dict(type="float", default=30),
    ))


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    MarathonAppManager(module).run()


if __name__ == "__main__":
    main()

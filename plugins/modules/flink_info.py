#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Ansible module: read-only facts about a Flink cluster from its REST API."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_info
short_description: Read the overview, TaskManagers and jobs of a Flink cluster from its REST API
version_added: 0.1.0
description:
  - Queries C(/overview), C(/taskmanagers) and C(/jobs/overview) of a Flink REST endpoint (any Flink 1.x
    JobManager, here typically the Mesos appmaster). Never changes anything.
author:
  - streamops team (@streamops)
options:
  url:
    description: Base URL of the REST API (C(http://host:8081)) or C(host:port) (port 8081 when omitted).
    type: str
    required: true
  include:
    description: What to read besides the overview.
    type: list
    elements: str
    choices: [taskmanagers, jobs, config]
    default: [taskmanagers, jobs]
extends_documentation_fragment:
  - streamops.flink_mesos.read_only_http
  - streamops.flink_mesos.http_client
seealso:
  - module: streamops.flink_mesos.appmaster
"""

EXAMPLES = r"""
- name: Read the session cluster
  streamops.flink_mesos.flink_info:
    url: http://am1:8081
  register: flink

- name: Show the version and the running jobs
  ansible.builtin.debug:
    msg: "{{ flink.overview['flink-version'] }}: {{ flink.jobs | selectattr('state', 'eq', 'RUNNING') | list | length }} running"
"""

RETURN = r"""
url:
  description: The base URL that was queried.
  returned: always
  type: str
overview:
  description: The C(/overview) answer (taskmanagers, slots-total, slots-available, jobs-running, flink-version, ...).
  returned: always
  type: dict
  sample: {"taskmanagers": 0, "slots-total": 0, "flink-version": "1.13.6"}
flink_version:
  description: C(overview['flink-version']).
  returned: always
  type: str
taskmanagers:
  description: TaskManagers (id, path, slotsNumber, freeSlots, hardware, ...).
  returned: when taskmanagers is included
  type: list
  elements: dict
jobs:
  description: Jobs from C(/jobs/overview) (jid, name, state, start-time, duration, tasks).
  returned: when jobs is included
  type: list
  elements: dict
config:
  description: The JobManager configuration (C(/jobmanager/config)) as a dict.
  returned: when config is included
  type: dict
"""

from typing import Any, Dict

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.streamops.flink_mesos.plugins.module_utils import rest


def collect(base: str, include: list, timeout: float, http: rest.HttpOptions = rest.DEFAULT_HTTP) -> Dict[str, Any]:
    """Read everything asked for; the first endpoint that fails makes the whole call fail with its URL."""
    overview = rest.get_json(f"{base}/overview", timeout, http)
    if not rest.is_flink_overview(overview):
        raise rest.HttpError(f"GET {base}/overview: this is not a Flink REST API (no flink-version in the answer)")
    out: Dict[str, Any] = {"url": base, "overview": overview, "flink_version": overview.get("flink-version")}
    if "taskmanagers" in include:
        out["taskmanagers"] = (rest.get_json(f"{base}/taskmanagers", timeout, http) or {}).get("taskmanagers", [])
    if "jobs" in include:
        out["jobs"] = (rest.get_json(f"{base}/jobs/overview", timeout, http) or {}).get("jobs", [])
    if "config" in include:
        items = rest.get_json(f"{base}/jobmanager/config", timeout, http) or []
        out["config"] = {i.get("key"): i.get("value") for i in items if isinstance(i, dict)}
    return out


def argument_spec() -> Dict[str, Any]:
    """The module's options plus the shared HTTP client options (DOCUMENTATION mirrors it)."""
    return rest.with_http_options(dict(
        url=dict(type="str", required=True),
        timeout=dict(type="float", default=10),
        include=dict(type="list", elements="str", default=["taskmanagers", "jobs"],
                     choices=["taskmanagers", "jobs", "config"]),
    ))


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    base = rest.base_url(module.params["url"], 8081)
    try:
        result = collect(base, module.params["include"], module.params["timeout"],
                         rest.HttpOptions.from_params(module.params))
    except rest.HttpError as exc:
        module.fail_json(msg=f"Flink REST API not usable: {exc}", url=base)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

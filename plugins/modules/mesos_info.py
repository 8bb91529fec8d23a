#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Ansible module: read-only facts about a Mesos cluster from a master's HTTP API."""
from __future__ import annotations

DOCUMENTATION = r"""
---
module: mesos_info
short_description: Read the leader, agents and frameworks of a Mesos cluster
version_added: 0.1.0
description:
  - Queries C(/master/state) of a Mesos 1.x master. A non-leading master answers with a redirect to the
    leader, which is followed, so any master of the cluster may be named.
  - Masters are given as C(host:port) or URLs. C(zk://) values (Flink's C(mesos.master) form) are NOT resolved
    through ZooKeeper by this module; list the masters' HTTP addresses instead (the first one that answers is
    used). This keeps the module free of a ZooKeeper client; the error message says so.
  - Never changes anything.
author:
  - streamops team (@streamops)
options:
  masters:
    description: Mesos masters as C(host:port), C(host) (port 5050) or C(http(s)://host:port); tried in order.
    type: list
    elements: str
    required: true
  framework_name:
    description: When set, also return C(matching_frameworks) with this name (optionally filtered by C(framework_hostname)).
    type: str
  framework_hostname:
    description: Hostname the framework registered with (Flink uses C(jobmanager.rpc.address)).
    type: str
extends_documentation_fragment:
  - streamops.flink_mesos.read_only_http
  - streamops.flink_mesos.http_client
seealso:
  - module: streamops.flink_mesos.appmaster
"""

EXAMPLES = r"""
- name: Read the Mesos cluster through any master
  streamops.flink_mesos.mesos_info:
    masters: "{{ groups['mesos_masters'] | map('regex_replace', '$', ':5050') | list }}"
    framework_name: Flink
  register: mesos

- name: Require one active Flink framework
  ansible.builtin.assert:
    that: mesos.matching_frameworks | selectattr('active') | list | length == 1
"""

RETURN = r"""
url:
  description: The leader's URL that answered (after redirects).
  returned: always
  type: str
version:
  description: Mesos version of the leader.
  returned: always
  type: str
leader:
  description: The leading master's libprocess PID (C(master@ip:port)).
  returned: always
  type: str
activated_agents:
  description: Number of active agents.
  returned: always
  type: int
agents:
  description: Agents (id, hostname, active, resources, attributes).
  returned: always
  type: list
  elements: dict
frameworks:
  description: Registered frameworks (id, name, hostname, active, connected, user, role, webui_url, tasks count).
  returned: always
  type: list
  elements: dict
matching_frameworks:
  description: Frameworks matching O(framework_name) and O(framework_hostname).
  returned: when framework_name is set
  type: list
  elements: dict
"""

from typing import Any, Dict, List

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.streamops.flink_mesos.plugins.module_utils import rest


def query(masters: List[str], timeout: float, http: rest.HttpOptions = rest.DEFAULT_HTTP) -> Dict[str, Any]:
    """Ask each master in turn; redirects lead to the leader. Collects every error for the failure message."""
    errors = []
    for master in masters:
        if master.startswith("zk://"):
            errors.append(f"{master}: zk:// is not resolved by this module; list the masters as host:5050")
            continue
        base = rest.base_url(master, 5050)
        try:
            state, final = rest.request_json(f"{base}/master/state", timeout=timeout, http=http)[1:]
        except rest.HttpError as exc:
            errors.append(str(exc))
            continue
        if not isinstance(state, dict) or "frameworks" not in state:
            errors.append(f"{base}/master/state: not a Mesos master answer")
            continue
        out = rest.summarize_mesos_state(state)
        out["url"] = final.rsplit("/master/state", 1)[0]
        return out
    raise rest.HttpError("; ".join(errors) or "no masters given")


def argument_spec() -> Dict[str, Any]:
    """The module's options plus the shared HTTP client options (DOCUMENTATION mirrors it)."""
    return rest.with_http_options(dict(
        masters=dict(type="list", elements="str", required=True),
        timeout=dict(type="float", default=10),
        framework_name=dict(type="str"),
        framework_hostname=dict(type="str"),
    ))


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = query(module.params["masters"], module.params["timeout"], rest.HttpOptions.from_params(module.params))
    except rest.HttpError as exc:
        module.fail_json(msg=f"No Mesos master answered: {exc}")
    if module.params["framework_name"]:
        result["matching_frameworks"] = rest.find_frameworks(
            {"frameworks": result["frameworks"]}, module.params["framework_name"],
            module.params["framework_hostname"], active_only=False)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()

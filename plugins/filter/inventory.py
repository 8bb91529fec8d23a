# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters that derive cluster settings from the inventory, so every role derives them the same way.

Why: the mesos role (masters' zk:// URL) and the flink role (high-availability.zookeeper.quorum) both need the
ZooKeeper connect string before the zookeeper role has published its fact (validate.yml checks every host first,
and appmaster hosts are not in the zookeeper play). Documentation: the YAML files beside this one.
"""
from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError


# host:port or [IPv6]:port; a bare IPv6 address has colons but no port.
HOST_WITH_PORT = re.compile(r"(\[[^\]]+\]|[^:\[\]]+):\d+")


def zookeeper_connect_string(hosts: Any, port: Any = 2181) -> str:
    """'h1:2181,h2:2181' from a list of ZooKeeper hosts; an entry that already names a port keeps it."""
    if hosts is None:
        return ""
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("zookeeper_connect_string expects a list of hosts, e.g. groups['zookeeper']")
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"zookeeper_connect_string: port must be a number, got '{port}'") from None
    out = []
    for host in hosts:
        text = str(host).strip()
        if not text:
            continue
        out.append(text if HOST_WITH_PORT.fullmatch(text) else f"{text}:{port}")
    return ",".join(out)


class FilterModule:
    """streamops.flink_mesos inventory filters."""

    def filters(self) -> dict:
        return {"zookeeper_connect_string": zookeeper_connect_string}

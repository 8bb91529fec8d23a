# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Filters that give the roles the same input rules the modules use (one home per rule: module_utils).

Each filter returns a list of problem sentences (empty when the value is fine), so that a role's preflight
checks `length == 0` and shows the sentences as they are. Documentation: the YAML files beside this one.
"""
from __future__ import annotations

from typing import Any, List

from ansible.errors import AnsibleFilterError
from ansible_collections.streamops.flink_mesos.plugins.module_utils import appmaster_spec, artifacts, checksums, mesos_values


def mesos_value_problems(given: Any, kind: str, variable: str) -> List[str]:
    """Problems of an agent attributes/resources dict or flag string (see module_utils/mesos_values.py)."""
    try:
        return mesos_values.problems(kind, given, variable)
    except ValueError as err:
        raise AnsibleFilterError(f"mesos_value_problems: {err}") from err


def address_problems(value: Any, variable: str, role: str = "advertised") -> List[str]:
    """A loopback host name or address where other hosts must reach this one is a problem."""
    text = "" if value is None else str(value).strip()
    if text and appmaster_spec.is_loopback(text):
        return [f"{variable} is '{text}', a loopback address: the {role} address must be one the other hosts "
                f"reach. Set {variable} to this host's network name or address."]
    return []


def mesos_master_problems(value: Any, variable: str) -> List[str]:
    """A mesos.master / agent --master value Flink and Mesos both accept, naming no loopback host."""
    try:
        appmaster_spec.validate_master("" if value is None else str(value).strip(), option=variable)
    except appmaster_spec.SpecError as err:
        return [str(err)]
    return []


def checksum_problems(value: Any, variable: str, allow_empty: bool = False) -> List[str]:
    """An artifact checksum get_url can verify (module_utils/checksums.py); empty only when `allow_empty`."""
    return checksums.problems(value, variable, allow_empty=allow_empty)


def artifact_problems(entries: Any, variable: str, suffix: str = "", dests: Any = None,
                      allow_empty: bool = True) -> List[str]:
    """Problems of a list of artifacts to download (module_utils/artifacts.py): hadoop_jars, flink_user_jars and
    the list the roles hand to _common's download step."""
    return artifacts.list_problems(entries, variable, suffix=suffix, dests=list(dests) if dests else None,
                                   allow_empty=allow_empty)


def instance_name_problems(value: Any, variable: str) -> List[str]:
    """A session or job name that can name a systemd unit and log files (the appmaster module's own rule)."""
    try:
        appmaster_spec.validate_instance("" if value is None else str(value), option=variable)
    except appmaster_spec.SpecError as err:
        return [str(err)]
    return []


def path_problems(paths: Any, optional: Any = None) -> List[str]:
    """Every {variable: path} whose path is not absolute (empty is allowed only for names in `optional`).

    Why: a relative path reaches systemd units and config files that resolve it against an unknown directory (or,
    for systemd, refuse to load the unit), long after the variable was read.
    """
    if not isinstance(paths, dict):
        raise AnsibleFilterError("path_problems expects a dict of {variable name: path}")
    may_be_empty = set(optional or [])
    out = []
    for name, value in paths.items():
        text = "" if value is None else str(value)
        if not text and name in may_be_empty:
            continue
        if not text.startswith("/") or "\n" in text:
            out.append(f"{name} is '{text}'; set an absolute path (starting with /).")
    return out


def secret_keys(conf: Any) -> List[str]:
    """The keys of a Flink configuration dict whose values must never be shown (appmaster_spec.is_secret_key:
    the framework secret and every key Flink itself hides), so that roles decide no_log by the module's rule."""
    if not isinstance(conf, dict):
        raise AnsibleFilterError("secret_keys expects a dict of Flink configuration keys")
    return sorted(str(key) for key in conf if appmaster_spec.is_secret_key(str(key)))


class FilterModule:
    """streamops.flink_mesos rule filters."""

    def filters(self) -> dict:
        return {
            "mesos_value_problems": mesos_value_problems,
            "address_problems": address_problems,
            "mesos_master_problems": mesos_master_problems,
            "path_problems": path_problems,
            "checksum_problems": checksum_problems,
            "artifact_problems": artifact_problems,
            "instance_name_problems": instance_name_problems,
            "secret_keys": secret_keys,
        }

# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The value grammar of a Mesos agent's ``--attributes`` and ``--resources`` flags, as checks.

Why: the mesos role joins ``mesos_agent_attributes``/``mesos_agent_resources`` (or takes
``mesos_agent_extra_flags.attributes``/``.resources`` as they are) into the agent's flags. Mesos 1.11 parses them
only when the agent starts: a bad value kills a new agent with a log line, and on an agent that ran before the
agent-info-change guard hides the cause. These functions apply the grammar Mesos documents
(docs/attributes-resources.md) and its parser enforces (src/common/attributes.cpp, values.cpp, resources.cpp),
so the role can refuse the value on the controller and name the key. Pure functions, no I/O.

Grammar (Mesos 1.11):
  attributes : attribute ( ";" attribute )*        attribute : name ":" ( scalar | ranges | text )
  resources  : resource ( ";" resource )*          resource  : name [ "(" role ")" ] ":" ( scalar | ranges | set )
  scalar : a finite decimal number (>= 0 for resources)   ranges : "[" begin "-" end ( "," begin "-" end )* "]"
  set    : "{" text ( "," text )* "}"                      text   : [a-zA-Z0-9_/.-]+  (documented characters)
Spaces are removed before parsing, as Mesos does. Attributes cannot be sets.
"""
from __future__ import annotations

import math
import re
from typing import Any, List, Mapping, Optional, Union

_TEXT = re.compile(r"^[A-Za-z0-9_/.\-]+$")
_NAME = re.compile(r"^[A-Za-z0-9_/.\-]+$")
_ROLE = re.compile(r"^[A-Za-z0-9_/.\-]+$")
_RANGE = re.compile(r"^([0-9]+)-([0-9]+)$")


def _scalar(text: str) -> Optional[float]:
    """The number Mesos would read (strtod-like), or None when the text is not a finite number."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _ranges_problem(text: str) -> Optional[str]:
    """Why '[a-b,c-d]' is not a valid Mesos ranges value, or None."""
    if not text.endswith("]") or len(text) < 3:
        return f"'{text}' opens a range list with '[' but is not '[begin-end,...]'"
    for part in text[1:-1].split(","):
        match = _RANGE.match(part)
        if not match:
            return f"'{part}' in '{text}' is not 'begin-end' with whole numbers"
        if int(match.group(1)) > int(match.group(2)):
            return f"range '{part}' in '{text}' ends before it begins"
    return None


def _set_problem(text: str) -> Optional[str]:
    """Why '{a,b}' is not a valid Mesos set value, or None."""
    if not text.endswith("}") or len(text) < 3:
        return f"'{text}' opens a set with '{{' but is not '{{item,...}}'"
    for item in text[1:-1].split(","):
        if not _TEXT.match(item):
            return f"set item '{item}' in '{text}' is empty or has characters other than letters, digits, _ / . -"
    return None


def value_problem(kind: str, name: str, value: Any) -> Optional[str]:
    """Why one attribute ('attributes') or resource ('resources') value is refused, or None.

    `name` is the attribute name or the resource key (which may carry a role: 'cpus(flink)').
    """
    if isinstance(value, bool) or value is None or isinstance(value, (Mapping, list, tuple)):
        return f"'{value}' is not a scalar, range list or text"
    text = str(value).replace(" ", "")
    if not text:
        return "the value is empty"
    if ";" in text or "\n" in text or ":" in text:
        return f"'{value}' contains ';', ':' or a line break, which separate entries in the flag"
    if kind == "resources":
        match = re.match(r"^([^()]+)(?:\(([^()]*)\))?$", name.replace(" ", ""))
        if not match or not _NAME.match(match.group(1)):
            return f"the resource name '{name}' is not 'name' or 'name(role)' with letters, digits, _ / . -"
        if match.group(2) is not None and not _ROLE.match(match.group(2)):
            return f"the role in '{name}' is empty or has characters other than letters, digits, _ / . -"
    elif not _NAME.match(name.replace(" ", "")):
        return f"the attribute name '{name}' has characters other than letters, digits, _ / . -"
    if text.startswith("["):
        return _ranges_problem(text)
    if text.startswith("{"):
        if kind == "attributes":
            return f"'{value}' is a set, which Mesos does not accept for attributes (use text, a number or ranges)"
        return _set_problem(text)
    number = _scalar(text)
    if number is not None:
        if kind == "resources" and number < 0:
            return f"'{value}' is negative; resource quantities are >= 0"
        return None
    if kind == "resources":
        return f"'{value}' is not a number, '[begin-end,...]' or '{{item,...}}' (Mesos has no text resources)"
    if not _TEXT.match(text):
        return f"'{value}' has characters other than letters, digits, _ / . - (Mesos attribute text)"
    return None


def flag_entries(text: str) -> List[tuple]:
    """Split an --attributes/--resources string into (name, value) pairs; a pair without ':' gets value None."""
    entries = []
    for token in re.split(r"[;\n]", text):
        if not token.strip():
            continue
        name, sep, value = token.partition(":")
        entries.append((name.strip(), value.strip() if sep else None))
    return entries


def problems(kind: str, given: Union[Mapping[str, Any], str, None], variable: str) -> List[str]:
    """Every problem of an attributes/resources value, one sentence each, naming `variable` and the key.

    `given` is the role's dict form ({name: value}) or the flag's string form ('name:value;name:value').
    """
    if kind not in ("attributes", "resources"):
        raise ValueError(f"kind must be 'attributes' or 'resources', not {kind!r}")
    if given is None or given == "" or given == {}:
        return []
    if isinstance(given, Mapping):
        pairs = [(str(k), v) for k, v in given.items()]
        where = "{0}['{1}']"
    elif isinstance(given, str):
        pairs = flag_entries(given)
        where = "{0} (entry '{1}')"
    else:
        return [f"{variable} must be a dict such as {{rack: r1}} or a string such as 'rack:r1;zone:a', "
                f"not {type(given).__name__}."]
    out = []
    for name, value in pairs:
        label = where.format(variable, name)
        if value is None:
            out.append(f"{label}: Mesos needs 'name:value' entries separated by ';' and this one has no ':'.")
            continue
        if not name:
            out.append(f"{variable}: an entry has an empty name before ':' ('{value}').")
            continue
        problem = value_problem(kind, name, value)
        if problem:
            out.append(f"{label}: {problem}. Mesos 1.11 would refuse to start the agent; fix this value.")
    return out

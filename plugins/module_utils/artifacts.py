# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The one rule for a list of artifacts to download: entries of hadoop_jars, flink_user_jars and the list the
roles hand to _common's download step.

Why one home: the flink and hadoop preflights each carried their own copy of the entry rule (one of url/src, a
.jar, a checksum), and _common's download step a third, looser one; an entry one of them took could fail in
another, after other hosts had already changed.
"""
from __future__ import annotations

import json
import re
from typing import Any, List, Optional, Sequence

from ansible_collections.streamops.flink_mesos.plugins.module_utils import checksums

_URL = re.compile(r"^(https?|file)://\S+$")


def _shown(entry: Any) -> str:
    """The entry as the user wrote it (JSON when it can be), for the sentence that names it."""
    try:
        return json.dumps(entry, sort_keys=True)
    except (TypeError, ValueError):
        return repr(entry)


def entry_problems(entry: Any, name: str, suffix: str = "", dests: Optional[Sequence[str]] = None) -> List[str]:
    """Problems of one artifact entry called `name` (e.g. 'hadoop_jars[2]'); [] when it is fine.

    An entry is a mapping with exactly one of `url` (http://, https:// or file:// URL) or `src` (absolute
    controller path), a `checksum` get_url verifies, and, when `dests` is given, an optional `dest` among them.
    `suffix` (e.g. '.jar') is the file name ending both url and src must have.
    """
    want = (f"exactly one of url (an http://, https:// or file:// URL{' of a ' + suffix if suffix else ''}) or src "
            f"(an absolute controller path{' of a ' + suffix if suffix else ''}), a checksum such as "
            f"'sha512:<hex>' or 'sha512:<URL of the .sha512 file>'"
            + (f", and optionally dest: {' or '.join(dests)}" if dests else ""))
    fix = f"{name} is {_shown(entry)}. Each entry needs {want}. Fix that entry."
    if not isinstance(entry, dict):
        return [fix]
    url, src = entry.get("url"), entry.get("src")
    if (url is None) == (src is None):
        return [fix]
    location = str(url if url is not None else src)
    if url is not None and not _URL.match(location):
        return [fix]
    if src is not None and (not location.startswith("/") or "\n" in location):
        return [fix]
    if suffix and not location.endswith(suffix):
        return [fix]
    if dests and str(entry.get("dest", dests[0])) not in dests:
        return [fix]
    found = checksums.problems(entry.get("checksum"), "Its checksum")
    return [f"{fix} {' '.join(found)}"] if found else []


def list_problems(entries: Any, variable: str, suffix: str = "", dests: Optional[Sequence[str]] = None,
                  allow_empty: bool = True) -> List[str]:
    """Problems of every entry of the list `variable` (each sentence names `variable[i]`); [] when all are fine.

    An entry may carry its own `variable` key (the user-facing name it came from); that name is then used instead
    of `variable[i]`, so a list assembled by a role still points the user at the variable to change.
    """
    if isinstance(entries, (str, bytes, dict)) or not isinstance(entries, (list, tuple)):
        return [f"{variable} is {_shown(entries)}; set it to a list of entries (mappings with url or src and a "
                f"checksum)."]
    if not entries and not allow_empty:
        return [f"{variable} is empty; give it at least one entry (a mapping with url or src and a checksum)."]
    out: List[str] = []
    for index, entry in enumerate(entries):
        name = f"{variable}[{index}]"
        if isinstance(entry, dict) and entry.get("variable"):
            name = str(entry["variable"])
            entry = {key: value for key, value in entry.items() if key != "variable"}
        out.extend(entry_problems(entry, name, suffix=suffix, dests=dests))
    return out

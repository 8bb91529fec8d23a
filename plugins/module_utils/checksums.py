# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""The one rule for artifact checksums ('<algorithm>:<hex>' or '<algorithm>:<URL of a checksum file>').

Why one home: every role downloads through ansible.builtin.get_url (via _common/download.yml), which verifies
these algorithms; the roles' preflights used to carry their own patterns, which accepted different algorithms.
"""
from __future__ import annotations

import re
from typing import Any, List

# What ansible.builtin.get_url verifies, with the length of each digest in hex digits. The names are
# case-sensitive there (AnsibleModule.digest_from_file); the hex digest is not (get_url lowercases it).
ALGORITHMS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
_URL = re.compile(r"^(https?|ftp|file)://\S+$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


def problems(value: Any, variable: str, allow_empty: bool = False) -> List[str]:
    """One sentence naming `variable` when `value` is not a checksum get_url can verify; [] when it is.

    Why the digest length is checked: a truncated digest would otherwise pass here and fail only after the
    download, as a mismatch that hides the typo.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        if allow_empty:
            return []
        return [f"{variable} is empty; set it to '<algorithm>:<hex digest>' or '<algorithm>:<URL of a checksum "
                f"file>' (algorithms: {', '.join(ALGORITHMS)})."]
    algorithm, _sep, digest = text.partition(":")
    if algorithm not in ALGORITHMS or not digest:
        return [f"{variable} is '{text}'; set it to '<algorithm>:<hex digest>' or '<algorithm>:<URL of a checksum "
                f"file>' with an algorithm among {', '.join(ALGORITHMS)}, e.g. 'sha512:<128 hex digits>'."]
    if _URL.match(digest):
        return []
    want = ALGORITHMS[algorithm]
    if not _HEX.match(digest) or len(digest) != want:
        return [f"{variable} is '{text}': a {algorithm} digest is {want} hex digits (got {len(digest)} characters"
                f"{'' if _HEX.match(digest) else ', not all hex'}). Copy the digest again or give the URL of the "
                f"checksum file instead."]
    return []

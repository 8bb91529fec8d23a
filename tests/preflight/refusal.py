"""Assertions shared by the preflight tests of every role.

Why: a refusal only counts when the play failed, said what the user must change, and changed nothing on the
hosts. Writing that check once keeps every role's tests to the same standard.
"""
from __future__ import annotations

import re
import socket
from typing import Any


def host_changes(output: str) -> list[str]:
    """'changed' lines for managed hosts; the controller's download cache (delegated to localhost) does not count."""
    return [line for line in output.splitlines() if re.match(r"^changed: \[", line) and "-> localhost]" not in line]


def refused(result: Any, *fragments: str) -> None:
    """The play failed, said what it had to say, and changed nothing on the hosts."""
    assert result.rc != 0, result.output
    for fragment in fragments:
        assert fragment in result.output, f"{fragment!r} not in output:\n{result.output}"
    assert not host_changes(result.output), result.output


def free_port() -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

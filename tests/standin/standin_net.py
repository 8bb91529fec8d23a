"""Small helpers the stand-in process tests share: a free loopback port, and polling until a check holds.

Why one module: the Mesos and Marathon stand-in tests start real daemons on ephemeral ports and wait for their HTTP
endpoints; the same two helpers served both, copied, before.
"""
from __future__ import annotations

import socket
import time
from typing import Any, Callable


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it), for a daemon the test starts next."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """The first truthy result of check(); OSError counts as "not yet" (the daemon is still starting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except OSError:
            pass
        time.sleep(interval)
    raise AssertionError("condition not met in time")

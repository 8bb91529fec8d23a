# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Decide when a started appmaster is ready, with the probes injected so the logic is testable.

Readiness is not "REST answered once": without libmesos Flink 1.13 brings REST up and dies ~0.1 s later when
the ResourceManager creates the Mesos scheduler driver. So after each milestone the process must stay alive
for a settle period, and the earlier checks are repeated at the end.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

WAIT_LEVELS = ("none", "process", "rest", "framework")


@dataclass
class Probes:
    """The three observations readiness needs. Each must be cheap and must not raise."""

    alive: Callable[[], bool]
    overview: Callable[[], Optional[Dict[str, Any]]]
    framework: Callable[[], Optional[Dict[str, Any]]]
    # A fatal error already logged by a JVM that is still shutting down (Flink 1.13 takes ~5 s from
    # "Fatal error occurred" to its exit); returning the log line ends the wait as 'died' without that delay.
    fatal: Callable[[], Optional[str]] = lambda: None
    # At level 'framework': whether the cluster is whole given the last /overview (after an HA restart, the
    # TaskManagers it had are registered again); the default asks nothing more.
    whole: Callable[[Optional[Dict[str, Any]]], bool] = lambda overview: True
    # At level 'framework', with ZooKeeper HA: the REST address of the leader the cluster published in ZooKeeper, or
    # None while there is none (or it cannot be read). None as the probe itself: nothing is asked (no HA).
    leader: Optional[Callable[[], Optional[str]]] = None


@dataclass
class Verdict:
    """The outcome: ready or not, why not ('died', 'timeout'), and what was seen on the way."""

    ready: bool
    reason: str
    overview: Optional[Dict[str, Any]] = None
    framework: Optional[Dict[str, Any]] = None
    # The leader's REST address read from ZooKeeper when the probe was given (the last reading).
    leader: Optional[str] = None
    rest_seen_after: Optional[float] = None
    died_after: Optional[float] = None
    elapsed: float = 0.0
    events: List[str] = field(default_factory=list)


def wait_ready(
    level: str,
    probes: Probes,
    timeout: float,
    settle: float,
    interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Verdict:
    """Poll the probes until ``level`` is reached and held for ``settle`` seconds, the process dies, or timeout.

    Levels build on each other: 'rest' implies 'process', 'framework' implies 'rest'.
    """
    if level not in WAIT_LEVELS:
        raise ValueError(f"unknown wait level {level}")
    start = clock()
    v = Verdict(ready=False, reason="timeout")
    if level == "none":
        v.ready, v.reason = True, "ready"
        return v
    want = WAIT_LEVELS.index(level)

    def elapsed() -> float:
        return clock() - start

    def died(why: str = "process gone") -> Verdict:
        v.reason, v.died_after, v.elapsed = "died", elapsed(), elapsed()
        v.events.append(f"{v.died_after:.2f}s {why}")
        return v

    reached_at: Optional[float] = None
    while True:
        if not probes.alive():
            return died()
        fatal = probes.fatal()
        if fatal:
            return died(f"fatal error logged: {fatal[:120]}")
        reached = True
        if want >= 2:
            ov = probes.overview()
            if ov is not None and v.overview is None:
                v.rest_seen_after = elapsed()
                v.events.append(f"{v.rest_seen_after:.2f}s REST answered (flink-version {ov.get('flink-version')})")
            if ov is not None:
                v.overview = ov
            reached = ov is not None
        if reached and want >= 3:
            fw = probes.framework()
            if fw is not None and v.framework is None:
                v.events.append(f"{elapsed():.2f}s framework {fw.get('id')} active in Mesos")
            if fw is not None:
                v.framework = fw
            reached = fw is not None
            if reached and not probes.whole(v.overview):
                reached = False
                if not any("waiting for TaskManagers" in e for e in v.events):
                    v.events.append(f"{elapsed():.2f}s waiting for TaskManagers "
                                    f"({(v.overview or {}).get('taskmanagers', 0)} registered)")
            if reached and probes.leader is not None:
                reached = leader_published(v, probes.leader(), elapsed())
        if reached:
            if reached_at is None:
                reached_at = elapsed()
            elif elapsed() - reached_at >= settle:
                # Final re-check after the settle period: still alive, still answering.
                if not probes.alive():
                    return died()
                v.ready, v.reason, v.elapsed = True, "ready", elapsed()
                v.events.append(f"{v.elapsed:.2f}s still alive {settle:.1f}s after reaching '{level}': ready")
                return v
        else:
            reached_at = None
        if elapsed() >= timeout:
            v.elapsed = elapsed()
            return v
        sleep(interval)


def leader_published(verdict: Verdict, address: Optional[str], at: float) -> bool:
    """Record a leader reading in the verdict (an event when it first appears or changes); whether there is one.

    Why a condition and not only a report: with ZooKeeper HA the REST endpoint of any JobManager answers once some
    leader exists, but clients (the Flink CLI, a standby's redirect, the job module) find the cluster through the
    leader znode. A cluster whose leader is not readable there is not usable by them yet.
    """
    if address is None:
        if not any("waiting for a leader" in e for e in verdict.events):
            verdict.events.append(f"{at:.2f}s waiting for a leader in ZooKeeper")
        return False
    if address != verdict.leader:
        verdict.events.append(f"{at:.2f}s leader {address} published in ZooKeeper")
    verdict.leader = address
    return True

"""Settings for every JVM these tests start (javac, the stand-in driver's self tests, a Flink session).

Why: they are short-lived JVMs that check behaviour, not speed. HotSpot's default tiered compilation spends most of
their CPU in the C2 compiler and the parallel collector's threads; C1 only and the serial collector halve their CPU
(tests/standin: 70 s of CPU down to 40 s on the 2-core test machine, same results), which matters because the
preflight batch shares those cores during the unit stage. A JAVA_TOOL_OPTIONS already set is left as it is.
"""
from __future__ import annotations

import os

os.environ.setdefault("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

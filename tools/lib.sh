#!/usr/bin/env bash
# Shared harness functions for tools/test and tools/lab. Sourced, not executed.
# Everything here is idempotent and cached by content, so a second run on the same machine is fast and a
# fresh machine provisions itself (venv, Docker engine, base image, artifact mirror).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO
export FLINK_MESOS_CACHE="${FLINK_MESOS_CACHE:-/var/cache/streamops-flink-mesos}"
export FLINK_MESOS_IMAGE="${FLINK_MESOS_IMAGE:-streamops/debian-systemd:bookworm}"
export FLINK_MESOS_PRIVILEGED="${FLINK_MESOS_PRIVILEGED:-false}"
export FLINK_MESOS_MIRROR_PORT="${FLINK_MESOS_MIRROR_PORT:-18080}"
export FLINK_MESOS_MIRROR_DIR="${FLINK_MESOS_CACHE}/mirror"
export FLINK_MESOS_MIRROR_URL="http://127.0.0.1:${FLINK_MESOS_MIRROR_PORT}"
VENV="${REPO}/.venv"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Stage timing: stage_begin NAME; ...; stage_end NAME  -> appended to $STAGE_LOG for the final summary.
STAGE_LOG="${STAGE_LOG:-$(mktemp)}"
export STAGE_LOG
stage_begin() { eval "__stage_t_${1//[^a-zA-Z0-9]/_}=$(date +%s)"; log "== $1"; }
stage_end() {
  local var="__stage_t_${1//[^a-zA-Z0-9]/_}" status="${2:-ok}"
  local t0="${!var}" t1; t1=$(date +%s)
  printf '%-28s %-6s %5ss\n' "$1" "$status" "$((t1 - t0))" >> "$STAGE_LOG"
  log "== $1: $status in $((t1 - t0))s"
}

sha_of() { cat "$@" | sha256sum | cut -c1-16; }

# The one way the tools make a cached virtual environment: DIR for PYTHON with `pip install PIP_ARGS...`, made
# once and reused while DIR/.complete exists (callers put the key of what they install in DIR's name). Once it is
# complete, the siblings of DIR that match STALE_GLOB (venvs of older keys) are removed. Log: DIR/pip-install.log.
provision_venv() { # DIR PYTHON STALE_GLOB PIP_ARGS...
  local dir="$1" python="$2" stale="$3" old; shift 3
  case "$stale" in */*|.*|'*'*) die "provision_venv: STALE_GLOB '${stale}' must be a name pattern with a fixed prefix";; esac
  [ -f "${dir}/.complete" ] && return 0
  command -v "$python" >/dev/null || die "${python} is required"
  log "creating virtual environment ${dir}"
  mkdir -p "$(dirname "$dir")"
  "$python" -m venv --clear "$dir" 2>/dev/null || { apt_install python3-venv; "$python" -m venv --clear "$dir"; }
  "${dir}/bin/pip" install -q --disable-pip-version-check "$@" > "${dir}/pip-install.log" 2>&1 \
    || { tail -30 "${dir}/pip-install.log" >&2; die "pip install $* failed (log ${dir}/pip-install.log)"; }
  "${dir}/bin/pip" freeze --disable-pip-version-check > "${dir}/pip-freeze.txt"
  touch "${dir}/.complete"
  [ -n "$stale" ] || return 0
  for old in "$(dirname "$dir")"/$stale; do
    [ -d "$old" ] && [ -f "${old}/pyvenv.cfg" ] && [ "$old" != "$dir" ] && { log "removing stale ${old}"; rm -rf "$old"; }
  done
  return 0
}

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  # Installs Debian packages when missing (root on Debian only).
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  { is_root && command -v apt-get >/dev/null; } || die "missing packages ${missing[*]}: install them (as root: apt-get install ${missing[*]})"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  # The virtual environment is keyed by the content of requirements-dev.txt.
  # (Its path is fixed, .venv of the checkout, so a changed key clears it first.)
  local key; key=$(sha_of "${REPO}/requirements-dev.txt")
  if [ ! -x "${VENV}/bin/ansible-playbook" ] || [ "$(cat "${VENV}/.key" 2>/dev/null)" != "$key" ]; then
    log "requirements key ${key}"
    rm -f "${VENV}/.complete"
    provision_venv "${VENV}" python3 "" -r "${REPO}/requirements-dev.txt"
    echo "$key" > "${VENV}/.key"
  fi
  export PATH="${VENV}/bin:${PATH}"
  export VIRTUAL_ENV="${VENV}"
  # Make the checkout importable as ansible_collections/streamops/flink_mesos.
  mkdir -p "${REPO}/.cache/collections/ansible_collections/streamops"
  ln -sfn ../../../.. "${REPO}/.cache/collections/ansible_collections/streamops/flink_mesos"
  local pyver; pyver=$("${VENV}/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  export ANSIBLE_COLLECTIONS_PATH="${REPO}/.cache/collections:${VENV}/lib/python${pyver}/site-packages"
  export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
  export PYTHONPATH="${REPO}/.cache/collections${PYTHONPATH:+:${PYTHONPATH}}"
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if ! is_root || ! command -v apt-get >/dev/null; then
    die "no Docker engine answers. Start one (e.g. 'sudo systemctl start docker'), or run this as root on Debian/Ubuntu so the harness can install and start docker.io itself."
  fi
  command -v dockerd >/dev/null || apt_install docker.io
  command -v docker >/dev/null || apt_install docker.io
  log "starting dockerd (log: ${FLINK_MESOS_CACHE}/dockerd.log)"
  mkdir -p "${FLINK_MESOS_CACHE}"
  # setsid: the engine must outlive this shell's process group (CI may kill it); it is stopped by nobody
  # on purpose so that later runs reuse it.
  setsid nohup dockerd > "${FLINK_MESOS_CACHE}/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "dockerd is up"; return 0; }
    sleep 1
  done
  tail -20 "${FLINK_MESOS_CACHE}/dockerd.log" >&2
  die "dockerd did not answer within 60 s (log above)"
}

debian_mirror() {
  # The host's own configured Debian mirror (deb822 .sources first, then sources.list).
  local url=""
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    url=$(awk '/^URIs:/ {for (i=2;i<=NF;i++) if ($i !~ /security/) {print $i; exit}}' /etc/apt/sources.list.d/*.sources)
  fi
  if [ -z "$url" ] && [ -f /etc/apt/sources.list ]; then
    url=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  [ -n "$url" ] || die "cannot find a Debian mirror in /etc/apt/sources.list(.d); set FLINK_MESOS_DEBIAN_MIRROR"
  echo "${FLINK_MESOS_DEBIAN_MIRROR:-$url}"
}

ensure_image() {
  # Use the configured image if it exists or can be pulled; otherwise build it with debootstrap.
  if docker image inspect "${FLINK_MESOS_IMAGE}" >/dev/null 2>&1; then
    local have; have=$(docker image inspect -f '{{ index .Config.Labels "org.streamops.key" }}' "${FLINK_MESOS_IMAGE}" 2>/dev/null || true)
    local want; want=$(image_key)
    if [ -z "$have" ] || [ "$have" = "$want" ]; then log "image ${FLINK_MESOS_IMAGE} present"; return 0; fi
    log "image ${FLINK_MESOS_IMAGE} was built from another recipe (${have} != ${want}); rebuilding"
  elif [ "${FLINK_MESOS_IMAGE}" != "streamops/debian-systemd:bookworm" ] && timeout 60 docker pull -q "${FLINK_MESOS_IMAGE}" >/dev/null 2>&1; then
    log "pulled ${FLINK_MESOS_IMAGE}"; return 0
  fi
  build_image
}

image_key() { sha_of "${REPO}/tools/image/build.sh"; }

build_image() {
  local key; key=$(image_key)
  local tarball="${FLINK_MESOS_CACHE}/images/debian-systemd-bookworm-${key}.tar"
  mkdir -p "${FLINK_MESOS_CACHE}/images"
  if [ ! -s "$tarball" ]; then
    apt_install debootstrap
    log "building the systemd base image with debootstrap from $(debian_mirror)"
    bash "${REPO}/tools/image/build.sh" "$(debian_mirror)" "$tarball.tmp"
    mv "$tarball.tmp" "$tarball"
    # Keep only the tarball of the current recipe.
    find "${FLINK_MESOS_CACHE}/images" -name 'debian-systemd-bookworm-*.tar' ! -name "$(basename "$tarball")" -delete
  fi
  log "importing ${tarball} as ${FLINK_MESOS_IMAGE}"
  docker import -c 'CMD ["/lib/systemd/systemd"]' -c "LABEL org.streamops.key=${key}" \
    -c 'ENV container=docker' "$tarball" "${FLINK_MESOS_IMAGE}" >/dev/null
}

ensure_mirror() {
  # A JDK compiles the TEST-ONLY scheduler driver (tests/mesos_standin/driver) and the tests' Flink jobs.
  command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
  "${VENV}/bin/python" "${REPO}/tools/build_mirror.py" --cache "${FLINK_MESOS_CACHE}" --out "${FLINK_MESOS_MIRROR_DIR}"
  local standin="${FLINK_MESOS_MIRROR_DIR}/mesos-standin"
  if [ -f "${standin}/mesos-standin_1.11.0-0standin1_all.deb" ]; then
    export FLINK_MESOS_STANDIN_DEB="${standin}/mesos-standin_1.11.0-0standin1_all.deb"
  fi
  if [ -f "${standin}/mesos-standin-scheduler-driver-1.11.0.jar" ]; then
    export FLINK_MESOS_STANDIN_DRIVER_JAR="${standin}/mesos-standin-scheduler-driver-1.11.0.jar"
  fi
  export_mesos_source
}

# The ONE place the harness chooses Mesos, for every tool (the Molecule scenarios through .config/molecule/config.yml,
# tools/lab and tools/bench_converge through inventories/lab, tools/matrix): a REAL Mesos package file when
# MESOS_PACKAGE names one; else the TEST-ONLY Mesos stand-in package and the TEST-ONLY pure-Java scheduler driver
# (in place of libmesos) from the artifact mirror. The consumers read only what this exports:
#   FLINK_MESOS_SOURCE            real | standin
#   FLINK_MESOS_PACKAGE_PATH      the real package (a controller path), empty for the stand-in
#   FLINK_MESOS_PACKAGE_URL       the stand-in package on the mirror, empty for a real package
#   FLINK_MESOS_PACKAGE_CHECKSUM  for the mesos role's mesos_package_file_checksum
#   FLINK_MESOS_DRIVER_JARS       JSON list for the flink role's public flink_user_jars ([] with real Mesos)
mesos_source_banner() { # TOOL -> the first and last line of a tool that may fall back to the stand-in
  if [ -n "${MESOS_PACKAGE:-}" ]; then
    echo "$1: Mesos from MESOS_PACKAGE=${MESOS_PACKAGE} (real Mesos)."
  else
    echo "$1: NO REAL MESOS CONFIGURED - using the TEST-ONLY Mesos stand-in and the TEST-ONLY pure-Java scheduler" \
      "driver in place of libmesos. They are NOT Mesos: a result here is about Flink, the roles and the modules," \
      "not about Mesos. Set MESOS_PACKAGE=/path/to/mesos-1.11.deb for a real run."
  fi
}

export_mesos_source() {
  if [ -n "${MESOS_PACKAGE:-}" ]; then
    [ -f "${MESOS_PACKAGE}" ] || die "MESOS_PACKAGE=${MESOS_PACKAGE} is not a file; point it at a Mesos 1.11 package file"
    export FLINK_MESOS_SOURCE=real FLINK_MESOS_PACKAGE_URL="" FLINK_MESOS_DRIVER_JARS="[]"
    FLINK_MESOS_PACKAGE_PATH="$(readlink -f "${MESOS_PACKAGE}")"
    FLINK_MESOS_PACKAGE_CHECKSUM="sha512:$(sha512sum "${MESOS_PACKAGE}" | cut -d' ' -f1)"
  else
    [ -n "${FLINK_MESOS_STANDIN_DEB:-}" ] || die "the TEST-ONLY stand-in package was not built (tests/mesos_standin/build-deb.sh)"
    [ -n "${FLINK_MESOS_STANDIN_DRIVER_JAR:-}" ] || die "the TEST-ONLY scheduler driver was not built (tests/mesos_standin/driver)"
    local base="${FLINK_MESOS_MIRROR_URL}/mesos-standin" jar
    jar="${base}/$(basename "${FLINK_MESOS_STANDIN_DRIVER_JAR}")"
    export FLINK_MESOS_SOURCE=standin FLINK_MESOS_PACKAGE_PATH=""
    FLINK_MESOS_PACKAGE_URL="${base}/$(basename "${FLINK_MESOS_STANDIN_DEB}")"
    FLINK_MESOS_PACKAGE_CHECKSUM="sha512:${FLINK_MESOS_PACKAGE_URL}.sha512"
    FLINK_MESOS_DRIVER_JARS=$(printf '[{"url": "%s", "checksum": "sha512:%s.sha512", "dest": "lib"}]' "$jar" "$jar")
  fi
  export FLINK_MESOS_PACKAGE_PATH FLINK_MESOS_PACKAGE_URL FLINK_MESOS_PACKAGE_CHECKSUM FLINK_MESOS_DRIVER_JARS
}

mirror_answers() { curl -fsS -o /dev/null "${FLINK_MESOS_MIRROR_URL}/index.txt" 2>/dev/null; }

ensure_mirror_server() {
  # Serves the artifact mirror on loopback like a user's internal mirror. Returns 0 and sets
  # MIRROR_STARTED=1 when this call started it (so the caller may stop it at exit).
  export MIRROR_STARTED=0  # read by the caller (tools/test stops the mirror at exit when this run started it)
  if mirror_answers; then return 0; fi
  log "serving ${FLINK_MESOS_MIRROR_DIR} on ${FLINK_MESOS_MIRROR_URL} (access log ${FLINK_MESOS_CACHE}/mirror-access.log)"
  setsid nohup "${VENV}/bin/python" -u -m http.server --bind 127.0.0.1 --directory "${FLINK_MESOS_MIRROR_DIR}" \
    "${FLINK_MESOS_MIRROR_PORT}" >> "${FLINK_MESOS_CACHE}/mirror-access.log" 2>&1 < /dev/null &
  echo $! > "${FLINK_MESOS_CACHE}/mirror.pid"
  for _ in $(seq 1 50); do mirror_answers && { MIRROR_STARTED=1; return 0; }; sleep 0.2; done
  die "the artifact mirror did not answer on ${FLINK_MESOS_MIRROR_URL} (port busy? set FLINK_MESOS_MIRROR_PORT)"
}

stop_mirror_server() {
  if [ -f "${FLINK_MESOS_CACHE}/mirror.pid" ]; then kill "$(cat "${FLINK_MESOS_CACHE}/mirror.pid")" 2>/dev/null || true; fi
  rm -f "${FLINK_MESOS_CACHE}/mirror.pid"
}

prepare_all() {
  mkdir -p "${FLINK_MESOS_CACHE}"
  stage_begin "venv"; ensure_venv; stage_end "venv"
  stage_begin "docker engine"; ensure_docker; stage_end "docker engine"
  stage_begin "base image"; ensure_image; stage_end "base image"
  stage_begin "artifact mirror"; ensure_mirror; stage_end "artifact mirror"
  ensure_mirror_server
}

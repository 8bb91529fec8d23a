#!/usr/bin/env bash
# Builds the TEST-ONLY Mesos stand-in package (NOT MESOS): OUTDIR/mesos-standin_1.11.0-0standin1_all.deb
# Usage: tests/mesos_standin/build-deb.sh OUTDIR
# Needs only dpkg-deb. The output is byte-for-byte reproducible: fixed mtimes (SOURCE_DATE_EPOCH), root
# ownership, fixed permissions, sorted file list, no build-machine data in the package.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "$1" && cd "$1" && pwd)"
version=1.11.0-0standin1
export SOURCE_DATE_EPOCH=1602547200   # Mesos 1.11.0 release date (2020-10-13): nothing of the build time leaks in
command -v dpkg-deb >/dev/null || { echo "dpkg-deb is required (Debian package dpkg)" >&2; exit 1; }

root="$(mktemp -d)"
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
umask 022
install -d "$root/DEBIAN" "$root/usr/sbin" "$root/usr/lib/mesos-standin" "$root/lib/systemd/system" \
  "$root/usr/share/doc/mesos-standin"
install -m 0644 "$here/debian/control" "$root/DEBIAN/control"
for s in postinst prerm postrm; do install -m 0755 "$here/debian/$s" "$root/DEBIAN/$s"; done
# The program is several modules (mesos_standin.py imports the standin_*.py next to it); LC_ALL=C makes the
# glob order the same on every machine.
for module in $(cd "$here" && LC_ALL=C ls mesos_standin.py standin_*.py); do
  install -m 0644 "$here/$module" "$root/usr/lib/mesos-standin/$module"
done
for role in master agent; do
  sed "s/@ROLE@/${role}/g" "$here/debian/wrapper.sh" > "$root/usr/sbin/mesos-${role}"
  chmod 0755 "$root/usr/sbin/mesos-${role}"
done
ln -s mesos-agent "$root/usr/sbin/mesos-slave"
install -m 0644 "$here/debian/mesos-master.service" "$here/debian/mesos-slave.service" "$root/lib/systemd/system/"
install -m 0644 "$here/debian/README.standin" "$root/usr/share/doc/mesos-standin/README.standin"
# Installed-Size in KiB, as dpkg-gencontrol would compute it (deterministic for the same inputs).
size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)
echo "Installed-Size: ${size}" >> "$root/DEBIAN/control"
find "$root" -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/mesos-standin_${version}_all.deb" >/dev/null
echo "$out/mesos-standin_${version}_all.deb"

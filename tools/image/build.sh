#!/usr/bin/env bash
# Builds a systemd-capable Debian 12 root file system with debootstrap and writes it as a tar file.
# Usage: build.sh DEBIAN_MIRROR_URL OUTPUT.tar
# The image key is the hash of this file: change the recipe here and every cache rebuilds.
set -euo pipefail
mirror="$1"; out="$2"
root="$(mktemp -d /var/tmp/fm-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase \
  --include=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,procps,ca-certificates,curl,sudo,gnupg,netcat-openbsd,less \
  bookworm "$root" "$mirror" > "${out}.debootstrap.log" 2>&1 || { tail -30 "${out}.debootstrap.log"; exit 1; }
# Units that make no sense (or hang) in a container.
for u in systemd-resolved.service systemd-timesyncd.service getty.target console-getty.service \
         systemd-logind.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/90norecommends"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/periodic/update-success-stamp
# The package lists are empty: make them look stale so that `apt: update_cache: true, cache_valid_time: N`
# refreshes them (Ansible judges freshness by this directory's mtime when there is no success stamp).
touch -d @0 "$root/var/lib/apt/lists"
: > "$root/etc/machine-id"
tar --numeric-owner -C "$root" -cf "$out" .
rm -f "${out}.debootstrap.log"

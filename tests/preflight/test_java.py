"""Preflight tests of the java role.

Why: a wrong java_version (or an incomplete archive install) must stop the play before apt or the archive
touches a host, with a message that names the variable and says what to set instead. These run the role in
check mode against a fake local host (see conftest.py); the distribution facts the role reads are this machine's,
gathered once for the whole batch (preflight_batch.py).
"""
from __future__ import annotations

import hashlib
import io
import platform
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight_batch import Run, preflight_run

ROLE_VARS = Path(__file__).resolve().parents[2] / "roles" / "java" / "vars"
HOSTS = {"java_hosts": {"java-fake-1": {}}}
INSTALL_TASK = "Install the headless OpenJDK package"


def _os_release() -> dict[str, str]:
    """Parse /etc/os-release: the test must know what the role will see on this machine."""
    data: dict[str, str] = {}
    path = Path("/etc/os-release")
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                data[key] = value.strip().strip('"')
    return data


def _shipped_here() -> list[int] | None:
    """Releases the role believes this machine's distribution ships, or None if it has no vars file for it."""
    osr = _os_release()
    name = {"debian": "Debian", "ubuntu": "Ubuntu"}.get(osr.get("ID", ""))
    major = osr.get("VERSION_ID", "").split(".")[0]
    vars_file = ROLE_VARS / f"{name}-{major}.yml"
    if name is None or not vars_file.exists():
        return None
    return [int(v) for v in yaml.safe_load(vars_file.read_text())["_java_versions_available"]]


def _missing_here() -> list[int]:
    """Releases the role knows but this machine's distribution does not ship (empty if unknown)."""
    shipped = _shipped_here()
    return [] if shipped is None else [v for v in (8, 11, 17) if v not in shipped]


@preflight_run(lambda bad: Run("java", HOSTS, {"java_version": bad}))
@pytest.mark.parametrize("bad", ["9", "21", "java17", "latest"])
def test_unknown_java_version_fails_in_preflight(result: Any, bad: str) -> None:
    """An unknown release is refused before any package task, naming java_version and the accepted values."""
    assert result.rc != 0, result.output
    assert f"java_version='{bad}' is not supported" in result.output, result.output
    assert "auto, 8, 11, 17" in result.output, result.output
    assert INSTALL_TASK not in result.output, result.output


@preflight_run(lambda: Run("java", HOSTS, {"java_version": _missing_here()[0]}) if _missing_here() else None)
def test_version_the_distribution_does_not_ship_fails_in_preflight(result: Any) -> None:
    """A known release this distribution lacks (11 on Debian 12) is refused with the releases it does ship."""
    shipped = _shipped_here()
    if shipped is None:
        pytest.skip(f"the java role has no vars file for this machine ({platform.platform()})")
    missing = _missing_here()
    if not missing:
        pytest.skip("this distribution ships every release the role knows")
    assert result.rc != 0, result.output
    assert f"java_version='{missing[0]}'" in result.output, result.output
    assert f"ships OpenJDK {', '.join(str(v) for v in shipped)} only" in result.output, result.output
    assert INSTALL_TASK not in result.output, result.output


# The distribution facts are given as include parameters, which rank above the facts this machine has.
@preflight_run(lambda: Run("java", HOSTS, {"ansible_facts": {"distribution": "Plan9", "distribution_major_version": "4",
                                                             "architecture": "mips"}}, tasks_from="preflight"))
def test_unknown_distribution_is_refused(result: Any) -> None:
    """A distribution without a vars file is refused with what to do instead, before any package task."""
    assert result.rc != 0, result.output
    assert "does not know which OpenJDK packages Plan9 4 (mips) ships" in result.output, result.output
    assert "java_install_method=archive" in result.output, result.output
    assert INSTALL_TASK not in result.output, result.output


@preflight_run(lambda: Run("java", HOSTS, {"java_package_type": "server"}))
def test_unknown_package_type_fails_before_install(result: Any) -> None:
    """java_package_type outside jre/jdk is refused by the argument spec, naming the variable."""
    assert result.rc != 0, result.output
    assert "java_package_type" in result.output, result.output
    assert "jre, jdk" in result.output, result.output
    assert INSTALL_TASK not in result.output, result.output


@preflight_run(lambda: Run("java", HOSTS, {"java_version": "auto", "java_package_type": "jdk"}, tasks_from="preflight")
               if _shipped_here() is not None else None)
def test_auto_passes_preflight(result: Any) -> None:
    """Positive control: the same harness with valid input passes preflight, so the failures above are real."""
    if _shipped_here() is None:
        pytest.skip("the java role has no vars file for this machine")
    assert result.rc == 0, result.output
    assert "failed=0" in result.output, result.output


def _tarball(workdir: Path) -> tuple[str, str]:
    """A small tarball standing for a Java archive: its file:// URL and real sha512."""
    path = workdir / "jdk-11.0.99-jre.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        data = b"#!/bin/sh\necho 'openjdk version \"11.0.99\"' >&2\n"
        info = tarfile.TarInfo("jdk-11.0.99-jre/bin/java")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return f"file://{path}", hashlib.sha512(path.read_bytes()).hexdigest()


ARCHIVE_DOWNLOAD = "Download the Java tarball once on the controller"
ARCHIVE_UNPACK = "Unpack the Java tarball once"


@preflight_run(lambda: Run("java", HOSTS, {"java_install_method": "archive"}))
def test_archive_without_release_url_and_checksum_fails(result: Any) -> None:
    """An archive install names what it lacks: the release ('auto' only picks packages), the URL, the checksum."""
    assert result.rc != 0, result.output
    flat = " ".join(result.output.split())
    assert "java_install_method=archive needs java_version set to the archive's release" in flat, result.output
    assert "got 'auto'" in flat and "java_archive_url set to an http(s):// or file:// URL" in flat, result.output
    assert "java_archive_checksum" in flat, result.output
    assert ARCHIVE_DOWNLOAD not in result.output and INSTALL_TASK not in result.output, result.output


def _archive(workdir: Path, java_version: Any, checksum: str | None = None, tasks_from: str = "main") -> Run:
    """An archive install of a small tarball; checksum None means the tarball's real one."""
    url, digest = _tarball(workdir)
    return Run("java", HOSTS, {"java_install_method": "archive", "java_version": java_version,
                               "java_archive_url": url, "java_archive_checksum": checksum or f"sha512:{digest}"},
               tasks_from=tasks_from)


@preflight_run(lambda workdir: _archive(workdir, 11, "sha512:" + "0" * 128))
def test_archive_with_a_wrong_checksum_is_refused_before_unpacking(result: Any) -> None:
    """The tarball is verified on the controller; a mismatch stops the role before anything reaches the host."""
    assert result.rc != 0, result.output
    flat = " ".join(result.output.split())
    assert "with a matching checksum" in flat and "java_archive_url / java_archive_checksum" in flat, result.output
    assert ARCHIVE_UNPACK not in result.output, result.output


@preflight_run(lambda workdir: _archive(workdir, "11", tasks_from="preflight"))
def test_archive_passes_preflight_on_any_distribution(result: Any) -> None:
    """Positive control: a complete archive install passes preflight whether or not the distribution ships 11."""
    assert result.rc == 0, result.output
    assert "failed=0" in result.output, result.output


@preflight_run(lambda workdir: _archive(workdir, 11, tasks_from="main") if not Path("/opt/java").exists() else None)
def test_archive_install_in_check_mode_on_a_first_run(result: Any) -> None:
    """Check mode on a host without the archive predicts the unpack, skips reading a java that is not there yet,
    and still publishes java_home (the flink scenario installs the archive for real)."""
    if result is None:
        pytest.skip("/opt/java exists on this machine: not a first run")
    assert result.rc == 0, result.output
    assert ARCHIVE_UNPACK in result.output, result.output
    assert "at /opt/java/java-11;" in result.output, result.output
    assert not Path("/opt/java").exists(), "check mode created the archive directory"

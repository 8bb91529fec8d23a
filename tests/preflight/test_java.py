"""Preflight tests of the java role.

Why: a wrong java_version must stop the play before apt touches a host, with a message that names the
variable and says what to set instead. These run the role in check mode against a fake local host (see
conftest.py); the only host access is the read-only distribution fact gathering.
"""
from __future__ import annotations

import platform
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

RunRole = Callable[..., Any]

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


@pytest.mark.parametrize("bad", ["9", "21", "java17", "latest"])
def test_unknown_java_version_fails_in_preflight(run_role: RunRole, bad: str) -> None:
    """An unknown release is refused before any package task, naming java_version and the accepted values."""
    res = run_role("java", HOSTS, {"java_version": bad})
    assert res.rc != 0, res.output
    assert f"java_version='{bad}' is not supported" in res.output, res.output
    assert "auto, 8, 11, 17" in res.output, res.output
    assert INSTALL_TASK not in res.output, res.output


def test_version_the_distribution_does_not_ship_fails_in_preflight(run_role: RunRole) -> None:
    """A known release this distribution lacks (11 on Debian 12) is refused with the releases it does ship."""
    shipped = _shipped_here()
    if shipped is None:
        pytest.skip(f"the java role has no vars file for this machine ({platform.platform()})")
    missing = [v for v in (8, 11, 17) if v not in shipped]
    if not missing:
        pytest.skip("this distribution ships every release the role knows")
    res = run_role("java", HOSTS, {"java_version": missing[0]})
    assert res.rc != 0, res.output
    assert f"java_version='{missing[0]}'" in res.output, res.output
    assert f"ships OpenJDK {', '.join(str(v) for v in shipped)} only" in res.output, res.output
    assert INSTALL_TASK not in res.output, res.output


def test_unknown_package_type_fails_before_install(run_role: RunRole) -> None:
    """java_package_type outside jre/jdk is refused by the argument spec, naming the variable."""
    res = run_role("java", HOSTS, {"java_package_type": "server"})
    assert res.rc != 0, res.output
    assert "java_package_type" in res.output, res.output
    assert "jre, jdk" in res.output, res.output
    assert INSTALL_TASK not in res.output, res.output


def test_auto_passes_preflight(run_role: RunRole) -> None:
    """Positive control: the same harness with valid input passes preflight, so the failures above are real."""
    if _shipped_here() is None:
        pytest.skip("the java role has no vars file for this machine")
    res = run_role("java", HOSTS, {"java_version": "auto", "java_package_type": "jdk"}, tasks_from="preflight")
    assert res.rc == 0, res.output
    assert "failed=0" in res.output, res.output

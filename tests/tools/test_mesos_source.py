"""tools/lib.sh export_mesos_source: the one place the harness chooses real Mesos or the TEST-ONLY stand-in.

Why: the Molecule scenarios, the lab, the benchmark and the scenario tests all read its exports; if it chose wrong
(e.g. the stand-in while MESOS_PACKAGE names a real package), a stand-in result could pass for a Mesos result.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "tools" / "lib.sh"
NAMES = ["FLINK_MESOS_SOURCE", "FLINK_MESOS_PACKAGE_PATH", "FLINK_MESOS_PACKAGE_URL", "FLINK_MESOS_PACKAGE_CHECKSUM",
         "FLINK_MESOS_DRIVER_JARS"]


def _choose(tmp_path: Path, **env: str) -> tuple[int, dict[str, str], str]:
    """Source lib.sh in a clean bash with `env`, call export_mesos_source and mesos_source_banner; (rc, exports,
    banner or error output)."""
    script = ("source \"$1\"; export_mesos_source || exit 1; mesos_source_banner TEST; "
              + "; ".join(f'printf "%s=%s\\n" {n} "${{{n}}}"' for n in NAMES))
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "FLINK_MESOS_CACHE": str(tmp_path / "cache"),
            "FLINK_MESOS_MIRROR_PORT": "18999"}
    proc = subprocess.run(["bash", "-c", script, "bash", str(LIB)], env={**base, **env}, capture_output=True,
                          text=True, timeout=60, check=False)
    exports = dict(line.split("=", 1) for line in proc.stdout.splitlines() if line.startswith("FLINK_MESOS_"))
    return proc.returncode, exports, proc.stdout + proc.stderr


def _standin_files(tmp_path: Path) -> dict[str, str]:
    deb = tmp_path / "mesos-standin_1.11.0-0standin1_all.deb"
    jar = tmp_path / "mesos-standin-scheduler-driver-1.11.0.jar"
    deb.write_bytes(b"deb")
    jar.write_bytes(b"jar")
    return {"FLINK_MESOS_STANDIN_DEB": str(deb), "FLINK_MESOS_STANDIN_DRIVER_JAR": str(jar)}


def test_without_mesos_package_the_standin_is_chosen_and_said(tmp_path: Path) -> None:
    rc, exports, out = _choose(tmp_path, **_standin_files(tmp_path))
    assert rc == 0, out
    url = "http://127.0.0.1:18999/mesos-standin/mesos-standin_1.11.0-0standin1_all.deb"
    assert exports["FLINK_MESOS_SOURCE"] == "standin"
    assert exports["FLINK_MESOS_PACKAGE_PATH"] == ""
    assert exports["FLINK_MESOS_PACKAGE_URL"] == url
    assert exports["FLINK_MESOS_PACKAGE_CHECKSUM"] == f"sha512:{url}.sha512"
    jar_url = "http://127.0.0.1:18999/mesos-standin/mesos-standin-scheduler-driver-1.11.0.jar"
    assert json.loads(exports["FLINK_MESOS_DRIVER_JARS"]) == [
        {"url": jar_url, "checksum": f"sha512:{jar_url}.sha512", "dest": "lib"}]
    assert "TEST: NO REAL MESOS CONFIGURED - using the TEST-ONLY Mesos stand-in" in out


def test_a_real_package_wins_and_no_standin_is_handed_to_flink(tmp_path: Path) -> None:
    real = tmp_path / "mesos_1.11.0_amd64.deb"
    real.write_bytes(b"a real package")
    rc, exports, out = _choose(tmp_path, MESOS_PACKAGE=str(real), **_standin_files(tmp_path))
    assert rc == 0, out
    assert exports["FLINK_MESOS_SOURCE"] == "real"
    assert exports["FLINK_MESOS_PACKAGE_PATH"] == str(real.resolve())
    assert exports["FLINK_MESOS_PACKAGE_URL"] == ""
    assert exports["FLINK_MESOS_PACKAGE_CHECKSUM"] == "sha512:" + hashlib.sha512(b"a real package").hexdigest()
    assert exports["FLINK_MESOS_DRIVER_JARS"] == "[]"
    assert f"TEST: Mesos from MESOS_PACKAGE={real} (real Mesos)." in out and "stand-in" not in out


def test_a_missing_package_file_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    rc, exports, out = _choose(tmp_path, MESOS_PACKAGE=str(tmp_path / "nope.deb"), **_standin_files(tmp_path))
    assert rc != 0
    assert "MESOS_PACKAGE=" in out and "is not a file" in out
    assert "FLINK_MESOS_SOURCE" not in exports

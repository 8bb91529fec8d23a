"""_common's shared steps, run for real on this machine (not in check mode): download a list once, unpack once per
version with a stable link, and the service user step's inputs.

Why: the flink, hadoop and zookeeper roles all unpack through _common/tasks/unpack.yml and download through
_common/tasks/download.yml; a fault there reaches every role at once. The Molecule scenarios exercise these steps
for flink and hadoop; the ZooKeeper tarball path has no artifact on these machines, so this is where the shared
step's contract (idempotent, check-mode safe, older versions kept, link moved) is proven.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from preflight_batch import ansible_env


def _tarball(path: Path, top: str, files: dict[str, str]) -> str:
    """A release-like tarball with one top directory; its sha512 checksum string."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            member = path.parent / "src" / top / name
            member.parent.mkdir(parents=True, exist_ok=True)
            member.write_text(text)
            tar.add(member, arcname=f"{top}/{name}")
    return "sha512:" + hashlib.sha512(path.read_bytes()).hexdigest()


def _run(workdir: Path, name: str, plays: list[dict]) -> tuple[int, str, dict[str, int]]:
    """Run the plays in one ansible-playbook run on localhost; (rc, output, {play name: its "changed:" lines})."""
    playbook = workdir / f"{name}.json"
    playbook.write_text(json.dumps(plays))
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
           str(playbook)]
    proc = subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    changed: dict[str, int] = {}
    for section in out.split("PLAY [")[1:]:
        title = section.split("]", 1)[0]
        changed[title] = sum(1 for line in section.splitlines() if line.startswith("changed: ["))
    return proc.returncode, out, changed


def _play(name: str, tasks: list[dict], check: bool = False) -> dict:
    """One play on localhost (play-level check mode when `check`)."""
    return {"name": name, "hosts": "localhost", "gather_facts": False, "check_mode": check, "tasks": tasks}


def _unpack_tasks(workdir: Path, archive: Path, checksum: str, version: str) -> list[dict]:
    """Download the archive through _common's download list, unpack it into opt/app-<version>, link opt/app."""
    return [
        {"ansible.builtin.include_role": {"name": "streamops.flink_mesos._common", "tasks_from": "download"},
         "vars": {"_common_download_list": [{"src": str(archive), "checksum": checksum, "variable": "test_archive"}],
                  "common_local_cache_path": str(workdir / "cache")}},
        {"ansible.builtin.include_role": {"name": "streamops.flink_mesos._common", "tasks_from": "unpack"},
         "vars": {"_common_unpack_src": "{{ __common_download_paths[0] }}",
                  "_common_unpack_dir": str(workdir / "opt" / f"app-{version}"),
                  "_common_unpack_creates": "bin/start.sh",
                  "_common_unpack_link": str(workdir / "opt" / "app"),
                  "_common_unpack_owner": "{{ lookup('ansible.builtin.pipe', 'id -un') }}",
                  "_common_unpack_group": "{{ lookup('ansible.builtin.pipe', 'id -gn') }}"}},
        {"ansible.builtin.debug": {"msg": "RESULT ready={{ __common_unpack_ready }} changed={{ __common_unpack_changed }}"}},
    ]


def test_unpack_once_per_version_with_a_stable_link(tmp_path: Path) -> None:
    """First run unpacks and links; a re-run changes nothing; check mode on a new version predicts and changes
    nothing; the new version then moves the link and keeps the old directory (rollback). One ansible-playbook run,
    one play per step."""
    one = tmp_path / "mirror" / "app-1.0.tar.gz"
    one.parent.mkdir()
    sum_one = _tarball(one, "app-1.0", {"bin/start.sh": "echo 1\n", "lib/a.jar": "a"})
    two = tmp_path / "mirror" / "app-2.0.tar.gz"
    sum_two = _tarball(two, "app-2.0", {"bin/start.sh": "echo 2\n", "lib/b.jar": "b"})
    opt = tmp_path / "opt"
    check_play = _play("check", _unpack_tasks(tmp_path, two, sum_two, "2.0") + [
        {"ansible.builtin.assert": {"that": [f"not ('{opt}/app-2.0' is exists)"]}},
        {"ansible.builtin.stat": {"path": str(opt / "app")}, "register": "__link"},
        {"ansible.builtin.assert": {"that": [f"__link.stat.lnk_source == '{opt}/app-1.0'"]}}], check=True)

    rc, out, changed = _run(tmp_path, "steps", [
        _play("first", _unpack_tasks(tmp_path, one, sum_one, "1.0")),
        _play("again", _unpack_tasks(tmp_path, one, sum_one, "1.0")),
        check_play,
        _play("upgrade", _unpack_tasks(tmp_path, two, sum_two, "2.0")),
    ])
    assert rc == 0, out
    first, again, check, upgrade = out.split("PLAY [")[1:]
    assert "RESULT ready=True changed=True" in first, first
    assert "RESULT ready=True changed=False" in again and changed["again"] == 0, again
    # Check mode on a version not unpacked yet: the version directory is reported, nothing is unpacked or linked
    # (asserted inside the play, before the next one runs).
    assert "RESULT ready=False" in check and changed["check"] >= 1, check
    assert "RESULT ready=True changed=True" in upgrade, upgrade
    assert (opt / "app").resolve() == (opt / "app-2.0").resolve()
    assert (opt / "app-2.0" / "bin" / "start.sh").read_text() == "echo 2\n"
    assert (opt / "app-1.0" / "lib" / "a.jar").exists(), "the older version directory must stay for a rollback"
    assert (tmp_path / "cache" / "app-1.0.tar.gz").read_bytes() == one.read_bytes()


def test_download_list_names_the_variable_of_a_bad_entry(tmp_path: Path) -> None:
    """A bad entry is refused before any download, naming the user's variable; nothing is fetched."""
    good = tmp_path / "good.jar"
    good.write_text("x")
    tasks = [{"ansible.builtin.include_role": {"name": "streamops.flink_mesos._common", "tasks_from": "download"},
              "vars": {"_common_download_list": [
                  {"src": str(good), "checksum": "sha512:" + hashlib.sha512(b"x").hexdigest(), "variable": "ok_jars[0]"},
                  {"url": "ftp://example.com/x.jar", "checksum": "sha512:ab", "variable": "my_jars[1]"}],
                  "common_local_cache_path": str(tmp_path / "cache")}}]
    rc, out, dummy = _run(tmp_path, "bad", [_play("bad", tasks)])
    assert rc != 0
    assert "my_jars[1] is" in out and "ok_jars[0] is" not in out, out
    assert not (tmp_path / "cache").exists()

"""Tests of module_bytecode/sitecustomize.py, the bytecode cache of the preflight runs' module Pythons.

Why: the cache sits under every module run of the preflight suite. If it handed back the wrong code, or code that
names a file of an earlier run, a module failure would be misreported; if it broke, every module run would fail.
The first test imports from a zip the way an AnsiballZ module imports its module_utils, in new Pythons started with
the batch's environment (module_bytecode_env), and checks what runs and what a traceback names; the second calls
the wrapper directly with a damaged cache file.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

from preflight_batch import MODULE_BYTECODE, module_bytecode_env

PROGRAM = """
import sys
sys.path.insert(0, sys.argv[1])
import shaped
print(shaped.answer())
try:
    shaped.fail()
except RuntimeError as error:
    print(error.__traceback__.tb_next.tb_frame.f_code.co_filename)
"""


def _zip(path: Path, answer: int) -> Path:
    """A zip holding one module, `shaped`, like the module_utils of an AnsiballZ payload."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("shaped.py", f"def answer():\n    return {answer}\n\n\ndef fail():\n    raise RuntimeError('x')\n")
    return path


def _run(archive: Path, env: dict[str, str]) -> list[str]:
    """Import `shaped` from ARCHIVE in a new Python with ENV; its answer and the file its traceback names."""
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(archive)], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


def test_a_second_python_reads_the_code_and_names_its_own_zip(tmp_path: Path) -> None:
    """The first import compiles and keeps the code; a later one, from another zip with the same source, gets the
    same code and tracebacks that name the later zip; a changed source is compiled anew."""
    env = module_bytecode_env(tmp_path)
    cache = Path(env["PREFLIGHT_MODULE_BYTECODE_DIR"])
    first = _zip(tmp_path / "one.zip", 42)
    assert _run(first, env) == ["42", str(first / "shaped.py")]
    kept = sorted(cache.iterdir())
    assert len(kept) == 1 and kept[0].name.endswith(f".{sys.implementation.cache_tag}"), kept

    second = _zip(tmp_path / "two.zip", 42)
    kept[0].touch()
    before = kept[0].stat().st_mtime_ns
    assert _run(second, env) == ["42", str(second / "shaped.py")]
    assert sorted(cache.iterdir()) == kept and kept[0].stat().st_mtime_ns == before, "the kept code was not reused"

    changed = _zip(tmp_path / "three.zip", 7)
    assert _run(changed, env) == ["7", str(changed / "shaped.py")]
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_cache_file_is_compiled_again(tmp_path: Path) -> None:
    """A cache file that is not marshalled code is replaced by a fresh compile, and the module still runs."""
    spec = importlib.util.spec_from_file_location("module_bytecode_site", MODULE_BYTECODE / "sitecustomize.py")
    site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(site)
    source = b"VALUE = 3\n"
    Path(site.cache_path(str(tmp_path), source)).write_bytes(b"not marshalled code")
    calls: list[str] = []

    def original(pathname: str, data: bytes):
        calls.append(pathname)
        return compile(data, pathname, "exec", dont_inherit=True)

    compile_source = site.keeping(original, str(tmp_path))
    namespace: dict[str, object] = {}
    exec(compile_source("/a.zip/m.py", source), namespace)  # pylint: disable=exec-used
    assert namespace["VALUE"] == 3 and calls == ["/a.zip/m.py"]
    code = compile_source("/b.zip/m.py", source)
    assert calls == ["/a.zip/m.py"] and code.co_filename == "/b.zip/m.py"


def test_off_switch_leaves_python_alone(tmp_path: Path, monkeypatch) -> None:
    """PREFLIGHT_MODULE_BYTECODE=0 gives no environment at all, for comparisons."""
    monkeypatch.setenv("PREFLIGHT_MODULE_BYTECODE", "0")
    assert module_bytecode_env(tmp_path) == {}
    assert not (tmp_path / "module-bytecode").exists()

"""Keep the bytecode of the code that Ansible modules import from their AnsiballZ zip, for the preflight runs' hosts.

Why: every module run on a fake host of the preflight suite is a new Python process that imports
ansible.module_utils (basic.py and the rest) and the module from the zip Ansible sends. Python's zipimport cannot
use or write __pycache__, so each run compiles the same sources again: about half of what a module run costs, and
the largest single share of the suite's CPU after Ansible's own forks. This file is found as `sitecustomize` only by
the Pythons the preflight runners start (preflight_batch.py puts its directory first on PYTHONPATH and names a cache
directory in PREFLIGHT_MODULE_BYTECODE_DIR); it makes zipimport keep each compiled module the way a .pyc keeps it.

What is the same: the code that runs. The key is the SHA-256 of the source (what Python compiles) and the
interpreter's cache tag; the code object is marshalled as in a .pyc and, when read back, gets the file name of the
zip entry it is loaded for (what importlib does with a .pyc whose source moved), so tracebacks name the file of
this run. Nothing is written outside the cache directory, which lives in the test session's temporary directory.
A cache file that cannot be read as code is compiled again, as Python would without the cache.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import sys
import zipimport
from types import CodeType
from typing import Callable

import _imp

_CACHE = os.environ.get("PREFLIGHT_MODULE_BYTECODE_DIR", "")


def cache_path(cache: str, source: bytes) -> str:
    """Where the bytecode of SOURCE is kept: one file per source and interpreter version."""
    return os.path.join(cache, f"{hashlib.sha256(source).hexdigest()}.{sys.implementation.cache_tag}")


def keeping(original: Callable[[str, bytes], CodeType], cache: str) -> Callable[[str, bytes], CodeType]:
    """zipimport's _compile_source(pathname, source) (ORIGINAL), reading and writing compiled code under CACHE."""
    def compile_source(pathname: str, source: bytes) -> CodeType:
        path = cache_path(cache, source)
        try:
            with open(path, "rb") as kept:
                code = marshal.loads(kept.read())
        except (OSError, EOFError, ValueError, TypeError):
            code = None
        if isinstance(code, CodeType):
            _imp._fix_co_filename(code, pathname)  # pylint: disable=protected-access
            return code
        code = original(pathname, source)
        # Written under a name of this process's own, then renamed: a reader sees a whole file or none.
        partial = f"{path}.{os.getpid()}"
        try:
            with open(partial, "wb") as out:
                out.write(marshal.dumps(code))
            os.replace(partial, path)
        except OSError:
            pass
        return code
    return compile_source


if _CACHE and os.path.isdir(_CACHE):
    zipimport._compile_source = keeping(zipimport._compile_source, _CACHE)  # pylint: disable=protected-access

"""The preflight runner's Jinja compile cache: what it primes, and that a cached compilation renders and fails exactly
as a fresh one (compile_cache.py says why it exists)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import compile_cache  # pylint: disable=import-error

HERE = Path(__file__).resolve().parent

TASKS = textwrap.dedent("""\
    - name: A task
      ansible.builtin.assert:
        that:
          - x | int > 1
          - "{{ y }}"
        fail_msg: "x is {{ x }}"
      when: x is defined
      vars:
        z: "{{ [x, 2] | max }}"
        plain: no template here
    """)


def test_sources_sorts_templates_and_conditionals(tmp_path: Path) -> None:
    (tmp_path / "tasks.yml").write_text(TASKS)
    (tmp_path / "broken.yml").write_text("key: [unclosed\n")
    templates, expressions = compile_cache.sources([tmp_path / "broken.yml", tmp_path / "tasks.yml"])
    assert templates == ["{{ y }}", "x is {{ x }}", "{{ [x, 2] | max }}"]
    assert expressions == ["x | int > 1", "x is defined"]


# Renders each source with and without the cache in a fresh interpreter (install() patches Ansible's classes, which
# must not leak into this pytest process).
SCRIPT = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    import compile_cache
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible._internal._datatag._tags import TrustedAsTemplate

    def outcomes():
        templar = Templar(loader=DataLoader(), variables={"x": 3, "y": True})
        out = []
        for kind, text in [("template", "x is {{ x }}"), ("template", "{{ [x, 2] | max }}"),
                           ("template", "{{ missing + 1 }}"), ("conditional", "x | int > 1"),
                           ("conditional", "x is defined"), ("conditional", "missing > 1")]:
            try:
                value = (templar.template(TrustedAsTemplate().tag(text)) if kind == "template"
                         else templar.evaluate_conditional(TrustedAsTemplate().tag(text)))
                out.append(["ok", repr(value)])
            except Exception as error:
                out.append([type(error).__name__, str(error).splitlines()[0]])
        return out

    plain = outcomes()
    installed = compile_cache.install()
    primed = compile_cache.prime([Path(sys.argv[2])])
    cached = outcomes()
    print(json.dumps({"installed": installed, "primed": primed, "after": len(compile_cache._CACHE),
                      "plain": plain, "cached": cached}))
    """)


def test_cached_compilations_render_and_fail_like_fresh_ones(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.yml"
    tasks.write_text(TASKS)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(HERE), str(tasks)], capture_output=True, text=True,
                          check=True)
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["installed"] is True
    # Three templates and two conditionals of the file; rendering them again compiled nothing new (cache hits), and
    # the sources that were not primed (the failing ones) were compiled and cached once each.
    assert report["primed"] == 5
    assert report["after"] == 5 + 2
    assert report["cached"] == report["plain"]
    assert report["plain"][0] == ["ok", "'x is 3'"]
    assert report["plain"][2][0] == "AnsibleUndefinedVariable"
    assert report["plain"][5][0] == "AnsibleUndefinedVariable"

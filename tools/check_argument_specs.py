#!/usr/bin/env python
"""Check that every role's meta/argument_specs.yml matches its defaults/main.yml.

Why: argument specs drift from defaults in every collection that does not check them (ansible-middleware's
weak spot). The `main` entry point must name exactly the keys of defaults/main.yml, every default there must
equal the spec's `default`, and no other entry point may name an option that is neither a default nor
documented as required.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def load(path: Path) -> Any:
    """YAML file content, {} when empty."""
    return yaml.safe_load(path.read_text()) or {}


def check_role(role: Path) -> list[str]:
    """Problems found in one role (empty list when it is consistent)."""
    problems: list[str] = []
    spec_file = role / "meta" / "argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    if not spec_file.exists():
        return [f"{role.name}: meta/argument_specs.yml is missing"]
    if not (role / "README.md").exists() and not role.name.startswith("_"):
        problems.append(f"{role.name}: README.md is missing")
    specs = load(spec_file).get("argument_specs", {})
    defaults = load(defaults_file) if defaults_file.exists() else {}
    main = specs.get("main")
    if main is None:
        return problems + [f"{role.name}: argument_specs has no 'main' entry point"]
    options = main.get("options") or {}
    missing = sorted(set(defaults) - set(options))
    extra = sorted(k for k in set(options) - set(defaults) if not options[k].get("required"))
    if missing:
        problems.append(f"{role.name}: defaults without argument spec: {', '.join(missing)}")
    if extra:
        problems.append(f"{role.name}: optional argument specs without a default in defaults/main.yml: {', '.join(extra)}")
    for key in sorted(set(defaults) & set(options)):
        spec = options[key]
        if "default" in spec and spec["default"] != defaults[key]:
            problems.append(f"{role.name}: {key}: spec default {spec['default']!r} != defaults/main.yml {defaults[key]!r}")
        if not spec.get("description"):
            problems.append(f"{role.name}: {key}: no description")
    readme = (role / "README.md").read_text() if (role / "README.md").exists() else ""
    if readme and not role.name.startswith("_"):
        undocumented = [k for k in defaults if k not in readme]
        if undocumented:
            problems.append(f"{role.name}: README.md does not mention {', '.join(undocumented)}")
    return problems


def main() -> int:
    """Check all roles and print every problem."""
    problems: list[str] = []
    roles = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())
    for role in roles:
        problems.extend(check_role(role))
    for p in problems:
        print(f"argument_specs: {p}")
    print(f"argument_specs: {len(roles)} roles checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run many prepared playbooks, each in its own process forked from one warmed-up parent:
`python preflight_runner.py QUEUE_DIR`.

Why: starting ansible-playbook costs about a second per run (imports, plugin documentation parsed for every
loader, collection loader set-up), and the preflight suite has dozens of runs. This runner pays for the imports
and the plugin caches once, then forks one child per case; the child runs the case through the very code path of
the `ansible-playbook` command (PlaybookCLI.cli_executor). A child starts from the parent's state, in which no
playbook has ever run, so nothing of one case (parsed CLI arguments, facts, warnings already shown, vault
context) can reach another: Ansible keeps such state per process and is not built to run twice in one.

Cases cannot instead share one play with one host each: most preflight checks are run_once (they look at the
first host only, and their failure fails every host) or look at whole groups, so a case needs its own inventory.

Queue protocol (shared with preflight_batch.py): QUEUE_DIR/todo/<key>.json holds {"args": [...]} (arguments
after `ansible-playbook`) and optionally {"env": {...}} (environment variables the child sets
first). Several runners may serve one queue: a runner claims a case by renaming it into
QUEUE_DIR/claimed/ (atomic), the child writes its output to QUEUE_DIR/out/<key>.log, and the runner writes the
child's exit status to QUEUE_DIR/rc/<key> (its existence means the case is finished).
"""
from __future__ import annotations

import gc
import json
import os
import sys
import warnings
from pathlib import Path

import compile_cache  # noqa: E402  pylint: disable=import-error

# Plugins every preflight run loads; loading them in the parent leaves their classes and parsed documentation
# in the loaders' caches, which each forked child inherits.
_WARM = {
    "action": ["ansible.builtin.assert", "ansible.builtin.set_fact", "ansible.builtin.include_role",
               "ansible.builtin.fail", "ansible.builtin.debug", "ansible.builtin.normal",
               "ansible.builtin.validate_argument_spec", "ansible.builtin.include_vars"],
    "callback": ["ansible.builtin.default"],
    "connection": ["ansible.builtin.local"],
    "strategy": ["ansible.builtin.linear"],
    "shell": ["ansible.builtin.sh"],
    "become": ["ansible.builtin.sudo"],
}
_REPO = Path(__file__).resolve().parents[2]
# This collection's filters: each has its documentation file, plugins/filter/<name>.yml.
_FILTER_DOCS = _REPO / "plugins" / "filter"


def warm_up() -> None:
    """Import the ansible-playbook code and fill the plugin caches, without parsing arguments or running a play."""
    # The child's CLI.run configures the collection loader again; Ansible says so with a Python warning.
    warnings.filterwarnings("ignore", message="AnsibleCollectionFinder has already been configured")
    import ansible.cli.playbook  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    import ansible.executor.playbook_executor  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    from ansible.plugins import loader  # pylint: disable=import-outside-toplevel

    loader.init_plugin_loader([])
    list(loader.inventory_loader.all(class_only=True))
    list(loader.vars_loader.all(class_only=True))
    # ansible-playbook loads every connection, shell and become plugin, and every callback, on each run, and parses
    # the documentation of each for its settings: done here, the parsed settings are in the configuration each child
    # inherits, and the children's loads find them there.
    for every in (loader.connection_loader, loader.shell_loader, loader.become_loader, loader.callback_loader):
        list(every.all(class_only=True))
    for kind, names in _WARM.items():
        plugin_loader = getattr(loader, f"{kind}_loader")
        for name in names:
            plugin_loader.get(name, class_only=True)
    # Jinja filters and tests: Ansible's workers load each one a template names, a few ms each, on every task.
    for jinja_loader in (loader.filter_loader, loader.test_loader):
        list(jinja_loader.all())
    for doc in sorted(_FILTER_DOCS.glob("*.yml")):
        loader.filter_loader.get(f"streamops.flink_mesos.{doc.stem}")
    # Ansible caches its Jinja lexer per environment settings (its source says it should be made before forking):
    # one template made here leaves it in the cache instead of each worker compiling the lexer's expressions.
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.template import Templar  # pylint: disable=import-outside-toplevel

    Templar(loader=DataLoader()).template("{{ [1] | map('string') | list }}")
    # Each template and conditional of the roles and playbooks compiled once here, not in every worker that renders
    # it (compile_cache.py says why and what is cached). PREFLIGHT_COMPILE_CACHE=0 turns it off, for comparisons.
    if os.environ.get("PREFLIGHT_COMPILE_CACHE", "1") != "0" and compile_cache.install():
        compile_cache.prime(sorted(_REPO.glob("roles/*/*/*.yml")) + sorted(_REPO.glob("playbooks/*.yml")))


def claim_next(queue: Path) -> Path | None:
    """Take the next unclaimed case, or None when the queue is empty; a rename fails if another runner won."""
    for case in sorted((queue / "todo").glob("*.json")):
        target = queue / "claimed" / case.name
        try:
            case.rename(target)
        except FileNotFoundError:
            continue
        return target
    return None


def run_child(args: list[str], env: dict[str, str], log: Path) -> None:
    """In a forked child: run `ansible-playbook ARGS` with ENV added, stdout and stderr going to log; exit with its
    code."""
    code = 1
    try:
        os.environ.update(env)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        from ansible.cli.playbook import PlaybookCLI  # pylint: disable=import-outside-toplevel

        PlaybookCLI.cli_executor(["ansible-playbook", *args])
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # pylint: disable=protected-access


def run_case(case: Path, queue: Path) -> int:
    """Fork a child for one case and return its exit code (negative: killed by that signal)."""
    spec = json.loads(case.read_text())
    log = queue / "out" / f"{case.stem}.log"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        run_child(spec["args"], spec.get("env", {}), log)
    dummy, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main(queue: Path) -> None:
    """Warm up, then work through the queue until it is empty."""
    warm_up()
    # Objects that exist before a fork are frozen: the garbage collector of a child (and of the workers Ansible
    # forks from it) then leaves them alone instead of writing to, and so copying, the pages it shares with us.
    os.register_at_fork(before=gc.freeze)
    while (case := claim_next(queue)) is not None:
        (queue / "rc" / case.stem).write_text(str(run_case(case, queue)))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

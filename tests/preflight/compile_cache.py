"""A Jinja compile cache for the preflight runner (tests only): compile each template of the roles once, before forking.

Why: ansible-core 2.19 compiles a template or conditional again in every worker process that renders it (it keeps no
compile cache), and a profile of the preflight batch put about half of a worker's CPU in that compilation; the batch
renders the same role templates in thousands of task executions. The runner (preflight_runner.py) installs this cache
and primes it with every template and conditional found in the collection's YAML, then forks: each child and each of
Ansible's workers finds the compiled code in the memory it inherited.

What is cached is Jinja's compiled Python code, keyed by everything that decides it: the source text, the
environment's class and lexer settings, and Ansible's escape_backslashes compile context. Rendering is untouched: a
cached code object becomes a template of the environment that asked for it (Jinja's Template.from_code), with that
environment's filters, tests and globals, exactly as a fresh compilation would. A source that fails to compile is
never cached, so its error is raised as before. If Ansible's or Jinja's internals are not the ones this was written
for (an import fails), install() changes nothing and returns False, and the runs compile as usual.
"""
from __future__ import annotations

import contextvars
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

# Keys whose string values Ansible evaluates as conditionals (bare expressions), not as templates.
CONDITIONAL_KEYS = frozenset({"when", "that", "failed_when", "changed_when", "until"})

_CACHE: dict[tuple, Any] = {}
_PENDING: contextvars.ContextVar[tuple | None] = contextvars.ContextVar("_PENDING", default=None)


def walk_strings(node: Any, conditional: bool = False) -> Iterator[tuple[str, bool]]:
    """Every string in a loaded YAML document, with whether Ansible evaluates it as a conditional (by its key)."""
    if isinstance(node, str):
        yield node, conditional
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from walk_strings(value, isinstance(key, str) and key in CONDITIONAL_KEYS)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item, conditional)


def sources(paths: Iterable[Path]) -> tuple[list[str], list[str]]:
    """The templates (strings with a Jinja start string) and the bare conditional expressions in the YAML files.

    A conditional that is itself one template ("{{ x }}") is rendered as a template by Ansible, so it is listed there.
    Files that are not YAML are skipped: priming is an optimisation and must not fail a run.
    """
    templates: dict[str, None] = {}
    expressions: dict[str, None] = {}
    for path in paths:
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue
        for document in documents:
            for text, conditional in walk_strings(document):
                if "{{" in text or "{%" in text:
                    templates[text] = None
                elif conditional and text.strip():
                    expressions[text.strip()] = None
    return list(templates), list(expressions)


def _settings(env: Any) -> tuple:
    """What of an environment decides the code Jinja generates for a source (its class and lexer/codegen settings)."""
    return (type(env), env.block_start_string, env.block_end_string, env.variable_start_string,
            env.variable_end_string, env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
            env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
            env.keep_trailing_newline, env.optimized, repr(env.autoescape), env.is_async,
            tuple(sorted(env.extensions)))


def install() -> bool:
    """Wrap the Ansible Jinja environment's compile and compile_expression with the cache; False if not possible."""
    try:
        from jinja2.environment import TemplateExpression  # pylint: disable=import-outside-toplevel
        from ansible._internal._templating._jinja_bits import (  # pylint: disable=import-outside-toplevel
            AnsibleEnvironment, _TemplateCompileContext)
    except ImportError:
        return False
    if getattr(AnsibleEnvironment, "_preflight_compile_cache", False):
        return True
    original_compile = AnsibleEnvironment.compile
    original_expression = AnsibleEnvironment.compile_expression

    def escaping() -> bool:
        context = _TemplateCompileContext.current(optional=True)
        return bool(context and context.escape_backslashes)

    def debugging(env: Any) -> bool:
        return bool(getattr(env, "_debuggable_template_source", False))

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        pending = _PENDING.get()
        if debugging(self) or raw:
            key = None
        elif isinstance(source, str):
            key = ("template", str(source), name, filename, defer_init, _settings(self), escaping())
        else:
            key = pending  # the node of an expression compile_expression_cached is compiling
        if key is not None and key in _CACHE:
            return _CACHE[key]
        token = _PENDING.set(None)  # what this call compiles inside is not the pending expression
        try:
            code = original_compile(self, source, name, filename, raw, defer_init)
        finally:
            _PENDING.reset(token)
        if key is not None:
            _CACHE[key] = code
        return code

    def compile_expression_cached(self, source, undefined_to_none=True):
        if debugging(self) or not isinstance(source, str):
            return original_expression(self, source, undefined_to_none)
        key = ("expression", str(source), _settings(self), escaping())
        code = _CACHE.get(key)
        if code is not None:
            template = self.template_class.from_code(self, code, self.make_globals(None), None)
            return TemplateExpression(template, undefined_to_none)
        token = _PENDING.set(key)
        try:
            return original_expression(self, source, undefined_to_none)
        finally:
            _PENDING.reset(token)

    AnsibleEnvironment.compile = compile_cached
    AnsibleEnvironment.compile_expression = compile_expression_cached
    AnsibleEnvironment._preflight_compile_cache = True  # pylint: disable=protected-access
    return True


def prime(paths: Iterable[Path]) -> int:
    """Compile every template and conditional of the YAML files as Ansible's template engine does (its Jinja
    environment and escape_backslashes setting); how many entries the cache holds afterwards. A source that does
    not compile is skipped: the run that renders it reports the error as usual."""
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.template import Templar  # pylint: disable=import-outside-toplevel
    from ansible._internal._templating._jinja_bits import (  # pylint: disable=import-outside-toplevel
        _TemplateCompileContext)

    environment = Templar(loader=DataLoader())._engine.environment  # pylint: disable=protected-access
    templates, expressions = sources(paths)
    with _TemplateCompileContext(escape_backslashes=True):
        for text in templates:
            try:
                environment.from_string(text)
            except Exception:  # pylint: disable=broad-exception-caught
                continue
    # Conditionals are evaluated with escape_backslashes off (ansible-core 2.19's evaluate_conditional).
    with _TemplateCompileContext(escape_backslashes=False):
        for text in expressions:
            try:
                environment.compile_expression(text, False)
            except Exception:  # pylint: disable=broad-exception-caught
                continue
    return len(_CACHE)

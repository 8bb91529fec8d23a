"""patch_module_args on every ansible-core this collection supports (one home for the module tests' shim).

Why: ansible-core 2.19 ships ansible.module_utils.testing.patch_module_args, which hands AnsibleModule its
arguments the way Ansible's wrapper would; tools/matrix also runs the module tests on 2.16, which lacks it.
"""
from __future__ import annotations

try:
    from ansible.module_utils.testing import patch_module_args  # noqa: F401  pylint: disable=unused-import
except ImportError:  # ansible-core < 2.19
    import contextlib
    import json
    from typing import Any, Dict, Iterator

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager  # type: ignore[no-redef]
    def patch_module_args(args: Dict[str, Any]) -> Iterator[None]:  # type: ignore[no-redef]
        """What 2.19's helper does: hand AnsibleModule its arguments the way Ansible's wrapper would."""
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

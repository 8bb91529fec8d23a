"""Make the checkout importable as ansible_collections.streamops.flink_mesos for every pytest run under tests/.

Why: module code imports its module_utils by the collection's FQCN, exactly as Ansible loads it on a host.
Under `ansible-test units` the checkout already sits at .../ansible_collections/streamops/flink_mesos and
ansible-test installs its collection loader, so nothing is done then; from a plain checkout the harness link
.cache/collections/ansible_collections/streamops/flink_mesos -> the checkout is created and put on sys.path.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def in_collection_tree(root: Path) -> bool:
    """Whether ``root`` already is <somewhere>/ansible_collections/<namespace>/<name> (an ansible-test tree)."""
    return root.parents[1].name == "ansible_collections"


if not in_collection_tree(REPO):
    _COLLECTIONS = REPO / ".cache" / "collections"
    _LINK = _COLLECTIONS / "ansible_collections" / "streamops" / "flink_mesos"
    if not _LINK.exists():
        _LINK.parent.mkdir(parents=True, exist_ok=True)
        _LINK.symlink_to("../../../..")
    if str(_COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(_COLLECTIONS))

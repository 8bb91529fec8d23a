"""Make the checkout importable as ansible_collections.streamops.flink_mesos for the unit tests.

Why: module code imports its module_utils by the collection's FQCN, exactly as Ansible loads it on a host;
the harness links the checkout at .cache/collections/ansible_collections/streamops/flink_mesos.
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_COLLECTIONS = REPO / ".cache" / "collections"
_LINK = _COLLECTIONS / "ansible_collections" / "streamops" / "flink_mesos"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to("../../../..")
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

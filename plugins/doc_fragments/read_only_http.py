# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Documentation shared by the read-only HTTP info modules (flink_info, mesos_info)."""
from __future__ import annotations


class ModuleDocFragment:
    """The timeout option and the read-only attributes, written once."""

    DOCUMENTATION = r"""
options:
  timeout:
    description: Seconds per HTTP request.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""Documentation of the HTTP client options every module of this collection that talks HTTP accepts."""
from __future__ import annotations


class ModuleDocFragment:
    """Mirrors HTTP_ARGUMENT_SPEC in module_utils/rest.py, so the options are written down once.

    The defaults keep plain http to Mesos and Flink working; the options matter once their REST endpoints sit
    behind TLS, a client certificate or basic auth (a reverse proxy, or Mesos' own HTTP authentication).
    """

    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Verify the server's TLS certificate on C(https://) URLs.
      - Set V(false) only on a trusted network; prefer O(ca_path) for a private CA.
    type: bool
    default: true
  ca_path:
    description: PEM file with the CA certificates that verify the server's TLS certificate.
    type: path
  url_username:
    description: User name for HTTP basic authentication.
    type: str
  url_password:
    description: Password for HTTP basic authentication.
    type: str
  client_cert:
    description:
      - PEM file with the client certificate for TLS client authentication (may also hold the key).
    type: path
  client_key:
    description: PEM file with the private key of O(client_cert), when the certificate file does not hold it.
    type: path
  use_proxy:
    description: Use the proxy from the environment (C(http_proxy), C(https_proxy), C(no_proxy)).
    type: bool
    default: true
  force_basic_auth:
    description: Send the basic authentication header with the first request instead of after a 401 answer.
    type: bool
    default: false
"""

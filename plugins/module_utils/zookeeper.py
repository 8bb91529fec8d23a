# -*- coding: utf-8 -*-
# Copyright: streamops team
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0
"""A minimal ZooKeeper client over ZooKeeper's own wire protocol ("jute"), standard library only.

Why not kazoo: the modules that read or clean Flink's HA state run on a managed host, where no pip package may
be assumed. Reading, writing and deleting a few znodes needs only five request types of the protocol every
ZooKeeper 3.4-3.8 server speaks: big-endian ints and longs, length-prefixed buffers and strings (length -1 is
null), each packet framed by a 4-byte big-endian length. The encoders and decoders below are pure functions of
bytes so that each layout can be checked without a server; the Client is a thin socket layer on top.
"""
from __future__ import annotations

import socket
import struct
from typing import List, NamedTuple, Optional, Tuple

DEFAULT_PORT = 2181
OP_DELETE, OP_EXISTS, OP_GET_DATA, OP_SET_DATA, OP_GET_CHILDREN, OP_CLOSE_SESSION = 2, 3, 4, 5, 8, -11
OK, CONNECTIONLOSS, MARSHALLINGERROR, NONODE, NOAUTH, NOTEMPTY = 0, -4, -5, -101, -102, -111
ERROR_NAMES = {0: "OK", -1: "SYSTEMERROR", -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED",
               -7: "OPERATIONTIMEOUT", -8: "BADARGUMENTS", -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
               -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY", -112: "SESSIONEXPIRED",
               -114: "INVALIDACL", -115: "AUTHFAILED", -118: "SESSIONMOVED", -119: "NOTREADONLY"}
# Notifications and ping replies may arrive between our request and its reply; they carry these xids.
WATCH_XID, PING_XID = -1, -2
# jute.maxbuffer defaults to 1 MiB on the server; a larger frame means the peer is not a ZooKeeper server
# (an HTTP server's "HTTP" reads as a length of 1.2 GB).
MAX_FRAME = 16 * 1024 * 1024


class ZooKeeperError(Exception):
    """A ZooKeeper error code (``code``, e.g. -101 NONODE) for the znode ``path``; the message names the code."""

    def __init__(self, code: int, path: str = "", message: Optional[str] = None) -> None:
        self.code = code
        self.path = path
        name = ERROR_NAMES.get(code, "UNKNOWN")
        if message is None:
            message = f"ZooKeeper error {name} ({code})" + (f" on {path}" if path else "")
        super().__init__(message)


class ConnectionFailed(ZooKeeperError):
    """No server of the connect string completed the handshake; the message says why for each server."""


# A znode's Stat (68 bytes on the wire) and the handshake's answer, in jute field order. A ConnectResponse with
# timeout_ms <= 0 means the server refused the session.
STAT_FIELDS = ("czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion", "ephemeral_owner",
               "data_length", "num_children", "pzxid")
Stat = NamedTuple("Stat", [(name, int) for name in STAT_FIELDS])
ConnectResponse = NamedTuple("ConnectResponse", [("protocol_version", int), ("timeout_ms", int), ("session_id", int),
                                                 ("passwd", bytes), ("read_only", bool)])


def parse_connect_string(quorum: str) -> Tuple[List[Tuple[str, int]], str]:
    """'h1:2181,h2,[::1]:2182/chroot' -> ([('h1', 2181), ('h2', 2181), ('::1', 2182)], '/chroot').

    Why strict: a typo in a port would otherwise surface as a connection failure to a server that exists.
    """
    text = (quorum or "").strip()
    if not text:
        raise ValueError("the ZooKeeper connect string is empty; expected 'host[:port][,host[:port]...][/chroot]'")
    hosts_part, slash, chroot = text.partition("/")
    chroot = join_path(chroot) if slash else ""
    servers = []  # type: List[Tuple[str, int]]
    for entry in (e.strip() for e in hosts_part.split(",")):
        if not entry:
            continue
        if entry.startswith("["):
            host, bracket, rest = entry[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"ZooKeeper server '{entry}' in '{quorum}': expected '[IPv6 address]:port'")
            port_text = rest[1:] if rest else ""
        elif entry.count(":") > 1:
            raise ValueError(f"ZooKeeper server '{entry}' in '{quorum}': write an IPv6 address in brackets, "
                             f"e.g. '[::1]:2181'")
        else:
            host, _colon, port_text = entry.partition(":")
        if not host:
            raise ValueError(f"ZooKeeper server '{entry}' in '{quorum}' has no host")
        if not port_text and not entry.endswith(":"):
            port = DEFAULT_PORT
        elif port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise ValueError(f"ZooKeeper server '{entry}' in '{quorum}': the port '{port_text}' is not a number "
                             f"between 1 and 65535")
        servers.append((host, port))
    if not servers:
        raise ValueError(f"the ZooKeeper connect string '{quorum}' names no server")
    return servers, ("" if chroot == "/" else chroot)


def join_path(*parts: str) -> str:
    """Join znode paths as Flink joins root, cluster-id and sub-path: '/flink', '/default', 'x' -> '/flink/default/x'.

    Why: Flink tolerates a cluster-id written with or without slashes; the path it ends up using has single
    slashes and no trailing one, so the same normalisation finds the same znode.
    """
    return "/" + "/".join(seg for part in parts for seg in part.split("/") if seg)


def encode_int(value: int) -> bytes:
    return struct.pack(">i", value)


def encode_bool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


def encode_buffer(data: Optional[bytes]) -> bytes:
    """A jute buffer: int length then the bytes; None is length -1 (null)."""
    return encode_int(-1) if data is None else encode_int(len(data)) + data


def encode_string(text: Optional[str]) -> bytes:
    """A jute ustring: UTF-8 bytes as a buffer."""
    return encode_buffer(None if text is None else text.encode("utf-8"))


def frame(payload: bytes) -> bytes:
    """Prefix the 4-byte big-endian length every ZooKeeper packet carries."""
    return encode_int(len(payload)) + payload


def encode_connect_request(timeout_ms: int) -> bytes:
    """The framed handshake for a new session: no zxid seen, no session id, 16-byte zero password, not read-only."""
    return frame(struct.pack(">iqiq", 0, 0, timeout_ms, 0) + encode_buffer(b"\x00" * 16) + encode_bool(False))


def encode_request(xid: int, op: int, body: bytes = b"") -> bytes:
    """A framed request: RequestHeader {xid, type} then the op's body."""
    return frame(struct.pack(">ii", xid, op) + body)


def _unpack(fmt: str, data: bytes, offset: int) -> Tuple[tuple, int]:
    """Unpack at offset; a short packet is a protocol error, not a struct.error deep in a caller."""
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise ZooKeeperError(MARSHALLINGERROR, message=f"truncated ZooKeeper packet: need {size} bytes at "
                                                       f"offset {offset}, have {len(data)}")
    return struct.unpack_from(fmt, data, offset), offset + size


def read_int(data: bytes, offset: int = 0) -> Tuple[int, int]:
    (value,), offset = _unpack(">i", data, offset)
    return value, offset


def read_buffer(data: bytes, offset: int = 0) -> Tuple[Optional[bytes], int]:
    """A jute buffer at offset -> (bytes or None for length -1, offset after it)."""
    length, offset = read_int(data, offset)
    if length < 0:
        return None, offset
    (value,), offset = _unpack(f">{length}s", data, offset)
    return value, offset


def read_string(data: bytes, offset: int = 0) -> Tuple[Optional[str], int]:
    raw, offset = read_buffer(data, offset)
    return (None if raw is None else raw.decode("utf-8")), offset


def read_string_vector(data: bytes, offset: int = 0) -> Tuple[List[str], int]:
    """vector<ustring>: int count (-1 = null, read as empty) then the strings."""
    count, offset = read_int(data, offset)
    items = []  # type: List[str]
    for _i in range(max(count, 0)):
        item, offset = read_string(data, offset)
        items.append(item or "")
    return items, offset


def decode_stat(data: bytes, offset: int = 0) -> Tuple[Stat, int]:
    values, offset = _unpack(">qqqqiiiqiiq", data, offset)
    return Stat(*values), offset


def decode_connect_response(payload: bytes) -> ConnectResponse:
    """ConnectResponse; the trailing read-only byte is absent from 3.3 servers, so it is optional."""
    (version, timeout_ms, session_id), offset = _unpack(">iiq", payload, 0)
    passwd, offset = read_buffer(payload, offset)
    read_only = len(payload) > offset and payload[offset] != 0
    return ConnectResponse(version, timeout_ms, session_id, passwd or b"", read_only)


def decode_reply_header(payload: bytes) -> Tuple[int, int, int, int]:
    """ReplyHeader -> (xid, zxid, err, offset of the body); the body is present only when err == 0."""
    (xid, zxid, err), offset = _unpack(">iqi", payload, 0)
    return xid, zxid, err, offset


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_frame(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">i", _recv_exact(sock, 4))
    if not 0 <= length <= MAX_FRAME:
        raise ConnectionError(f"frame length {length} is not ZooKeeper's (is this port a ZooKeeper server?)")
    return _recv_exact(sock, length)


class Client:
    """One ZooKeeper session; paths are absolute and get the connect string's chroot prepended."""

    def __init__(self, quorum: str, timeout: float = 5.0, session_timeout_ms: int = 10000) -> None:
        self.servers, self.chroot = parse_connect_string(quorum)
        self.quorum = quorum
        self.timeout = timeout
        self.session_timeout_ms = session_timeout_ms
        self.server = None  # type: Optional[str]
        self.session_id = None  # type: Optional[int]
        self._sock = None  # type: Optional[socket.socket]
        self._xid = 0

    def __enter__(self) -> "Client":
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        """Handshake with the servers in connect-string order; the first that accepts a session wins.

        Why in order, not shuffled like the Java client: a module's result should not depend on chance, and the
        message of a failure lists every server with its own reason.
        """
        failures = []
        for host, port in self.servers:
            name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            sock = None
            try:
                sock = socket.create_connection((host, port), timeout=self.timeout)
                sock.settimeout(self.timeout)
                sock.sendall(encode_connect_request(self.session_timeout_ms))
                reply = decode_connect_response(_read_frame(sock))
                if reply.timeout_ms <= 0:
                    raise ConnectionError("the server refused the session")
            except (OSError, ZooKeeperError) as exc:
                failures.append(f"{name} ({str(exc) or type(exc).__name__})")
                if sock is not None:
                    sock.close()
                continue
            self._sock, self.server, self.session_id, self._xid = sock, name, reply.session_id, 0
            return
        raise ConnectionFailed(CONNECTIONLOSS, message=f"no ZooKeeper server of '{self.quorum}' accepted a "
                                                       f"session: {'; '.join(failures)}")

    def close(self) -> None:
        """End the session (closeSession), so its ephemeral znodes go now rather than after the session timeout."""
        if self._sock is None:
            return
        try:
            self._xid += 1
            self._sock.sendall(encode_request(self._xid, OP_CLOSE_SESSION))
            _read_frame(self._sock)
        except (OSError, ZooKeeperError):
            pass  # the server drops the session on its timeout anyway
        finally:
            self._sock.close()
            self._sock = None

    def _path(self, path: str) -> str:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"ZooKeeper paths must be absolute (start with '/'), got {path!r}")
        return join_path(self.chroot, path)

    def _call(self, op: int, path: str, body: bytes) -> Tuple[bytes, int]:
        """Send one request and return (reply payload, offset of its body); a nonzero err is raised."""
        if self._sock is None:
            self.connect()
        self._xid += 1
        try:
            self._sock.sendall(encode_request(self._xid, op, body))
            while True:
                payload = _read_frame(self._sock)
                xid, _zxid, err, offset = decode_reply_header(payload)
                if xid not in (WATCH_XID, PING_XID):
                    break
        except OSError as exc:
            self._sock.close()
            self._sock = None
            raise ZooKeeperError(CONNECTIONLOSS, path, f"ZooKeeper error CONNECTIONLOSS (-4) on {path} with "
                                                       f"{self.server}: {str(exc) or type(exc).__name__}") from exc
        if xid != self._xid:  # the stream is out of step: no later reply could be trusted on this socket
            self.close()
            raise ZooKeeperError(MARSHALLINGERROR, path, f"reply xid {xid} does not answer request {self._xid}")
        if err != OK:
            raise ZooKeeperError(err, path)
        return payload, offset

    def _call_or_absent(self, op: int, path: str, tail: bytes = b"") -> Optional[Tuple[bytes, int]]:
        """_call with the path (chroot added) as the body's first field; None when the znode does not exist."""
        full = self._path(path)
        try:
            return self._call(op, full, encode_string(full) + tail)
        except ZooKeeperError as exc:
            if exc.code == NONODE:
                return None
            raise

    def get(self, path: str) -> Optional[bytes]:
        """The znode's data (b'' when it holds none); None when the znode does not exist."""
        reply = self._call_or_absent(OP_GET_DATA, path, encode_bool(False))
        return None if reply is None else (read_buffer(*reply)[0] or b"")

    def children(self, path: str) -> Optional[List[str]]:
        """Child names, sorted (the server's order is a hash order); None when the znode does not exist."""
        reply = self._call_or_absent(OP_GET_CHILDREN, path, encode_bool(False))
        return None if reply is None else sorted(read_string_vector(*reply)[0])

    def exists(self, path: str) -> bool:
        return self._call_or_absent(OP_EXISTS, path, encode_bool(False)) is not None

    def set(self, path: str, data: bytes) -> bool:
        """Overwrite the data whatever its version; False when the znode does not exist (it is not created)."""
        return self._call_or_absent(OP_SET_DATA, path, encode_buffer(data) + encode_int(-1)) is not None

    def delete(self, path: str) -> bool:
        """Delete one znode whatever its version; False when absent; a znode with children raises NOTEMPTY."""
        return self._call_or_absent(OP_DELETE, path, encode_int(-1)) is not None

    def delete_tree(self, path: str) -> int:
        """Delete the znode and its descendants, leaves first; returns how many znodes were deleted (0 if absent).

        Why retried on NOTEMPTY: a live Flink may add a child between listing and deleting; the tree is then
        listed again (a few times, so that a writer that never stops is reported rather than raced forever).
        """
        if self._path(path) == "/":
            raise ValueError("refusing to delete the ZooKeeper root '/'")
        deleted = 0
        for attempt in range(3):
            for child in self.children(path) or []:
                deleted += self.delete_tree(join_path(path, child))
            try:
                return deleted + int(self.delete(path))
            except ZooKeeperError as exc:
                if exc.code != NOTEMPTY or attempt == 2:
                    raise
        return deleted

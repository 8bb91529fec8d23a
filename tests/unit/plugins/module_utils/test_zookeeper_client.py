"""The dependency-free ZooKeeper client (module_utils/zookeeper.py): wire layouts, connect strings, a scripted session.

Why: the client talks to real ZooKeeper servers with hand-written jute encoding, so every layout is pinned here
with bytes written out by hand from zookeeper.jute (struct calls in the test, never the module's helpers), and a
fake server on 127.0.0.1 replays canned replies so the socket layer, the xid sequence, the chroot and the
error mapping are exercised end to end.
"""
from __future__ import annotations

import socket
import struct
import threading
from typing import Iterator, List, Optional, Tuple

import pytest

from ansible_collections.streamops.flink_mesos.plugins.module_utils import zookeeper as zk

STAT_FIELDS = (11, 12, 13, 14, 5, 6, 7, 0, 3, 2, 15)
STAT = struct.pack(">qqqqiiiqiiq", *STAT_FIELDS)


def framed(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def reply(xid: int, zxid: int, err: int, body: bytes = b"") -> bytes:
    """A framed ReplyHeader {xid int, zxid long, err int} plus body, written out with struct."""
    return framed(struct.pack(">iqi", xid, zxid, err) + body)


def zstr(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">i", len(raw)) + raw


CONNECT_RESPONSE = framed(struct.pack(">iiqi", 0, 10000, 0x1234, 16) + b"\x07" * 16 + b"\x00")


class FakeServer:
    """Accepts one connection; for each script item reads one framed request, records it, sends the item's bytes."""

    def __init__(self, script: List[bytes]) -> None:
        self.script = script
        self.received: List[bytes] = []
        self.after = b""
        self.error: Optional[BaseException] = None
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def recv_exact(self, conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise EOFError(f"client closed after {len(self.received)} requests")
            data += chunk
        return data

    def serve(self) -> None:
        try:
            conn, _addr = self.listener.accept()
            with conn:
                conn.settimeout(5)
                for answer in self.script:
                    head = self.recv_exact(conn, 4)
                    self.received.append(head + self.recv_exact(conn, struct.unpack(">i", head)[0]))
                    conn.sendall(answer)
                while True:  # what the client sends after the script, until it closes
                    try:
                        chunk = conn.recv(4096)
                    except ConnectionResetError:  # a client closing with our bytes unread resets the connection
                        break
                    if not chunk:
                        break
                    self.after += chunk
        except BaseException as exc:  # reported by finish() in the test's thread
            self.error = exc

    def finish(self) -> None:
        self.thread.join(5)
        self.listener.close()
        assert not self.thread.is_alive(), "fake server still waiting"
        assert self.error is None, f"fake server failed: {self.error!r}"


@pytest.fixture
def closed_ports() -> Iterator[Tuple[int, int]]:
    """Two ports that were bound and released: nothing listens there, so connecting is refused."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _i in range(2)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = (socks[0].getsockname()[1], socks[1].getsockname()[1])
    for s in socks:
        s.close()
    yield ports


# --- encoding, byte for byte ---------------------------------------------------------------------------------

def test_connect_request_bytes() -> None:
    # length 45 = protocolVersion 4 + lastZxidSeen 8 + timeOut 4 + sessionId 8 + passwd (4 + 16) + readOnly 1
    expected = (b"\x00\x00\x00\x2d" + b"\x00\x00\x00\x00" + b"\x00" * 8 + b"\x00\x00\x27\x10" + b"\x00" * 8
                + b"\x00\x00\x00\x10" + b"\x00" * 16 + b"\x00")
    assert zk.encode_connect_request(10000) == expected


def test_get_data_request_bytes() -> None:
    # xid 7, type 4 (getData), path "/flink/x" (length 8), watch false: 4 + 4 + 4 + 8 + 1 = 21
    expected = struct.pack(">iii", 21, 7, 4) + struct.pack(">i", 8) + b"/flink/x" + b"\x00"
    body = zk.encode_string("/flink/x") + zk.encode_bool(False)
    assert zk.encode_request(7, zk.OP_GET_DATA, body) == expected


def test_null_buffer_and_string_are_length_minus_one() -> None:
    assert zk.encode_buffer(None) == b"\xff\xff\xff\xff"
    assert zk.encode_string(None) == b"\xff\xff\xff\xff"
    assert zk.encode_string("\u00e9") == b"\x00\x00\x00\x02\xc3\xa9"


# --- decoding ------------------------------------------------------------------------------------------------

def test_decode_connect_response() -> None:
    payload = struct.pack(">iiqi", 0, 4000, 0x0123456789ABCDEF, 16) + bytes(range(16)) + b"\x01"
    got = zk.decode_connect_response(payload)
    assert (got.protocol_version, got.timeout_ms, got.session_id) == (0, 4000, 0x0123456789ABCDEF)
    assert got.passwd == bytes(range(16))
    assert got.read_only is True
    # servers before 3.4 do not send the read-only byte
    assert zk.decode_connect_response(payload[:-1]).read_only is False


def test_decode_reply_header_with_error() -> None:
    payload = struct.pack(">iqi", 3, 0x100000002, -101)
    assert zk.decode_reply_header(payload) == (3, 0x100000002, -101, 16)


def test_decode_stat() -> None:
    assert len(STAT) == 68
    stat, offset = zk.decode_stat(b"\xaa" + STAT, 1)
    assert offset == 69
    assert (stat.czxid, stat.mzxid, stat.ctime, stat.mtime) == (11, 12, 13, 14)
    assert (stat.version, stat.cversion, stat.aversion) == (5, 6, 7)
    assert (stat.ephemeral_owner, stat.data_length, stat.num_children, stat.pzxid) == (0, 3, 2, 15)


def test_read_string_vector() -> None:
    data = struct.pack(">i", 3) + zstr("abc") + zstr("") + zstr("jobgraphs") + b"tail"
    assert zk.read_string_vector(data) == (["abc", "", "jobgraphs"], len(data) - 4)
    assert zk.read_string_vector(struct.pack(">i", -1)) == ([], 4)


def test_truncated_packet_is_a_marshalling_error() -> None:
    with pytest.raises(zk.ZooKeeperError, match="truncated") as info:
        zk.read_buffer(struct.pack(">i", 10) + b"short")
    assert info.value.code == -5


def test_error_message_names_the_code_and_path() -> None:
    err = zk.ZooKeeperError(-111, "/flink/default")
    assert (err.code, err.path) == (-111, "/flink/default")
    assert "NOTEMPTY" in str(err) and "/flink/default" in str(err)
    assert "SESSIONEXPIRED" in str(zk.ZooKeeperError(-112))


# --- connect strings and paths -------------------------------------------------------------------------------

@pytest.mark.parametrize(("quorum", "servers", "chroot"), [
    ("h1:2181,h2,h3:2182/chroot", [("h1", 2181), ("h2", 2181), ("h3", 2182)], "/chroot"),
    ("zk1", [("zk1", 2181)], ""),
    (" zk1 , zk2:2888 ,", [("zk1", 2181), ("zk2", 2888)], ""),
    ("[::1]:2181,[fe80::1]", [("::1", 2181), ("fe80::1", 2181)], ""),
    ("zk1:2181/flink/ha/", [("zk1", 2181)], "/flink/ha"),
    ("zk1:2181/", [("zk1", 2181)], ""),
])
def test_parse_connect_string(quorum: str, servers: List[Tuple[str, int]], chroot: str) -> None:
    assert zk.parse_connect_string(quorum) == (servers, chroot)


@pytest.mark.parametrize(("quorum", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("h1:abc", "'abc' is not a number"),
    ("h1:0", "between 1 and 65535"),
    ("h1:70000", "between 1 and 65535"),
    ("h1:2181,h2:", "'h2:'"),
    ("::1:2181", "brackets"),
    ("[::1", "IPv6"),
    (":2181", "no host"),
    (",/chroot", "names no server"),
])
def test_parse_connect_string_refuses(quorum: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        zk.parse_connect_string(quorum)


@pytest.mark.parametrize(("parts", "path"), [
    (("/flink", "/default", "/mesos-workers", "frameworkId"), "/flink/default/mesos-workers/frameworkId"),
    (("/flink", "default"), "/flink/default"),
    (("flink//a/", "/b/"), "/flink/a/b"),
    (("", "x"), "/x"),
    (("/",), "/"),
    ((), "/"),
])
def test_join_path(parts: Tuple[str, ...], path: str) -> None:
    assert zk.join_path(*parts) == path


def test_relative_paths_and_the_root_are_refused_before_connecting() -> None:
    client = zk.Client("127.0.0.1:1")
    with pytest.raises(ValueError, match="absolute"):
        client.get("flink/default")
    with pytest.raises(ValueError, match="root"):
        client.delete_tree("//")
    assert client.server is None


# --- sessions against a fake server --------------------------------------------------------------------------

def request(xid: int, op: int, body: bytes = b"") -> bytes:
    return framed(struct.pack(">ii", xid, op) + body)


def test_scripted_session() -> None:
    server = FakeServer([
        CONNECT_RESPONSE,
        # a watch notification and a ping reply arrive before getData's reply and must be skipped
        reply(-1, -1, 0, struct.pack(">ii", 3, 3) + zstr("/x")) + reply(-2, 0, 0)
        + reply(1, 20, 0, zstr("leader") + STAT),
        reply(2, 20, -101),
        reply(3, 21, 0, STAT),
        reply(4, 21, -111),
        reply(5, 22, 0),
    ])
    with zk.Client(f"127.0.0.1:{server.port}/chroot", timeout=3, session_timeout_ms=3000) as client:
        assert client.server == f"127.0.0.1:{server.port}"
        assert client.session_id == 0x1234
        assert client.get("/a") == b"leader"
        assert client.get("/missing") is None
        assert client.set("/a", b"new") is True
        with pytest.raises(zk.ZooKeeperError) as info:
            client.delete("/dir")
        assert (info.value.code, info.value.path) == (-111, "/chroot/dir")
        assert "NOTEMPTY" in str(info.value)
    server.finish()
    assert server.received == [
        struct.pack(">iiqiqi", 45, 0, 0, 3000, 0, 16) + b"\x00" * 17,
        request(1, 4, struct.pack(">i", 9) + b"/chroot/a" + b"\x00"),
        request(2, 4, struct.pack(">i", 15) + b"/chroot/missing" + b"\x00"),
        request(3, 5, struct.pack(">i", 9) + b"/chroot/a" + struct.pack(">i", 3) + b"new" + struct.pack(">i", -1)),
        request(4, 2, struct.pack(">i", 11) + b"/chroot/dir" + struct.pack(">i", -1)),
        request(5, -11),
    ]
    assert server.after == b""


def test_children_exists_and_delete_tree() -> None:
    server = FakeServer([
        CONNECT_RESPONSE,
        reply(1, 5, 0, STAT),                                                   # exists /t
        reply(2, 5, 0, struct.pack(">i", 2) + zstr("b") + zstr("a")),           # children /t
        reply(3, 5, 0, struct.pack(">i", 0)),                                   # children /t/a
        reply(4, 6, 0),                                                         # delete /t/a
        reply(5, 6, -101),                                                      # children /t/b: gone meanwhile
        reply(6, 6, -101),                                                      # delete /t/b
        reply(7, 7, 0),                                                         # delete /t
        reply(8, 7, -101),                                                      # exists /t
        reply(9, 8, 0),                                                         # closeSession
    ])
    with zk.Client(f"127.0.0.1:{server.port}", timeout=3) as client:
        assert client.exists("/t") is True
        assert client.delete_tree("/t") == 2
        assert client.exists("/t") is False
    server.finish()
    # each request: length, xid, type, then the path as int length + bytes
    ops = [struct.unpack(">i", packet[8:12])[0] for packet in server.received[1:]]
    paths = [packet[16:16 + struct.unpack(">i", packet[12:16])[0]] for packet in server.received[1:-1]]
    assert ops == [3, 8, 8, 2, 8, 2, 2, 3, -11]
    assert paths == [b"/t", b"/t", b"/t/a", b"/t/a", b"/t/b", b"/t/b", b"/t", b"/t"]


def test_connection_failed_names_every_server(closed_ports: Tuple[int, int]) -> None:
    first, second = closed_ports
    client = zk.Client(f"127.0.0.1:{first},127.0.0.1:{second}", timeout=2)
    with pytest.raises(zk.ConnectionFailed) as info:
        client.connect()
    assert f"127.0.0.1:{first} (" in str(info.value) and f"127.0.0.1:{second} (" in str(info.value)
    assert info.value.code == -4
    assert client.server is None


def test_next_server_after_a_refused_port_and_a_non_zookeeper_server(closed_ports: Tuple[int, int]) -> None:
    http = FakeServer([b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"])
    good = FakeServer([CONNECT_RESPONSE, reply(1, 1, 0)])
    quorum = f"127.0.0.1:{closed_ports[0]},127.0.0.1:{http.port},127.0.0.1:{good.port}"
    with zk.Client(quorum, timeout=3) as client:
        assert client.server == f"127.0.0.1:{good.port}"
    http.finish()
    good.finish()
    assert http.received == good.received[:1]


def test_a_refused_session_is_a_connection_failure() -> None:
    server = FakeServer([framed(struct.pack(">iiqi", 0, 0, 0, 16) + b"\x00" * 16)])
    with pytest.raises(zk.ConnectionFailed, match="refused the session"):
        zk.Client(f"127.0.0.1:{server.port}", timeout=3).connect()
    server.finish()

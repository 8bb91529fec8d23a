"""TEST-ONLY STAND-IN, NOT MESOS: RecordIO framing as Mesos 1.11 defines it (apache/mesos docs/recordio.md).

    records     = *record
    record      = record-size LF record-data
    record-size = 1*DIGIT            (decimal length in bytes of record-data, an unsigned 64-bit integer)

Why pure functions: the scheduler API's SUBSCRIBE stream is only as correct as this framing; a length off by
one byte desynchronises every later event, so encoder and decoder are tested on their own (round trip,
several records in one chunk, one record split over many chunks).
"""
from __future__ import annotations

import json
from typing import Any, Iterable


def encode(record: bytes) -> bytes:
    """One RecordIO record: `<decimal length>\\n<bytes>`."""
    return str(len(record)).encode("ascii") + b"\n" + record


def encode_json(event: Any) -> bytes:
    """An event as a RecordIO record of compact UTF-8 JSON (the length counts bytes, not characters)."""
    return encode(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class Decoder:
    """Incremental RecordIO decoder: feed arbitrary chunks, get back the complete records.

    Why incremental: HTTP chunk boundaries are free to differ from record boundaries ("network intermediaries
    are free to change the chunk boundaries"), so a record may arrive in pieces or many in one piece.
    """

    MAX_HEADER = 20  # a uint64 has at most 20 decimal digits

    def __init__(self) -> None:
        self._buffer = b""
        self._expected: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every record completed by them, in order. Raises ValueError on a bad header."""
        self._buffer += data
        records: list[bytes] = []
        while True:
            if self._expected is None:
                newline = self._buffer.find(b"\n")
                if newline < 0:
                    if len(self._buffer) > self.MAX_HEADER:
                        raise ValueError(f"RecordIO record-size is not a number: {self._buffer[:32]!r}")
                    return records
                header = self._buffer[:newline]
                if not header.isdigit():
                    raise ValueError(f"RecordIO record-size is not a number: {header[:32]!r}")
                self._expected = int(header)
                self._buffer = self._buffer[newline + 1:]
            if len(self._buffer) < self._expected:
                return records
            records.append(self._buffer[:self._expected])
            self._buffer = self._buffer[self._expected:]
            self._expected = None

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a complete record (0 at a record boundary)."""
        return len(self._buffer) + (0 if self._expected is None else 1)


def decode_all(chunks: Iterable[bytes]) -> list[bytes]:
    """Every record of a complete stream; raises ValueError if the stream ends inside a record."""
    decoder = Decoder()
    records: list[bytes] = []
    for chunk in chunks:
        records.extend(decoder.feed(chunk))
    if decoder.pending:
        raise ValueError("RecordIO stream ended inside a record")
    return records

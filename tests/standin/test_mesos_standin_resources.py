"""Unit tests of the TEST-ONLY Mesos stand-in's RecordIO framing and resource arithmetic (NOT Mesos).

Why: the Java scheduler driver and Flink trust every byte of the event stream and every number in an offer.
A RecordIO length off by one desynchronises the stream; a resource counted twice makes Flink launch a
TaskManager on ports another task holds. Expected values follow apache/mesos 1.11 (docs/recordio.md,
src/common/resources.cpp, src/common/values.cpp, src/slave/containerizer/containerizer.cpp).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mesos_standin"))

import standin_recordio as recordio  # noqa: E402  pylint: disable=wrong-import-position
import standin_resources as rs  # noqa: E402  pylint: disable=wrong-import-position

GB = 1024 ** 3


# ---------------------------------------------------------------------------------------------------------
# RecordIO.
# ---------------------------------------------------------------------------------------------------------

def test_recordio_record_is_decimal_length_newline_bytes() -> None:
    assert recordio.encode(b'{"type":"HEARTBEAT"}') == b'20\n{"type":"HEARTBEAT"}'


def test_recordio_length_counts_utf8_bytes_not_characters() -> None:
    """A framework name with non-ASCII characters must not shift the stream."""
    record = recordio.encode_json({"name": "Flïnk"})
    header, dummy, data = record.partition(b"\n")
    assert int(header) == len(data) == len('{"name":"Flïnk"}'.encode())


def test_recordio_round_trip_of_several_records_in_one_chunk() -> None:
    events = [{"type": "SUBSCRIBED"}, {"type": "HEARTBEAT"}, {"type": "OFFERS", "offers": {"offers": []}}]
    stream = b"".join(recordio.encode_json(e) for e in events)
    assert [json.loads(r) for r in recordio.decode_all([stream])] == events


def test_recordio_record_split_over_many_chunks_byte_by_byte() -> None:
    stream = recordio.encode(b"hello") + recordio.encode(b"") + recordio.encode(b"0123456789" * 3)
    decoder = recordio.Decoder()
    records = []
    for i in range(len(stream)):
        records += decoder.feed(stream[i:i + 1])
    assert records == [b"hello", b"", b"0123456789" * 3]
    assert decoder.pending == 0


def test_recordio_partial_chunk_yields_nothing_until_complete() -> None:
    decoder = recordio.Decoder()
    assert decoder.feed(b"11\nhello ") == []
    assert decoder.pending > 0
    assert decoder.feed(b"world22\n") == [b"hello world"]
    assert decoder.feed(b'{"type":"HEARTBEAT"}xx') == [b'{"type":"HEARTBEAT"}xx']


def test_recordio_rejects_a_non_numeric_header_and_a_truncated_stream() -> None:
    with pytest.raises(ValueError):
        recordio.Decoder().feed(b"abc\n{}")
    with pytest.raises(ValueError):
        recordio.decode_all([b"10\nshort"])


# ---------------------------------------------------------------------------------------------------------
# Parsing --resources and --attributes.
# ---------------------------------------------------------------------------------------------------------

def test_text_resources_are_parsed_like_mesos() -> None:
    res = rs.parse_text("cpus:2;mem:1024;ports:[31000-31010, 31020-31030];disks:{a,b};cpus(flink):1.5")
    by_key = {r.key: r for r in res}
    assert by_key[("cpus", "SCALAR", "*")].scalar == 2.0
    assert by_key[("cpus", "SCALAR", "flink")].scalar == 1.5
    assert by_key[("mem", "SCALAR", "*")].scalar == 1024.0
    assert by_key[("ports", "RANGES", "*")].ranges == ((31000, 31010), (31020, 31030))
    assert by_key[("disks", "SET", "*")].items == frozenset({"a", "b"})


def test_duplicate_resources_add_up() -> None:
    assert rs.quantity(rs.parse_text("cpus:1;cpus:2.5"), "cpus") == 3.5


def test_json_resources_are_accepted() -> None:
    text = json.dumps([{"name": "cpus", "type": "SCALAR", "scalar": {"value": 3}},
                       {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 1, "end": 5}]}}])
    res = rs.parse_text(text)
    assert rs.quantity(res, "cpus") == 3.0
    assert rs.model(res)["ports"] == "[1-5]"


def test_text_value_is_not_a_resource() -> None:
    with pytest.raises(ValueError, match="Bad type for resource"):
        rs.parse_text("cpus:many")


def test_agent_defaults_follow_containerizer_resources() -> None:
    """Mesos 1.11: cpus = online CPUs, mem = total - 1 GB (>= 2 GB) else half, disk = fs size - 5 GB (>= 10 GB)
    else half, ports [31000-32000]; only names absent from the flag's text are added."""
    host = rs.HostFacts(cpus=4, mem_bytes=8 * GB, disk_bytes=100 * GB)
    model = rs.model(rs.agent_resources(None, host))
    assert model == {"cpus": 4.0, "gpus": 0.0, "mem": 7168.0, "disk": 97280.0, "ports": "[31000-32000]"}
    small = rs.model(rs.agent_resources("cpus:2", rs.HostFacts(cpus=8, mem_bytes=GB, disk_bytes=4 * GB)))
    assert (small["cpus"], small["mem"], small["disk"]) == (2.0, 512.0, 2048.0)
    configured = rs.model(rs.agent_resources("cpus:2;mem:1024;ports:[31000-31010]", host))
    assert configured["mem"] == 1024.0 and configured["ports"] == "[31000-31010]"


def test_defaults_without_host_facts_are_mesos_fallbacks() -> None:
    model = rs.model(rs.agent_resources(""))
    assert (model["cpus"], model["mem"], model["disk"]) == (1.0, 1024.0, 10240.0)


def test_attributes_get_mesos_types() -> None:
    attrs = rs.parse_attributes_v1("rack:r1;level:2;span:[1-5];zones:{b,a}")
    assert attrs[0] == {"name": "rack", "type": "TEXT", "text": {"value": "r1"}}
    assert attrs[1] == {"name": "level", "type": "SCALAR", "scalar": {"value": 2.0}}
    assert attrs[2]["ranges"] == {"range": [{"begin": 1, "end": 5}]}
    assert attrs[3]["set"] == {"item": ["a", "b"]}
    assert rs.attributes_model(attrs) == {"rack": "r1", "level": 2, "span": "[1-5]", "zones": "{a, b}"}
    with pytest.raises(ValueError):
        rs.parse_attributes_v1("rack")


# ---------------------------------------------------------------------------------------------------------
# Arithmetic.
# ---------------------------------------------------------------------------------------------------------

def test_range_subtraction_splits_and_merge_coalesces() -> None:
    assert rs.subtract_ranges([(31000, 31010)], [(31003, 31004)]) == ((31000, 31002), (31005, 31010))
    assert rs.merge_ranges([(5, 9), (1, 4), (20, 20), (10, 12)]) == ((1, 12), (20, 20))
    assert rs.subtract_ranges([(1, 10)], [(1, 10)]) == ()


def test_scalars_are_fixed_point() -> None:
    """0.1 + 0.2 is 0.3 exactly, so repeated offers never leak 0.00000000000004 cpus."""
    res = rs.add(rs.parse_text("cpus:0.1"), rs.parse_text("cpus:0.2"))
    assert rs.quantity(res, "cpus") == 0.3
    assert rs.contains(rs.parse_text("cpus:0.3"), res)


def test_contains_respects_roles_ranges_and_sets() -> None:
    offer = rs.parse_text("cpus:2;mem:1024;ports:[31000-31010]")
    assert rs.contains(offer, rs.parse_text("cpus:1;ports:[31001-31002]"))
    assert not rs.contains(offer, rs.parse_text("cpus:2.5"))
    assert not rs.contains(offer, rs.parse_text("ports:[31010-31011]"))
    assert not rs.contains(offer, rs.parse_text("cpus(flink):1"))
    assert not rs.contains(offer, rs.parse_text("gpus:1"))


def test_what_is_taken_is_no_longer_available() -> None:
    total = rs.parse_text("cpus:2;mem:1024;ports:[31000-31010]")
    task = rs.parse_text("cpus:0.5;mem:256;ports:[31000-31001]")
    left = rs.subtract(total, task)
    assert rs.model(left) == {"cpus": 1.5, "gpus": 0.0, "mem": 768.0, "disk": 0.0, "ports": "[31002-31010]"}
    assert not rs.contains(left, task)
    assert rs.add(left, task) == total


def test_for_role_offers_unreserved_and_own_reservations_only() -> None:
    res = rs.parse_text("cpus:1;cpus(flink):2;cpus(other):4")
    assert rs.quantity(rs.for_role(res, "flink"), "cpus") == 3.0
    assert rs.quantity(rs.for_role(res, "*"), "cpus") == 1.0


def test_json_round_trip_old_and_refinement_formats() -> None:
    res = rs.parse_text("cpus(flink):2;ports:[1-3]")
    old = rs.list_to_json(res, allocation_role="flink")
    assert {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "flink",
            "allocation_info": {"role": "flink"}} in old
    new = rs.list_to_json(res, refinement=True)
    assert {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0},
            "reservations": [{"type": "STATIC", "role": "flink"}]} in new
    assert rs.list_from_json(old) == res == rs.list_from_json(new)


def test_min_allocatable_default_needs_cpus_or_memory() -> None:
    minimums = rs.min_allocatable(None)
    assert rs.allocatable(rs.parse_text("cpus:0.01"), minimums)
    assert rs.allocatable(rs.parse_text("mem:32"), minimums)
    assert not rs.allocatable(rs.parse_text("ports:[1-100];mem:31"), minimums)

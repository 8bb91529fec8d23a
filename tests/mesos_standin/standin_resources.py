"""TEST-ONLY STAND-IN, NOT MESOS: Mesos 1.11 resources and attributes, parsed and counted without I/O.

What is modelled (apache/mesos include/mesos/v1/mesos.proto `Resource`, src/common/resources.cpp,
src/common/values.cpp, src/common/attributes.cpp):

* the three resource types an agent offers: SCALAR (cpus, mem, disk, gpus...), RANGES (ports) and SET;
* static reservations (`cpus(role):2`) as the resource's role, `*` meaning unreserved;
* the text form of `--resources` (`cpus:2;mem:1024;ports:[31000-32000]`) and its JSON form (an array of
  Resource objects), and of `--attributes` (`rack:r1;level:2;ports:[1-5];zone:{a,b}`);
* arithmetic: sums, differences and "contains", with scalars in fixed point of three decimals as
  Mesos' Value::Scalar arithmetic is (so 0.1 + 0.2 never leaves a 0.30000000000000004 lying around).

What is NOT modelled: dynamic reservations, persistent volumes/disk sources, revocable and shared resources,
resource providers. A TaskInfo naming any of them is simply not contained in any offer.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

SCALAR, RANGES, SET, TEXT = "SCALAR", "RANGES", "SET", "TEXT"
UNRESERVED = "*"
DEFAULT_PORTS = ((31000, 32000),)

# Fallbacks Mesos uses when it cannot probe the host (src/slave/constants.hpp DEFAULT_CPUS/MEM/DISK).
DEFAULT_CPUS = 1.0
DEFAULT_MEM_MB = 1024
DEFAULT_DISK_MB = 10240
MB = 1024 * 1024
GB = 1024 * MB


def fixed(value: float) -> float:
    """Round a scalar to Mesos' fixed point (three decimals)."""
    return round(float(value) + 0.0, 3)


@dataclass(frozen=True)
class Resource:
    """One resource of one (name, type, reservation role); a list of them is kept merged by that key."""

    name: str
    kind: str
    role: str = UNRESERVED
    scalar: float = 0.0
    ranges: tuple[tuple[int, int], ...] = ()
    items: frozenset[str] = field(default_factory=frozenset)

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two resources addable: same name, type and reservation."""
        return self.name, self.kind, self.role

    def empty(self) -> bool:
        """True when there is nothing left of it."""
        if self.kind == SCALAR:
            return fixed(self.scalar) <= 0
        if self.kind == RANGES:
            return not self.ranges
        return not self.items


# ---------------------------------------------------------------------------------------------------------
# Ranges.
# ---------------------------------------------------------------------------------------------------------

def merge_ranges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, coalesced inclusive ranges ([1-3],[4-6] -> [1-6]); empty ranges (begin > end) dropped."""
    merged: list[list[int]] = []
    for begin, end in sorted((int(b), int(e)) for b, e in ranges if int(b) <= int(e)):
        if merged and begin <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return tuple((b, e) for b, e in merged)


def subtract_ranges(have: Iterable[tuple[int, int]], take: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """`have` minus `take`, both inclusive ranges."""
    result = list(merge_ranges(have))
    for tb, te in merge_ranges(take):
        pieces: list[tuple[int, int]] = []
        for b, e in result:
            if te < b or tb > e:
                pieces.append((b, e))
                continue
            if b < tb:
                pieces.append((b, tb - 1))
            if te < e:
                pieces.append((te + 1, e))
        result = pieces
    return merge_ranges(result)


def ranges_contain(have: Iterable[tuple[int, int]], want: Iterable[tuple[int, int]]) -> bool:
    """True when every value of `want` is in `have`."""
    have_m = merge_ranges(have)
    return all(any(b <= wb and we <= e for b, e in have_m) for wb, we in merge_ranges(want))


def format_ranges(ranges: Iterable[tuple[int, int]]) -> str:
    """`[31000-31010, 31020-31020]`, as Mesos stringifies Value::Ranges."""
    return "[" + ", ".join(f"{b}-{e}" for b, e in merge_ranges(ranges)) + "]"


def format_set(items: Iterable[str]) -> str:
    """`{a, b}`, as Mesos stringifies Value::Set."""
    return "{" + ", ".join(sorted(items)) + "}"


# ---------------------------------------------------------------------------------------------------------
# Lists of resources: normalise, add, subtract, contains.
# ---------------------------------------------------------------------------------------------------------

def _combine(a: Resource, b: Resource) -> Resource:
    if a.kind == SCALAR:
        return Resource(a.name, a.kind, a.role, scalar=fixed(a.scalar + b.scalar))
    if a.kind == RANGES:
        return Resource(a.name, a.kind, a.role, ranges=merge_ranges(a.ranges + b.ranges))
    return Resource(a.name, a.kind, a.role, items=a.items | b.items)


def normalize(resources: Iterable[Resource]) -> list[Resource]:
    """Merge entries with the same key, drop empty ones, sort (the canonical form every function returns)."""
    by_key: dict[tuple[str, str, str], Resource] = {}
    for res in resources:
        by_key[res.key] = _combine(by_key[res.key], res) if res.key in by_key else (
            _combine(Resource(res.name, res.kind, res.role), res))
    return sorted((r for r in by_key.values() if not r.empty()), key=lambda r: r.key)


def add(a: Iterable[Resource], b: Iterable[Resource]) -> list[Resource]:
    """a + b."""
    return normalize(list(a) + list(b))


def subtract(a: Iterable[Resource], b: Iterable[Resource]) -> list[Resource]:
    """a - b, never below zero (callers subtract only what `contains` allowed)."""
    left = {r.key: r for r in normalize(a)}
    for res in normalize(b):
        have = left.get(res.key)
        if have is None:
            continue
        if have.kind == SCALAR:
            left[res.key] = Resource(have.name, SCALAR, have.role, scalar=max(0.0, fixed(have.scalar - res.scalar)))
        elif have.kind == RANGES:
            left[res.key] = Resource(have.name, RANGES, have.role, ranges=subtract_ranges(have.ranges, res.ranges))
        else:
            left[res.key] = Resource(have.name, SET, have.role, items=have.items - res.items)
    return normalize(left.values())


def contains(a: Iterable[Resource], b: Iterable[Resource]) -> bool:
    """True when `b` fits entirely in `a` (same reservation roles; scalars to three decimals)."""
    have = {r.key: r for r in normalize(a)}
    for res in normalize(b):
        mine = have.get(res.key)
        if mine is None:
            return False
        if res.kind == SCALAR and fixed(mine.scalar) + 1e-9 < fixed(res.scalar):
            return False
        if res.kind == RANGES and not ranges_contain(mine.ranges, res.ranges):
            return False
        if res.kind == SET and not res.items <= mine.items:
            return False
    return True


def quantity(resources: Iterable[Resource], name: str) -> float:
    """Sum of the scalar resource `name` over all roles."""
    return fixed(sum(r.scalar for r in resources if r.name == name and r.kind == SCALAR))


def for_role(resources: Iterable[Resource], role: str) -> list[Resource]:
    """What a framework role may be offered: unreserved resources plus those statically reserved to it."""
    return normalize(r for r in resources if r.role in (UNRESERVED, role))


# ---------------------------------------------------------------------------------------------------------
# Values and the text form of --resources / --attributes.
# ---------------------------------------------------------------------------------------------------------

def parse_value(text: str) -> tuple[str, Any]:
    """Mesos' values::parse: `[a-b,...]` RANGES, `{x,y}` SET, a number SCALAR, anything else TEXT."""
    value = text.strip()
    if value.startswith("["):
        if not value.endswith("]"):
            raise ValueError(f"Expecting one or more \"ranges\" in '{value}'")
        ranges = []
        for token in filter(None, (t.strip() for t in value[1:-1].split(","))):
            match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", token)
            if not match:
                raise ValueError(f"Expecting non-negative integers in '{token}'")
            ranges.append((int(match.group(1)), int(match.group(2))))
        return RANGES, merge_ranges(ranges)
    if value.startswith("{"):
        if not value.endswith("}"):
            raise ValueError(f"Expecting one or more \"items\" in '{value}'")
        return SET, frozenset(filter(None, (t.strip() for t in value[1:-1].split(","))))
    try:
        number = float(value)
    except ValueError:
        return TEXT, value
    if math.isnan(number) or math.isinf(number):
        return TEXT, value
    return SCALAR, number


def _from_value(name: str, role: str, kind: str, value: Any) -> Resource:
    if kind == SCALAR:
        if value < 0:
            raise ValueError(f"Invalid scalar resource {name}: value must be non-negative")
        return Resource(name, SCALAR, role, scalar=fixed(value))
    if kind == RANGES:
        return Resource(name, RANGES, role, ranges=value)
    if kind == SET:
        return Resource(name, SET, role, items=value)
    raise ValueError(f"Bad type for resource {name} value {value} type TEXT")


def from_json(obj: Mapping[str, Any]) -> Resource:
    """A Resource from its JSON form (v0 or v1, pre- or post-reservation-refinement format).

    The reservation role comes from the last entry of `reservations` (refinement format), else from `role`
    (the old format Flink uses), else `*`. `allocation_info` says to whom it was offered and is not part of
    what the resource *is*, so it is ignored here.
    """
    name = obj.get("name")
    kind = obj.get("type")
    if not isinstance(name, str) or not name:
        raise ValueError("Resource without a name")
    reservations = obj.get("reservations") or []
    role = reservations[-1].get("role", UNRESERVED) if reservations else obj.get("role", UNRESERVED)
    if kind == SCALAR:
        value = (obj.get("scalar") or {}).get("value")
        try:
            if isinstance(value, bool):
                raise TypeError(value)
            number = float(value)  # a JSON number, or a numeric string as protobuf's JSON mapping allows
        except (TypeError, ValueError) as err:
            raise ValueError(f"Scalar resource '{name}' has no numeric scalar.value") from err
        return _from_value(name, role, SCALAR, number)
    if kind == RANGES:
        ranges = [(int(r["begin"]), int(r["end"])) for r in (obj.get("ranges") or {}).get("range", [])]
        return Resource(name, RANGES, role, ranges=merge_ranges(ranges))
    if kind == SET:
        return Resource(name, SET, role, items=frozenset((obj.get("set") or {}).get("item", [])))
    raise ValueError(f"Unsupported type '{kind}' of resource '{name}'")


def list_from_json(objs: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """`from_json` over a list, normalised."""
    return normalize(from_json(o) for o in objs)


def parse_text(text: str | None, default_role: str = UNRESERVED) -> list[Resource]:
    """`--resources` as Mesos' Resources::parse reads it: a JSON array of Resource objects, or
    `name[(role)]:value;...` where value is a scalar, `[ranges]` or `{set}`. Duplicates add up."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, list):
        return list_from_json(decoded)
    result = []
    for token in filter(None, (t.strip() for t in text.split(";"))):
        name_part, sep, value = token.partition(":")
        if not sep:
            raise ValueError(f"Bad value for resources, missing or extra ':' in {token}")
        match = re.fullmatch(r"\s*([^()\s]+)\s*(?:\(([^()]*)\))?\s*(?:\{[^{}]*\})?\s*", name_part)
        if not match:
            raise ValueError(f"Bad value for resources, bad name in {token}")
        role = (match.group(2) or default_role).split(",")[0].strip() or default_role
        kind, parsed = parse_value(value)
        result.append(_from_value(match.group(1), role, kind, parsed))
    return normalize(result)


# ---------------------------------------------------------------------------------------------------------
# Agent defaults, computed like Mesos 1.11 Containerizer::resources (src/slave/containerizer/containerizer.cpp).
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostFacts:
    """What Mesos probes on the agent's host: online CPUs, total memory, size of the work_dir file system."""

    cpus: int
    mem_bytes: int
    disk_bytes: int


def probe_host(work_dir: str) -> HostFacts:
    """Probe like Mesos: os::cpus() (online CPUs), os::memory().total (MemTotal), fs::size(work_dir)."""
    try:
        cpus = int(os.sysconf("SC_NPROCESSORS_ONLN"))
    except (ValueError, OSError):
        cpus = os.cpu_count() or 1
    mem = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        mem = 0
    stat = os.statvfs(work_dir)
    return HostFacts(cpus, mem, stat.f_blocks * stat.f_frsize)


def default_quantities(host: HostFacts | None) -> dict[str, float]:
    """cpus, mem (MB), disk (MB) an agent without those names in --resources offers.

    Mesos 1.11: cpus = online CPUs; mem = total - 1 GB when total >= 2 GB, else half of it; disk = size of
    the work_dir file system - 5 GB when it is >= 10 GB, else half of it (Bytes::megabytes() truncates).
    Without host facts (Mesos: when probing fails) it falls back to cpus 1, mem 1024, disk 10240.
    """
    if host is None:
        return {"cpus": DEFAULT_CPUS, "mem": float(DEFAULT_MEM_MB), "disk": float(DEFAULT_DISK_MB)}
    mem = host.mem_bytes - GB if host.mem_bytes >= 2 * GB else host.mem_bytes // 2
    disk = host.disk_bytes - 5 * GB if host.disk_bytes >= 10 * GB else host.disk_bytes // 2
    return {"cpus": float(host.cpus), "mem": float(mem // MB), "disk": float(disk // MB)}


def agent_resources(text: str | None, host: HostFacts | None = None, default_role: str = UNRESERVED) -> list[Resource]:
    """The agent's total resources: `--resources`, plus cpus/mem/disk/ports for each of those names that
    does not appear in the flag's text (Mesos tests `strings::contains(flags.resources, "cpus")`, literally)."""
    resources = parse_text(text, default_role)
    raw = text or ""
    for name, value in default_quantities(host).items():
        if name not in raw:
            resources = add(resources, [Resource(name, SCALAR, default_role, scalar=fixed(value))])
    if "ports" not in raw:
        resources = add(resources, [Resource("ports", RANGES, default_role, ranges=DEFAULT_PORTS)])
    return resources


# ---------------------------------------------------------------------------------------------------------
# JSON views.
# ---------------------------------------------------------------------------------------------------------

def to_json(res: Resource, allocation_role: str | None = None, refinement: bool = False) -> dict[str, Any]:
    """The v1 JSON of a resource as the master puts it in offers and state.

    `refinement`: frameworks with the RESERVATION_REFINEMENT capability get the post-1.4 format (no `role`,
    reservations as a list); all others the old format with `role` (`*` when unreserved) that Flink reads.
    """
    obj: dict[str, Any] = {"name": res.name, "type": res.kind}
    if res.kind == SCALAR:
        obj["scalar"] = {"value": res.scalar}
    elif res.kind == RANGES:
        obj["ranges"] = {"range": [{"begin": b, "end": e} for b, e in res.ranges]}
    else:
        obj["set"] = {"item": sorted(res.items)}
    if refinement:
        if res.role != UNRESERVED:
            obj["reservations"] = [{"type": "STATIC", "role": res.role}]
    else:
        obj["role"] = res.role
    if allocation_role is not None:
        obj["allocation_info"] = {"role": allocation_role}
    return obj


def list_to_json(resources: Iterable[Resource], allocation_role: str | None = None,
                 refinement: bool = False) -> list[dict[str, Any]]:
    """`to_json` over a list."""
    return [to_json(r, allocation_role, refinement) for r in normalize(resources)]


def model(resources: Iterable[Resource]) -> dict[str, Any]:
    """The `{"cpus": 2.0, "mem": 1024.0, "ports": "[31000-32000]"}` form of /master/state and /master/slaves
    (Mesos' model(Resources): cpus, gpus, mem and disk always present; all roles summed by name)."""
    out: dict[str, Any] = {"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0}
    ranges: dict[str, list[tuple[int, int]]] = {}
    sets: dict[str, set[str]] = {}
    for res in normalize(resources):
        if res.kind == SCALAR:
            out[res.name] = fixed(out.get(res.name, 0.0) + res.scalar)
        elif res.kind == RANGES:
            ranges.setdefault(res.name, []).extend(res.ranges)
        else:
            sets.setdefault(res.name, set()).update(res.items)
    out.update({name: format_ranges(r) for name, r in ranges.items()})
    out.update({name: format_set(s) for name, s in sets.items()})
    return out


def reserved_model(resources: Iterable[Resource]) -> dict[str, dict[str, Any]]:
    """`reserved_resources` of /master/slaves: role -> model of what is statically reserved to it."""
    roles = sorted({r.role for r in resources if r.role != UNRESERVED})
    return {role: model(r for r in resources if r.role == role) for role in roles}


# ---------------------------------------------------------------------------------------------------------
# Attributes (src/common/attributes.cpp).
# ---------------------------------------------------------------------------------------------------------

def parse_attributes_v1(text: str | None) -> list[dict[str, Any]]:
    """`--attributes` -> v1 Attribute JSON list (`rack:r1` TEXT, `level:2` SCALAR, `[1-5]` RANGES, `{a,b}` SET).

    Tokens are separated by `;` or newlines, each is `name:value`; as in Mesos a token without `:` is an error.
    """
    result = []
    for token in filter(None, (t.strip() for t in re.split(r"[;\n]", text or ""))):
        name, sep, value = token.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"Invalid attribute key:value pair '{token}'")
        kind, parsed = parse_value(value)
        attr: dict[str, Any] = {"name": name.strip(), "type": kind}
        if kind == SCALAR:
            attr["scalar"] = {"value": parsed}
        elif kind == RANGES:
            attr["ranges"] = {"range": [{"begin": b, "end": e} for b, e in parsed]}
        elif kind == SET:
            attr["set"] = {"item": sorted(parsed)}
        else:
            attr["text"] = {"value": parsed}
        result.append(attr)
    return result


def attributes_model(attributes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `{"rack": "r1", "level": 2}` form of /master/slaves: scalars as numbers, the rest as text."""
    out: dict[str, Any] = {}
    for attr in attributes:
        kind = attr["type"]
        if kind == SCALAR:
            value = attr["scalar"]["value"]
            out[attr["name"]] = int(value) if float(value).is_integer() else value
        elif kind == RANGES:
            out[attr["name"]] = format_ranges((r["begin"], r["end"]) for r in attr["ranges"]["range"])
        elif kind == SET:
            out[attr["name"]] = format_set(attr["set"]["item"])
        else:
            out[attr["name"]] = attr["text"]["value"]
    return out


def min_allocatable(flag: str | None) -> list[dict[str, float]]:
    """`--min_allocatable_resources` (Mesos 1.11 default `cpus:0.01|mem:32`): alternatives, each a set of
    scalar minimums; an agent's leftover is offered only if it meets at least one alternative."""
    alternatives = []
    for alt in filter(None, (a.strip() for a in (flag or "cpus:0.01|mem:32").split("|"))):
        alternatives.append({r.name: r.scalar for r in parse_text(alt) if r.kind == SCALAR})
    return alternatives


def allocatable(resources: Iterable[Resource], minimums: list[dict[str, float]]) -> bool:
    """True when `resources` meet one of the `min_allocatable` alternatives."""
    resources = list(resources)
    return any(all(quantity(resources, name) >= need for name, need in alt.items()) for alt in minimums)

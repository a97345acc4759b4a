"""Checks frames against protocol/schema.json, read as data (no table of its own), so a test
fails when the server sends a frame the declaration does not allow.

Every Python test client calls ``check_server_frame`` on each frame it receives; the server
itself never validates its frames on the output path (its constructors in
``jupyter_termmux/messages.py`` are checked here, by tests).
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "protocol" / "schema.json").read_text()
)
KINDS: dict[str, dict[str, Any]] = SCHEMA["kinds"]
_HEADER = struct.Struct("<BIQ")
_TYPES = {"string": str, "boolean": bool, "array": list, "object": dict}


class FrameError(AssertionError):
    """A frame the protocol declaration does not allow."""


def _fail(where: str, text: str) -> FrameError:
    return FrameError(f"{where}: {text}")


def _has_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def check_value(value: Any, kind: str, where: str, version: int | None = None) -> None:
    """Raise FrameError unless ``value`` is of ``kind`` (schema.json ``kinds``)."""
    spec = KINDS[kind]
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if not any(_has_type(value, t) for t in types):
        raise _fail(where, f"{value!r:.80} is not {' or '.join(types)} ({kind})")
    if isinstance(value, str):
        if "maxLength" in spec and len(value) > spec["maxLength"]:
            raise _fail(where, f"longer than {spec['maxLength']} characters ({kind})")
        if len(value) < spec.get("minLength", 0):
            raise _fail(where, f"shorter than {spec['minLength']} characters ({kind})")
        if "pattern" in spec and not re.search(spec["pattern"], value):
            raise _fail(where, f"{value!r:.80} does not match {spec['pattern']} ({kind})")
        if spec.get("unicode"):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _fail(where, f"not valid Unicode ({kind})") from None
        allowed = spec.get("enum") or (SCHEMA[spec["enumOf"]] if "enumOf" in spec else None)
        if allowed is not None and value not in allowed:
            raise _fail(where, f"{value!r:.80} is not one of {allowed} ({kind})")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in spec and value < spec["minimum"]:
            raise _fail(where, f"{value} is below {spec['minimum']} ({kind})")
        if "maximum" in spec and value > spec["maximum"]:
            raise _fail(where, f"{value} is above {spec['maximum']} ({kind})")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_value(item, spec["items"], f"{where}[{i}]", version)
    elif isinstance(value, dict):
        check_fields(value, spec["fields"], where, version)


def check_fields(
    obj: dict[str, Any],
    fields: dict[str, Any],
    where: str,
    version: int | None,
    envelope: tuple[str, ...] = (),
) -> None:
    """Raise FrameError unless ``obj`` has exactly the declared fields for ``version`` (None:
    any version), each of its kind; ``envelope`` names fields every message may carry."""
    declared = {k: v for k, v in fields.items() if isinstance(v, dict)}
    for name, value in obj.items():
        if name in envelope:
            continue
        spec = declared.get(name)
        if spec is None:
            raise _fail(where, f"undeclared field {name!r}")
        if version is not None and spec.get("since", 1) > version:
            raise _fail(where, f"field {name!r} is v{spec['since']}, not v{version}")
        check_value(value, spec["kind"], f"{where}.{name}", version)
    for name, spec in declared.items():
        since = spec.get("since", 1)
        applies = since <= version if version is not None else since == 1
        if spec.get("required") and applies and name not in obj:
            raise _fail(where, f"required field {name!r} missing")


def check_message(msg: Any, version: int | None = None, direction: str = "server") -> None:
    """Raise FrameError unless ``msg`` is a message of ``direction`` (server or client) that
    protocol ``version`` (None: any) declares."""
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise _fail(direction, f"not an object with a string type: {msg!r:.120}")
    mtype = msg["type"]
    spec = SCHEMA[direction].get(mtype)
    if spec is None:
        raise _fail(direction, f"undeclared message type {mtype!r}")
    # A number under "since" or "until" bounds the message's versions; an object is a field.
    first, last = spec.get("since"), spec.get("until")
    first = first if isinstance(first, int) else 1
    last = last if isinstance(last, int) else SCHEMA["protocol"]
    if version is not None and not first <= version <= last:
        raise _fail(mtype, f"not a message of protocol v{version}")
    if "id" in msg:
        check_value(msg["id"], "requestId", f"{mtype}.id")
    body = {k: v for k, v in msg.items() if k != "type"}
    check_fields(body, spec, mtype, version, envelope=("id",))


def check_binary(frame: bytes) -> None:
    """Raise FrameError unless ``frame`` is a v2 output frame: the declared header, a known
    type, a channel and offset in bounds, a payload of whole UTF-8 characters."""
    binary = SCHEMA["binary"]
    if len(frame) < binary["headerSize"]:
        raise _fail("binary", f"{len(frame)} bytes, shorter than the header")
    ftype, channel, offset = _HEADER.unpack_from(frame)
    if ftype not in binary["types"].values():
        raise _fail("binary", f"unknown frame type {ftype}")
    check_value(channel, "channel", "binary.channel")
    check_value(offset, "offset", "binary.offset")
    try:
        frame[binary["headerSize"] :].decode("utf-8")
    except UnicodeDecodeError as e:
        raise _fail("binary", f"payload splits a UTF-8 character: {e}") from None


def check_server_frame(frame: str | bytes, version: int | None = None) -> None:
    """Raise FrameError unless ``frame``, as received, is one the server may send on protocol
    ``version`` (None: not known to the caller)."""
    if isinstance(frame, bytes):
        if version is not None and version < 2:
            raise _fail("binary", f"a binary frame on protocol v{version}")
        check_binary(frame)
        return
    try:
        msg = json.loads(frame)
    except ValueError as e:
        raise _fail("server", f"not JSON: {e}") from None
    check_message(msg, version)


#: What ``received`` found wrong, for the autouse fixture in conftest.py to report.
VIOLATIONS: list[str] = []


def received(frame: str | bytes, version: int | None = None) -> None:
    """A test client's receive path: check ``frame`` (``check_server_frame``) and note what is
    wrong instead of raising, so the client's reader keeps running and the test then fails."""
    try:
        check_server_frame(frame, version)
    except FrameError as e:
        VIOLATIONS.append(f"{e} in {frame!r:.300}")


def query_examples() -> list[bytes]:
    """One sequence of each terminal query the declaration lists (``queries``), with
    parameters, as a program would send it."""
    q = SCHEMA["queries"]
    out = [
        f"\x1b[{c.get('prefix', '')}6{c.get('intermediates', '')}{c['final']}".encode()
        for c in q["csi"]
    ]
    first, last = q["windowReports"]
    out += [f"\x1b[{first}t".encode(), f"\x1b[{last};0t".encode()]
    out += [f"\x1b]{n};?\x07".encode() for n in q["osc"]]
    out += [f"\x1bP{d.get('intermediates', '')}{d['final']}m\x1b\\".encode() for d in q["dcs"]]
    return out

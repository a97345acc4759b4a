"""The server behaves as protocol/schema.json declares, in both directions: it accepts every
client message the declaration allows and refuses what it does not, its constructors build only
declared server messages, and its defaults are the declared ones (the TypeScript side has the
same checks in labextension/src/protocol/schema.spec.ts and declaration.spec.ts). Every frame a socket
test receives is also checked (``protocol_check``, called by the test clients)."""

from __future__ import annotations

import json
import re
from itertools import product
from pathlib import Path
from typing import Any, Callable

import protocol_check
import pytest
from protocol_check import (
    KINDS,
    SCHEMA,
    FrameError,
    check_binary,
    check_message,
    check_server_frame,
    check_value,
)

from jupyter_termmux import frames, messages, policy, protocol
from jupyter_termmux.app import TermMuxApp
from jupyter_termmux.protocol import ErrorCode, ProtocolError

REPO = Path(__file__).resolve().parent.parent
EXAMPLES: dict[str, Any] = json.loads((REPO / "protocol" / "examples.json").read_text())


def example(kind: str) -> Any:
    """A valid value of ``kind``, at the top of its bounds where it has some."""
    spec = KINDS[kind]
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    t = types[0]
    if t == "boolean":
        return True
    if t in ("integer", "number"):
        return spec.get("maximum", spec.get("minimum", 0) + 1)
    if t == "array":
        return [example(spec["items"])]
    if t == "object":
        return {name: example(f["kind"]) for name, f in spec["fields"].items()}
    if "enum" in spec:
        return spec["enum"][-1]
    if "enumOf" in spec:
        return SCHEMA[spec["enumOf"]][-1]
    if "pattern" in spec:
        return "a" * 64
    return "x" * spec.get("maxLength", 8)


def wrong(kind: str) -> Any:
    """A value ``kind`` refuses."""
    spec = KINDS[kind]
    if spec["type"] == "integer":
        return spec["maximum"] + 1
    if spec["type"] == "boolean":
        return "yes"
    if "enum" in spec:
        return "".join(spec["enum"])
    if "maxLength" in spec:
        return "x" * (spec["maxLength"] + 1)
    return 42


def versions(spec: dict[str, Any]) -> range:
    """The protocol versions that have a message (``since``/``until`` numbers)."""
    first = spec.get("since") if isinstance(spec.get("since"), int) else 1
    last = spec.get("until") if isinstance(spec.get("until"), int) else SCHEMA["protocol"]
    return range(first, last + 1)


def fields_of(spec: dict[str, Any], version: int) -> dict[str, dict[str, Any]]:
    """The fields of a message that exist on ``version``."""
    return {k: v for k, v in spec.items() if isinstance(v, dict) and v.get("since", 1) <= version}


CLIENT_CASES = [(t, v) for t, spec in SCHEMA["client"].items() for v in versions(spec)]


# --- client -> server: parse() does what the declaration says ---------------------------


@pytest.mark.parametrize(("mtype", "version"), CLIENT_CASES)
def test_every_declared_client_message_parses_with_all_or_only_required_fields(
    mtype: str, version: int
) -> None:
    """With every field the version has, each is read; with only the required ones, the others
    take their declared defaults."""
    fields = fields_of(SCHEMA["client"][mtype], version)
    full = {"type": mtype, **{k: example(f["kind"]) for k, f in fields.items()}}
    req = protocol.parse(json.dumps(full), 1 << 24, version)
    got = {**req.args, **({"sessionId": req.session_id} if req.session_id is not None else {})}
    assert {k: got.pop(k) for k in fields} == {k: v for k, v in full.items() if k != "type"}
    assert not any(v is not None for v in got.values()), got  # later versions' fields
    minimal = {"type": mtype, **{k: full[k] for k, f in fields.items() if f.get("required")}}
    req = protocol.parse(json.dumps(minimal), 1 << 24, version)
    for name, f in fields.items():
        if not f.get("required") and name != "sessionId":
            assert req.args[name] == f.get("default"), (mtype, name)


@pytest.mark.parametrize(("mtype", "version"), CLIENT_CASES)
def test_a_missing_required_or_wrong_field_is_refused_by_name(mtype: str, version: int) -> None:
    """A required field left out, or any field of the wrong kind, is ``invalid-field``."""
    fields = fields_of(SCHEMA["client"][mtype], version)
    full = {"type": mtype, **{k: example(f["kind"]) for k, f in fields.items()}}
    for name, f in fields.items():
        broken = [dict(full, **{name: wrong(f["kind"])})]
        if f.get("required"):
            broken.append({k: v for k, v in full.items() if k != name})
        for msg in broken:
            with pytest.raises(ProtocolError) as info:
                protocol.parse(json.dumps(msg), 1 << 24, version)
            assert info.value.code in (ErrorCode.INVALID_FIELD, ErrorCode.INVALID_SESSION_ID)
            assert name in info.value.message, (mtype, name, info.value.message)


def test_fields_and_messages_of_a_later_version_are_not_read() -> None:
    """On v1 a v2 field is ignored (its default) and a v2 message is an unknown type."""
    for mtype, spec in SCHEMA["client"].items():
        if 1 not in versions(spec):
            with pytest.raises(ProtocolError) as info:
                protocol.parse(json.dumps({"type": mtype}), 1 << 20, 1)
            assert info.value.code is ErrorCode.UNKNOWN_TYPE
            continue
        for name, f in spec.items():
            if isinstance(f, dict) and f.get("since", 1) > 1:
                msg = {
                    "type": mtype,
                    **{k: example(g["kind"]) for k, g in fields_of(spec, 2).items()},
                }
                assert protocol.parse(json.dumps(msg), 1 << 20, 1).args[name] is None


@pytest.mark.parametrize("kind", sorted(messages.KINDS))
def test_every_client_kind_has_the_schema_bounds(kind: str) -> None:
    """Each kind a client field may have accepts its bounds and refuses one past them."""
    spec = SCHEMA["kinds"][kind]
    check = messages.KINDS[kind].check
    if spec["type"] == "integer":
        assert check(spec["minimum"]) and check(spec["maximum"])
        assert not check(spec["minimum"] - 1) and not check(spec["maximum"] + 1)
        assert not check(True) and not check(float(spec["minimum"]))
    elif spec["type"] == "boolean":
        assert check(True) and not check(1)
    elif "enum" in spec:
        assert all(check(v) for v in spec["enum"])
        assert not check("".join(spec["enum"])) and not check(None) and not check(1)
    elif "maxLength" in spec:
        assert check("x" * spec["maxLength"]) and not check("x" * (spec["maxLength"] + 1))


def test_client_fields_use_only_kinds_the_server_checks() -> None:
    """Every kind a client field names has a check (the others only server messages use)."""
    for spec in SCHEMA["client"].values():
        for f in spec.values():
            if isinstance(f, dict):
                assert f["kind"] in messages.KINDS, f


def test_new_session_names_follow_the_declared_pattern() -> None:
    """``session.create`` takes exactly the names the ``newSessionId`` pattern allows."""
    pattern = SCHEMA["kinds"]["newSessionId"]["pattern"]
    for name in ("a", "A_1", "x" * 64, "x" * 65, "", "a-b", "é", "a b"):
        frame = json.dumps({"type": "session.create", "sessionId": name})
        ok = re.search(pattern, name) is not None
        if ok:
            assert protocol.parse(frame, 1 << 20, 2).session_id == name
        else:
            with pytest.raises(ProtocolError):
                protocol.parse(frame, 1 << 20, 2)


# --- server -> client: the constructors build declared messages --------------------------

#: One builder per server message type: (all optional fields, only required ones).
V2_ATTACH: dict[str, Any] = {
    "channel": 3,
    "incarnation": "life",
    "offset": 0,
    "truncated": False,
    "resume": "tok",
}
BUILDERS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "hello": lambda full: messages.hello("1.0", LIMITS, ["read"], True),
    "session.attached": lambda full: messages.attached(
        "1", (24, 80) if full else None, 7 if full else None
    ),
    "session.truncated": lambda full: messages.truncated("1", 3, 10, "\x1b[?1049h"),
    "session.skipped": lambda full: messages.skipped("1", 4, 5000, "\x1b[?25h"),
    "session.detached": lambda full: messages.detached(
        "1", "r" if full else None, "slow" if full else None
    ),
    "session.resized": lambda full: messages.resized("1", 24, 80),
    "session.created": lambda full: messages.created("a", 1 if full else None),
    "session.closed": lambda full: messages.closed("a", 1 if full else None),
    "session.list": lambda full: messages.session_list(
        [{"sessionId": "1", "clients": 2, "attached": True, "writers": 1, "viewers": 1}]
        if full
        else []
    ),
    "profile.list": lambda full: messages.profile_list([{"name": "default", "default": True}]),
    "pong": lambda full: messages.pong(9 if full else None),
    "terminal.output": lambda full: messages.output("1", "hi", replay=full),
    "session.exited": lambda full: messages.exited(
        "1", None if full else 0, "SIGKILL" if full else None
    ),
    "error": lambda full: messages.error(
        "forbidden", "no", *(("1", "session.create", "r1") if full else ())
    ),
}
LIMITS = {k: v for k, v in messages.DEFAULTS.items() if k in KINDS["limits"]["fields"]}


def test_a_builder_for_every_declared_server_message() -> None:
    """The server builds exactly the message types the declaration lists."""
    assert set(BUILDERS) == set(SCHEMA["server"]) == set(messages.SERVER_MESSAGES)


@pytest.mark.parametrize(("mtype", "full"), list(product(sorted(BUILDERS), (False, True))))
def test_server_constructors_build_declared_messages(mtype: str, full: bool) -> None:
    """What each constructor builds, with every optional part or none, is a message of that
    type on each version that has it."""
    msg = BUILDERS[mtype](full)
    assert msg["type"] == mtype
    for version in versions(SCHEMA["server"][mtype]):
        if mtype != "session.attached" or version == 1:
            check_message(msg, version)


def test_a_v2_attach_answer_carries_every_v2_field() -> None:
    """``session.attached`` with its v2 fields is a v2 message and no v1 one."""
    msg = messages.attached("1", (24, 80), 1, preamble="\x1b[?25l", **V2_ATTACH)
    check_message(msg, 2)
    with pytest.raises(FrameError):
        check_message(msg, 1)
    with pytest.raises(FrameError, match="required field 'channel'"):
        check_message(messages.attached("1", None), 2)


def test_every_declared_server_field_is_built_by_some_constructor() -> None:
    """No declared field is one the server never sends (or the declaration names a field the
    constructors spell differently)."""
    built: dict[str, set[str]] = {}
    for mtype, build in BUILDERS.items():
        for full in (False, True):
            built.setdefault(mtype, set()).update(build(full))
    built["session.attached"].update(messages.attached("1", None, preamble="", **V2_ATTACH))
    for mtype, spec in SCHEMA["server"].items():
        declared = {k for k, v in spec.items() if isinstance(v, dict)}
        assert declared <= built[mtype] - {"type", "id"}, (mtype, declared - built[mtype])


# --- the checker itself ------------------------------------------------------------------


def test_the_shared_examples_follow_the_declaration() -> None:
    """protocol/examples.json's server frames, v1 and v2, and its binary frames are declared."""
    for msg in EXAMPLES["server"]:
        check_message(msg, 1)
    for msg in EXAMPLES["serverV2"]:
        check_message(msg, 2)
    for b in EXAMPLES["binary"]:
        check_server_frame(bytes.fromhex(b["hex"]), 2)
    for msg in EXAMPLES["client"]["valid"]:
        check_message(msg, 2, "client")


@pytest.mark.parametrize(
    ("frame", "version", "complaint"),
    [
        ('{"type": "pong", "extra": 1}', 1, "undeclared field"),
        ('{"type": "session.created"}', 1, "required field 'sessionId'"),
        ('{"type": "session.resized", "sessionId": "1", "rows": 0, "cols": 80}', 1, "below"),
        ('{"type": "hello", "protocol": 2}', 1, "not a message of protocol v1"),
        ('{"type": "terminal.output", "sessionId": "1", "data": ""}', 2, "not a message"),
        ('{"type": "session.attached", "sessionId": "1", "channel": 1}', 1, "is v2"),
        ('{"type": "error", "code": "nope", "message": ""}', 1, "not one of"),
        ('{"type": "pong", "id": true}', 1, "pong.id"),
        ('{"type": "session.exited", "sessionId": "1", "exitCode": "0"}', 1, "integer or null"),
        ('{"type": "surprise"}', None, "undeclared message type"),
        (b"\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 1, "binary frame on protocol v1"),
        (b"\x03\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 2, "unknown frame type"),
        (b"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 2, "binary.channel"),
        (b"\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3", 2, "splits a UTF-8"),
    ],
)
def test_the_checker_refuses_what_the_declaration_does_not_allow(
    frame: str | bytes, version: int | None, complaint: str
) -> None:
    """Each way a frame can break the declaration is caught and named."""
    with pytest.raises(FrameError, match=re.escape(complaint)):
        check_server_frame(frame, version)


def test_object_and_array_kinds_are_checked_item_by_item() -> None:
    """A bad item deep in a list is found."""
    check_value([{"name": "p", "default": False}], "profiles", "p")
    with pytest.raises(FrameError, match=r"p\[0\].default"):
        check_value([{"name": "p", "default": 1}], "profiles", "p")
    with pytest.raises(FrameError, match="required field 'attached'"):
        check_value([{"sessionId": "1", "clients": 0}], "sessions", "s")
    with pytest.raises(FrameError):
        check_binary(b"\x01")


# --- the one source of defaults, codes and layout ----------------------------------------


def test_the_server_announces_the_declared_defaults() -> None:
    """An unconfigured server's limits, its traits and the frame size are the declared defaults
    (``ackBytes`` is ``window / 16``)."""
    d = messages.DEFAULTS
    limits = policy.Limits()
    assert limits.history_limit == d["historyLimit"]
    assert limits.max_message_size == d["maxMessageSize"]
    assert limits.max_sessions_per_socket == d["maxSessionsPerSocket"]
    assert limits.window == d["window"] and limits.socket_window == d["socketWindow"]
    assert limits.ack_bytes == d["ackBytes"]
    assert limits.resume_hold == d["resumeHold"]
    assert limits.slow_subscriber_timeout == d["slowSubscriberTimeout"]
    assert policy.V2_FRAME_BYTES == d["frameBytes"]
    app = TermMuxApp()
    for name in ("history_limit", "max_message_size", "window", "socket_window", "resume_hold"):
        assert getattr(app, name) == getattr(limits, name), name


def test_the_docs_show_the_declared_defaults() -> None:
    """README's trait table, PROTOCOL.md's hello and the shared examples' hello say what an
    unconfigured server announces."""
    d = messages.DEFAULTS
    readme = (REPO / "README.md").read_text()
    for trait, key in (
        ("history_limit", "historyLimit"),
        ("max_message_size", "maxMessageSize"),
        ("window", "window"),
        ("socket_window", "socketWindow"),
    ):
        assert f"| `{trait}` | `{d[key]}` |" in readme, trait
    doc = (REPO / "protocol" / "PROTOCOL.md").read_text()
    shown = json.loads(re.search(r'"limits": (\{[^}]*\})', doc).group(1))  # type: ignore[union-attr]
    hellos = [m["limits"] for m in EXAMPLES["serverV2"] if m["type"] == "hello"]
    for limits in (shown, *hellos):
        assert limits == LIMITS


def test_codes_subprotocols_and_binary_layout_match() -> None:
    """Error codes, close codes, subprotocols, version and the binary header agree."""
    assert SCHEMA["errors"] == [c.value for c in protocol.ErrorCode]
    assert sorted(SCHEMA["close"].values()) == sorted(int(c) for c in protocol.CloseCode)
    assert SCHEMA["subprotocols"] == messages.SUBPROTOCOLS
    assert SCHEMA["protocol"] == messages.PROTOCOL_VERSION
    assert SCHEMA["binary"]["headerSize"] == frames.HEADER_SIZE
    assert SCHEMA["binary"]["types"] == {t.name.lower(): int(t) for t in frames.FrameType}
    for ftype in frames.FrameType:
        frame = frames.encode(ftype, 7, 1 << 40, "é".encode())
        check_binary(frame)
        assert frames.decode(frame).offset == 1 << 40


async def test_test_clients_check_every_frame_they_receive(connect: Any, monkeypatch: Any) -> None:
    """A frame the declaration does not allow, received by a socket test's client, is noted,
    which fails the test (conftest's ``server_frames_follow_the_schema``)."""
    monkeypatch.setattr(messages, "pong", lambda rid=None: {"type": "pong", "id": rid, "odd": 1})
    start = len(protocol_check.VIOLATIONS)
    client = await connect()
    await client.barrier()
    found = protocol_check.VIOLATIONS[start:]
    del protocol_check.VIOLATIONS[start:]  # seen: this test's point
    assert len(found) == 1 and "undeclared field 'odd'" in found[0], found

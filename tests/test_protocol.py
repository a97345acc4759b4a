"""Pure tests of the wire protocol: the shared example frames and the validation rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_termmux import messages, protocol
from jupyter_termmux.protocol import ErrorCode, ProtocolError

EXAMPLES = json.loads((Path(__file__).parent.parent / "protocol" / "examples.json").read_text())
LIMIT = 1024 * 1024


@pytest.mark.parametrize("msg", EXAMPLES["client"]["valid"], ids=lambda m: m["type"])
def test_valid_examples_parse(msg: dict[str, Any]) -> None:
    """Every valid client example parses to its type, session id and request id."""
    req = protocol.parse(json.dumps(msg), LIMIT)
    assert req.type == msg["type"]
    assert req.session_id == msg.get("sessionId")
    assert req.id == msg.get("id")


def _refused(frame: str, case: dict[str, Any], version: int) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.parse(frame, LIMIT, version)
    assert info.value.code.value == case["code"]
    if "field" in case:
        assert repr(case["field"]) in info.value.message
    if "id" in case:
        assert info.value.request_id == case["id"]


@pytest.mark.parametrize("case", EXAMPLES["client"]["invalid"], ids=lambda c: c["frame"][:40])
def test_invalid_examples_refused_with_their_code(case: dict[str, Any]) -> None:
    """Every invalid client example is refused with the documented code, naming the field."""
    _refused(case["frame"], case, 1)


@pytest.mark.parametrize("msg", EXAMPLES["client"]["v2"]["valid"], ids=lambda m: m["type"])
def test_v2_examples_parse_on_v2_only_where_new(msg: dict[str, Any]) -> None:
    """v2 client examples parse on v2; a v2-only message type is unknown on v1."""
    req = protocol.parse(json.dumps(msg), LIMIT, 2)
    assert req.type == msg["type"] and req.id == msg.get("id")
    if msg["type"] == "session.attach":
        assert req.args["since"] == msg["since"] and req.args["incarnation"] == msg["incarnation"]
        assert req.args["resume"] == msg.get("resume")
        # v1 ignores the fields v2 added.
        assert protocol.parse(json.dumps(msg), LIMIT, 1).args["since"] is None


@pytest.mark.parametrize("case", EXAMPLES["client"]["v2"]["invalid"], ids=lambda c: c["frame"][:40])
def test_v2_invalid_examples_refused(case: dict[str, Any]) -> None:
    """Every invalid v2 example is refused on v2 with the documented code."""
    _refused(case["frame"], case, 2)


def test_every_client_type_has_a_valid_example() -> None:
    """The shared examples cover the whole client message table (so TypeScript tests do too)."""
    covered = {m["type"] for m in EXAMPLES["client"]["valid"] + EXAMPLES["client"]["v2"]["valid"]}
    assert covered == set(protocol.CLIENT_MESSAGES)


def test_every_server_example_is_a_known_type() -> None:
    """Server example frames only use declared server message types, and cover them all."""
    types = {m["type"] for m in EXAMPLES["server"] + EXAMPLES["serverV2"]}
    assert types == set(protocol.SERVER_MESSAGES)


def test_error_examples_use_documented_codes() -> None:
    """Error examples carry codes from the ErrorCode enum."""
    codes = {c.value for c in ErrorCode}
    for msg in EXAMPLES["server"]:
        if msg["type"] == "error":
            assert msg["code"] in codes


def test_defaults_are_filled() -> None:
    """An attach without 'replay' replays, without 'mode' writes; a create without fields has
    None for both."""
    assert protocol.parse('{"type":"session.attach","sessionId":"a"}', LIMIT).args == {
        "replay": True,
        "since": None,
        "incarnation": None,
        "resume": None,
        "mode": "write",
    }
    req = protocol.parse('{"type":"session.create"}', LIMIT)
    assert req.session_id is None
    assert req.args == {"cwd": None, "rows": None, "cols": None, "profile": None}


def _attach(**fields: Any) -> str:
    return json.dumps({"type": "session.attach", "sessionId": "s1", "since": 10, **fields})


@pytest.mark.parametrize("token", ["q3Jx0fZk9-VbN2Lw_7aYcQ", "", "x" * 64, "x" * 128])
def test_resume_token_up_to_128_characters_parses_on_v2(token: str) -> None:
    """A string resume token of at most 128 characters is passed on unchanged (v2)."""
    assert protocol.parse(_attach(resume=token), LIMIT, 2).args["resume"] == token


@pytest.mark.parametrize("value", [42, True, None, ["t"], {"t": 1}, 1.5])
def test_resume_token_of_another_type_is_invalid_field(value: Any) -> None:
    """A resume that is not a string is refused with invalid-field naming 'resume'."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse(_attach(resume=value, id=3), LIMIT, 2)
    assert info.value.to_message() == {
        "type": "error",
        "code": "invalid-field",
        "message": "field 'resume' must be a string of at most 128 characters",
        "sessionId": "s1",
        "request": "session.attach",
        "id": 3,
    }


def test_resume_token_too_long_is_invalid_field() -> None:
    """A resume token of 129 characters is refused like an over-long incarnation."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse(_attach(resume="x" * 129), LIMIT, 2)
    assert info.value.code is ErrorCode.INVALID_FIELD
    assert "'resume'" in info.value.message


def test_resume_token_is_ignored_on_v1() -> None:
    """v1 knows no resume field: even a malformed one is ignored, as since and incarnation are."""
    assert protocol.parse(_attach(resume=42), LIMIT, 1).args["resume"] is None


def test_binary_frame_refused() -> None:
    """A binary frame is refused with 'binary-frame'."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse(b'{"type":"ping"}', LIMIT)
    assert info.value.code is ErrorCode.BINARY_FRAME


def test_size_limit_counts_utf8_bytes() -> None:
    """The size limit is in UTF-8 bytes: 40 three-byte characters exceed a 100-byte limit."""
    frame = json.dumps(
        {"type": "terminal.input", "sessionId": "1", "data": "€" * 40}, ensure_ascii=False
    )
    assert len(frame) < 100
    with pytest.raises(ProtocolError) as info:
        protocol.parse(frame, 100)
    assert info.value.code is ErrorCode.MESSAGE_TOO_LARGE
    protocol.parse(frame, 200)


def test_error_message_carries_context() -> None:
    """A refused request's error names its type, session id and request id."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse(
            '{"type":"terminal.resize","sessionId":"s1","rows":0,"cols":3,"id":"r"}', LIMIT
        )
    msg = info.value.to_message()
    assert msg == {
        "type": "error",
        "code": "invalid-field",
        "message": "field 'rows' must be an integer from 1 to 4096",
        "sessionId": "s1",
        "request": "terminal.resize",
        "id": "r",
    }


def test_session_id_rules() -> None:
    """Any name the terminal manager may hold can be looked up; new names are REST-safe ASCII."""
    for good in ["1", "a_b", "x" * 1024, "été", "", "with space", "../x", "my-term"]:
        assert protocol.parse(json.dumps({"type": "session.detach", "sessionId": good}), LIMIT)
    with pytest.raises(ProtocolError) as info:
        protocol.parse(json.dumps({"type": "session.detach", "sessionId": "x" * 1025}), LIMIT)
    assert info.value.code is ErrorCode.INVALID_FIELD
    for good in ["1", "a_b", "x" * 64, "Train_2"]:
        req = protocol.parse(json.dumps({"type": "session.create", "sessionId": good}), LIMIT)
        assert req.session_id == good
    for bad in ["", "a b", "x" * 65, "a/b", "a-b", "a\n", "été", "../x"]:
        with pytest.raises(ProtocolError) as info:
            protocol.parse(json.dumps({"type": "session.create", "sessionId": bad}), LIMIT)
        assert info.value.code is ErrorCode.INVALID_SESSION_ID


def test_lone_surrogate_answer_echoes_id() -> None:
    """A lone surrogate in any field is refused with invalid-field that still echoes the id."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse('{"type":"terminal.input","sessionId":"1","data":"\\udc00","id":9}', LIMIT)
    assert info.value.code is ErrorCode.INVALID_FIELD and info.value.request_id == 9


def test_deep_nesting_is_invalid_json_not_a_crash() -> None:
    """JSON nested far past the parser's recursion limit is refused as invalid-json."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse("[" * 100_000 + "]" * 100_000, 10**7)
    assert info.value.code is ErrorCode.INVALID_JSON


@pytest.mark.parametrize(
    "data", ["plain", "\x1b[31mred\x1b[0m\r\n", 'quote " backslash \\', "ünïcødé ✓ 🙂", "\x00\x7f"]
)
def test_output_encoding_round_trips(data: str) -> None:
    """The hot-path encoder produces the same JSON object as the generic one."""
    prefix = protocol.output_prefix("s_1")
    for replay in (False, True):
        frame = protocol.encode_output(prefix, data, replay)
        assert json.loads(frame) == messages.output("s_1", data, replay)


def test_reply_echoes_id_only_when_given() -> None:
    """Answers echo the request id, and carry no 'id' key when the request had none."""
    assert messages.pong() == {"type": "pong"}
    assert messages.pong(0) == {"type": "pong", "id": 0}

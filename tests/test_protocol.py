"""Pure tests of the wire protocol: the shared example frames and the validation rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_termmux import protocol
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


@pytest.mark.parametrize("case", EXAMPLES["client"]["invalid"], ids=lambda c: c["frame"][:40])
def test_invalid_examples_refused_with_their_code(case: dict[str, Any]) -> None:
    """Every invalid client example is refused with the documented code, naming the field."""
    with pytest.raises(ProtocolError) as info:
        protocol.parse(case["frame"], LIMIT)
    assert info.value.code.value == case["code"]
    if "field" in case:
        assert repr(case["field"]) in info.value.message


def test_every_client_type_has_a_valid_example() -> None:
    """The shared examples cover the whole client message table (so TypeScript tests do too)."""
    covered = {m["type"] for m in EXAMPLES["client"]["valid"]}
    assert covered == set(protocol.CLIENT_MESSAGES)


def test_every_server_example_is_a_known_type() -> None:
    """Server example frames only use declared server message types, and cover them all."""
    types = {m["type"] for m in EXAMPLES["server"]}
    assert types == set(protocol.SERVER_MESSAGES)


def test_error_examples_use_documented_codes() -> None:
    """Error examples carry codes from the ErrorCode enum."""
    codes = {c.value for c in ErrorCode}
    for msg in EXAMPLES["server"]:
        if msg["type"] == "error":
            assert msg["code"] in codes


def test_defaults_are_filled() -> None:
    """An attach without 'replay' replays; a create without fields has None for both."""
    assert protocol.parse('{"type":"session.attach","sessionId":"a"}', LIMIT).args == {
        "replay": True
    }
    req = protocol.parse('{"type":"session.create"}', LIMIT)
    assert req.session_id is None and req.args == {"cwd": None, "rows": None, "cols": None}


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
        "message": "field 'rows' must be an integer from 1 to 65535",
        "sessionId": "s1",
        "request": "terminal.resize",
        "id": "r",
    }


def test_session_id_rules() -> None:
    r"""Session ids are terminal names: \w+ up to 255 characters, unicode letters included."""
    for good in ["1", "a_b", "x" * 255, "été"]:
        assert protocol.parse(json.dumps({"type": "session.detach", "sessionId": good}), LIMIT)
    for bad in ["", "a b", "x" * 256, "a/b", "a-b", "a\n"]:
        with pytest.raises(ProtocolError) as info:
            protocol.parse(json.dumps({"type": "session.detach", "sessionId": bad}), LIMIT)
        assert info.value.code is ErrorCode.INVALID_SESSION_ID


@pytest.mark.parametrize(
    "data", ["plain", "\x1b[31mred\x1b[0m\r\n", 'quote " backslash \\', "ünïcødé ✓ 🙂", "\x00\x7f"]
)
def test_output_encoding_round_trips(data: str) -> None:
    """The hot-path encoder produces the same JSON object as the generic one."""
    frame = protocol.encode_output(protocol.output_prefix("s_1"), data)
    assert json.loads(frame) == {"type": "terminal.output", "sessionId": "s_1", "data": data}


def test_reply_echoes_id_only_when_given() -> None:
    """Answers echo the request id, and carry no 'id' key when the request had none."""
    assert protocol.reply("pong") == {"type": "pong"}
    assert protocol.reply("pong", 0) == {"type": "pong", "id": 0}

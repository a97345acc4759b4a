"""The Python protocol table equals protocol/schema.json, field by field (the TypeScript side has
the same check in labextension/src/schema.spec.ts), so the two sides cannot drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_termmux import frames, messages, protocol

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "protocol" / "schema.json").read_text()
)


def test_client_messages_and_fields_match() -> None:
    """Same message types; for each field the same kind, requiredness, default and version."""
    assert set(SCHEMA["client"]) == set(messages.CLIENT_MESSAGES)
    for mtype, spec in SCHEMA["client"].items():
        fields = {k: v for k, v in spec.items() if isinstance(v, dict)}
        ours = {f.name: f for f in messages.CLIENT_MESSAGES[mtype]}
        assert set(fields) == set(ours), mtype
        for name, f in fields.items():
            mine = ours[name]
            assert mine.kind.name == f["kind"], (mtype, name)
            assert mine.required == f.get("required", False), (mtype, name)
            assert mine.default == f.get("default"), (mtype, name)
            assert mine.since == f.get("since", 1), (mtype, name)
        # A number under "since" is the message's version; an object there is a field.
        since = spec.get("since")
        assert messages.MESSAGE_SINCE.get(mtype, 1) == (since if isinstance(since, int) else 1)


@pytest.mark.parametrize("kind", sorted(SCHEMA["kinds"]))
def test_every_kind_has_the_schema_bounds(kind: str) -> None:
    """Each kind accepts its bounds and refuses one past them, as the schema says."""
    spec = SCHEMA["kinds"][kind]
    check = messages.KINDS[kind].check if kind in messages.KINDS else None
    if kind == "requestId":
        assert messages.MAX_REQUEST_ID == spec["maxLength"]
        return
    assert check is not None, kind
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
    if "pattern" in spec:
        assert messages.NEW_SESSION_ID_RE.pattern == spec["pattern"].strip("^$")


def test_codes_subprotocols_and_binary_layout_match() -> None:
    """Error codes, close codes, subprotocols, version and the binary header agree."""
    assert SCHEMA["errors"] == [c.value for c in protocol.ErrorCode]
    assert sorted(SCHEMA["close"].values()) == sorted(int(c) for c in protocol.CloseCode)
    assert SCHEMA["subprotocols"] == messages.SUBPROTOCOLS
    assert SCHEMA["protocol"] == messages.PROTOCOL_VERSION
    assert SCHEMA["binary"]["headerSize"] == frames.HEADER_SIZE
    assert SCHEMA["binary"]["types"] == {t.name.lower(): int(t) for t in frames.FrameType}
    assert set(SCHEMA["server"]) == set(messages.SERVER_MESSAGES)

"""Pure tests of the v2 binary frame codec against the shared hex examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_termmux import frames

EXAMPLES = json.loads((Path(__file__).parent.parent / "protocol" / "examples.json").read_text())


@pytest.mark.parametrize("case", EXAMPLES["binary"], ids=lambda c: c["comment"])
def test_binary_examples_round_trip(case: dict[str, Any]) -> None:
    """Each shared hex example decodes to its fields, and encoding them gives the same bytes."""
    raw = bytes.fromhex(case["hex"])
    frame = frames.decode(raw)
    assert (frame.type, frame.channel, frame.offset) == (
        case["type"],
        case["channel"],
        case["offset"],
    )
    assert frame.payload.decode() == case["text"]
    assert (
        frames.encode(
            frames.FrameType(case["type"]), case["channel"], case["offset"], case["text"].encode()
        )
        == raw
    )


def test_header_is_13_bytes_and_short_frames_are_refused() -> None:
    """The header is 13 bytes; anything shorter is not a frame."""
    assert frames.HEADER_SIZE == 13
    with pytest.raises(ValueError):
        frames.decode(b"\x01\x00")

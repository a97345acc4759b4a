"""Protocol v2 binary output frames (the layout is in protocol/schema.json and PROTOCOL.md).

::

    byte 0      type      uint8      1 = output, 2 = replay
    bytes 1-4   channel   uint32 LE  the session's channel on this socket
    bytes 5-12  offset    uint64 LE  stream offset of the payload's first byte
    bytes 13-   payload   raw UTF-8 output, never split inside a sequence
"""

from __future__ import annotations

import enum
import struct
from typing import NamedTuple

_HEADER = struct.Struct("<BIQ")
HEADER_SIZE = _HEADER.size  # 13


class FrameType(enum.IntEnum):
    """The first byte of a binary frame."""

    OUTPUT = 1
    #: History the client did not see live: written with the terminal's answers suppressed.
    REPLAY = 2


class OutputFrame(NamedTuple):
    """A decoded binary frame (for tests and clients; the server only encodes)."""

    type: FrameType
    channel: int
    offset: int
    payload: bytes


def encode(frame_type: FrameType, channel: int, offset: int, payload: bytes) -> bytes:
    """One binary frame: the 13-byte header, then the payload."""
    return _HEADER.pack(frame_type, channel, offset) + payload


def decode(frame: bytes) -> OutputFrame:
    """Split a binary frame into its fields; ValueError if it is not one."""
    if len(frame) < HEADER_SIZE:
        raise ValueError(f"binary frame of {len(frame)} bytes is shorter than its header")
    kind, channel, offset = _HEADER.unpack_from(frame)
    return OutputFrame(FrameType(kind), channel, offset, bytes(frame[HEADER_SIZE:]))

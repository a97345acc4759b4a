"""What the page's termmux sockets carried, recorded with Playwright's `framereceived` /
`framesent` events (text frames arrive as `str`, binary frames as `bytes`), and one session's
output stream rebuilt from them for v1 (`terminal.output`) and v2 (binary frames by channel)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import protocol_check

SOCKET_PATH = "api/termmux/socket"
HEADER = struct.Struct("<BIQ")  # type, channel, offset: PROTOCOL.md "Frames"


@dataclass
class SocketLog:
    """Frames of one termmux WebSocket, in order: ("in" | "out", str | bytes)."""

    url: str
    frames: list[tuple[str, Any]] = field(default_factory=list)

    def sent(self, mtype: str) -> list[dict[str, Any]]:
        """JSON messages of `mtype` the page sent."""
        msgs = [json.loads(p) for d, p in self.frames if d == "out" and isinstance(p, str)]
        return [m for m in msgs if m.get("type") == mtype]

    def received(self, mtype: str) -> list[dict[str, Any]]:
        """JSON messages of `mtype` the page received."""
        msgs = [json.loads(p) for d, p in self.frames if d == "in" and isinstance(p, str)]
        return [m for m in msgs if m.get("type") == mtype]


class PageSockets:
    """Every termmux socket the page opens from now on, with every frame."""

    def __init__(self, page: Any) -> None:
        self.sockets: list[SocketLog] = []
        page.on("websocket", self._on_socket)

    def _on_socket(self, ws: Any) -> None:
        if SOCKET_PATH not in ws.url:
            return
        log = SocketLog(ws.url)
        self.sockets.append(log)
        ws.on("framereceived", lambda payload: log.frames.append(("in", payload)))
        ws.on("framereceived", protocol_check.received)
        ws.on("framesent", lambda payload: log.frames.append(("out", payload)))


@dataclass
class Stream:
    """One session's output on one socket: bytes from `start`, and what else was seen."""

    start: int | None
    data: bytes
    replayed: int = 0
    truncated: int = 0

    @property
    def end(self) -> int | None:
        """Offset after the last byte (v2), or None on v1."""
        return None if self.start is None else self.start + len(self.data)


def session_stream(log: SocketLog, session_id: str) -> Stream:
    """Rebuild `session_id`'s output on one socket; on v2 every frame must follow the previous
    one byte for byte (offset = previous offset + length), else AssertionError. A later attach
    on the socket (a tab catching up, a tab reopened) must start at or before the bytes seen so
    far; what it sends again is left out, so the result holds each byte once."""
    channels: set[int] = set()
    start: int | None = None
    expected: int | None = None
    out = bytearray()
    stream = Stream(None, b"")
    for direction, payload in log.frames:
        if direction != "in":
            continue
        if isinstance(payload, str):
            msg = json.loads(payload)
            if msg.get("sessionId") != session_id:
                continue
            if msg["type"] == "session.attached" and "channel" in msg:
                channels.add(msg["channel"])
                if start is None:
                    start = msg["offset"]
                seen = start + len(out)
                assert msg["offset"] <= seen, f"gap: {seen} .. {msg['offset']} never arrived"
                expected = msg["offset"]
            elif msg["type"] == "terminal.output":
                out += msg["data"].encode()
                stream.replayed += bool(msg.get("replay"))
            elif msg["type"] == "session.truncated":
                stream.truncated += 1
            continue
        kind, channel, offset = HEADER.unpack_from(payload)
        if channel not in channels:
            continue
        assert offset == expected, f"frame at {offset}, expected {expected}: bytes lost or doubled"
        body = payload[HEADER.size :]
        assert start is not None
        out += body[max(0, start + len(out) - offset) :]
        expected = offset + len(body)
        stream.replayed += kind == 2
    stream.start = start
    stream.data = bytes(out)
    return stream


def join_streams(first: Stream, second: Stream) -> bytes:
    """The bytes of two v2 streams of one session, overlap removed; AssertionError on a gap."""
    assert first.start is not None and second.start is not None, "not protocol v2"
    assert first.end is not None
    assert second.start <= first.end, f"gap: {first.end} .. {second.start} never arrived"
    return first.data + second.data[first.end - second.start :]

"""The output side of one socket: its scheduler, channels and frames, and what the router sees.

``OutputPath`` pulls each subscriber's output from its session's history when the socket's
``Scheduler`` says so, frames it (v1: JSON ``terminal.output``; v2: binary frames with offsets),
and keeps the accounting the router reads (backlog, delivered offset). ``MuxConnection``
(``connection.py``) adds the request side on top of it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from tornado.websocket import WebSocketClosedError

from . import frames, protocol, screen
from .protocol import CloseCode
from .replay import next_frame as next_replay_frame
from .router import Router
from .scheduler import Scheduler
from .session import Subscriber

#: Most payload bytes in one v1 frame: the panel hands a v1 (JSON text) frame to xterm.js
#: whole, so a large one is a long task on a slow page.
V1_FRAME_BYTES = 32 * 1024

#: Most payload bytes in one v2 frame. The panel cuts binary frames into 4 KiB writes, so the
#: size costs a page nothing; each frame costs the server a write and an ack (a fast client acks
#: every frame), and the server's CPU per MB sets its throughput while programs flood (it gets
#: its fair share of the cores, no more). Interleaved runs of 4 sessions x 10 MB
#: (docs/benchmarks.md, items 8 and 11): 32 -> 64 KiB, 9.25 -> 7.75 ms/MB of server CPU on
#: ASCII; 64 -> 128 KiB, 7.4 -> 6.9 (main client) and 8.1 -> 6.6 ms/MB (second client). 128 KiB
#: needs the scheduler's lag-first order: in plain turns, shared sessions' subscribers drifted.
V2_FRAME_BYTES = 128 * 1024


class Transport(Protocol):
    """The socket under a connection (the tornado handler)."""

    def write_frame(self, frame: str | bytes, binary: bool = False) -> Awaitable[None]:
        """Send one frame; the awaitable resolves once it is handed to the OS."""

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the socket."""


class OutputPath:
    """Frames and sends the output of one socket's subscriptions."""

    label: str
    log: logging.Logger

    def __init__(self, router: Router, transport: Transport, version: int) -> None:
        self.router = router
        self.transport = transport
        self.version = version
        self.closed = False
        limits = router.limits
        loop = asyncio.get_running_loop()
        self.scheduler = Scheduler(
            clock=loop.time,
            call_later=loop.call_later,
            send=self._send_output,  # type: ignore[arg-type]
            coalesce_delay=limits.coalesce_delay,
            socket_window=limits.socket_window if version >= 2 else limits.high_watermark,
            # v1 keeps its socket-buffer backpressure as it was
            typing_window=limits.typing_window if version >= 2 else None,
            typing_hold=limits.typing_hold if version >= 2 else 0.0,
            quantum=V2_FRAME_BYTES if version >= 2 else V1_FRAME_BYTES,
        )
        self._window = limits.window if version >= 2 else 2**62
        self._channels: dict[int, Subscriber] = {}
        self._prefixes: dict[Subscriber, str] = {}

    # --- the router's view (router.Client) -------------------------------------------

    def wake(self, sub: Subscriber, live: bool = False) -> None:
        """``sub``'s session has output this socket may not have sent yet (``live``: just read
        from the terminal; otherwise an attach, whose answer must go out first)."""
        if sub not in self.scheduler.streams:
            self.scheduler.add(sub, self._window)
            self._channels[sub.channel] = sub
        session = sub.session
        self.scheduler.notify(
            sub, session.history.end - sub.sent, len(session.subscribers) > 1, live=live
        )

    def backlog(self, sub: Subscriber) -> int:
        """Bytes of ``sub`` not yet credited: unsent plus in flight."""
        stream = self.scheduler.streams.get(sub)
        inflight = stream.inflight if stream is not None else 0
        return sub.session.history.end - sub.sent + inflight

    def delivered(self, sub: Subscriber) -> int:
        """The offset up to which the client surely has ``sub``'s output."""
        stream = self.scheduler.streams.get(sub)
        return sub.sent - (stream.inflight if stream is not None else 0)

    def last_credit(self, sub: Subscriber) -> float:
        """When ``sub``'s client last acknowledged output, or output went in flight after none."""
        stream = self.scheduler.streams.get(sub)
        return stream.last_credit if stream is not None else float("-inf")

    def forget(self, sub: Subscriber) -> None:
        """``sub`` ended: stop scheduling it."""
        self.scheduler.remove(sub)
        if self._channels.get(sub.channel) is sub:
            del self._channels[sub.channel]
        self._prefixes.pop(sub, None)

    def finish(self, sub: Subscriber, msg: dict[str, Any]) -> None:
        """Send all of ``sub``'s remaining output, whatever its credit, then ``msg``."""
        while not self.closed and sub.sent < sub.session.history.end:
            if self._send_output(sub, self.scheduler.quantum) == 0:
                break
        self.send(msg)

    # --- outgoing --------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        """Send a control message."""
        self._write(protocol.encode(msg))

    def _send_output(self, sub: Subscriber, max_bytes: int) -> int:
        """Frame up to ``max_bytes`` of ``sub``'s output from history; return bytes sent."""
        history = sub.session.history
        if sub.sent < history.start:
            self._truncated(sub)
        offset = sub.sent
        replay = offset < sub.replay_until
        if replay:
            stream = self.scheduler.streams.get(sub)
            # Waiting for room for a whole escape sequence helps only while credit is on its
            # way and the frame size is not what limits the frame.
            wait = stream is not None and stream.inflight > 0 and max_bytes < self.scheduler.quantum
            data = next_replay_frame(history, offset, sub.replay_until, max_bytes, can_wait=wait)
        else:
            data = history.read(offset, max_bytes)
        if not data or self.closed:
            return 0
        sub.sent = offset + len(data)
        if self.version >= 2:
            kind = frames.FrameType.REPLAY if replay else frames.FrameType.OUTPUT
            self._write(frames.encode(kind, sub.channel, offset, data), binary=True)
        else:
            prefix = self._prefixes.get(sub)
            if prefix is None:
                prefix = self._prefixes[sub] = protocol.output_prefix(sub.session.name)
            text = data.decode("utf-8", "replace")
            self._write(protocol.encode_output(prefix, text, replay), credit=(sub, len(data)))
        self.router.peak_inflight = max(self.router.peak_inflight, self.scheduler.inflight)
        return len(data)

    def _truncated(self, sub: Subscriber) -> None:
        """History moved past ``sub``: jump to its start (v2 says so, with a preamble)."""
        history = sub.session.history
        sub.sent = history.start
        sub.replay_until = history.end
        self.log.info("termmux: socket %s fell behind session %s", self.label, sub.session.name)
        if self.version >= 2:
            self.send(
                {
                    "type": "session.truncated",
                    "sessionId": sub.session.name,
                    "channel": sub.channel,
                    "offset": sub.sent,
                    "preamble": screen.preamble(history.modes_at(sub.sent)),
                }
            )

    def _write(
        self, frame: str | bytes, binary: bool = False, credit: tuple[Subscriber, int] | None = None
    ) -> None:
        """Hand a frame to tornado; on v1, credit its bytes once the OS has them."""
        if self.closed:
            return
        try:
            written = self.transport.write_frame(frame, binary)
        except WebSocketClosedError:
            self._stop()
            return
        except Exception:
            # Never let a failed write escape into tornado (a silent 1006): say so and close.
            self.log.exception("termmux: socket %s: writing a frame failed", self.label)
            self._stop()
            self.transport.close(CloseCode.INTERNAL_ERROR, "internal server error")
            return
        if credit is not None:
            done = functools.partial(self._written, *credit)
            asyncio.ensure_future(written).add_done_callback(done)
        else:
            asyncio.ensure_future(written).add_done_callback(_quiet)

    def _written(self, sub: Subscriber, n: int, future: asyncio.Future[None]) -> None:
        _quiet(future)
        if self.closed:
            return
        self.scheduler.credit(sub, n)
        if sub.session.subscribers.get(sub.client) is sub:
            self.router.update(sub.session)

    def _stop(self) -> None:
        """Write nothing more (the socket failed or closed); one log line, not one per frame."""
        self.closed = True
        self.scheduler.cancel()


def _quiet(future: asyncio.Future[None]) -> None:
    """Retrieve a write's outcome: a closed socket is handled by ``on_close``."""
    if not future.cancelled():
        future.exception()

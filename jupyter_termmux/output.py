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

from . import frames, messages, policy, protocol, screen
from .policy import SOCKET_BUFFER_CAP, V1_FRAME_BYTES, V2_FRAME_BYTES, VIEW_INTERVAL, VIEW_TAIL
from .protocol import CloseCode
from .replay import next_frame as next_replay_frame
from .replay import skip_point
from .router import Router
from .scheduler import Scheduler
from .session import Subscriber


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
        v2 = version >= 2
        self.scheduler = Scheduler(
            clock=loop.time,
            call_later=loop.call_later,
            send=self._send_output,  # type: ignore[arg-type]
            socket_window=limits.socket_window,
            # v1 keeps its socket-buffer backpressure as it was
            typing_window=policy.TYPING_WINDOW if v2 else None,
            typing_hold=policy.TYPING_HOLD if v2 else 0.0,
            quantum=V2_FRAME_BYTES if v2 else V1_FRAME_BYTES,
        )
        #: v1 has no acknowledgements: its credit is the OS taking the bytes.
        self._window = limits.window if v2 else 2**62
        #: Bytes of replies (every frame but output) handed to tornado, not yet written.
        self.replies = 0
        #: The server closed the socket for cause: its client gets no reservation.
        self.refused = False
        self._channels: dict[int, Subscriber] = {}
        self._prefixes: dict[Subscriber, str] = {}

    # --- the router's view (router.Client) -------------------------------------------

    def wake(self, sub: Subscriber, live: bool = False) -> None:
        """``sub``'s session has output this socket may not have sent yet (``live``: just read
        from the terminal; otherwise an attach, whose answer must go out first)."""
        if sub not in self.scheduler.streams:
            self.scheduler.add(sub, self._window, VIEW_INTERVAL if sub.viewing else 0.0)
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
        if sub.viewing and sub.sent >= sub.replay_until and history.end - sub.sent > VIEW_TAIL:
            # Before truncation: a view far behind (even past history's start) skips ahead to
            # the screen instead of being reset and replayed the whole history.
            self._skip(sub)
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
            self._write(frames.encode(kind, sub.channel, offset, data), True, (sub, len(data)))
        else:
            prefix = self._prefixes.get(sub)
            if prefix is None:
                prefix = self._prefixes[sub] = protocol.output_prefix(sub.session.name)
            text = data.decode("utf-8", "replace")
            self._write(protocol.encode_output(prefix, text, replay), False, (sub, len(data)))
        return len(data)

    def _skip(self, sub: Subscriber) -> None:
        """A view far behind its session skips ahead to the screen's worth of output at the
        end (``policy.VIEW_TAIL``); v2 says where, with the modes there."""
        session = sub.session
        history = session.history
        end, point, preamble = session.skip
        if end != history.end:
            point = skip_point(history, history.end, VIEW_TAIL)
            preamble = "" if point is None else screen.preamble(history.modes_at(point))
            session.skip = (history.end, point, preamble)
        if point is None or point <= sub.sent:
            return
        sub.sent = point
        stream = self.scheduler.streams.get(sub)
        if stream is not None:  # as in _truncated
            stream.pending = history.end - point
        if self.version >= 2:
            self.send(messages.skipped(sub.session.name, sub.channel, point, preamble))

    def _truncated(self, sub: Subscriber) -> None:
        """History moved past ``sub``: jump to its start (v2 says so, with a preamble)."""
        history = sub.session.history
        sub.sent = history.start
        sub.replay_until = history.end
        stream = self.scheduler.streams.get(sub)
        if stream is not None:  # what it lags by now (the caller subtracts what it sends)
            stream.pending = history.end - sub.sent
        self.log.info("termmux: socket %s fell behind session %s", self.label, sub.session.name)
        if self.version >= 2:
            preamble = screen.preamble(history.modes_at(sub.sent))
            self.send(messages.truncated(sub.session.name, sub.channel, sub.sent, preamble))

    def _write(
        self, frame: str | bytes, binary: bool = False, output: tuple[Subscriber, int] | None = None
    ) -> None:
        """Hand a frame to tornado, counting it as unwritten until the OS has it (``output``:
        the subscriber and payload bytes of an output frame, which the scheduler accounts)."""
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
            self.refused = True
            self._stop()
            self.transport.close(CloseCode.INTERNAL_ERROR, "internal server error")
            return
        size = len(frame)
        if output is not None:
            self.scheduler.unwritten += output[1]
        else:
            self.replies += size
            if self.replies > SOCKET_BUFFER_CAP:
                # Replies pile up unread: the client sends requests but does not read.
                self.log.warning("termmux: socket %s does not read; closing it", self.label)
                self.refused = True
                self._stop()
                self.transport.close(CloseCode.POLICY_VIOLATION, "client does not read")
                return
        done = functools.partial(self._written, size, output)
        asyncio.ensure_future(written).add_done_callback(done)

    def _written(
        self, size: int, output: tuple[Subscriber, int] | None, future: asyncio.Future[None]
    ) -> None:
        if not future.cancelled():
            future.exception()  # retrieved: a closed socket is handled by ``on_close``
        if self.closed:
            return
        if output is None:
            self.replies -= size
            return
        sub, n = output
        self.scheduler.written(sub, n, credit=self.version < 2)
        if self.version < 2 and sub.session.subscribers.get(sub.client) is sub:
            self.router.acked(sub.session)

    def _stop(self) -> None:
        """Write nothing more (the socket failed or closed); one log line, not one per frame."""
        self.closed = True
        self.scheduler.cancel()

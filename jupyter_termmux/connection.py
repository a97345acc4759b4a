"""One client socket: dispatches its requests and coalesces, frames and meters its output.

The tornado handler only authenticates and translates; everything a socket *does* is here,
behind a small ``Transport`` interface (write a frame, close), so the logic runs the same
under a real WebSocket in every test.

Output path: terminado reads a PTY chunk and calls ``push_output``. The chunk waits in a
per-session list until the next flush. Output of a session that was idle, and small output
(an echo, a prompt), is flushed on the next loop iteration: no fixed delay. A session that
keeps streaming has its chunks merged for at most ``coalesce_delay`` into one frame, so a
flood costs a few large frames instead of one frame per 4 KB PTY read.
Every queued or in-flight byte is counted by ``FlowControl``, which pauses the feeding PTYs
above the high watermark.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tornado.websocket import WebSocketClosedError

from . import protocol
from .flow import FlowControl
from .protocol import CloseCode, ErrorCode, ProtocolError, Request, utf8_length
from .router import Limits, Router

_labels = itertools.count(1)

#: Output smaller than this (a keystroke's echo, a prompt) is never held back to coalesce.
INTERACTIVE_BYTES = 1024

#: Seconds after input to a session during which its output is never held back to coalesce
#: (an editor or pager redraws more than INTERACTIVE_BYTES in answer to one key).
ANSWER_WINDOW = 0.05


class Transport(Protocol):
    """The socket under a connection (the tornado handler)."""

    def write_frame(self, frame: str) -> Awaitable[None]:
        """Send one text frame; the awaitable resolves once it is handed to the OS."""

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the socket."""


class MuxConnection:
    """The server side of one multiplexed socket."""

    def __init__(
        self, router: Router, transport: Transport, log: logging.Logger, peer: str = ""
    ) -> None:
        self.router = router
        self.transport = transport
        self.log = log
        self.label = f"#{next(_labels)}" + (f"({peer})" if peer else "")
        limits: Limits = router.limits
        self.max_message_size = limits.max_message_size
        self.coalesce_delay = limits.coalesce_delay
        self.flow = FlowControl(
            limits.high_watermark,
            limits.low_watermark,
            pause=lambda: router.congested(self),
            resume=lambda: router.drained(self),
        )
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, list[str]] = {}
        self._pending_size: dict[str, int] = {}
        self._last_output: dict[str, float] = {}
        self._last_input: dict[str, float] = {}
        self._prefixes: dict[str, str] = {}
        self._flush_handle: asyncio.Handle | None = None
        self._flush_is_timer = False
        self._tasks: set[asyncio.Future[Any]] = set()
        self._dispatch: dict[str, Callable[[Request], None]] = {
            "session.attach": self._attach,
            "session.detach": self._detach,
            "terminal.input": self._input,
            "terminal.resize": self._resize,
            "session.create": self._create,
            "session.close": self._close,
            "session.list": self._list,
            "ping": self._ping,
        }
        router.connect(self)

    # --- incoming --------------------------------------------------------------------

    def handle_frame(self, frame: str | bytes) -> None:
        """Parse one frame and act on it; a bad frame is answered with ``error``, never a close."""
        request: Request | None = None
        try:
            request = protocol.parse(frame, self.max_message_size)
            self._dispatch[request.type](request)
        except ProtocolError as e:
            self._refuse(e, request)
        except Exception:
            self.log.exception("termmux: socket %s: error handling a frame", self.label)
            self._refuse(
                ProtocolError(ErrorCode.INTERNAL_ERROR, "internal server error (logged)"), request
            )

    def _refuse(self, error: ProtocolError, request: Request | None) -> None:
        if request is not None:
            error.request = error.request or request.type
            error.request_id = error.request_id if error.request_id is not None else request.id
            error.session_id = error.session_id or request.session_id
        self.log.debug("termmux: socket %s: %s: %s", self.label, error.code.value, error.message)
        self.send(error.to_message())

    def _attach(self, req: Request) -> None:
        sid = _sid(req)
        attached, replay = self.router.attach(self, sid)
        self.send(protocol.reply("session.attached", req.id, sessionId=sid))
        if attached and req.args["replay"] and replay:
            self.send({"type": "terminal.output", "sessionId": sid, "data": replay, "replay": True})

    def _detach(self, req: Request) -> None:
        sid = _sid(req)
        self.router.detach(self, sid)
        self.send(protocol.reply("session.detached", req.id, sessionId=sid))

    def _input(self, req: Request) -> None:
        sub = self.router.subscriber(self, _sid(req))
        self._last_input[sub.session.name] = self._loop.time()
        self.router.write_input(sub, req.args["data"])

    def _resize(self, req: Request) -> None:
        sub = self.router.subscriber(self, _sid(req))
        self.router.resize(sub, req.args["rows"], req.args["cols"])

    def _create(self, req: Request) -> None:
        args = req.args
        sid = self.router.create(req.session_id, args["cwd"], args["rows"], args["cols"])
        self.send(protocol.reply("session.created", req.id, sessionId=sid))

    def _close(self, req: Request) -> None:
        task = asyncio.ensure_future(self._close_session(req))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_session(self, req: Request) -> None:
        sid = _sid(req)
        try:
            await self.router.close(sid)
        except ProtocolError as e:
            self._refuse(e, req)
        except Exception:
            self.log.exception("termmux: closing session %s failed", sid)
            self._refuse(ProtocolError(ErrorCode.INTERNAL_ERROR, "could not close session"), req)
        else:
            self.send(protocol.reply("session.closed", req.id, sessionId=sid))

    def _list(self, req: Request) -> None:
        sessions = self.router.list_sessions(self)
        self.send(protocol.reply("session.list", req.id, sessions=sessions))

    def _ping(self, req: Request) -> None:
        self.send(protocol.reply("pong", req.id))

    # --- outgoing --------------------------------------------------------------------

    @property
    def congested(self) -> bool:
        return self.flow.paused

    @property
    def ready(self) -> bool:
        """Drained to the low watermark: this socket could take more output now."""
        return not self.flow.paused and self.flow.buffered <= self.flow.low

    def push_output(self, session_id: str, text: str) -> None:
        """Queue PTY output for this socket (called by terminado's reader via Subscriber)."""
        size = utf8_length(text)
        chunks = self._pending.get(session_id)
        if chunks is None:
            self._pending[session_id] = [text]
            pending = self._pending_size[session_id] = size
        else:
            chunks.append(text)
            pending = self._pending_size[session_id] = self._pending_size[session_id] + size
        now = self._loop.time()
        woke = now - self._last_output.get(session_id, -1e9) > self.coalesce_delay
        self._last_output[session_id] = now
        self.flow.add(size)
        typed = now - self._last_input.get(session_id, -1e9) < ANSWER_WINDOW
        if woke or typed or pending < INTERACTIVE_BYTES:
            # First output after idle, a keystroke's echo or a full-screen program's answer
            # to a key: send on this loop pass.
            if self._flush_handle is None or self._flush_is_timer:
                self._schedule_flush(0)
        elif self._flush_handle is None:
            # A stream: merge what it prints for up to coalesce_delay into one frame.
            self._schedule_flush(self.coalesce_delay)

    def discard_output(self, session_id: str) -> None:
        """Forget output queued for a session this socket detached from."""
        if self._pending.pop(session_id, None) is not None:
            self.flow.remove(self._pending_size.pop(session_id))
        self._last_output.pop(session_id, None)
        self._last_input.pop(session_id, None)
        self._prefixes.pop(session_id, None)

    def send(self, msg: dict[str, Any]) -> None:
        """Send a control message after all output queued before it."""
        self._flush()
        self._write(protocol.encode(msg))

    def _schedule_flush(self, delay: float) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        if delay:
            self._flush_handle = self._loop.call_later(delay, self._flush)
            self._flush_is_timer = True
        else:
            self._flush_handle = self._loop.call_soon(self._flush)
            self._flush_is_timer = False

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        sizes, self._pending_size = self._pending_size, {}
        # Smallest first: an echo is not queued behind another session's flood.
        order = sorted(pending, key=sizes.__getitem__) if len(pending) > 1 else pending
        for sid in order:
            chunks = pending[sid]
            data = chunks[0] if len(chunks) == 1 else "".join(chunks)
            prefix = self._prefixes.get(sid)
            if prefix is None:
                prefix = self._prefixes[sid] = protocol.output_prefix(sid)
            self._write(protocol.encode_output(prefix, data), sizes[sid])

    def _write(self, frame: str, was_queued: int = 0) -> None:
        """Hand a frame to tornado, moving its bytes from 'queued' to 'in flight'."""
        size = utf8_length(frame)
        # One step, so the batch is never counted as both queued text and a frame.
        # (A frame is never shorter than its data: it adds the envelope and escapes.)
        self.flow.add(size - was_queued)
        if self.closed:
            self.flow.remove(size)
            return
        try:
            written = self.transport.write_frame(frame)
        except WebSocketClosedError:
            self.flow.remove(size)
            return
        except Exception:
            # Never let a failed write escape into tornado (a silent 1006): say so and close.
            self.flow.remove(size)
            self.log.exception("termmux: socket %s: writing a frame failed", self.label)
            self.close(CloseCode.INTERNAL_ERROR, "internal server error")
            return
        asyncio.ensure_future(written).add_done_callback(functools.partial(self._written, size))

    def _written(self, size: int, future: asyncio.Future[None]) -> None:
        self.flow.remove(size)
        if not future.cancelled():
            future.exception()  # a closed socket is handled by on_close; don't log it twice

    # --- end -------------------------------------------------------------------------

    def close(self, code: int, reason: str) -> None:
        """Close the socket from the server side (``on_close`` then calls ``disconnect``)."""
        self.transport.close(code, reason)

    def disconnect(self) -> None:
        """The socket closed: leave every session (they keep running) and drop queued output."""
        if self.closed:
            return
        self.closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.router.disconnect(self)
        for sid in list(self._pending):
            self.discard_output(sid)
        for task in self._tasks:
            task.cancel()


def _sid(req: Request) -> str:
    assert req.session_id is not None  # guaranteed by the message table
    return req.session_id

"""One client socket: dispatches its requests and frames its output.

The tornado handler only authenticates and translates; what a socket *does* is here, behind a
small ``Transport`` interface (write a frame, close). When output goes out is decided by the
socket's ``Scheduler`` (pure, ``scheduler.py``); who is attached to what by the ``Router``;
the terminals are reached through ``terminals.py``.

Protocol v1 sends output as JSON ``terminal.output`` text frames and counts a frame as credited
once tornado handed it to the OS; v2 sends binary frames with offsets (``frames.py``) and counts
it credited when the client acknowledges it (``ack``).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tornado.websocket import WebSocketClosedError

from . import __version__, frames, protocol, screen
from .protocol import CloseCode, ErrorCode, ProtocolError, Request
from .router import Router, Subscriber
from .scheduler import Scheduler
from .terminals import TerminalError

_labels = itertools.count(1)

#: How a terminal failure reads on the wire.
_TERMINAL_ERRORS = {
    "unknown": ErrorCode.UNKNOWN_SESSION,
    "exists": ErrorCode.SESSION_EXISTS,
    "limit": ErrorCode.TOO_MANY_SESSIONS,
    "cwd": ErrorCode.INVALID_FIELD,
    "create": ErrorCode.CREATE_FAILED,
    "overflow": ErrorCode.INPUT_OVERFLOW,
}

#: ``session.close`` tasks: they finish even if the socket that asked goes away.
_closing: set[asyncio.Task[Any]] = set()


class Transport(Protocol):
    """The socket under a connection (the tornado handler)."""

    def write_frame(self, frame: str | bytes, binary: bool = False) -> Awaitable[None]:
        """Send one frame; the awaitable resolves once it is handed to the OS."""

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the socket."""


class MuxConnection:
    """The server side of one multiplexed socket."""

    def __init__(
        self,
        router: Router,
        transport: Transport,
        log: logging.Logger,
        version: int = 1,
        peer: str = "",
    ) -> None:
        self.router = router
        self.transport = transport
        self.log = log
        self.version = version
        self.label = f"#{next(_labels)}" + (f"({peer})" if peer else "")
        limits = router.limits
        self.max_message_size = limits.max_message_size
        self.closed = False
        self._disconnected = False
        self._loop = asyncio.get_running_loop()
        self.scheduler = Scheduler(
            clock=self._loop.time,
            call_later=self._loop.call_later,
            send=self._send_output,  # type: ignore[arg-type]
            coalesce_delay=limits.coalesce_delay,
            socket_window=limits.socket_window if version >= 2 else limits.high_watermark,
        )
        self._window = limits.window if version >= 2 else 2**62
        self._channels: dict[int, Subscriber] = {}
        self._prefixes: dict[Subscriber, str] = {}
        self._dispatch: dict[str, Callable[[Request], None]] = {
            "session.attach": self._attach,
            "session.detach": self._detach,
            "terminal.input": self._input,
            "terminal.resize": self._resize,
            "session.create": self._create,
            "session.close": self._close,
            "session.list": self._list,
            "ping": self._ping,
            "ack": self._ack,
        }
        router.connect(self)
        if version >= 2:
            self.send(protocol.hello(__version__, self._limits()))

    def _limits(self) -> dict[str, Any]:
        limits = self.router.limits
        return {
            "historyLimit": limits.history_limit,
            "maxMessageSize": limits.max_message_size,
            "maxSessionsPerSocket": limits.max_sessions_per_socket,
            "window": limits.window,
            "socketWindow": limits.socket_window,
            "ackBytes": limits.ack_bytes,
            "resumeHold": limits.resume_hold,
        }

    # --- incoming --------------------------------------------------------------------

    def handle_frame(self, frame: str | bytes) -> None:
        """Parse one frame and act on it; a bad frame is answered with ``error``, never a close."""
        request: Request | None = None
        try:
            request = protocol.parse(frame, self.max_message_size, self.version)
            self._dispatch[request.type](request)
        except ProtocolError as e:
            self._refuse(e, request)
        except TerminalError as e:
            self._refuse(ProtocolError(_TERMINAL_ERRORS[e.kind], str(e)), request)
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

    def _subscriber(self, req: Request) -> Subscriber:
        sid = _sid(req)
        sub = self.router.subscriber(self, sid)
        if sub is None:
            raise ProtocolError(ErrorCode.NOT_ATTACHED, f"session {sid!r} is not attached")
        return sub

    def _attach(self, req: Request) -> None:
        sid = _sid(req)
        old = self.router.subscriber(self, sid)
        if old is not None and self.version < 2:
            # v1: attaching twice is harmless, no second replay.
            self.send(protocol.reply("session.attached", req.id, sessionId=sid))
            return
        if old is None and len(self._channels) >= self.router.limits.max_sessions_per_socket:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS,
                f"a socket may attach at most {self.router.limits.max_sessions_per_socket} sessions",
            )
        args = req.args
        result = self.router.attach(
            self, sid, replay=args["replay"], since=args["since"], incarnation=args["incarnation"]
        )
        if self.version < 2:
            self.send(protocol.reply("session.attached", req.id, sessionId=sid))
            return
        fields: dict[str, Any] = {
            "sessionId": sid,
            "channel": result.sub.channel,
            "incarnation": result.sub.session.pty.incarnation,
            "offset": result.offset,
            "truncated": result.truncated,
        }
        if result.preamble is not None:
            fields["preamble"] = result.preamble
        self.send(protocol.reply("session.attached", req.id, **fields))

    def _detach(self, req: Request) -> None:
        sid = _sid(req)
        self.router.detach(self, sid)
        self.send(protocol.reply("session.detached", req.id, sessionId=sid))

    def _input(self, req: Request) -> None:
        sub = self._subscriber(req)
        self.scheduler.input(sub)
        sub.session.pty.write(req.args["data"].encode("utf-8"))

    def _resize(self, req: Request) -> None:
        sub = self._subscriber(req)
        sub.size = (req.args["rows"], req.args["cols"])
        sub.session.pty.resize_to_smallest()

    def _create(self, req: Request) -> None:
        args = req.args
        sid = self.router.terminals.create(req.session_id, args["cwd"], args["rows"], args["cols"])
        self.send(protocol.reply("session.created", req.id, sessionId=sid))

    def _close(self, req: Request) -> None:
        task = asyncio.ensure_future(self._close_session(req))
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    async def _close_session(self, req: Request) -> None:
        sid = _sid(req)
        try:
            await self.router.terminals.terminate(sid)
        except TerminalError as e:
            self._refuse(ProtocolError(_TERMINAL_ERRORS[e.kind], str(e)), req)
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

    def _ack(self, req: Request) -> None:
        sub = self._channels.get(req.args["channel"])
        if sub is None:
            return  # a channel released meanwhile: its credit went with it
        self.scheduler.credit(sub, req.args["bytes"])
        self.router.update(sub.session)

    # --- the router's view (router.Client) -------------------------------------------

    def wake(self, sub: Subscriber) -> None:
        """``sub``'s session has output this socket may not have sent yet."""
        if sub not in self.scheduler.streams:
            self.scheduler.add(sub, self._window)
            self._channels[sub.channel] = sub
        self.scheduler.notify(sub, sub.session.history.end - sub.sent)

    def backlog(self, sub: Subscriber) -> int:
        """Bytes of ``sub`` not yet credited: unsent plus in flight."""
        stream = self.scheduler.streams.get(sub)
        inflight = stream.inflight if stream is not None else 0
        return sub.session.history.end - sub.sent + inflight

    def delivered(self, sub: Subscriber) -> int:
        """The offset up to which the client surely has ``sub``'s output."""
        stream = self.scheduler.streams.get(sub)
        return sub.sent - (stream.inflight if stream is not None else 0)

    def forget(self, sub: Subscriber) -> None:
        """``sub`` ended: stop scheduling it."""
        self.scheduler.remove(sub)
        if self._channels.get(sub.channel) is sub:
            del self._channels[sub.channel]
        self._prefixes.pop(sub, None)

    def finish(self, sub: Subscriber, msg: dict[str, Any]) -> None:
        """Send all of ``sub``'s remaining output, whatever its credit, then ``msg``."""
        while not self.closed and sub.sent < sub.session.history.end:
            if self._send_output(sub, 1 << 20) == 0:
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
            max_bytes = min(max_bytes, sub.replay_until - offset)
        data = history.read(offset, max_bytes)
        if not data or self.closed:
            return 0
        if replay:
            data = screen.scrub_queries(data)
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
        if sub.session.subscribers.get(self) is sub:
            self.router.update(sub.session)

    # --- end -------------------------------------------------------------------------

    def close(self, code: int, reason: str) -> None:
        """Close the socket from the server side (``on_close`` then calls ``disconnect``)."""
        self.transport.close(code, reason)

    def _stop(self) -> None:
        """Write nothing more (the socket failed or closed); one log line, not one per frame."""
        self.closed = True
        self.scheduler.cancel()

    def disconnect(self) -> None:
        """The socket closed: leave every session (they keep running)."""
        if self._disconnected:
            return
        self._disconnected = True
        self._stop()
        self.router.disconnect(self)


def _quiet(future: asyncio.Future[None]) -> None:
    """Retrieve a write's outcome: a closed socket is handled by ``on_close``."""
    if not future.cancelled():
        future.exception()


def _sid(req: Request) -> str:
    assert req.session_id is not None  # guaranteed by the message table
    return req.session_id

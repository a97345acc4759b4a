"""One client socket: dispatches its requests.

The tornado handler only authenticates and translates; what a socket *does* is here: the
request side (this module) on top of its output side (``output.py``: scheduler, channels,
frames), behind a small ``Transport`` interface (write a frame, close). Who is attached to what
is the ``Router``'s; the terminals are reached through ``terminals.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

from . import __version__, access, messages, protocol
from .access import Access
from .output import OutputPath, Transport
from .policy import V2_FRAME_BYTES
from .protocol import CloseCode, ErrorCode, ProtocolError, Request
from .router import Router
from .session import Subscriber
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


class MuxConnection(OutputPath):
    """The server side of one multiplexed socket."""

    def __init__(
        self,
        router: Router,
        transport: Transport,
        log: logging.Logger,
        version: int = 1,
        peer: str = "",
        grants: Access = access.EVERYTHING,
        allow_viewers: bool = False,
    ) -> None:
        super().__init__(router, transport, version)
        self.log = log
        #: What this socket's user may do on terminals (asked at the upgrade, ``access.py``).
        self.access = grants
        self.label = f"#{next(_labels)}" + (f"({peer})" if peer else "")
        self.max_message_size = router.limits.max_message_size
        self._disconnected = False
        self._dispatch: dict[str, Callable[[Request], None]] = {
            "session.attach": self._attach,
            "session.detach": self._detach,
            "terminal.input": self._input,
            "terminal.resize": self._resize,
            "session.create": self._create,
            "session.close": self._close,
            "session.list": self._list,
            "profile.list": self._profiles,
            "ping": self._ping,
            "ack": self._ack,
        }
        router.connect(self)
        if version >= 2:
            granted = [a for a in access.ACTIONS if grants.may(a)]
            self.send(messages.hello(__version__, self._limits(), granted, allow_viewers))

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
            "frameBytes": V2_FRAME_BYTES,
        }

    # --- incoming --------------------------------------------------------------------

    def handle_frame(self, frame: str | bytes) -> None:
        """Parse one frame and act on it; a bad frame is answered with ``error``, never a close."""
        request: Request | None = None
        try:
            request = protocol.parse(frame, self.max_message_size, self.version)
            self._authorize(request)
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

    def _authorize(self, req: Request) -> None:
        """Refuse a request the user's permissions on terminals do not cover."""
        action = access.needs(req)
        if action is not None and not self.access.may(action):
            what = f"{req.type} (mode {req.args['mode']!r})" if "mode" in req.args else req.type
            raise ProtocolError(
                ErrorCode.FORBIDDEN, f"{what} needs {action!r} permission on {access.RESOURCE}"
            )

    def _subscriber(self, req: Request) -> Subscriber:
        sid = _sid(req)
        sub = self.router.subscriber(self, sid)
        if sub is None:
            raise ProtocolError(ErrorCode.NOT_ATTACHED, f"session {sid!r} is not attached")
        return sub

    def _writer(self, req: Request) -> Subscriber:
        """The subscription input and resize go through; a view is read-only."""
        sub = self._subscriber(req)
        if sub.viewing:
            raise ProtocolError(
                ErrorCode.READ_ONLY,
                f"session {sub.session.name!r} is attached in view mode: {req.type} ignored",
            )
        return sub

    def _attach(self, req: Request) -> None:
        sid = _sid(req)
        mode = req.args["mode"]
        old = self.router.subscriber(self, sid)
        if old is not None and self.version < 2:
            # v1: attaching twice is harmless, no second replay; it may change the mode.
            self.router.set_mode(old, mode)
            self.send(messages.attached(sid, old.session.pty.size, req.id))
            return
        if old is None and len(self._channels) >= self.router.limits.max_sessions_per_socket:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS,
                f"a socket may attach at most {self.router.limits.max_sessions_per_socket} sessions",
            )
        args = req.args
        result = self.router.attach(
            self,
            sid,
            replay=args["replay"],
            since=args["since"],
            incarnation=args["incarnation"],
            resume=args["resume"],
            mode=mode,
        )
        sub = result.sub
        size = sub.session.pty.size
        if self.version < 2:
            self.send(messages.attached(sid, size, req.id))
            if args["replay"] and result.preamble:
                # v1 has no preamble field: the modes the replay starts in (alternate screen,
                # mouse...) go ahead of it as replayed output, as v2 clients write theirs.
                self.send(messages.output(sid, result.preamble, replay=True))
            return
        self.send(
            messages.attached(
                sid,
                size,
                req.id,
                channel=sub.channel,
                incarnation=sub.session.pty.incarnation,
                offset=result.offset,
                truncated=result.truncated,
                resume=sub.token,
                preamble=result.preamble,
            )
        )

    def _detach(self, req: Request) -> None:
        sid = _sid(req)
        self.router.detach(self, sid)
        self.send(messages.detached(sid, req.id))

    def _input(self, req: Request) -> None:
        sub = self._writer(req)
        self.scheduler.input(sub)
        pty = sub.session.pty
        pty.typed(sub)  # the latest writer sets the size, before its input arrives
        pty.write(req.args["data"].encode("utf-8"))

    def _resize(self, req: Request) -> None:
        sub = self._writer(req)
        sub.session.pty.resize(sub, req.args["rows"], req.args["cols"])

    def _create(self, req: Request) -> None:
        args = req.args
        profile = None
        if args["profile"] is not None:
            profile = self.router.profiles.get(args["profile"])
            if profile is None:
                names = ", ".join(sorted(self.router.profiles))
                raise ProtocolError(
                    ErrorCode.INVALID_FIELD,
                    f"field 'profile': no profile {args['profile']!r} (profiles: {names})",
                )
        sid = self.router.terminals.create(
            req.session_id, args["cwd"], args["rows"], args["cols"], profile
        )
        self.send(messages.created(sid, req.id))

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
            self.send(messages.closed(sid, req.id))

    def _list(self, req: Request) -> None:
        sessions = self.router.list_sessions(self)
        self.send(messages.session_list(sessions, req.id))

    def _profiles(self, req: Request) -> None:
        profiles = [p.describe() for p in self.router.profiles.values()]
        self.send(messages.profile_list(profiles, req.id))

    def _ping(self, req: Request) -> None:
        self.send(messages.pong(req.id))

    def _ack(self, req: Request) -> None:
        sub = self._channels.get(req.args["channel"])
        if sub is None:
            return  # a channel released meanwhile: its credit went with it
        self.scheduler.credit(sub, req.args["bytes"])
        self.router.acked(sub.session)

    # --- end -------------------------------------------------------------------------

    def close(self, code: int, reason: str) -> None:
        """Close the socket from the server side (``on_close`` then calls ``disconnect``)."""
        self.transport.close(code, reason)

    def disconnect(self, close_code: int | None = None) -> None:
        """The socket closed: leave every session (they keep running). A v2 client whose
        connection dropped may come back: its sessions keep a reservation. One that closed on
        purpose (1000) or left the page (1001: an unload or reload, which attaches afresh)
        will not resume, so it holds nothing; nor does one the server closed for cause."""
        if self._disconnected:
            return
        self._disconnected = True
        self._stop()
        goodbye = close_code in (CloseCode.NORMAL, CloseCode.GOING_AWAY)
        self.router.disconnect(self, may_resume=not (goodbye or self.refused))


def _sid(req: Request) -> str:
    assert req.session_id is not None  # guaranteed by the message table
    return req.session_id

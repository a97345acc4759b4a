"""Who is attached to what: the one owner of the subscription maps.

A *session* is a terminal of the server's terminal manager (terminado's ``NamedTermManager``
as wrapped by jupyter_server_terminals). The router adds one ``Subscriber`` per attached
socket to terminado's ``PtyWithClients.clients``, so terminado's own PTY reader fans output
out to it, and terminado's ``resize_to_smallest`` sizes the PTY from it. What terminado
lacks is added here: a byte-bounded history, and pausing a PTY's reads while a socket it
feeds is congested (see ``flow.py``).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tornado.ioloop import IOLoop

from .history import History
from .protocol import ErrorCode, ProtocolError

if TYPE_CHECKING:
    from terminado.management import PtyWithClients


#: Seconds between checks that a paused session's program is still alive.
EXIT_CHECK_INTERVAL = 1.0

#: Input bytes a session may have queued while its program does not read them.
INPUT_QUEUE_LIMIT = 1024 * 1024


def _write_nonblocking(fd: int, data: bytes | bytearray) -> int:
    """Write what the PTY takes now; return the byte count (0 when it is full).

    O_NONBLOCK is set only around this call: the flag belongs to the open file shared with
    terminado's reader, which runs on this same thread, so it never sees the flag.
    """
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        return os.write(fd, data)
    except BlockingIOError:
        return 0
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)


@dataclass
class Limits:
    """The configurable limits (traitlets on ``TermMuxApp``), as plain values."""

    history_limit: int = 100_000
    max_message_size: int = 1024 * 1024
    max_sessions_per_socket: int = 128
    high_watermark: int = 1024 * 1024
    low_watermark: int = 256 * 1024
    coalesce_delay: float = 0.004
    slow_subscriber_timeout: float = 5.0


class Client(Protocol):
    """What the router needs from a socket's connection (``connection.MuxConnection``)."""

    label: str

    @property
    def congested(self) -> bool: ...

    @property
    def ready(self) -> bool: ...

    def push_output(self, session_id: str, text: str) -> None: ...

    def discard_output(self, session_id: str) -> None: ...

    def send(self, msg: dict[str, Any]) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class Subscriber:
    """One socket's subscription to one session, living in ``PtyWithClients.clients``.

    terminado calls ``on_pty_read``/``on_pty_died`` and reads ``size`` as it does for its
    own ``TermSocket``.
    """

    __slots__ = ("client", "session", "size")

    def __init__(self, client: Client, session: Session) -> None:
        self.client = client
        self.session = session
        self.size: tuple[int | None, int | None] = (None, None)

    def on_pty_read(self, text: str) -> None:
        self.client.push_output(self.session.name, text)

    def on_pty_died(self) -> None:
        self.session.router.session_died(self.session)


class Session:
    """Routing state of one terminal while at least one socket is attached to it."""

    def __init__(self, router: Router, name: str, term: PtyWithClients) -> None:
        self.router = router
        self.name = name
        self.term = term
        self.subscribers: dict[Client, Subscriber] = {}
        #: Congested sockets that hold this session's PTY reads paused.
        self.holders: set[Client] = set()
        self.reading = True
        self.dead = False
        self.exited: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._slow_timer: asyncio.TimerHandle | None = None
        self._exit_check: asyncio.TimerHandle | None = None
        self._input = bytearray()  # input not yet written to the PTY
        self._writer_fd: int | None = None  # set while waiting for the PTY to be writable

    def write_input(self, data: str) -> None:
        """Write input to the PTY without ever blocking; what does not fit waits, bounded.

        terminado writes on a shared thread with a blocking write: a program that does not
        read its input (it may be blocked on output we paused) stalls every terminal's input,
        and the blocked write holds ptyprocess's file lock so closing that PTY deadlocks the
        server. Here the write is non-blocking on the event loop and the rest is retried
        when the PTY is writable; keystrokes stay in order.
        """
        raw = data.encode("utf-8")  # lone surrogates were refused by the protocol
        if len(self._input) + len(raw) > INPUT_QUEUE_LIMIT:
            raise ProtocolError(
                ErrorCode.INPUT_OVERFLOW,
                f"session {self.name!r} is not reading its input ({len(self._input)} bytes "
                "queued); this input was not written",
                session_id=self.name,
            )
        self._input += raw
        if self._writer_fd is None:
            self._write_input()

    def _write_input(self) -> None:
        fd = self.term.ptyproc.fd
        if self.dead or fd < 0:
            self.close_input()
            return
        try:
            written = _write_nonblocking(fd, self._input)
        except OSError as e:  # the PTY closed under us
            self.router.log.warning("termmux: input to session %s failed: %s", self.name, e)
            self.close_input()
            return
        del self._input[:written]
        loop = asyncio.get_running_loop()
        if self._input and self._writer_fd is None:
            loop.add_writer(fd, self._write_input)
            self._writer_fd = fd
        elif not self._input and self._writer_fd is not None:
            loop.remove_writer(self._writer_fd)
            self._writer_fd = None

    def close_input(self) -> None:
        """Drop input not yet written and stop waiting for the PTY to take it."""
        self._input.clear()
        if self._writer_fd is not None:
            # Safe after terminado closed the fd: the selector forgets a closed fd quietly.
            asyncio.get_running_loop().remove_writer(self._writer_fd)
            self._writer_fd = None

    def cancel_timers(self) -> None:
        """Stop the slow-subscriber and exit-check timers (server shutdown)."""
        self.cancel_slow_timer()
        self._cancel_exit_check()

    def _cancel_exit_check(self) -> None:
        if self._exit_check is not None:
            self._exit_check.cancel()
            self._exit_check = None

    def unpause(self) -> None:
        """Read the PTY again whoever holds it (to its end, to close it, or when forgotten)."""
        self.holders.clear()
        self.cancel_slow_timer()
        self.set_reading(True)

    @property
    def history(self) -> History:
        buffer = self.term.read_buffer
        assert isinstance(buffer, History)
        return buffer

    def set_reading(self, on: bool) -> None:
        """Start or stop reading the PTY; a paused program blocks on its own output."""
        if on == self.reading:
            return
        self.reading = on
        self._cancel_exit_check()
        fd = self.term.ptyproc.fd
        if self.dead or self.router.terminal_manager.ptys_by_fd.get(fd) is not self.term:
            return
        IOLoop.current().update_handler(fd, IOLoop.READ if on else 0)
        self.router.log.debug(
            "termmux: session %s %s", self.name, "resumed" if on else "paused by a slow socket"
        )
        if not on:
            self._schedule_exit_check()

    def _schedule_exit_check(self) -> None:
        loop = asyncio.get_running_loop()
        self._exit_check = loop.call_later(EXIT_CHECK_INTERVAL, self._check_exit)

    def _check_exit(self) -> None:
        """A paused PTY never reports its EOF: if its program ended, read it to the end.

        Otherwise a terminal ended by DELETE /api/terminals/{name} or by itself would linger
        in the terminal list while a stalled socket holds it. What is left to read is at most
        the kernel's PTY buffer, so resuming past the watermark stays bounded.
        """
        self._exit_check = None
        if self.reading or self.dead:
            return
        if self.term.ptyproc.isalive():
            self._schedule_exit_check()
            return
        self.router.log.info("termmux: paused session %s ended; reading its last output", self.name)
        self.unpause()

    def hold(self, client: Client) -> None:
        """``client`` is congested: pause the PTY until every holder drains."""
        self.holders.add(client)
        self.set_reading(False)
        self.watch_for_slow()

    def release(self, client: Client) -> None:
        """``client`` drained (or left): resume the PTY if nobody else holds it."""
        self.holders.discard(client)
        if not self.holders:
            self.cancel_slow_timer()
            self.set_reading(True)
        else:
            # The client that drained is ready now: the ones still holding may be slow.
            self.watch_for_slow()

    def watch_for_slow(self) -> None:
        """While congested sockets hold the session, check every timeout for slow ones."""
        if self.holders and self._slow_timer is None:
            loop = asyncio.get_running_loop()
            self._slow_timer = loop.call_later(
                self.router.limits.slow_subscriber_timeout, self._detach_slow
            )

    def cancel_slow_timer(self) -> None:
        if self._slow_timer is not None:
            self._slow_timer.cancel()
            self._slow_timer = None

    def _has_ready_client(self) -> bool:
        """Whether a client of the PTY could take more output now.

        A termmux socket is ready once it drained to its low watermark (one that merely has
        not reached the high mark may be stalled too); a classic terminal socket of
        JupyterLab's own terminal has no accounting and counts as ready.
        """
        if len(self.term.clients) > len(self.subscribers):
            return True
        return any(c.ready for c in self.subscribers if c not in self.holders)

    def _detach_slow(self) -> None:
        """Policy: a socket that stalls a shared session too long is detached from it.

        The ready clients then get full speed again; the slow socket is told with
        ``session.detached`` (``reason: "slow"``) after the output it already has queued,
        and may attach again (with replay) once it keeps up.
        """
        self._slow_timer = None
        if not self.holders:
            return
        if not self._has_ready_client():
            self.watch_for_slow()  # everyone is slow; look again later
            return
        for client in list(self.holders):
            if client in self.subscribers:
                self.router.log.warning(
                    "termmux: detaching slow socket %s from session %s after %.1fs",
                    client.label,
                    self.name,
                    self.router.limits.slow_subscriber_timeout,
                )
                # Sent first: it flushes the output already queued for the client.
                client.send({"type": "session.detached", "sessionId": self.name, "reason": "slow"})
                self.router.detach(client, self.name)


class Router:
    """Owns every subscription map: sessions to sockets and sockets to sessions."""

    def __init__(self, settings: dict[str, Any], limits: Limits, log: logging.Logger) -> None:
        # The tornado application's settings, read lazily: jupyter_server_terminals may
        # put its terminal manager there after this extension is loaded.
        self._settings = settings
        self.limits = limits
        self.log = log
        self.sessions: dict[str, Session] = {}
        self._attached: dict[Client, set[str]] = {}
        self._peak_closed = 0

    # --- terminals -------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether the server has terminals (``ServerApp.terminals_enabled`` and terminado)."""
        return bool(self._settings.get("terminals_available")) and (
            self._settings.get("terminal_manager") is not None
        )

    @property
    def terminal_manager(self) -> Any:
        return self._settings["terminal_manager"]

    def _terminal(self, name: str) -> PtyWithClients:
        term = self.terminal_manager.terminals.get(name)
        if term is None:
            raise ProtocolError(ErrorCode.UNKNOWN_SESSION, f"no session {name!r}", session_id=name)
        return term  # type: ignore[no-any-return]

    def _adopt_history(self, term: PtyWithClients) -> None:
        """Swap terminado's chunk-counted read_buffer for a byte-bounded History."""
        if not isinstance(term.read_buffer, History):
            term.read_buffer = History(self.limits.history_limit, term.read_buffer)  # type: ignore[assignment]

    # --- sockets ---------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every timer and input thread (the sockets are being closed)."""
        for session in self.sessions.values():
            session.cancel_timers()
            session.close_input()

    def clients(self) -> list[Client]:
        """Every connected socket."""
        return list(self._attached)

    def connect(self, client: Client) -> None:
        """Register a new socket."""
        self._attached[client] = set()
        self.log.info(
            "termmux: socket %s connected (%d sockets)", client.label, len(self._attached)
        )

    def disconnect(self, client: Client) -> None:
        """Remove a socket from every subscription; its sessions keep running."""
        names = self._attached.get(client)
        if names is None:
            return
        for name in list(names):
            self.detach(client, name)
        del self._attached[client]
        peak = getattr(getattr(client, "flow", None), "peak", 0)
        self._peak_closed = max(self._peak_closed, peak)
        self.log.info(
            "termmux: socket %s closed, detached from %d sessions (%d sockets left)",
            client.label,
            len(names),
            len(self._attached),
        )

    def congested(self, client: Client) -> None:
        """``client`` passed its high watermark: pause the sessions feeding it."""
        for name in self._attached.get(client, ()):
            self.sessions[name].hold(client)

    def drained(self, client: Client) -> None:
        """``client`` fell to its low watermark: resume what only it held."""
        for name in self._attached.get(client, ()):
            self.sessions[name].release(client)

    # --- subscriptions ---------------------------------------------------------------

    def subscriber(self, client: Client, name: str) -> Subscriber:
        """The client's subscription to ``name``, or a ``not-attached`` error."""
        session = self.sessions.get(name)
        sub = session.subscribers.get(client) if session is not None else None
        if sub is None:
            raise ProtocolError(
                ErrorCode.NOT_ATTACHED, f"session {name!r} is not attached", session_id=name
            )
        return sub

    def attach(self, client: Client, name: str) -> tuple[bool, str]:
        """Subscribe ``client`` to ``name``; return (newly attached, history to replay)."""
        term = self._terminal(name)
        attached = self._attached[client]
        session = self.sessions.get(name)
        if session is not None and session.term is not term:
            # The PTY behind this name ended unnoticed and the name was reused.
            self.session_died(session)
            session = None
        if session is not None and client in session.subscribers:
            return False, ""
        if len(attached) >= self.limits.max_sessions_per_socket:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS,
                f"a socket may attach at most {self.limits.max_sessions_per_socket} sessions",
                session_id=name,
            )
        if session is None:
            self._adopt_history(term)
            session = self.sessions[name] = Session(self, name, term)
        sub = Subscriber(client, session)
        session.subscribers[client] = sub
        # First in line: terminado's fan-out loop stops at the first client that raises (a
        # classic terminal socket that is closing does), and ours never raise.
        term.clients.insert(0, sub)
        attached.add(name)
        if client.congested:
            session.hold(client)
        session.watch_for_slow()
        self.log.info(
            "termmux: socket %s attached to session %s (%d subscribers)",
            client.label,
            name,
            len(session.subscribers),
        )
        return True, session.history.text()

    def detach(self, client: Client, name: str) -> bool:
        """Unsubscribe ``client`` from ``name`` at once; False if it was not attached."""
        session = self.sessions.get(name)
        if session is None:
            return False
        sub = session.subscribers.pop(client, None)
        if sub is None:
            return False
        self._attached[client].discard(name)
        client.discard_output(name)
        if not session.dead:
            session.term.clients.remove(sub)
        session.release(client)
        if not session.subscribers:
            self._forget(session)
        elif not session.dead:
            session.term.resize_to_smallest()
        self.log.info(
            "termmux: socket %s detached from session %s (%d subscribers left)",
            client.label,
            name,
            len(session.subscribers),
        )
        return True

    def _forget(self, session: Session) -> None:
        session.unpause()
        session.close_input()
        if not session.exited.done():
            # Nobody is attached any more to be told; a pending session.close must not wait.
            session.exited.set_result(None)
        if self.sessions.get(session.name) is session:
            del self.sessions[session.name]

    def session_died(self, session: Session) -> None:
        """The PTY ended: tell every attached socket and drop the subscriptions."""
        if session.dead:
            return  # terminado calls on_pty_died once per subscriber
        session.dead = True
        exit_code = session.term.ptyproc.exitstatus
        subscribers = list(session.subscribers)
        for client in subscribers:
            client.send(
                {"type": "session.exited", "sessionId": session.name, "exitCode": exit_code}
            )
            client.discard_output(session.name)
            session.subscribers.pop(client, None)
            self._attached[client].discard(session.name)
        if not session.exited.done():
            session.exited.set_result(exit_code)
        self._forget(session)
        # terminado is iterating term.clients right now: leave the dead PTY's list alone.
        self.log.info(
            "termmux: session %s exited (code %s), dropped %d subscribers",
            session.name,
            exit_code,
            len(subscribers),
        )

    # --- terminal operations ---------------------------------------------------------

    def write_input(self, sub: Subscriber, data: str) -> None:
        """Write to the PTY off the event loop, in order; update the culler's activity time."""
        term = sub.session.term
        now = datetime.now(timezone.utc)
        term.last_activity = now  # type: ignore[attr-defined]  # read by the culler
        self._settings["terminal_last_activity"] = now
        sub.session.write_input(data)

    def resize(self, sub: Subscriber, rows: int, cols: int) -> None:
        """Set one socket's size; the PTY takes the smallest of its clients, as terminado does."""
        sub.size = (rows, cols)
        sub.session.term.resize_to_smallest()

    def create(
        self,
        name: str | None,
        cwd: str | None,
        rows: int | None = None,
        cols: int | None = None,
    ) -> str:
        """Start a terminal through the terminal manager (so it is a server terminal).

        With ``rows`` and ``cols`` the program starts at the client's size, so its first
        screen is not redrawn by the client's first resize.
        """
        manager = self.terminal_manager
        if name is not None and name in manager.terminals:
            raise ProtocolError(
                ErrorCode.SESSION_EXISTS, f"session {name!r} already exists", session_id=name
            )
        root = Path(self._settings.get("server_root_dir") or os.getcwd()).expanduser()
        path = root
        if cwd is not None:
            path = Path(cwd).expanduser()
            if not path.is_absolute():
                path = root / path
            if not path.is_dir():
                raise ProtocolError(
                    ErrorCode.INVALID_FIELD, f"field 'cwd': {cwd!r} is not a directory"
                )
        kwargs: dict[str, Any] = {"cwd": str(path.resolve())}
        if name is not None:
            kwargs["name"] = name
        if rows and cols:
            kwargs.update(height=rows, width=cols)  # LINES and COLUMNS in its environment
        try:
            model = manager.create(**kwargs)
        except Exception as e:
            if type(e).__name__ == "MaxTerminalsReached":
                raise ProtocolError(ErrorCode.TOO_MANY_SESSIONS, str(e), session_id=name) from e
            self.log.exception("termmux: could not create a terminal")
            raise ProtocolError(
                ErrorCode.CREATE_FAILED, f"could not start a terminal: {e}", session_id=name
            ) from e
        created: str = model["name"]
        if rows and cols:
            manager.terminals[created].ptyproc.setwinsize(rows, cols)
        self.log.info("termmux: created session %s in %s", created, kwargs["cwd"])
        return created

    async def close(self, name: str) -> None:
        """Terminate a terminal; returns once attached sockets were told it exited."""
        self._terminal(name)
        session = self.sessions.get(name)
        if session is not None:
            session.unpause()  # a paused PTY would never report its EOF
        await self.terminal_manager.terminate(name, force=True)
        if session is not None and not session.dead:
            await asyncio.wait_for(asyncio.shield(session.exited), timeout=10)

    def list_sessions(self, client: Client) -> list[dict[str, Any]]:
        """Every terminal, with its client count and whether ``client`` is attached."""
        attached = self._attached.get(client, set())
        return [
            {"sessionId": name, "clients": len(term.clients), "attached": name in attached}
            for name, term in self.terminal_manager.terminals.items()
        ]

    # --- introspection ---------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts of every map, for tests and debugging."""
        peaks = [getattr(getattr(c, "flow", None), "peak", 0) for c in self._attached]
        return {
            "sockets": len(self._attached),
            "subscriptions": sum(len(names) for names in self._attached.values()),
            "sessions": {
                name: {
                    "subscribers": len(s.subscribers),
                    "paused": not s.reading,
                    "history_bytes": s.history.nbytes,
                }
                for name, s in self.sessions.items()
            },
            "max_buffered": max([self._peak_closed, *peaks]),
        }

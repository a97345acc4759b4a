"""Who is attached to what: the one owner of the subscription maps.

The router keeps, per session, its subscribers (one per attached socket, each with its stream
position), the reservations of v2 sockets that dropped and may resume, and the session's grace.
Whether a PTY is read, who is detached and when to look again is ``policy.decide``'s, carried
out by ``pacing.Pacing``. It touches terminals only through ``terminals.Pty`` and sockets only
through the ``Client`` interface (``connection.MuxConnection``). Where a new stream starts is
``session.stream_start``'s, a subscriber's mode and the sizes it is told ``sharing.py``'s, and
``introspect.py`` reports what the maps hold.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable
from typing import Any

from . import introspect, messages, sharing
from .messages import WRITE
from .pacing import Pacing
from .policy import Limits
from .profiles import DEFAULT, Profile
from .scheduler import CallLater
from .session import Attached, Client, Session, Subscriber, stream_start
from .terminals import Terminals


class Router:
    """Owns every subscription map: sessions to sockets and sockets to sessions."""

    def __init__(
        self,
        terminals: Terminals,
        limits: Limits,
        log: logging.Logger,
        *,
        clock: Callable[[], float] | None = None,
        call_later: CallLater | None = None,
    ) -> None:
        self.terminals = terminals
        self.limits = limits
        self.log = log
        #: Carries out the flow policy (the event loop's clock and timers, unless a test's).
        self.pacing = Pacing(limits, self._detach_slow, clock=clock, call_later=call_later)
        self.sessions: dict[str, Session] = {}
        self._attached: dict[Client, dict[str, Subscriber]] = {}
        self._channels: dict[Client, itertools.count[int]] = {}
        #: Called with (event, session name) for "paused", "resumed" and "slow": a public hook
        #: for tests and diagnostics, so nothing needs to wrap private methods.
        self.listeners: list[Callable[[str, str], None]] = []
        #: Named ways to start a terminal, by name (``profiles.DEFAULT`` first).
        self.profiles: dict[str, Profile] = {DEFAULT: Profile(DEFAULT, None)}

    @property
    def available(self) -> bool:
        """Whether the server has terminals to serve."""
        return self.terminals.available

    # --- sockets ---------------------------------------------------------------------

    def clients(self) -> list[Client]:
        """Every connected socket."""
        return list(self._attached)

    def connect(self, client: Client) -> None:
        """Register a new socket."""
        self._attached[client] = {}
        self._channels[client] = itertools.count(1)
        self.log.info(
            "termmux: socket %s connected (%d sockets)", client.label, len(self._attached)
        )

    def disconnect(self, client: Client, may_resume: bool = True) -> None:
        """Remove a socket from every subscription; a v2 socket that may come back (a dropped
        connection, not a close or a page unload) leaves each of its sessions a reservation."""
        subs = self._attached.pop(client, None)
        self._channels.pop(client, None)
        if subs is None:
            return
        for sub in list(subs.values()):
            if may_resume and client.version >= 2 and self.limits.resume_hold > 0:
                self.pacing.reserve(sub, client.delivered(sub))
            self._unsubscribe(sub)
        self.log.info(
            "termmux: socket %s closed, detached from %d sessions (%d sockets left)",
            client.label,
            len(subs),
            len(self._attached),
        )

    # --- subscriptions ---------------------------------------------------------------

    def subscriber(self, client: Client, name: str) -> Subscriber | None:
        """The client's subscription to ``name``, if any."""
        return self._attached.get(client, {}).get(name)

    def attach(
        self,
        client: Client,
        name: str,
        *,
        replay: bool,
        since: int | None = None,
        incarnation: str | None = None,
        resume: str | None = None,
        mode: str = WRITE,
    ) -> Attached:
        """Subscribe ``client`` to ``name`` (``mode`` write or view) and decide where its
        stream starts; ``resume`` releases the reservation its client left when it dropped."""
        pty = self.terminals.get(name)
        old = self.subscriber(client, name)
        if old is not None:
            self._unsubscribe(old)  # attaching again restarts the stream (a second view)
        session = self.sessions.get(name)
        if session is not None and session.pty is not pty:
            # The name now belongs to another terminal: the old one ended for its clients,
            # even if its exit was not reported yet.
            self._exited(session, None, None)
            session = None
        if session is None:
            session = self.sessions[name] = Session(pty, self.pacing.grace(pty))
            session.on_timer = functools.partial(self._look, session)
            pty.on_output = functools.partial(self._output, session)
            pty.on_exit = functools.partial(self._exited, session)
            pty.reading_changed = functools.partial(self._reading_changed, session)
            pty.clients_changed = functools.partial(self._look, session)
            pty.on_resize = functools.partial(sharing.resized, session)
        at = stream_start(
            session.history,
            pty.incarnation,
            replay=replay,
            since=since,
            incarnation=incarnation,
            version=client.version,
        )
        sub = Subscriber(client, session, next(self._channels[client]), at.offset, mode)
        sub.replay_until = at.replay_until
        session.subscribers[client] = sub
        self._attached[client][name] = sub
        pty.add_subscriber(sub)
        if resume is not None:
            session.reservations.pop(resume, None)
        self.log.info(
            "termmux: socket %s attached to session %s to %s at %d of %d (%d subscribers)",
            client.label,
            name,
            mode,
            at.offset,
            session.history.end,
            len(session.subscribers),
        )
        if at.repaint:
            pty.nudge()  # a full-screen program repaints what the replay cannot
        client.wake(sub)
        self.update(session)
        return Attached(sub, at.offset, at.lost, at.preamble)

    def set_mode(self, sub: Subscriber, mode: str) -> None:
        """Make an attached subscriber a writer or a viewer (``sharing.set_mode``)."""
        sharing.set_mode(sub, mode, self.log)

    def detach(self, client: Client, name: str) -> bool:
        """Unsubscribe ``client`` from ``name`` at once; False if it was not attached."""
        sub = self._attached.get(client, {}).get(name)
        if sub is None:
            return False
        self._unsubscribe(sub)
        return True

    def _unsubscribe(self, sub: Subscriber) -> None:
        session, client = sub.session, sub.client
        if session.subscribers.get(client) is sub:
            del session.subscribers[client]
        attached = self._attached.get(client)
        if attached is not None and attached.get(session.name) is sub:
            del attached[session.name]
        client.forget(sub)
        session.pty.remove_subscriber(sub)
        self.log.info(
            "termmux: socket %s detached from session %s (%d subscribers left)",
            client.label,
            session.name,
            len(session.subscribers),
        )
        self._settle(session)

    def _settle(self, session: Session) -> None:
        """Forget a session nobody follows any more, or decide for it again."""
        if session.idle:
            self._drop_session(session)
        else:
            self.update(session)

    def _drop_session(self, session: Session) -> None:
        session.pty.on_output = _ignore
        session.pty.on_exit = _ignore
        self.pacing.forget(session)
        session.pty.resume()  # nobody holds it now
        session.pty.reading_changed = _ignore
        session.pty.clients_changed = _ignore
        session.pty.on_resize = _ignore
        if self.sessions.get(session.name) is session:
            del self.sessions[session.name]

    # --- output and flow -------------------------------------------------------------

    def _output(self, session: Session, data: bytes) -> None:
        for sub in list(session.subscribers.values()):
            try:  # a live wake may send at once: a bug there must not starve the others
                sub.client.wake(sub, live=True)
            except Exception:
                self.log.exception(
                    "termmux: output of %s to %s failed", session.name, sub.client.label
                )
        self.update(session)

    def acked(self, session: Session) -> None:
        """A client returned credit (v2) or the OS took bytes (v1) for ``session``: that only
        gives room, which matters only to a PTY that is not being read."""
        if not session.pty.reading:
            self.update(session)

    def update(self, session: Session) -> None:
        """Decide for ``session`` now (``policy.decide``) and carry the decision out."""
        self.pacing.update(session)
        if session.idle and self.sessions.get(session.name) is session:
            self._drop_session(session)  # its last reservation lapsed

    def _look(self, session: Session) -> None:
        """Decide again for a session still followed (its timer fired, a classic socket came
        or went)."""
        if self.sessions.get(session.name) is session:
            self.update(session)

    def _detach_slow(self, sub: Subscriber) -> None:
        """A v1 socket whose hold outlasted its session's grace leaves the session."""
        session = sub.session
        if session.subscribers.get(sub.client) is not sub:
            return
        self.log.warning(
            "termmux: detaching slow socket %s from session %s after its grace",
            sub.client.label,
            session.name,
        )
        self._emit("slow", session)
        # Sent first: it follows the output already handed to the socket.
        sub.client.send(messages.detached(session.name, reason="slow"))
        self._unsubscribe(sub)

    def _emit(self, event: str, session: Session) -> None:
        for listener in list(self.listeners):
            listener(event, session.name)

    def _reading_changed(self, session: Session, reading: bool) -> None:
        self._emit("resumed" if reading else "paused", session)

    # --- ends ------------------------------------------------------------------------

    def _exited(self, session: Session, code: int | None, signal: str | None) -> None:
        """The PTY ended: tell every attached socket (after its output) and drop them."""
        msg = messages.exited(session.name, code, signal)
        session.reservations.clear()
        for sub in list(session.subscribers.values()):
            sub.client.finish(sub, dict(msg))  # after all of its output
            self._unsubscribe(sub)
        self._drop_session(session)

    def shutdown(self) -> None:
        """Stop every timer (the sockets are being closed)."""
        for session in list(self.sessions.values()):
            session.cancel_timer()
        self.terminals.shutdown()

    # --- introspection ---------------------------------------------------------------

    def list_sessions(self, client: Client) -> list[dict[str, Any]]:
        """Every terminal, with its client counts and whether ``client`` is attached."""
        return introspect.session_list(self.terminals, self._attached.get(client, {}))

    def stats(self) -> dict[str, Any]:
        """Counts of every map, for tests and debugging."""
        return introspect.stats(self._attached, self.sessions)


def _ignore(*_: object) -> None:
    """An event of a terminal nobody is attached to: its history keeps its output and sizes."""

"""Who is attached to what: the one owner of the subscription maps, and routing decisions.

The router keeps, per session, its subscribers (one per attached socket, each with its stream
position) and reservations (sockets that dropped on v2 and may resume), and decides from them
whether the session's PTY is read (``flow.should_read``) and which slow v1 socket is detached
(``flow.slow_holders``). It touches terminals only through ``terminals.Pty`` and sockets only
through the ``Client`` interface (``connection.MuxConnection``).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Callable
from typing import Any

from . import flow, screen
from .flow import Limits
from .profiles import DEFAULT, Profile
from .ptyio import history_room
from .session import Attached, Client, Session, Subscriber
from .terminals import Terminals

#: Seconds between looks at v1 holders past their deadline while no other client is ready.
SLOW_RECHECK = 0.25


class Router:
    """Owns every subscription map: sessions to sockets and sockets to sessions."""

    def __init__(self, terminals: Terminals, limits: Limits, log: logging.Logger) -> None:
        self.terminals = terminals
        self.limits = limits
        self.log = log
        # A v1 subscriber cannot catch up from history: it holds the PTY before history
        # could move past it.
        high = min(limits.high_watermark, history_room(limits.history_limit))
        self.watermarks = flow.Watermarks(high, min(limits.low_watermark, high // 2))
        self.sessions: dict[str, Session] = {}
        self._attached: dict[Client, dict[str, Subscriber]] = {}
        self._channels: dict[Client, itertools.count[int]] = {}
        self.peak_inflight = 0
        #: Called with (event, session name) for "paused", "resumed" and "slow-check": a public
        #: hook for tests and diagnostics, so nothing needs to wrap private methods.
        self.listeners: list[Callable[[str, str], None]] = []
        #: Named ways to start a terminal, by name (``profiles.DEFAULT`` first).
        self.profiles: dict[str, Profile] = {DEFAULT: Profile(DEFAULT, None)}

    @property
    def available(self) -> bool:
        """Whether the server has terminals to serve."""
        return self.terminals.available

    @property
    def _loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

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
        """Remove a socket from every subscription; a v2 socket that may come back (a drop, a
        reload: anything but a normal close) leaves each of its sessions a reservation."""
        subs = self._attached.pop(client, None)
        self._channels.pop(client, None)
        if subs is None:
            return
        for sub in list(subs.values()):
            if may_resume and client.version >= 2 and self.limits.resume_hold > 0:
                self._reserve(sub.session, client.delivered(sub))
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
    ) -> Attached:
        """Subscribe ``client`` to ``name`` and decide where its stream starts."""
        pty = self.terminals.get(name)
        old = self.subscriber(client, name)
        if old is not None:
            self._unsubscribe(old)  # attaching again restarts the stream (a second view)
        session = self.sessions.get(name)
        if session is not None and session.pty is not pty:
            self._drop_session(session)  # the name now belongs to another terminal
            session = None
        if session is None:
            session = self.sessions[name] = Session(pty)
            pty.on_output = functools.partial(self._output, session)
            pty.on_exit = functools.partial(self._exited, session)
            pty.reading_changed = functools.partial(self._reading_changed, session)
        history = session.history
        if incarnation is not None and incarnation != pty.incarnation:
            since = None
            lost = True
        else:
            lost = since is not None and not history.start <= since <= history.end
        if since is not None and not lost:
            start, preamble = since, None
        elif replay or client.version < 2:
            start = history.start if replay else history.end
            preamble = screen.preamble(history.modes_at(start))
        else:
            start, preamble = history.end, screen.preamble(history.modes)
        sub = Subscriber(client, session, next(self._channels[client]), start)
        sub.replay_until = history.end if preamble is not None else start
        session.subscribers[client] = sub
        self._attached[client][name] = sub
        pty.term.clients.append(sub)
        self._drop_reservation(session, since)
        self.log.info(
            "termmux: socket %s attached to session %s at %d of %d (%d subscribers)",
            client.label,
            name,
            start,
            history.end,
            len(session.subscribers),
        )
        if preamble is not None and screen.in_alternate_screen(history.modes):
            pty.nudge()  # a full-screen program repaints what the replay cannot
        client.wake(sub)
        self.update(session)
        return Attached(sub, old is None, start, lost, preamble)

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
        try:
            session.pty.term.clients.remove(sub)
        except ValueError:
            pass
        self.log.info(
            "termmux: socket %s detached from session %s (%d subscribers left)",
            client.label,
            session.name,
            len(session.subscribers),
        )
        if session.idle:
            self._drop_session(session)
        else:
            session.pty.resize_to_smallest()
            self.update(session)

    def _drop_session(self, session: Session) -> None:
        session.pty.on_output = _ignore_output
        session.pty.on_exit = _ignore_exit
        session.cancel_timers()
        session.pty.resume()  # nobody holds it now
        session.pty.reading_changed = _ignore_reading
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

    def acked(self, session: Session, sub: Subscriber) -> None:
        """``sub``'s client returned credit for ``session``. Credit only lowers a backlog, so
        it can only let a paused PTY read again, or bring a lagging ``sub`` back: that is noted
        here, as a quiet session has no read rounds to see it (the lag would otherwise count
        against the next one)."""
        if sub.lag_since is not None and sub.caught_up is None:
            self._track_lag(sub, sub.client.backlog(sub), history_room(session.history.limit))
        if not session.pty.reading:
            self.update(session)

    def update(self, session: Session) -> None:
        """Read the session's PTY or not, and watch for slow v1 holders."""
        now = self._loop.time()
        holding = False
        v2: list[tuple[int, int]] = []
        room = history_room(session.history.limit)
        lapses: list[float] = []  # when each hold of a lagging v2 subscriber lapses
        for sub in session.subscribers.values():
            backlog = sub.client.backlog(sub)
            if sub.client.version >= 2:
                v2.append((backlog, self.limits.window))
                if sub.lag_since is None and backlog < room:
                    continue  # keeps up: the common case, on every read round
                since = self._track_lag(sub, backlog, room)
                if since is not None and backlog >= room:
                    lapse = flow.lag_hold_until(
                        sub.client.last_credit(sub),
                        since,
                        self.limits.lag_hold,
                        self.limits.slow_subscriber_timeout,
                    )
                    if lapse > now:
                        lapses.append(lapse)
                continue
            holds = self.watermarks.holds(sub.hold_since is not None, backlog)
            if holds and sub.hold_since is None:
                sub.hold_since = now
            elif not holds:
                sub.hold_since = None
            holding = holding or holds
        read = flow.should_read(
            v1_holding=holding,
            v2_backlogs=v2,
            reserved_lag=session.reserved_lag(),
            history_room=room,
            lag_held=bool(lapses),
        )
        if read:
            session.pty.resume()
        else:
            session.pty.pause()
        self._watch_slow(session)
        if lapses or session.lag_timer is not None:  # update() runs on every read round
            self._watch_lag(session, min(lapses, default=None))

    def _track_lag(self, sub: Subscriber, backlog: int, room: int) -> float | None:
        """Move ``sub``'s lag on (``flow.lag_since``); when its current lag began."""
        sub.lag_since, sub.caught_up = flow.lag_since(
            sub.lag_since, sub.caught_up, backlog, room, self.limits.window, self._loop.time()
        )
        return sub.lag_since

    def _watch_lag(self, session: Session, lapse: float | None) -> None:
        """Look again when a lagging subscriber's hold lapses: credit from it re-decides
        sooner, and one that sent none since is truncated from then on."""
        if session.lag_timer is not None:
            session.lag_timer.cancel()
            session.lag_timer = None
        if lapse is not None:
            session.lag_timer = self._loop.call_later(
                lapse - self._loop.time(), self.update, session
            )

    def _watch_slow(self, session: Session) -> None:
        """Arm one timer at the earliest v1 holder's deadline."""
        holders = {s: s.hold_since for s in session.subscribers.values() if s.hold_since}
        deadline = flow.next_deadline(holders, self.limits.slow_subscriber_timeout)
        if session.slow_timer is not None:
            session.slow_timer.cancel()
            session.slow_timer = None
        if deadline is not None:
            # A deadline already passed (nobody else was ready then): look again a little
            # later, not on every loop pass.
            delay = max(SLOW_RECHECK, deadline - self._loop.time())
            session.slow_timer = self._loop.call_later(delay, self._detach_slow, session)

    def _emit(self, event: str, session: Session) -> None:
        for listener in list(self.listeners):
            listener(event, session.name)

    def _reading_changed(self, session: Session, reading: bool) -> None:
        self._emit("resumed" if reading else "paused", session)

    def _detach_slow(self, session: Session) -> None:
        """Policy (v1): a socket that stalls a shared session too long is detached from it."""
        session.slow_timer = None
        self._emit("slow-check", session)
        subs = session.subscribers.values()
        holders = {s: s.hold_since for s in subs if s.hold_since is not None}
        others_ready = len(session.pty.term.clients) > len(subs) or any(
            s.hold_since is None and s.client.backlog(s) <= self.watermarks.low for s in subs
        )
        now = self._loop.time()
        timeout = self.limits.slow_subscriber_timeout
        for sub in flow.slow_holders(now, holders, timeout, others_ready):
            self.log.warning(
                "termmux: detaching slow socket %s from session %s after %.1fs",
                sub.client.label,
                session.name,
                timeout,
            )
            # Sent first: it follows the output already handed to the socket.
            sub.client.send(
                {"type": "session.detached", "sessionId": session.name, "reason": "slow"}
            )
            self._unsubscribe(sub)
        if not session.idle:
            self.update(session)

    # --- reservations ----------------------------------------------------------------

    def _reserve(self, session: Session, offset: int) -> None:
        """Hold history for a v2 client that dropped, for ``resume_hold`` seconds."""
        session.reserve(offset, self._loop.time() + self.limits.resume_hold)
        self._arm_reservations(session)

    def _arm_reservations(self, session: Session) -> None:
        if session.reservation_timer is not None:
            session.reservation_timer.cancel()
            session.reservation_timer = None
        first = session.next_lapse()
        if first is not None:
            delay = max(0.0, first - self._loop.time())
            session.reservation_timer = self._loop.call_later(delay, self._lapse, session)

    def _lapse(self, session: Session) -> None:
        session.reservation_timer = None
        session.lapse(self._loop.time())
        self._settle(session)

    def _drop_reservation(self, session: Session, since: int | None) -> None:
        """A client came back: the oldest reservation it can have left is released."""
        if session.release(since):
            self._arm_reservations(session)

    def _settle(self, session: Session) -> None:
        if session.idle:
            self._drop_session(session)
        else:
            self._arm_reservations(session)
            self.update(session)

    # --- ends ------------------------------------------------------------------------

    def _exited(self, session: Session, code: int | None, signal: str | None) -> None:
        """The PTY ended: tell every attached socket (after its output) and drop them."""
        msg: dict[str, Any] = {
            "type": "session.exited",
            "sessionId": session.name,
            "exitCode": code,
        }
        if signal is not None:
            msg["signal"] = signal
        for sub in list(session.subscribers.values()):
            sub.client.finish(sub, dict(msg))  # after all of its output
            self._unsubscribe(sub)
        session.reservations.clear()
        self._drop_session(session)

    def shutdown(self) -> None:
        """Stop every timer (the sockets are being closed)."""
        for session in list(self.sessions.values()):
            session.cancel_timers()
        self.terminals.shutdown()

    # --- introspection ---------------------------------------------------------------

    def list_sessions(self, client: Client) -> list[dict[str, Any]]:
        """Every terminal, with its client count and whether ``client`` is attached."""
        attached = self._attached.get(client, {})
        return [
            {"sessionId": n, "clients": self.terminals.client_count(n), "attached": n in attached}
            for n in self.terminals.names()
        ]

    def stats(self) -> dict[str, Any]:
        """Counts of every map, for tests and debugging."""
        return {
            "sockets": len(self._attached),
            "subscriptions": sum(len(subs) for subs in self._attached.values()),
            "sessions": {
                name: {
                    "subscribers": len(s.subscribers),
                    "paused": not s.pty.reading,
                    "history_bytes": s.history.nbytes,
                    "reservations": len(s.reservations),
                }
                for name, s in self.sessions.items()
            },
            "max_buffered": self.peak_inflight,
        }


def _ignore_output(data: bytes) -> None:
    """Output of a terminal nobody is attached to: history keeps it."""


def _ignore_reading(reading: bool) -> None:
    """Reading state of a terminal nobody is attached to."""


def _ignore_exit(code: int | None, signal: str | None) -> None:
    """Exit of a terminal nobody is attached to."""

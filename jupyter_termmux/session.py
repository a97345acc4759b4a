"""A session's routing state: its subscribers, each with a position in the output stream, and
the reservations of v2 sockets that dropped and may resume. Plain state, no I/O: the router
(``router.py``) owns the maps and acts on them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from .history import History
from .pty import Pty


class Client(Protocol):
    """What the router needs from a socket's connection."""

    label: str
    version: int

    def wake(self, sub: Subscriber, live: bool = False) -> None:
        """``sub``'s session has output the socket may not have sent; ``live``: just read from
        the terminal (urgent output may go at once, see ``Scheduler.notify``)."""

    def backlog(self, sub: Subscriber) -> int: ...

    def delivered(self, sub: Subscriber) -> int: ...

    def last_credit(self, sub: Subscriber) -> float:
        """When ``sub``'s client last acknowledged output (v2), or output went in flight to it
        after none (``scheduler.Stream.last_credit``)."""

    def forget(self, sub: Subscriber) -> None: ...

    def finish(self, sub: Subscriber, msg: dict[str, Any]) -> None: ...

    def send(self, msg: dict[str, Any]) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class Subscriber:
    """One socket's subscription to one session, and its position in the session's stream.

    It also sits in terminado's ``PtyWithClients.clients`` so that ``resize_to_smallest`` sees
    its ``size`` and the client count includes it (it has no ``on_pty_read``: output reaches
    it through the router).
    """

    __slots__ = (
        "caught_up",
        "channel",
        "client",
        "hold_since",
        "lag_since",
        "replay_until",
        "sent",
        "session",
        "size",
    )

    def __init__(self, client: Client, session: Session, channel: int, sent: int) -> None:
        self.client = client
        self.session = session
        self.channel = channel
        #: Offset of the next byte to send.
        self.sent = sent
        #: Bytes before this offset are a replay (the client did not see them live).
        self.replay_until = sent
        #: When this v1 subscriber started holding the PTY (None: it does not).
        self.hold_since: float | None = None
        #: When this v2 subscriber fell a history's room behind and has not caught up since,
        #: and since when it has been within one window again (``flow.lag_since``).
        self.lag_since: float | None = None
        self.caught_up: float | None = None
        self.size: tuple[int | None, int | None] = (None, None)


@dataclass
class Attached:
    """What ``Router.attach`` decided: where the stream starts for this subscriber."""

    sub: Subscriber
    new: bool
    offset: int
    truncated: bool
    preamble: str | None


class Session:
    """Routing state of one adopted terminal while someone is attached or may resume."""

    def __init__(self, pty: Pty) -> None:
        self.pty = pty
        self.name = pty.name
        self.subscribers: dict[Client, Subscriber] = {}
        #: v2 sockets that dropped: (offset they had, when the reservation lapses).
        self.reservations: list[tuple[int, float]] = []
        self.slow_timer: asyncio.TimerHandle | None = None
        self.reservation_timer: asyncio.TimerHandle | None = None
        #: Looks again when the last lagging subscriber's hold lapses (``Limits.lag_hold``).
        self.lag_timer: asyncio.TimerHandle | None = None

    def cancel_timers(self) -> None:
        """Stop every timer of the session (it is dropped, or the server stops)."""
        for timer in (self.slow_timer, self.reservation_timer, self.lag_timer):
            if timer is not None:
                timer.cancel()

    @property
    def history(self) -> History:
        return self.pty.history

    @property
    def idle(self) -> bool:
        """Nobody is attached and nobody may resume: the router can forget this session."""
        return not self.subscribers and not self.reservations

    def reserve(self, offset: int, lapse_at: float) -> None:
        """Hold history from ``offset`` for a dropped v2 client until ``lapse_at``."""
        self.reservations.append((offset, lapse_at))

    def next_lapse(self) -> float | None:
        """When the earliest reservation lapses."""
        return min((t for _, t in self.reservations), default=None)

    def lapse(self, now: float) -> None:
        """Drop the reservations that lapsed by ``now``."""
        self.reservations = [(o, t) for o, t in self.reservations if t > now]

    def release(self, since: int | None) -> bool:
        """A client came back at ``since``: release the reservation it most likely left."""
        mine = [r for r in self.reservations if since is not None and r[0] <= since]
        if mine:
            # The closest one: the lower ones may belong to clients still away, and must hold.
            self.reservations.remove(max(mine))
        return bool(mine)

    def reserved_lag(self) -> int | None:
        """How far history's end is past the oldest reservation (None without one)."""
        if not self.reservations:  # the common case, on every read round
            return None
        return self.history.end - min(o for o, _ in self.reservations)

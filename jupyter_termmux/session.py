"""A session's routing state: its subscribers, each with a position in the output stream, the
reservations of v2 sockets that dropped and may resume, and its grace (``policy.py``); and where
a new subscriber's stream starts, a pure function of history. Plain state, no I/O: the router
(``router.py``) owns the maps and acts on them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import policy, screen
from .history import History
from .messages import VIEW, WRITE
from .pty import Pty
from .scheduler import Handle


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

    Its ``size`` is what the socket asked for; the terminal adapter sizes the PTY from its
    writers and classic sockets (``Pty.resize``). Its ``mode`` is ``write`` or ``view``: a view
    never types, never sets the size, and is otherwise a subscriber like any other.
    """

    __slots__ = (
        "channel",
        "client",
        "holding",
        "mode",
        "replay_until",
        "sent",
        "session",
        "size",
        "token",
    )

    def __init__(
        self, client: Client, session: Session, channel: int, sent: int, mode: str = WRITE
    ) -> None:
        self.client = client
        self.mode = mode
        self.session = session
        self.channel = channel
        #: Offset of the next byte to send.
        self.sent = sent
        #: Bytes before this offset are a replay (the client did not see them live).
        self.replay_until = sent
        #: v1: it held the PTY at the last decision (``policy.v1_holds``).
        self.holding = False
        self.size: tuple[int | None, int | None] = (None, None)
        #: The resume token its client may present to release its reservation after a drop.
        self.token = secrets.token_urlsafe(12)

    @property
    def viewing(self) -> bool:
        """Attached in ``view`` mode (``Pty`` counts it as a viewer, not a writer)."""
        return self.mode == VIEW


@dataclass(frozen=True)
class Start:
    """Where a new subscriber's stream starts (``stream_start``)."""

    offset: int
    #: The client asked to go on from an offset history no longer holds, or one of another
    #: life of the terminal: it gets a new stream instead.
    lost: bool
    #: Restores the terminal's modes before the stream (``screen.preamble``); None when the
    #: stream goes on where the client left off.
    preamble: str | None
    #: Bytes before this offset are a replay (``Subscriber.replay_until``).
    replay_until: int
    #: A full-screen program must repaint what a replay cannot (``Pty.nudge``).
    repaint: bool


def stream_start(
    history: History,
    life: str,
    *,
    replay: bool,
    since: int | None,
    incarnation: str | None,
    version: int,
) -> Start:
    """Where a stream starts: at ``since`` if history still holds it in this ``life`` of the
    terminal (``incarnation``: the life it was given in), else at history's start (``replay``)
    or end, after a preamble that restores the modes there."""
    if incarnation is not None and incarnation != life:
        since = None
        lost = True
    else:
        # A since inside a UTF-8 character is no offset the server gave (PROTOCOL.md).
        lost = since is not None and not (
            history.start <= since <= history.end and history.at_char_start(since)
        )
    if since is not None and not lost:
        start, preamble = since, None
    elif replay or version < 2:
        start = history.start if replay else history.end
        preamble = screen.preamble(history.modes_at(start))
    else:
        start, preamble = history.end, screen.preamble(history.modes)
    replay_until = history.end if preamble is not None else start
    repaint = preamble is not None and screen.in_alternate_screen(history.modes)
    return Start(start, lost, preamble, replay_until, repaint)


@dataclass
class Attached:
    """What ``Router.attach`` decided: where the stream starts for this subscriber."""

    sub: Subscriber
    offset: int
    truncated: bool
    preamble: str | None


class Session:
    """Routing state of one adopted terminal while someone is attached or may resume."""

    def __init__(self, pty: Pty, grace: policy.Grace) -> None:
        self.pty = pty
        self.name = pty.name
        self.subscribers: dict[Client, Subscriber] = {}
        #: v2 subscriptions whose socket dropped, by resume token.
        self.reservations: dict[str, policy.Reservation] = {}
        #: What is left of the session's grace (``policy.decide``, rule 4).
        self.grace = grace
        #: Decides again when ``policy.decide`` said to look again.
        self.timer: Handle | None = None
        self.timer_at = 0.0
        #: What the timer does when it fires (the router decides again).
        self.on_timer: Callable[[], None] | None = None
        #: Where a view far behind skips to, and the preamble there, for one ``history.end``:
        #: the views of a session mostly update in the same loop pass (``output.py``).
        self.skip: tuple[int, int | None, str] = (-1, None, "")

    def cancel_timer(self) -> None:
        """Stop the session's timer (it is dropped, or the server stops)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    @property
    def history(self) -> History:
        return self.pty.history

    @property
    def idle(self) -> bool:
        """Nobody is attached and nobody may resume: the router can forget this session."""
        return not self.subscribers and not self.reservations

"""The flow-control policy, in one place: every constant, and the decisions, as pure functions.

The rule (README.md and protocol/PROTOCOL.md point here):

1. **Nothing is dropped.** A session's PTY is read while its output has somewhere to go;
   otherwise the program blocks on its own output, as on a slow serial line.
2. **Room.** A *party* of a session is one of its subscribers (one socket attached to it), a
   classic terminal socket (JupyterLab's own terminal), or a *reservation* (a v2 socket that
   dropped and may resume). A v2 subscriber has room while its backlog (unsent plus
   unacknowledged bytes) is under ``window``; a v1 subscriber while its backlog (unsent plus
   not yet written) is under the history room, with hysteresis (``v1_holds``); a classic
   socket always (terminado pushes to it). The PTY is read while some party has room, or
   while nobody is attached at all; a view (a ``"mode": "view"`` subscriber, sent the screen
   rather than every byte) counts only when views alone follow the session. A party with room
   is *ready* for more (a v1 one only once
   it drained to half the room: between its marks it may be stalled).
3. **Holds.** A party *needs a hold* when reading on would move history past it (its backlog
   reached the history room): a v2 subscriber only while it still takes its output (it
   acknowledged within ``LAG_ACK_RECENT``), a v1 subscriber always (it cannot catch up from
   history), a reservation until it lapses (``resume_hold``). A hold stops the PTY.
4. **One grace per session.** A hold that stops a PTY while another party is ready spends the
   session's grace (``slow_subscriber_timeout`` seconds); it refills at ``GRACE_REFILL``
   seconds per second, and once spent no hold applies until it is whole again. Whatever the
   session's other parties do (lag, drip acknowledgements, drop and re-attach in a loop), a
   reader with room waits at most one grace at a stretch and at most
   ``GRACE_REFILL / (1 + GRACE_REFILL)`` of the time. Without a hold, a v2 subscriber is served
   from history or, once history moved past it, gets ``session.truncated``; a v1 subscriber is
   detached (``session.detached``, reason ``slow``); a reservation no longer holds and its
   client resumes on the truncated path.
5. **Bounded by the server.** A socket never has more than ``socket_window`` bytes of output
   handed to it and not yet written by the OS, whatever its client acknowledges; a socket that
   lets ``SOCKET_BUFFER_CAP`` of replies pile up unread is closed. Acknowledgements beyond what
   was sent credit nothing. So one client costs the server at most about a socket window plus
   the histories of the sessions it follows.

``decide`` applies 2-4 to one session; the router only executes what it returns. The
scheduler (``scheduler.py``) orders a socket's output within these limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from .messages import DEFAULTS

# --- the constants ------------------------------------------------------------------------
# Each is fixed because no measurement showed a reason to let a server change it; the four
# that a deployment may need to change are ``Limits`` below (traitlets on ``TermMuxApp``).

#: Bytes read from a PTY at once: the kernel hands a PTY's output over 4,095 bytes at a time,
#: and 64 KiB keeps a flooding session's read round to one system call per 16 hand-offs.
READ_SIZE = 64 * 1024

#: Slack between a held position and history's start: trimming opens the kept part at the next
#: line start up to 4 KiB on (``history._LINE_LOOKAHEAD``), plus a UTF-8 sequence.
TRIM_SLACK = 4096 + 4

#: Seconds since its last acknowledgement within which a lagging v2 subscriber still counts
#: as taking its output (and so holds its session, rule 3). A page parses and acknowledges
#: every few ms while it is busy; 0.1 s is far above that and far below what anyone notices.
LAG_ACK_RECENT = 0.1

#: Seconds of grace regained per second (rule 4). 0.25: a reader with room keeps at least 80 %
#: of its speed whatever the others do (half was the requirement), and a spent grace of 5 s is
#: whole again after 20 s, so a client whose network blips now and then still resumes whole.
GRACE_REFILL = 0.25

#: Reservations one session keeps at most; a new one replaces the one that lapses first. A drop
#: loop makes one per drop, and a person has a handful of pages on one terminal.
MAX_RESERVATIONS = 16

#: Bytes of replies a socket may leave unread (handed to it, not yet written by the OS) before
#: it is closed (1008): output stops at ``socket_window`` on its own, but replies to requests
#: cannot wait, and a client that sends requests without reading would grow them unbounded.
SOCKET_BUFFER_CAP = 1024 * 1024

#: Most payload bytes in one v2 frame. Each frame costs the server a write and an ack (a fast
#: client acks every frame), and the server's CPU per MB sets its throughput while programs
#: flood. Interleaved runs of 4 sessions x 10 MB (docs/benchmarks.md, items 8 and 11): 32 ->
#: 64 KiB, 9.25 -> 7.75 ms/MB of server CPU; 64 -> 128 KiB, 7.4 -> 6.9 ms/MB. The panel cuts
#: frames into 4 KiB writes, so the size costs a page nothing.
V2_FRAME_BYTES: int = DEFAULTS["frameBytes"]

#: Most payload bytes in one v1 frame: the panel hands a v1 (JSON text) frame to xterm.js
#: whole, so a large one is a long task on a slow page.
V1_FRAME_BYTES = 32 * 1024

#: Seconds a streaming session's output may wait to be merged into fewer, larger frames (VS
#: Code batches 5 ms). A 10 ms delay was tried: no throughput gained, echo p99 worse.
COALESCE_DELAY = 0.004

#: Output under this many bytes from a quiet session goes at once (a prompt, a clock).
INTERACTIVE_BYTES = 1024

#: Seconds after input to a session within which its output answers that input (an echo, an
#: editor's redraw) and goes at once, before any bulk output.
ANSWER_WINDOW = 0.05

#: While someone types into a quiet session of a socket (input within ``TYPING_HOLD``), the
#: socket's other unshared sessions get this many bulk bytes in flight, so an echo waits
#: behind about a millisecond of flood. 8 interleaved runs each: 32 KiB kept echo p99 at
#: 2.7-3.8 ms under 3 and 15 floods where 48 KiB gave 3.6-4.9 ms, for about 7 % less flood
#: output while someone types.
TYPING_WINDOW = 32 * 1024

#: Seconds after the last input on a socket during which ``TYPING_WINDOW`` applies: longer
#: than the pause between two keystrokes of someone thinking, short enough that a flood
#: started by a command is at full speed again before anyone looks.
TYPING_HOLD = 2.0

#: Bytes sent since its input after which a session typed into counts as streaming (``cat
#: big.log`` answers that input), so ``TYPING_WINDOW`` stops holding the others back.
STREAMING_BYTES = 32 * 1024

#: Flushes in a row a bulk stream that could send may be left out for streams further behind.
#: Aging it on every skip turned the order back into turns and shared sessions drifted (the
#: mesh benchmark failed 3 of 7 runs); after 2 skips 1 of 5; after 4, none of 10.
MAX_SKIPS = 4

#: Seconds between two sends to a view (a ``"mode": "view"`` subscriber): a viewer watches a
#: screen, and 20 updates a second look live (a typed key reaches a quiet view at once; only a
#: view that was just sent something waits). Every byte sent to a socket costs the server a
#: copy and a system call (about 2 ms per MB per subscriber here), so 20 views taking a flood
#: byte by byte cut the writer's throughput to 0.45x of alone (docs/benchmarks.md, "30 viewers
#: on one session"); a view is sent the screen instead.
VIEW_INTERVAL = 0.05

#: Bytes a view may lag behind its session's output at a send; further behind, it skips ahead
#: to a line start (or an escape sequence) within the last ``VIEW_TAIL`` bytes
#: (``replay.skip_point``, ``session.skipped``): a screenful of text (50 rows of 160 columns
#: with some colour). At 20 sends a second a flood costs each view at most 320 KB/s.
VIEW_TAIL = 16 * 1024

#: The smallest ``window`` and ``socket_window``: a UTF-8 character (4 bytes) and the usual
#: escape sequence must fit in the credit, or a stream waits for credit that cannot come.
MIN_WINDOW = 64

#: The smallest ``history_limit``: its room (half of it, for a small one) must hold a window.
MIN_HISTORY = 4 * MIN_WINDOW

#: Share of ``window`` after which the client acknowledges (announced in ``hello`` as
#: ``ackBytes``): 16 KiB of a 256 KiB window. The ack size must stay well below the window or
#: a sender waits for acks that are not due yet (VS Code: 5,000 of 100,000 characters).
ACK_FRACTION = 16


@dataclass(frozen=True)
class Limits:
    """The configurable limits (traitlets on ``TermMuxApp``), as plain values; the defaults are
    the protocol's (``defaults`` in protocol/schema.json, announced in ``hello``)."""

    history_limit: int = DEFAULTS["historyLimit"]
    max_message_size: int = DEFAULTS["maxMessageSize"]
    max_sessions_per_socket: int = DEFAULTS["maxSessionsPerSocket"]
    #: v2: unacknowledged bytes one session may have in flight to one client.
    window: int = DEFAULTS["window"]
    #: Bulk bytes one socket may have in flight (v2: unacknowledged; both: not yet written).
    socket_window: int = DEFAULTS["socketWindow"]
    #: v2: seconds a dropped socket's reservation lasts.
    resume_hold: float = DEFAULTS["resumeHold"]
    #: Seconds of grace per session (rule 4); 0 turns holds of shared sessions off.
    slow_subscriber_timeout: float = DEFAULTS["slowSubscriberTimeout"]

    @cached_property
    def room(self) -> int:
        """How far history's end may run ahead of a held position."""
        return history_room(self.history_limit)

    @property
    def ack_bytes(self) -> int:
        """The acknowledgement batch announced to v2 clients."""
        return max(1, self.window // ACK_FRACTION)


def history_room(limit: int) -> int:
    """How far history's end may run ahead of a held position: the limit less one read."""
    return max(limit - READ_SIZE - TRIM_SLACK, limit // 2)


def validate(values: Mapping[str, float]) -> list[str]:
    """What is wrong with a set of limits, one line per wrong trait (empty when sane)."""
    errors = []
    for name in ("history_limit", "max_message_size", "max_sessions_per_socket"):
        if values[name] <= 0:
            errors.append(f"{name} must be positive")
    if 0 < values["history_limit"] < MIN_HISTORY:
        errors.append(f"history_limit must be at least {MIN_HISTORY} bytes")
    for name in ("window", "socket_window"):
        # A UTF-8 character and a short escape sequence must fit in one frame's credit.
        if values[name] < MIN_WINDOW:
            errors.append(f"{name} must be at least 64 bytes")
    for name in ("resume_hold", "slow_subscriber_timeout"):
        if values[name] < 0:
            errors.append(f"{name} must not be negative")
    return errors


def limits_from(values: Mapping[str, float]) -> Limits:
    """``Limits`` from validated values; the window is capped so that a subscriber whose whole
    window is unacknowledged is still within history (else a lone one would be truncated)."""
    room = history_room(int(values["history_limit"]))
    return Limits(
        history_limit=int(values["history_limit"]),
        max_message_size=int(values["max_message_size"]),
        max_sessions_per_socket=int(values["max_sessions_per_socket"]),
        window=min(int(values["window"]), room),
        socket_window=int(values["socket_window"]),
        resume_hold=float(values["resume_hold"]),
        slow_subscriber_timeout=float(values["slow_subscriber_timeout"]),
    )


# --- the session's parties -----------------------------------------------------------------


class Party(NamedTuple):
    """A subscriber as the policy sees it."""

    version: int
    #: Bytes not yet credited: unsent plus in flight (v2: unacknowledged; v1: unwritten).
    backlog: int
    #: When its client last acknowledged, or output went in flight to it after none (v2).
    last_credit: float
    #: v1: it held the PTY at the last decision (hysteresis).
    holding: bool = False
    #: A view: sent the screen, never every byte (``VIEW_TAIL``), so it sets no pace.
    viewing: bool = False


class Reservation(NamedTuple):
    """A v2 subscription whose socket dropped: its client may resume from ``offset``."""

    offset: int
    lapse_at: float


def v1_holds(holding: bool, backlog: int, room: int) -> bool:
    """Whether a v1 subscriber needs a hold: from a full history room until it drained to half
    (hysteresis, so a PTY is not paused and resumed on every write)."""
    return backlog > room // 2 if holding else backlog >= room


@dataclass(frozen=True)
class Grace:
    """A session's grace (rule 4): seconds of holds left, as of ``at``."""

    level: float
    at: float
    #: A hold was stopping a reader with room since ``at``.
    spending: bool = False
    #: Spent: no hold applies until the grace is whole again.
    spent: bool = False

    @classmethod
    def full(cls, seconds: float, now: float) -> Grace:
        return cls(seconds, now, False, seconds <= 0)

    def at_time(self, now: float, whole: float) -> Grace:
        """The grace as of ``now`` (``whole``: its full size)."""
        if not self.spending and not self.spent and self.level >= whole:
            return self  # whole, the common case: its time does not matter
        dt = max(0.0, now - self.at)
        if self.spending:
            level = self.level - dt
        else:
            level = min(whole, self.level + GRACE_REFILL * dt)
        spent = self.spent
        if level <= 0.0:
            level, spent = 0.0, True
        elif spent and level >= whole:
            spent = False
        return Grace(level, now, False, spent)


class Decision(NamedTuple):
    """What the router does for one session."""

    read: bool
    #: New v1 hysteresis state, one per party.
    holding: tuple[bool, ...]
    #: Indices of v1 parties to detach (reason ``slow``).
    detach: tuple[int, ...]
    #: Reservation keys to forget (lapsed, or history already moved past them).
    drop: tuple[str, ...]
    grace: Grace
    #: When to decide again if nothing else happens (None: only on the next event).
    look_again: float | None


def decide(
    parties: Sequence[Party],
    reservations: Mapping[str, Reservation],
    *,
    classic: int,
    start: int,
    end: int,
    limits: Limits,
    grace: Grace,
    now: float,
) -> Decision:
    """Apply rules 2-4 to one session at ``now``.

    ``classic``: the session's classic terminal sockets; ``start``/``end``: the offsets history
    holds; ``grace``: the session's grace as the last decision left it.
    """
    room = limits.room
    has_room = ready = classic > 0
    holds: list[int] = []
    holding: list[bool] = []
    wakes: list[float] = []
    # A view neither holds the PTY nor keeps it read for itself while someone else follows the
    # session: it skips to the screen, so only the writers' pace counts (with views alone, theirs).
    views_pace = classic == 0 and all(p.viewing for p in parties)
    for i, party in enumerate(parties):
        if party.viewing and not views_pace:
            holding.append(False)
        elif party.version >= 2:
            holding.append(False)
            if party.backlog < limits.window:
                has_room = ready = True
            elif party.backlog >= room:
                until = party.last_credit + LAG_ACK_RECENT
                if until > now:
                    holds.append(i)
                    wakes.append(until)
        else:
            held = v1_holds(party.holding, party.backlog, room)
            holding.append(held)
            if held:
                holds.append(i)
            else:
                has_room = True
                # Between its marks it may be draining or stalled: only one that drained to
                # its low mark surely waits for the PTY.
                ready = ready or party.backlog <= room // 2
    drop: tuple[str, ...] = ()
    if reservations:
        drop = tuple(k for k, r in reservations.items() if r.lapse_at <= now or r.offset < start)
        for key, r in reservations.items():
            if key not in drop:
                wakes.append(r.lapse_at)
                if end - r.offset >= room:
                    holds.append(-1)  # a reservation (no party index)
    would_read = has_room or not parties
    grace = grace.at_time(now, limits.slow_subscriber_timeout)
    detach: tuple[int, ...] = ()
    if not holds:
        read = would_read
    elif not ready:
        read = False  # nobody waits for the hold: it costs no one anything
    elif not grace.spent:
        read = False
        grace = Grace(grace.level, now, True, False)
        wakes.append(now + grace.level)
    else:
        # No wake for the refill: the PTY is read now, so every read round decides again.
        read = True
        detach = tuple(i for i in holds if i >= 0 and parties[i].version < 2)
    return Decision(
        read=read,
        holding=tuple(holding),
        detach=detach,
        drop=drop,
        grace=grace,
        look_again=min(wakes, default=None),
    )


def reserve(
    reservations: Mapping[str, Reservation], key: str, offset: int, lapse_at: float
) -> dict[str, Reservation]:
    """``reservations`` with one more; past ``MAX_RESERVATIONS`` the one that lapses first goes."""
    kept = dict(reservations)
    kept[key] = Reservation(offset, lapse_at)
    while len(kept) > MAX_RESERVATIONS:
        del kept[min(kept, key=lambda k: kept[k].lapse_at)]
    return kept

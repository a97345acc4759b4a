"""Flow-control decisions as pure functions: when a session's PTY is read, who is slow.

A session's PTY is read while its output has somewhere to go (the program blocks on its own
output otherwise, the backpressure a terminal has always had; nothing is ever dropped):

* protocol v2 subscribers *keep up* while their backlog (unsent plus unacknowledged bytes) is
  under their window. The PTY is read while at least one keeps up; one that lags behind the
  others catches up from history later, or is told the history moved past it.
* protocol v1 subscribers cannot catch up (v1 has no offsets), so each one *holds* the PTY
  while its backlog is over the high watermark, until it drains to the low one (hysteresis).
  A holder that stalls a shared session for ``slow_subscriber_timeout`` while another client is
  ready is detached (``slow_holders``).
* a *reservation* (a v2 socket that dropped without detaching, for ``resume_hold`` seconds)
  holds the PTY before history would move past what that client last received.
* a v2 subscriber that lags behind the others of its session but is still taking its output
  (it returned credit within ``lag_hold`` seconds) holds the PTY the same way: a page that is
  a little slower, or a socket busy with other sessions, is not truncated; one that stops
  acknowledging is, a moment later, so it cannot stall the others, and so is one that stays
  behind for ``slow_subscriber_timeout`` (``lag_since``, ``lag_hold_until``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class Limits:
    """The configurable limits (traitlets on ``TermMuxApp``), as plain values."""

    history_limit: int = 512 * 1024
    max_message_size: int = 1024 * 1024
    max_sessions_per_socket: int = 128
    high_watermark: int = 1024 * 1024
    low_watermark: int = 256 * 1024
    coalesce_delay: float = 0.004
    slow_subscriber_timeout: float = 5.0
    window: int = 256 * 1024
    socket_window: int = 256 * 1024
    typing_window: int = 32 * 1024
    typing_hold: float = 2.0
    ack_bytes: int = 16 * 1024
    resume_hold: float = 5.0
    lag_hold: float = 0.1


@dataclass(frozen=True)
class Watermarks:
    """High and low marks of a v1 socket's backlog, in bytes."""

    high: int
    low: int

    def __post_init__(self) -> None:
        if not 0 <= self.low < self.high:
            raise ValueError(f"need 0 <= low ({self.low}) < high ({self.high})")

    def holds(self, holding: bool, backlog: int) -> bool:
        """Whether a v1 subscriber holds its session's PTY, given whether it held it before."""
        return backlog > self.low if holding else backlog > self.high


def should_read(
    *,
    v1_holding: bool,
    v2_backlogs: Iterable[tuple[int, int]],
    reserved_lag: int | None,
    history_room: int,
    lag_held: bool = False,
) -> bool:
    """Whether a session's PTY should be read now.

    ``v2_backlogs`` holds (backlog, window) per v2 subscriber; ``reserved_lag`` is how far the
    history's end is past the oldest live reservation (None without one); ``history_room`` is
    how far it may get (the history limit less one read); ``lag_held``: a v2 subscriber still
    taking its output is that far behind.
    """
    if v1_holding or lag_held:
        return False
    if reserved_lag is not None and reserved_lag >= history_room:
        return False
    seen = False
    for backlog, window in v2_backlogs:
        if backlog < window:
            return True
        seen = True
    return not seen


#: Seconds after a lagging v2 subscriber came back within one window of its session's output
#: at which its lag ends, unless it reached the history room again meanwhile. One burst of acks
#: brings a held subscriber that close for a moment (it has at most a window unacknowledged),
#: although it is as slow as before: a hidden tab's page parses in throttled bursts.
CAUGHT_UP_AFTER = 1.0


def lag_since(
    since: float | None,
    caught_up: float | None,
    backlog: int,
    history_room: int,
    window: int,
    now: float,
) -> tuple[float | None, float | None]:
    """(When a v2 subscriber's current lag began, None if it keeps up; when it first came back
    within one ``window`` of its session's output since it last reached ``history_room``.) It
    lags from the moment its backlog reaches the room until ``CAUGHT_UP_AFTER`` after it came
    back within a window, if it has not reached the room again meanwhile. Going above a window
    in between does not count against it: during a flood every backlog swings around one
    window (a round reads up to 64 KiB while anyone has credit), even a client that keeps up."""
    if backlog >= history_room:
        return (now if since is None else since), None
    if backlog > window:
        return since, caught_up
    caught_up = now if caught_up is None else caught_up
    if since is not None and now - caught_up >= CAUGHT_UP_AFTER:
        return None, caught_up
    return since, caught_up


def lag_hold_until(last_credit: float, since: float, lag_hold: float, timeout: float) -> float:
    """Until when a lagging v2 subscriber holds its shared session: while it still takes its
    output (credit within ``lag_hold``), and for at most ``timeout`` of one lag, as a v1 holder
    may. A page that is steadily slower (a hidden tab, paced) would otherwise set the pace of
    every other client of the session for as long as it streams."""
    return min(last_credit + lag_hold, since + timeout)


def slow_holders(
    now: float, hold_since: Mapping[K, float], timeout: float, others_ready: bool
) -> list[K]:
    """The v1 holders to detach: each stalled the session for ``timeout`` while others could go.

    Each holder has its own deadline: one that became congested a moment ago is not detached
    together with one stalled for the whole timeout.
    """
    if not others_ready:
        return []
    return [key for key, since in hold_since.items() if now - since >= timeout]


def next_deadline(hold_since: Mapping[K, float], timeout: float) -> float | None:
    """When ``slow_holders`` should look again (the earliest holder's deadline)."""
    return min(hold_since.values()) + timeout if hold_since else None

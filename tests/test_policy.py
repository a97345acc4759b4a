"""Pure tests of the flow-control policy (policy.py), every rule with a fake clock.

Each test names the rule it checks; removing or changing that rule in ``policy.decide`` fails
it. The router's execution of the decisions is tested in tests/test_router_policy.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_termmux import policy
from jupyter_termmux.policy import Grace, Limits, Party, Reservation

LIMITS = Limits(history_limit=512 * 1024, window=64 * 1024, slow_subscriber_timeout=5.0)
ROOM = LIMITS.room
GRACE = LIMITS.slow_subscriber_timeout
END = 10_000_000  # history's end in every test; its start is END - history_limit
START = END - LIMITS.history_limit


def fast(backlog: int = 0) -> Party:
    """A v2 subscriber with room."""
    return Party(2, backlog, 0.0)


def laggard(now: float, acked_ago: float = 0.01) -> Party:
    """A v2 subscriber a history room behind that acknowledged ``acked_ago`` seconds ago."""
    return Party(2, ROOM, now - acked_ago)


def decide(
    parties: list[Party],
    now: float,
    grace: Grace | None = None,
    reservations: dict[str, Reservation] | None = None,
    classic: int = 0,
) -> policy.Decision:
    return policy.decide(
        parties,
        reservations or {},
        classic=classic,
        start=START,
        end=END,
        limits=LIMITS,
        grace=grace or Grace.full(GRACE, now),
        now=now,
    )


# --- rule 2: room ------------------------------------------------------------------------------


def test_a_pty_is_read_while_a_v2_subscriber_has_room_and_paused_when_none_has() -> None:
    """Rule 2: read while some v2 subscriber is under its window; not when all are out."""
    w = LIMITS.window
    assert decide([fast(w - 1)], 0.0).read
    assert not decide([fast(w)], 0.0).read
    assert decide([fast(w), fast(10)], 0.0).read
    assert not decide([fast(w), fast(w + 5)], 0.0).read


def test_a_view_sets_no_pace_while_a_writer_follows() -> None:
    """A view (sent the screen, it never lags) neither keeps the PTY read past a writer out of
    room nor holds it; with views alone, their room counts as anyone's."""
    w = LIMITS.window
    view = Party(2, 0, 0.0, viewing=True)
    assert not decide([fast(w), view], 0.0).read
    assert decide([fast(10), view], 0.0).read
    assert decide([fast(w), Party(2, ROOM, -0.01, viewing=True)], 0.0).read is False
    assert decide([fast(10), Party(2, ROOM, -0.01, viewing=True)], 0.0).read  # no hold
    assert decide([view], 0.0).read
    assert not decide([Party(2, w, 0.0, viewing=True)], 0.0).read
    assert decide([fast(w), view], 0.0, classic=1).read  # a classic socket always has room


def test_a_session_nobody_follows_is_read() -> None:
    """Rule 2: with no subscriber and no reservation holding, the program runs."""
    assert decide([], 0.0).read


def test_a_classic_socket_always_has_room() -> None:
    """Rule 2: JupyterLab's own terminal socket takes output without credit, so a stalled
    termmux subscriber alone does not stop the PTY for it."""
    stalled = Party(2, LIMITS.window, -100.0)
    assert not decide([stalled], 0.0).read
    assert decide([stalled], 0.0, classic=1).read


def test_a_v1_subscriber_holds_from_a_full_room_until_half() -> None:
    """Rule 2/3 for v1: a hold from a full room, released only at half (hysteresis)."""
    assert not policy.v1_holds(False, ROOM - 1, ROOM)
    assert policy.v1_holds(False, ROOM, ROOM)
    assert policy.v1_holds(True, ROOM // 2 + 1, ROOM)
    assert not policy.v1_holds(True, ROOM // 2, ROOM)
    d = decide([Party(1, ROOM, 0.0, holding=False)], 0.0)
    assert d.holding == (True,) and not d.read


# --- rule 3: holds -----------------------------------------------------------------------------


def test_a_laggard_still_acknowledging_holds_a_shared_session() -> None:
    """Rule 3: a v2 subscriber a room behind that acknowledged within LAG_ACK_RECENT stops
    the PTY although another subscriber has room, and says when to look again."""
    d = decide([fast(), laggard(1.0)], 1.0)
    assert not d.read
    assert d.look_again is not None and d.look_again <= 1.0 - 0.01 + policy.LAG_ACK_RECENT


def test_a_laggard_that_stopped_acknowledging_holds_nothing() -> None:
    """Rule 3: one that has not acknowledged for LAG_ACK_RECENT is overtaken (it catches up
    from history or gets session.truncated)."""
    d = decide([fast(), laggard(1.0, acked_ago=policy.LAG_ACK_RECENT)], 1.0)
    assert d.read


def test_a_laggard_below_the_room_holds_nothing() -> None:
    """Rule 3: behind by less than the history room, history still holds its bytes."""
    assert decide([fast(), Party(2, ROOM - 1, 1.0)], 1.0).read


def test_a_reservation_holds_before_history_would_pass_it() -> None:
    """Rule 3: a reservation stops the PTY once history's end is a room past its offset."""
    near = {"t": Reservation(END - ROOM + 1, 5.0)}
    far = {"t": Reservation(END - ROOM, 5.0)}
    assert decide([fast()], 1.0, reservations=near).read
    d = decide([fast()], 1.0, reservations=far)
    assert not d.read and d.look_again is not None


def test_lapsed_reservations_and_reservations_below_history_are_dropped() -> None:
    """Rule 3: a reservation lapses after resume_hold, and one history already moved past
    can never be served whole, so it holds nothing and is forgotten."""
    res = {
        "lapsed": Reservation(END, 1.0),
        "lost": Reservation(START - 1, 9.0),
        "live": Reservation(END, 9.0),
    }
    d = decide([fast()], 1.0, reservations=res)
    assert sorted(d.drop) == ["lapsed", "lost"]
    assert d.read


def test_a_hold_nobody_waits_for_costs_no_grace() -> None:
    """Rule 4: when no other party has room, a hold stops nobody: the grace is not spent."""
    g = Grace.full(GRACE, 0.0)
    d = decide([laggard(0.0)], 0.0, grace=g)
    assert not d.read and not d.grace.spending
    res = {"t": Reservation(END - ROOM, 100.0)}
    d = decide([], 0.0, grace=g, reservations=res)
    assert not d.read and not d.grace.spending


# --- rule 4: one grace per session -------------------------------------------------------------


def run(
    seconds: float,
    step: float,
    parties_at: object,
    reservations_at: object = None,
    grace: Grace | None = None,
) -> tuple[float, Grace, list[policy.Decision]]:
    """Drive ``decide`` on a fake clock; return the share of time the PTY was read."""
    now = 0.0
    grace = grace or Grace.full(GRACE, now)
    read = 0.0
    decisions = []
    while now < seconds:
        parties = parties_at(now)  # type: ignore[operator]
        res = reservations_at(now) if reservations_at else {}  # type: ignore[operator]
        d = decide(parties, now, grace=grace, reservations=res)
        grace = d.grace
        decisions.append(d)
        read += step if d.read else 0.0
        now += step
    return read / seconds, grace, decisions


def test_a_laggard_holds_a_shared_session_for_one_grace_then_not_until_it_is_whole() -> None:
    """Rule 4: a laggard that keeps acknowledging stops a reader with room for exactly one
    grace; then holds stop applying until the grace is whole again (GRACE / GRACE_REFILL)."""
    step = 0.01
    _, grace, decisions = run(GRACE + 1.0, step, lambda t: [fast(), laggard(t)])
    first_read = next(i for i, d in enumerate(decisions) if d.read) * step
    assert first_read == pytest.approx(GRACE, abs=2 * step)
    assert grace.spent
    refill = GRACE / policy.GRACE_REFILL
    later = decide([fast(), laggard(GRACE + refill - 0.5)], GRACE + refill - 0.5, grace=grace)
    assert later.read, "the grace is not whole yet"
    whole = decide([fast(), laggard(GRACE + refill + 0.1)], GRACE + refill + 0.1, grace=grace)
    assert not whole.read, "a whole grace holds again"


def test_a_persistent_slow_party_costs_a_reader_at_most_its_share() -> None:
    """Rule 4: whatever holds (a drip acker), a reader with room is stopped at most one grace
    at a stretch and GRACE_REFILL / (1 + GRACE_REFILL) of the time in the long run."""
    share, _, decisions = run(200.0, 0.05, lambda t: [fast(), laggard(t)])
    bound = 1.0 / (1.0 + policy.GRACE_REFILL)
    assert share >= bound - 0.03, share
    longest = stretch = 0
    for d in decisions:
        stretch = 0 if d.read else stretch + 1
        longest = max(longest, stretch)
    assert longest * 0.05 <= GRACE + 0.1


def test_a_drop_loop_cannot_extend_the_grace() -> None:
    """Rule 4: a client that drops and comes back in a loop leaves a fresh reservation each
    time; they all spend the session's one grace, so the reader keeps its share."""

    def reservations(t: float) -> dict[str, Reservation]:
        k = int(t / 0.2)  # a new drop every 0.2 s, each far behind
        return {f"drop{i}": Reservation(END - ROOM, i * 0.2 + 5.0) for i in range(k - 24, k + 1)}

    share, _, _ = run(100.0, 0.05, lambda t: [fast()], reservations)
    assert share >= 1.0 / (1.0 + policy.GRACE_REFILL) - 0.05, share


def test_a_spent_grace_detaches_v1_holders_only_while_someone_else_is_ready() -> None:
    """Rule 4 for v1: a v1 holder cannot catch up from history, so once the grace is spent it
    is detached, but only while another party is ready (a v1 one only at its low mark: two
    stalled v1 sockets, one between its marks, detach nobody and spend no grace)."""
    spent = Grace(0.0, 0.0, False, True)
    holder = Party(1, ROOM, 0.0, holding=True)
    d = decide([holder, fast()], 0.0, grace=spent)
    assert d.read and d.detach == (0,)
    d = decide([holder, Party(2, LIMITS.window, 0.0)], 0.0, grace=spent)
    assert not d.read and d.detach == ()
    between = Party(1, ROOM // 2 + 1, 0.0, holding=False)
    d = decide([holder, between], 0.0)
    assert not d.read and not d.grace.spending and d.detach == ()
    d = decide([holder, between], 0.0, grace=spent)
    assert not d.read and d.detach == ()
    drained = Party(1, ROOM // 2, 0.0, holding=False)
    assert decide([holder, drained], 0.0, grace=spent).detach == (0,)


def test_a_zero_grace_turns_holds_of_shared_sessions_off() -> None:
    """slow_subscriber_timeout 0: no hold ever stops a reader with room, and nothing asks to
    look again at once (a timer due now would fire in a loop)."""
    limits = replace(LIMITS, slow_subscriber_timeout=0.0)
    d = policy.decide(
        [fast(), laggard(1.0)],
        {},
        classic=0,
        start=START,
        end=END,
        limits=limits,
        grace=Grace.full(0.0, 1.0),
        now=1.0,
    )
    assert d.read
    assert d.look_again is None or d.look_again > 1.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 2), st.integers(0, 2 * ROOM), st.floats(0, 0.3), st.booleans()),
        max_size=6,
    ),
    st.integers(0, 3),
    st.sampled_from([0.0, 0.5, GRACE]),
)
def test_decisions_are_consistent(
    raw: list[tuple[int, int, float, bool]], classic: int, level: float
) -> None:
    """For any parties: the PTY is never read while nobody has room; a detach only happens
    with a spent grace and someone ready; the grace stays within [0, whole]; the next look is
    in the future (a timer due now would fire in a loop)."""
    now = 10.0
    parties = [Party(v, b, now - ago, h) for v, b, ago, h in raw]
    grace = Grace(level, now - 0.5, level == 0.5, level == 0.0)
    d = decide(parties, now, grace=grace, classic=classic)
    anyone = classic > 0 or not parties
    anyone = anyone or any(
        (p.version >= 2 and p.backlog < LIMITS.window)
        or (p.version < 2 and not policy.v1_holds(p.holding, p.backlog, ROOM))
        for p in parties
    )
    if not anyone:
        assert not d.read
    ready = classic > 0 or any(
        (p.version >= 2 and p.backlog < LIMITS.window) or (p.version < 2 and p.backlog <= ROOM // 2)
        for p in parties
    )
    if d.detach:
        assert d.grace.spent and ready and all(parties[i].version == 1 for i in d.detach)
    assert 0.0 <= d.grace.level <= GRACE
    assert d.look_again is None or d.look_again > now, "a wake now would spin"


def test_reservations_are_bounded_per_session() -> None:
    """A drop loop cannot grow a session's reservations: past MAX_RESERVATIONS the one that
    lapses first goes."""
    res: dict[str, Reservation] = {}
    for i in range(100):
        res = policy.reserve(res, f"k{i}", i, float(i))
    assert len(res) == policy.MAX_RESERVATIONS
    assert min(r.lapse_at for r in res.values()) == 100 - policy.MAX_RESERVATIONS


def test_invalid_limits_are_named_one_per_line() -> None:
    """Every wrong limit is named; a window below 64 bytes could not carry an escape sequence."""
    values = {
        "history_limit": 0,
        "max_message_size": -1,
        "max_sessions_per_socket": 1,
        "window": 10,
        "socket_window": 8192,
        "resume_hold": -1.0,
        "slow_subscriber_timeout": 1.0,
    }
    assert policy.validate(values) == [
        "history_limit must be positive",
        "max_message_size must be positive",
        "window must be at least 64 bytes",
        "resume_hold must not be negative",
    ]


def test_the_window_is_capped_at_the_history_room() -> None:
    """A lone subscriber with a whole window unacknowledged must still be within history."""
    values = {
        "history_limit": 100_000,
        "max_message_size": 1,
        "max_sessions_per_socket": 1,
        "window": 10**9,
        "socket_window": 8192,
        "resume_hold": 0.0,
        "slow_subscriber_timeout": 0.0,
    }
    assert policy.limits_from(values).window == policy.history_room(100_000)

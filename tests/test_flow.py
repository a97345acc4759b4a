"""Pure tests of the flow-control decisions (flow.py)."""

from __future__ import annotations

import pytest

from jupyter_termmux import flow


def test_watermarks_have_hysteresis() -> None:
    """A v1 subscriber starts holding above high and stops only at or below low."""
    w = flow.Watermarks(high=100, low=20)
    assert not w.holds(False, 100) and w.holds(False, 101)
    assert w.holds(True, 50) and not w.holds(True, 20)


def test_watermarks_refuse_nonsense() -> None:
    """low must be below high."""
    with pytest.raises(ValueError):
        flow.Watermarks(high=10, low=10)


def test_read_while_one_v2_subscriber_keeps_up() -> None:
    """A PTY is read while at least one v2 subscriber has credit, and paused when none has."""
    read = flow.should_read
    assert read(
        v1_holding=False, v2_backlogs=[(900, 100), (5, 100)], reserved_lag=None, history_room=10**6
    )
    assert not read(
        v1_holding=False,
        v2_backlogs=[(900, 100), (100, 100)],
        reserved_lag=None,
        history_room=10**6,
    )
    assert read(v1_holding=False, v2_backlogs=[], reserved_lag=None, history_room=10**6)


def test_a_lagging_subscriber_still_taking_output_pauses() -> None:
    """A v2 subscriber that lags to the history's edge but still acknowledges holds the PTY,
    even while another subscriber has credit."""
    assert not flow.should_read(
        v1_holding=False,
        v2_backlogs=[(900, 100), (5, 100)],
        reserved_lag=None,
        history_room=800,
        lag_held=True,
    )


def test_v1_holder_and_reservation_pause() -> None:
    """A holding v1 subscriber pauses the PTY; so does a reservation about to be overrun."""
    read = flow.should_read
    assert not read(v1_holding=True, v2_backlogs=[(0, 100)], reserved_lag=None, history_room=10)
    assert not read(v1_holding=False, v2_backlogs=[(0, 100)], reserved_lag=10, history_room=10)
    assert read(v1_holding=False, v2_backlogs=[(0, 100)], reserved_lag=9, history_room=10)


def test_slow_holders_each_have_their_own_deadline() -> None:
    """Only holders stalled for the whole timeout are detached, and only if another is ready."""
    since = {"old": 0.0, "new": 4.99}
    assert flow.slow_holders(5.0, since, 5.0, others_ready=True) == ["old"]
    assert flow.slow_holders(5.0, since, 5.0, others_ready=False) == []
    assert flow.next_deadline(since, 5.0) == 5.0
    assert flow.next_deadline({}, 5.0) is None


def test_a_lag_lasts_from_the_history_room_until_a_second_back_within_a_window() -> None:
    """A subscriber lags from when its backlog reaches the history's room. Creeping just under
    the room does not end the lag, nor does a moment within one window (one burst of acks)
    followed by the room again: only CAUGHT_UP_AFTER since it came within a window, without
    reaching the room meanwhile, does."""
    room, window, settle = 1000, 300, flow.CAUGHT_UP_AFTER

    def lag(since: float | None, caught: float | None, backlog: int, now: float) -> object:
        return flow.lag_since(since, caught, backlog, room, window, now)

    assert lag(None, None, 999, 5.0) == (None, None)
    assert lag(None, None, 1000, 5.0) == (5.0, None)
    assert lag(5.0, None, 1200, 6.0) == (5.0, None)  # still the same lag
    assert lag(5.0, None, 600, 7.0) == (5.0, None)  # under the room, not caught up
    assert lag(5.0, None, 300, 8.0) == (5.0, 8.0)  # within a window: a burst of acks, maybe
    assert lag(5.0, 8.0, 900, 8.1) == (5.0, 8.0)  # above a window: a flood's normal swing
    assert lag(5.0, 8.0, 100, 8.0 + settle / 2) == (5.0, 8.0)
    assert lag(5.0, 8.0, 100, 8.0 + settle) == (None, 8.0)  # stayed off the room: caught up
    assert lag(5.0, 8.0, 1000, 8.5) == (5.0, None)  # at the room again: the same lag goes on


def test_a_lagging_subscriber_holds_while_it_acks_and_for_at_most_the_timeout() -> None:
    """The hold ends lag_hold after the last credit, and slow_subscriber_timeout after the lag
    began however steadily it acks: a steadily slower page cannot set everyone's pace."""
    assert flow.lag_hold_until(last_credit=10.0, since=9.5, lag_hold=0.1, timeout=5.0) == 10.1
    assert flow.lag_hold_until(last_credit=14.95, since=9.5, lag_hold=0.1, timeout=5.0) == 14.5

"""The router carries out ``policy.decide`` (fake clock, fake clients, fake terminals).

Everything here is the router's execution of decisions: pausing and resuming the PTY, the one
timer per session, detaching slow v1 sockets, reservations released by their token, the grace
surviving re-attaches and drop loops, a reused name. Real sockets and PTYs run the same code
in the socket tests (tests/test_socket_*.py, tests/test_hostile.py).
"""

from __future__ import annotations

import heapq
import logging
from typing import Any, Callable

import pytest

from jupyter_termmux import policy
from jupyter_termmux.history import History
from jupyter_termmux.policy import Limits
from jupyter_termmux.router import Router
from jupyter_termmux.session import Subscriber

LIMITS = Limits(history_limit=512 * 1024, window=64 * 1024, slow_subscriber_timeout=2.0)
ROOM = LIMITS.room
LOG = logging.getLogger("test_router_policy")


class Clock:
    """A fake event loop clock with timers."""

    def __init__(self) -> None:
        self.now = 100.0
        self._timers: list[tuple[float, int, Timer]] = []
        self._n = 0

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(callback)
        self._n += 1
        heapq.heappush(self._timers, (self.now + delay, self._n, timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time on, running every timer due on the way, in order."""
        until = self.now + seconds
        while self._timers and self._timers[0][0] <= until:
            at, _, timer = heapq.heappop(self._timers)
            self.now = max(self.now, at)
            if not timer.cancelled:
                timer.callback()
        self.now = until


class Timer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakePty:
    """What the router needs of a terminal, with a real ``History``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.incarnation = f"{name}-1"
        self.history = History(LIMITS.history_limit)
        self.reading = True
        self.subscribers: list[Subscriber] = []
        self.classic = 0
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.clients_changed: Callable[[], None] = lambda: None
        self.on_exit: Callable[[int | None, str | None], None] = lambda code, sig: None
        self.reading_changed: Callable[[bool], None] = lambda reading: None

    def emit(self, n: int) -> None:
        """The program printed ``n`` bytes (a read round)."""
        self.history.append(b"x" * n)
        self.on_output(b"")

    def pause(self) -> None:
        self.reading = False

    def resume(self) -> None:
        self.reading = True

    def add_subscriber(self, sub: Subscriber) -> None:
        self.subscribers.append(sub)

    def remove_subscriber(self, sub: Subscriber) -> None:
        if sub in self.subscribers:
            self.subscribers.remove(sub)

    def classic_clients(self) -> int:
        return self.classic

    def nudge(self) -> None:
        pass


class FakeTerminals:
    def __init__(self) -> None:
        self.ptys: dict[str, FakePty] = {}
        self.available = True

    def get(self, name: str) -> FakePty:
        return self.ptys[name]

    def shutdown(self) -> None:
        pass


class FakeClient:
    """A socket whose subscribers' backlogs and acknowledgements the test sets."""

    def __init__(self, label: str, version: int = 2) -> None:
        self.label = label
        self.version = version
        self.backlogs: dict[Subscriber, int] = {}
        self.credits: dict[Subscriber, float] = {}
        self.sent: list[dict[str, Any]] = []
        self.router: Router

    def wake(self, sub: Subscriber, live: bool = False) -> None:
        pass

    def backlog(self, sub: Subscriber) -> int:
        return self.backlogs.get(sub, 0)

    def delivered(self, sub: Subscriber) -> int:
        return sub.session.history.end - self.backlog(sub)

    def last_credit(self, sub: Subscriber) -> float:
        return self.credits.get(sub, float("-inf"))

    def forget(self, sub: Subscriber) -> None:
        pass

    def finish(self, sub: Subscriber, msg: dict[str, Any]) -> None:
        self.sent.append(msg)

    def send(self, msg: dict[str, Any]) -> None:
        self.sent.append(msg)

    def close(self, code: int, reason: str) -> None:
        pass

    def router_acked(self, sub: Subscriber) -> None:
        self.router.acked(sub.session)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def terminals() -> FakeTerminals:
    t = FakeTerminals()
    t.ptys["s"] = FakePty("s")
    t.ptys["s"].history.append(b"y" * 2 * LIMITS.history_limit)  # history is full
    return t


@pytest.fixture
def router(terminals: FakeTerminals, clock: Clock) -> Router:
    return Router(
        terminals,  # type: ignore[arg-type]
        LIMITS,
        LOG,
        clock=clock,
        call_later=clock.call_later,  # type: ignore[arg-type]
    )


def attach(router: Router, client: FakeClient, **kwargs: Any) -> Subscriber:
    kwargs.setdefault("replay", False)
    if client not in router.clients():  # type: ignore[comparison-overlap]
        router.connect(client)  # type: ignore[arg-type]
        client.router = router
    return router.attach(client, "s", **kwargs).sub  # type: ignore[arg-type]


def lag(client: FakeClient, sub: Subscriber, clock: Clock) -> None:
    """``sub`` is a room behind and acknowledged just now; a read round or its ack tells the
    router (whichever happens: a read round only while the PTY is read)."""
    client.backlogs[sub] = ROOM
    client.credits[sub] = clock.now
    pty = sub.session.pty
    if pty.reading:
        pty.emit(100)  # type: ignore[attr-defined]
    else:
        sub.client.router_acked(sub)  # type: ignore[attr-defined]


def test_the_router_pauses_for_a_laggard_and_resumes_when_the_grace_is_spent(
    router: Router, terminals: FakeTerminals, clock: Clock
) -> None:
    """A laggard that keeps acknowledging pauses the PTY; the session's timer resumes it once
    the grace is spent, without any other event."""
    fast, slow = FakeClient("fast"), FakeClient("slow")
    attach(router, fast)
    sub = attach(router, slow)
    pty = terminals.ptys["s"]
    for _ in range(int(LIMITS.slow_subscriber_timeout / 0.05) - 2):
        lag(slow, sub, clock)
        assert not pty.reading
        clock.advance(0.05)
    for _ in range(4):
        lag(slow, sub, clock)
        clock.advance(0.05)
    assert pty.reading, "the grace is spent: the fast client goes on"


def test_a_laggard_that_stops_acknowledging_is_let_go_by_the_timer(
    router: Router, terminals: FakeTerminals, clock: Clock
) -> None:
    """The hold lapses LAG_ACK_RECENT after the last acknowledgement, by the session's timer."""
    fast, slow = FakeClient("fast"), FakeClient("slow")
    attach(router, fast)
    sub = attach(router, slow)
    lag(slow, sub, clock)
    assert not terminals.ptys["s"].reading
    clock.advance(policy.LAG_ACK_RECENT + 0.01)
    assert terminals.ptys["s"].reading


def test_reattaching_does_not_restart_the_grace(
    router: Router, terminals: FakeTerminals, clock: Clock
) -> None:
    """A laggard that spent the grace and attaches again (or drops and comes back) finds it
    spent: the grace is the session's, and outlives the session itself."""
    fast, slow = FakeClient("fast"), FakeClient("slow")
    attach(router, fast)
    sub = attach(router, slow)
    while not terminals.ptys["s"].reading or clock.now < 100.5:
        lag(slow, sub, clock)
        clock.advance(0.05)
    sub = attach(router, slow)  # again
    lag(slow, sub, clock)
    assert terminals.ptys["s"].reading
    # Everyone leaves (the session is forgotten) and comes back: still spent.
    router.detach(fast, "s")  # type: ignore[arg-type]
    router.detach(slow, "s")  # type: ignore[arg-type]
    assert "s" not in router.sessions
    attach(router, fast)
    sub = attach(router, slow)
    lag(slow, sub, clock)
    assert terminals.ptys["s"].reading


def test_a_dropped_v2_socket_leaves_a_reservation_its_token_releases(
    router: Router, clock: Clock
) -> None:
    """A drop reserves the session for resume_hold; attaching with the token of the dropped
    subscription releases exactly that reservation, and nothing else does."""
    a, b, again = FakeClient("a"), FakeClient("b"), FakeClient("again")
    attach(router, FakeClient("keeps"))
    sub_a, sub_b = attach(router, a), attach(router, b)
    session = sub_a.session
    router.disconnect(a)  # type: ignore[arg-type]
    router.disconnect(b)  # type: ignore[arg-type]
    assert set(session.reservations) == {sub_a.token, sub_b.token}
    attach(router, again, since=session.history.end)  # no token: releases nothing
    assert set(session.reservations) == {sub_a.token, sub_b.token}
    attach(router, FakeClient("a2"), since=session.history.end, resume=sub_a.token)
    assert set(session.reservations) == {sub_b.token}
    clock.advance(LIMITS.resume_hold + 0.1)
    assert session.reservations == {}, "the session's timer forgets a lapsed reservation"


def test_a_socket_that_will_not_resume_leaves_no_reservation(router: Router) -> None:
    """A socket that closed (1000), left the page (1001) or was closed for cause will not
    resume (``MuxConnection.disconnect`` says so): no reservation."""
    a = FakeClient("a")
    attach(router, FakeClient("keeps"))
    sub = attach(router, a)
    router.disconnect(a, may_resume=False)  # type: ignore[arg-type]
    assert sub.session.reservations == {}


def test_no_reservation_below_history(router: Router) -> None:
    """A client whose last delivered byte history no longer holds cannot resume whole: its
    reservation would stop the PTY for nothing."""
    a = FakeClient("a")
    attach(router, FakeClient("keeps"))
    sub = attach(router, a)
    a.backlogs[sub] = LIMITS.history_limit + 1
    router.disconnect(a)  # type: ignore[arg-type]
    assert sub.session.reservations == {}


def test_a_spent_grace_detaches_a_slow_v1_socket(
    router: Router, terminals: FakeTerminals, clock: Clock
) -> None:
    """A v1 socket holding a session that another client could read is detached (reason
    slow) when the grace is spent, by the session's timer."""
    v1, fast = FakeClient("v1", version=1), FakeClient("fast")
    attach(router, fast)
    sub = attach(router, v1)
    v1.backlogs[sub] = ROOM
    router.update(sub.session)
    assert not terminals.ptys["s"].reading
    clock.advance(LIMITS.slow_subscriber_timeout + 0.01)
    assert v1.sent == [{"type": "session.detached", "sessionId": "s", "reason": "slow"}]
    assert terminals.ptys["s"].reading
    assert router.subscriber(v1, "s") is None  # type: ignore[arg-type]


def test_a_reused_name_ends_the_old_session_for_its_clients(
    router: Router, terminals: FakeTerminals
) -> None:
    """When a name belongs to a new terminal before the old one reported its exit, the old
    one's clients get session.exited and are unsubscribed (their input would go nowhere)."""
    old = FakeClient("old")
    attach(router, old)
    terminals.ptys["s"] = FakePty("s")
    attach(router, FakeClient("new"))
    assert old.sent == [{"type": "session.exited", "sessionId": "s", "exitCode": None}]
    assert router.subscriber(old, "s") is None  # type: ignore[arg-type]


def test_credit_to_a_paused_session_reads_it_again(
    router: Router, terminals: FakeTerminals, clock: Clock
) -> None:
    """A PTY paused because its only client is out of credit is read again as soon as that
    client acknowledges (``Router.acked``): a quiet session has no read round to notice."""
    client = FakeClient("only")
    sub = attach(router, client)
    client.backlogs[sub] = LIMITS.window
    terminals.ptys["s"].emit(100)
    assert not terminals.ptys["s"].reading
    client.backlogs[sub] = 0
    router.acked(sub.session)
    assert terminals.ptys["s"].reading


def test_a_classic_socket_joining_a_paused_session_is_served(
    router: Router, terminals: FakeTerminals
) -> None:
    """A classic socket (JupyterLab's own terminal) always has room: when one joins a session
    paused for a stalled termmux client, the adapter says so and the PTY is read."""
    stalled = FakeClient("stalled")
    sub = attach(router, stalled)
    stalled.backlogs[sub] = LIMITS.window
    pty = terminals.ptys["s"]
    pty.emit(100)
    assert not pty.reading
    pty.classic = 1
    pty.clients_changed()
    assert pty.reading


def test_a_grace_kept_while_nobody_follows_the_terminal_refills(
    router: Router, terminals: FakeTerminals, clock: Clock
) -> None:
    """A session dropped while a hold was spending its grace (a laggard held it for a classic
    socket, then left) keeps the grace as of then: it is not spent further while nobody is
    attached, and it refills."""
    pty = terminals.ptys["s"]
    pty.classic = 1
    slow = FakeClient("slow")
    sub = attach(router, slow)
    lag(slow, sub, clock)
    assert sub.session.grace.spending and not pty.reading
    clock.advance(0.05)
    router.detach(slow, "s")  # type: ignore[arg-type]
    assert "s" not in router.sessions
    clock.advance(100.0)
    sub = attach(router, slow)
    whole = LIMITS.slow_subscriber_timeout
    assert sub.session.grace.at_time(clock.now, whole).level == whole
    lag(slow, sub, clock)
    assert not pty.reading, "a whole grace holds for the laggard"

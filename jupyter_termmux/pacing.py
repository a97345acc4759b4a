"""Carrying out the flow policy for one session: ``policy.decide``, then pause or resume its PTY,
forget reservations, keep its grace, arm its one timer, and hand back the slow v1 subscribers
for the router to detach. No decision is made here.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from . import policy
from .policy import Limits
from .pty import Pty
from .scheduler import CallLater, Handle
from .session import Session, Subscriber


class Pacing:
    """Executes ``policy.decide`` for the router's sessions, on the event loop or a test's clock."""

    def __init__(
        self,
        limits: Limits,
        detach: Callable[[Subscriber], None],
        *,
        clock: Callable[[], float] | None = None,
        call_later: CallLater | None = None,
    ) -> None:
        self.limits = limits
        self._detach = detach
        self._clock = clock
        self._call_later = call_later
        #: Each terminal's grace outlives its session: a client that leaves and comes back
        #: (or a drop loop) finds it as spent as it left it.
        self._graces: weakref.WeakKeyDictionary[Pty, policy.Grace] = weakref.WeakKeyDictionary()

    def now(self) -> float:
        """The event loop's time (or the test's)."""
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def grace(self, pty: Pty) -> policy.Grace:
        """The grace a new session of ``pty`` starts with: what its last session left."""
        grace = self._graces.pop(pty, None)
        return grace or policy.Grace.full(self.limits.slow_subscriber_timeout, self.now())

    def forget(self, session: Session) -> None:
        """The session is dropped: stop its timer, keep its grace for the next one."""
        session.cancel_timer()
        # As of now: nothing spends it while nobody is attached.
        self._graces[session.pty] = session.grace.at_time(
            self.now(), self.limits.slow_subscriber_timeout
        )

    def reserve(self, sub: Subscriber, offset: int) -> None:
        """Hold history from ``offset`` for ``sub``'s client, which dropped, for ``resume_hold``."""
        session = sub.session
        lapse_at = self.now() + self.limits.resume_hold
        session.reservations = policy.reserve(session.reservations, sub.token, offset, lapse_at)

    def update(self, session: Session) -> None:
        """Decide for ``session`` now and carry the decision out."""
        now = self.now()
        subs = list(session.subscribers.values())
        parties = [
            policy.Party(
                s.client.version,
                s.client.backlog(s),
                s.client.last_credit(s),
                s.holding,
                s.viewing,
            )
            for s in subs
        ]
        history = session.history
        decision = policy.decide(
            parties,
            session.reservations,
            classic=session.pty.classic_clients(),
            start=history.start,
            end=history.end,
            limits=self.limits,
            grace=session.grace,
            now=now,
        )
        session.grace = decision.grace
        for sub, holding in zip(subs, decision.holding):
            sub.holding = holding
        for key in decision.drop:
            del session.reservations[key]
        if decision.read:
            session.pty.resume()
        else:
            session.pty.pause()
        self._look_again(session, decision.look_again, now)
        for i in decision.detach:
            self._detach(subs[i])

    def _look_again(self, session: Session, at: float | None, now: float) -> None:
        """Arm the session's one timer; an earlier one stays (deciding early is harmless, and
        ``update`` runs on every read round)."""
        if at is None or (session.timer is not None and session.timer_at <= at):
            return
        session.cancel_timer()
        session.timer_at = at
        session.timer = self._later(max(0.0, at - now), session)

    def _later(self, delay: float, session: Session) -> Handle:
        if self._call_later is not None:
            return self._call_later(delay, lambda: self._fired(session))
        return asyncio.get_running_loop().call_later(delay, self._fired, session)

    def _fired(self, session: Session) -> None:
        session.timer = None
        if session.on_timer is not None:
            session.on_timer()

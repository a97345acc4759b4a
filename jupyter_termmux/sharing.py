"""What sharing a terminal means for its subscriptions: a writer that becomes a viewer (or back),
and every subscriber told the size the PTY took. Whose size that is is ``sizing.py``'s rule, who
may write ``access.py``'s; the router (``router.py``) calls these on subscriptions it owns.
"""

from __future__ import annotations

import logging

from . import messages
from .session import Session, Subscriber


def set_mode(sub: Subscriber, mode: str, log: logging.Logger) -> None:
    """Make an attached subscriber a writer or a viewer (a v1 socket attaching again); a
    viewer's size no longer counts."""
    if sub.mode == mode:
        return
    sub.mode = mode
    if sub.viewing:
        sub.session.pty.forget_size(sub)
    log.info(
        "termmux: socket %s now attached to session %s to %s",
        sub.client.label,
        sub.session.name,
        mode,
    )


def resized(session: Session, rows: int, cols: int) -> None:
    """The PTY took another size: every subscriber is told, viewers to render at it."""
    msg = messages.resized(session.name, rows, cols)
    for sub in list(session.subscribers.values()):
        sub.client.send(dict(msg))

"""What the router reports of its maps: every terminal for ``session.list``, and the counts of
every map for tests and debugging. Read-only: ``router.Router`` owns the maps and passes them in.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Any

from .session import Client, Session, Subscriber
from .terminals import Terminals


def session_list(terminals: Terminals, attached: Container[str]) -> list[dict[str, Any]]:
    """Every terminal, with its client count (writers, classic sockets among them, and
    viewers) and whether it is one of ``attached``."""
    sessions = []
    for n in terminals.names():
        writers, viewers = terminals.client_counts(n)
        sessions.append(
            {
                "sessionId": n,
                "clients": writers + viewers,
                "attached": n in attached,
                "writers": writers,
                "viewers": viewers,
            }
        )
    return sessions


def stats(
    attached: Mapping[Client, Mapping[str, Subscriber]], sessions: Mapping[str, Session]
) -> dict[str, Any]:
    """Counts of every map: sockets, their subscriptions, and each session's state."""
    return {
        "sockets": len(attached),
        "subscriptions": sum(len(subs) for subs in attached.values()),
        "sessions": {
            name: {
                "subscribers": len(s.subscribers),
                "paused": not s.pty.reading,
                "history_bytes": s.history.nbytes,
                "reservations": len(s.reservations),
                "grace": s.grace.level,
            }
            for name, s in sessions.items()
        },
    }

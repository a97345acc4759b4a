"""Who may do what on a termmux socket: one table and two functions, no I/O.

The server's own authorizer decides, on resource ``terminals``, with the actions the rest of
Jupyter uses for it: ``read`` lists terminals (``GET /api/terminals``), ``write`` creates and
deletes them (``POST``/``DELETE``), ``execute`` opens one (the classic terminal socket). The
handler asks the authorizer once per action at the upgrade (it may be async), and the
connection checks every request against that answer (``needs``, ``Access.may``).

With ``TermMuxApp.allow_viewers`` off nothing changes: the upgrade needs ``execute`` and then
every request is allowed, as before. With it on, ``read`` is enough to open the socket and
watch (``mode: "view"``); typing, resizing and a write attach still need ``execute``, and
creating or closing a session needs ``write``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .messages import VIEW
from .protocol import Request

#: The resource every question is about (that of jupyter_server_terminals).
RESOURCE = "terminals"

READ = "read"
WRITE = "write"
EXECUTE = "execute"
ACTIONS = (READ, WRITE, EXECUTE)

#: What each request needs beyond an open socket. ``terminal.input`` and ``terminal.resize``
#: need a write attachment, which needed ``execute`` (a view attachment answers ``read-only``);
#: ``session.attach`` depends on its mode (``needs``). Absent: nothing more.
NEEDS = {
    "session.create": WRITE,
    "session.close": WRITE,
    "session.list": READ,
}


@dataclass(frozen=True)
class Access:
    """The actions one socket's user may do on ``terminals``, as the authorizer answered."""

    actions: frozenset[str]

    def may(self, action: str) -> bool:
        """Whether the user may do ``action``."""
        return action in self.actions


#: Everything: a socket opened with ``allow_viewers`` off (its user had ``execute``).
EVERYTHING = Access(frozenset(ACTIONS))


def may_open(access: Access, allow_viewers: bool) -> bool:
    """Whether the socket may be opened at all: ``execute``, or ``read`` when viewers are on."""
    return access.may(EXECUTE) or (allow_viewers and access.may(READ))


def needs(request: Request) -> str | None:
    """The action ``request`` needs, or None when an open socket is enough."""
    if request.type == "session.attach":
        return READ if request.args["mode"] == VIEW else EXECUTE
    return NEEDS.get(request.type)

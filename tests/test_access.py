"""Pure tests of who may do what on a termmux socket (``access.py``)."""

from __future__ import annotations

import pytest

from jupyter_termmux import access, protocol
from jupyter_termmux.access import Access

LIMIT = 1 << 20


def _needs(frame: str) -> str | None:
    return access.needs(protocol.parse(frame, LIMIT))


@pytest.mark.parametrize(
    "frame, action",
    [
        ('{"type":"session.attach","sessionId":"1"}', "execute"),
        ('{"type":"session.attach","sessionId":"1","mode":"write"}', "execute"),
        ('{"type":"session.attach","sessionId":"1","mode":"view"}', "read"),
        ('{"type":"session.create"}', "write"),
        ('{"type":"session.close","sessionId":"1"}', "write"),
        ('{"type":"session.list"}', "read"),
        # a write attachment (which needed execute) or read-only: decided on the subscription
        ('{"type":"terminal.input","sessionId":"1","data":"x"}', None),
        ('{"type":"terminal.resize","sessionId":"1","rows":2,"cols":3}', None),
        ('{"type":"session.detach","sessionId":"1"}', None),
        ('{"type":"ping"}', None),
        ('{"type":"profile.list"}', None),
    ],
)
def test_each_request_needs_what_the_rest_of_jupyter_needs(frame: str, action: str | None) -> None:
    """Viewing and listing need read, typing needs execute, creating and closing need write."""
    assert _needs(frame) == action


@pytest.mark.parametrize(
    "actions, allow_viewers, opens",
    [
        ({"execute"}, False, True),
        ({"read"}, False, False),
        ({"read", "write"}, False, False),
        (set(), True, False),
        ({"read"}, True, True),
        ({"write"}, True, False),
        ({"execute"}, True, True),
    ],
)
def test_the_socket_opens_on_execute_or_on_read_with_viewers(
    actions: set[str], allow_viewers: bool, opens: bool
) -> None:
    """execute opens the socket as before; read only when allow_viewers is on."""
    assert access.may_open(Access(frozenset(actions)), allow_viewers) is opens


def test_everything_allows_every_action() -> None:
    """A socket opened with viewers off is allowed every request, as before."""
    assert all(access.EVERYTHING.may(a) for a in access.ACTIONS)
    assert not Access(frozenset({"read"})).may("execute")

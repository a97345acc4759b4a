"""Which size a shared terminal takes: that of the writer most recently active.

tmux calls this rule ``window-size latest``: the size follows the client that last typed or
resized, so whoever is working sees a terminal that fits their window, and a narrow window
(a phone, a split pane) that only watches does not shrink the others'. terminado sized to the
smallest client instead (jupyterlab#6289). Viewers never become active here: they neither type
nor resize. Pure state, no I/O: ``ptysize.PtySize`` applies the answer to its PTY.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

#: The largest size terminado and the protocol accept (``messages.MAX_SIZE``).
_MAX = 4096


def known(size: Any) -> tuple[int, int] | None:
    """``size`` as (rows, cols) when both are usable integers, else None (not yet known, or a
    classic socket that sent something odd)."""
    try:
        rows, cols = size
    except (TypeError, ValueError):
        return None
    for n in (rows, cols):
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= _MAX:
            return None
    return rows, cols


class Latest:
    """When each client of one terminal was last active, and whose size that gives."""

    def __init__(self) -> None:
        self._clock = itertools.count(1)
        self._stamps: dict[Any, int] = {}
        #: The client whose size the terminal has now, None before anyone was active.
        self.sizer: Any = None

    def active(self, client: Any) -> None:
        """``client`` typed or resized just now."""
        self._stamps[client] = next(self._clock)

    def forget(self, client: Any) -> None:
        """``client`` left, or became a viewer."""
        self._stamps.pop(client, None)
        if self.sizer is client:
            self.sizer = None

    def size(self, clients: Iterable[Any]) -> tuple[int, int] | None:
        """The size of the most recently active of ``clients`` whose size is known, or None
        (keep the terminal's size) when none is."""
        best, stamp, size = None, 0, None
        for client in clients:
            at = self._stamps.get(client, 0)
            if at > stamp:
                s = known(client.size)
                if s is not None:
                    best, stamp, size = client, at, s
        self.sizer = best
        return size

"""Per-socket flow control: byte accounting with high/low watermarks.

A socket's *buffered* bytes are the output queued for it and not yet handed to the OS:
data waiting to be coalesced into a frame plus frames whose tornado write Future has not
resolved. Above ``high`` the socket asks to pause the PTYs that feed it; at or below
``low`` it asks to resume them. The gap between the two marks avoids pausing and resuming
on every frame. Nothing is ever dropped: pausing a PTY read makes the program block on its
own output, which is the backpressure a terminal has always had.

Pure logic with ``pause``/``resume`` callbacks, so it is tested without sockets. A later
protocol version will add client credit (xterm.js write callbacks) as a second input here.
"""

from __future__ import annotations

from typing import Callable


class FlowControl:
    """Counts a socket's unsent bytes and calls ``pause``/``resume`` at the watermarks."""

    def __init__(
        self,
        high: int,
        low: int,
        pause: Callable[[], None],
        resume: Callable[[], None],
    ) -> None:
        if not 0 <= low < high:
            raise ValueError(f"need 0 <= low ({low}) < high ({high})")
        self.high = high
        self.low = low
        self._pause = pause
        self._resume = resume
        self.buffered = 0
        #: The largest ``buffered`` ever seen (what a stalled client cost the server).
        self.peak = 0
        self.paused = False

    def add(self, n: int) -> None:
        """``n`` more bytes are queued for the socket."""
        self.buffered += n
        self.peak = max(self.peak, self.buffered)
        if not self.paused and self.buffered > self.high:
            self.paused = True
            self._pause()

    def remove(self, n: int) -> None:
        """``n`` queued bytes left (written to the OS, or discarded with their session)."""
        self.buffered -= n
        if self.paused and self.buffered <= self.low:
            self.paused = False
            self._resume()

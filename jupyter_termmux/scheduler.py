"""The output path of one socket, as a pure object: when to send, what first, how much.

Each subscription of the socket is a ``Stream``: bytes it could send (``pending``, the gap
between the session's output and what this subscriber was sent) and bytes sent but not yet
credited (``inflight``: on protocol v2 until the client acknowledges them, on v1 until the
write is handed to the OS). The scheduler never holds data itself; ``send(key, n)`` pulls up
to ``n`` bytes from the session's history and returns how many it sent.

Rules, each unit-tested with a fake clock (tests/test_scheduler.py); the constants are
``policy.py``'s:

* **Coalescing.** Output within ``answer_window`` of input to that stream (an echo, an
  editor's redraw) and a quiet stream's output under ``interactive_bytes`` (a prompt, a clock)
  go out at once, from within the read round that read them; other output after idle, and
  any small output, go out on the next loop pass. A stream that keeps printing is merged for
  at most ``coalesce_delay`` into fewer, larger frames.
* **Order.** Urgent streams (recent input, small output) are served first, smallest first;
  bulk streams share the rest in turn (deficit round robin with ``quantum``), the furthest
  behind its session first and otherwise starting one further each pass, so one flood cannot
  starve another and the subscribers of a shared session do not drift apart. No frame carries
  more than ``quantum`` bytes (the connection picks it per protocol version: ``output.py``).
* **Accounting.** A stream never has more than ``window`` bytes in flight, the socket never
  more than ``socket_window`` of bulk, nor more than ``socket_window`` of output handed to it
  and not yet written by the OS (``written``: a client that does not read gets nothing more,
  whatever it acknowledges; ``policy.py`` rule 5); urgent output may exceed the socket's share (it is
  small), so an echo never waits behind more than the socket window of bulk data. While
  someone types into a quiet session on the socket (input within ``typing_hold``), the bulk of
  the other sessions gets only ``typing_window``: the next echo then waits behind about a
  millisecond of flood, not several. Once the session typed into streams itself (``cat
  big.log`` answers that input) the full window is back, and a shared session always keeps it:
  holding back this socket's share would only make it lag behind its other subscribers.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

from . import policy


class Handle(Protocol):
    """A scheduled call (``asyncio.TimerHandle``/``Handle``)."""

    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], Handle]
Send = Callable[[Hashable, int], int]

NEVER = float("-inf")


class Stream:
    """One subscription's output state on this socket."""

    __slots__ = (
        "answered",
        "inflight",
        "interval",
        "key",
        "last_credit",
        "last_input",
        "last_output",
        "pending",
        "sends_at",
        "shared",
        "skipped",
        "window",
    )

    def __init__(self, key: Hashable, window: int, interval: float = 0.0) -> None:
        self.key = key
        self.window = window
        #: Seconds between two sends (a view's ``policy.VIEW_INTERVAL``; 0: no such pause).
        self.interval = interval
        #: It sends nothing before this time (``interval`` after its last send).
        self.sends_at = NEVER
        self.pending = 0
        self.inflight = 0
        self.last_output = NEVER
        self.last_input = NEVER
        #: When its client last returned credit, or output went in flight with none before (or
        #: it was added): it is taking its output. A client that had nothing to acknowledge
        #: for a while has not stopped acknowledging.
        self.last_credit = NEVER
        #: The session has other subscribers (on this socket's scale, it does not set the pace).
        self.shared = False
        #: Bytes sent since the last input to it: ``streaming_bytes`` or more, and it may be
        #: streaming.
        self.answered = 0
        #: Flushes in a row that left it out although it could send (its age in the lag order).
        self.skipped = 0

    @property
    def credit(self) -> int:
        """Bytes this stream may still put in flight."""
        return self.window - self.inflight

    @property
    def backlog(self) -> int:
        """Bytes not yet credited: unsent plus in flight."""
        return self.pending + self.inflight


class Scheduler:
    """Decides when and in which order a socket's streams send their output."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        call_later: CallLater,
        send: Send,
        socket_window: int,
        coalesce_delay: float = policy.COALESCE_DELAY,
        quantum: int = policy.V1_FRAME_BYTES,
        interactive_bytes: int = policy.INTERACTIVE_BYTES,
        answer_window: float = policy.ANSWER_WINDOW,
        typing_window: int | None = None,
        typing_hold: float = 0.0,
        streaming_bytes: int = policy.STREAMING_BYTES,
    ) -> None:
        self._clock = clock
        self._call_later = call_later
        self._send = send
        self.coalesce_delay = coalesce_delay
        self.socket_window = socket_window
        self.quantum = quantum
        self.streaming_bytes = streaming_bytes
        self.interactive_bytes = interactive_bytes
        self.answer_window = answer_window
        self.typing_window = socket_window if typing_window is None else typing_window
        self.typing_hold = typing_hold
        self._last_input = NEVER
        self._typed: Hashable = None  # the stream that had the last input
        self.streams: dict[Hashable, Stream] = {}
        #: Bytes in flight on the socket (all streams).
        self.inflight = 0
        #: Output bytes handed to the socket and not yet written by the OS, whatever became of
        #: their streams since: the server's own measure of what a client costs it.
        self.unwritten = 0
        self._timer: Handle | None = None
        self._timer_at = 0.0
        self._turn = 0
        #: The last flush left output behind for lack of credit or socket room.
        self._starved = False

    # --- streams ---------------------------------------------------------------------

    def add(self, key: Hashable, window: int, interval: float = 0.0) -> Stream:
        """Start scheduling a subscription (``interval``: the least time between two of its
        sends)."""
        stream = self.streams[key] = Stream(key, window, interval)
        stream.last_credit = self._clock()
        return stream

    def remove(self, key: Hashable) -> None:
        """Stop scheduling a subscription; what it had in flight no longer counts."""
        stream = self.streams.pop(key, None)
        if stream is not None:
            self.inflight -= stream.inflight
        if key == self._typed:
            self._typed = None

    # --- events ----------------------------------------------------------------------

    def notify(self, key: Hashable, pending: int, shared: bool = False, live: bool = False) -> None:
        """``key`` has ``pending`` bytes to send now; ``shared``: its session has other
        subscribers; ``live``: they were just read from the terminal, so urgent output may go
        at once (otherwise, as after an attach, the caller has something to send first)."""
        stream = self.streams[key]
        stream.pending = pending
        stream.shared = shared
        if pending <= 0:
            return
        now = self._clock()
        if now < stream.sends_at:  # a view sent something less than its interval ago
            self._schedule(stream.sends_at - now)
            return
        woke = now - stream.last_output > self.coalesce_delay
        stream.last_output = now
        answering = now - stream.last_input < self.answer_window
        small = stream.pending < self.interactive_bytes
        if live and (answering or (woke and small)):
            # An answer to input, or a quiet session's small output (not a flood's last few
            # bytes): at once, not on the next pass. This runs inside the read round that
            # delivered it, which may go on reading other sessions' floods for milliseconds.
            if stream.credit > 0 and self.unwritten < self.socket_window:
                self._send_from(stream, min(stream.pending, stream.credit, self.quantum))
            if stream.pending > 0:
                self._schedule(0.0)
        elif answering or small or woke:
            self._schedule(0.0)
        else:
            self._schedule(self.coalesce_delay)

    def input(self, key: Hashable) -> None:
        """Input reached ``key``'s session: its answer is not held back."""
        stream = self.streams.get(key)
        if stream is not None:
            stream.last_input = self._last_input = self._clock()
            stream.answered = 0
            self._typed = key

    def credit(self, key: Hashable, n: int) -> None:
        """``n`` bytes of ``key`` were acknowledged (v2); more than it has in flight credits
        nothing."""
        stream = self.streams.get(key)
        if stream is None:
            return
        n = min(n, stream.inflight)
        if n <= 0:
            return  # not evidence that the client takes its output (a blind acknowledger)
        stream.last_credit = self._clock()
        stream.inflight -= n
        self.inflight -= n
        self._wake_starved()

    def written(self, key: Hashable, n: int, credit: bool = False) -> None:
        """The OS took ``n`` output bytes of ``key`` (``credit``: that is its credit, on v1)."""
        self.unwritten -= n
        if credit:
            self.credit(key, n)
        # Even when ``key`` is gone (detached, ended): its bytes made room for the others.
        self._wake_starved()

    def _wake_starved(self) -> None:
        # Only output that waited for room goes now; anything else keeps its coalescing
        # (flushing on every ack or write completion would cut a flood into tiny frames).
        if self._starved:
            self._starved = False
            self._schedule(0.0)

    # --- sending ---------------------------------------------------------------------

    def _urgent(self, stream: Stream, now: float) -> bool:
        """Small output, or output answering input (``notify`` spells the two out)."""
        return (
            stream.pending < self.interactive_bytes or now - stream.last_input < self.answer_window
        )

    def _schedule(self, delay: float) -> None:
        at = self._clock() + delay
        if self._timer is not None:
            if self._timer_at <= at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._call_later(delay, self.flush)

    def cancel(self) -> None:
        """Drop a scheduled flush (the socket closed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        """Send what may be sent now, urgent streams first, bulk streams in turn."""
        self.cancel()
        now = self._clock()
        ready = [
            s for s in self.streams.values() if s.pending > 0 and s.credit > 0 and s.sends_at <= now
        ]
        if not ready or self.unwritten >= self.socket_window:
            self._starved = self._waiting(now)
            return
        urgent = sorted((s for s in ready if self._urgent(s, now)), key=lambda s: s.pending)
        for stream in urgent:
            # At most a quantum at once, urgent or not: frames stay bounded (a v1 frame is one
            # task on the page), and what remains is shared fairly.
            self._send_from(stream, min(stream.pending, stream.credit, self.quantum))
        bulk = [s for s in ready if s.pending > 0 and s.credit > 0]
        if bulk:
            self._share(bulk, now)
        self._starved = self._waiting(now)

    def _waiting(self, now: float) -> bool:
        """Whether output waits for room (starved); a view that waits for its interval gets
        its own flush instead."""
        paused = [s.sends_at for s in self.streams.values() if s.pending > 0 and s.sends_at > now]
        if paused:
            self._schedule(min(paused) - now)
        return any(s.pending > 0 and s.sends_at <= now for s in self.streams.values())

    def _limit(self, stream: Stream, now: float) -> int:
        """Bulk bytes the socket may have in flight when ``stream`` sends: less while someone
        types into another, quiet session on the socket, unless ``stream``'s is shared."""
        if now - self._last_input >= self.typing_hold or stream.shared or stream.key == self._typed:
            return self.socket_window
        typed = self.streams.get(self._typed)
        if typed is None or self._streaming(typed, now):
            return self.socket_window  # the session typed into is gone or streams: no echo
        return min(self.socket_window, self.typing_window)

    def _streaming(self, stream: Stream, now: float) -> bool:
        """Whether ``stream`` is answering its input with a stream of its own: it has much to
        send, or it has sent ``streaming_bytes`` since its input and is still at it (right after
        a flush a streaming session has nothing pending; a finished ``ls`` of 40 KB is quiet
        again)."""
        return stream.pending >= self.interactive_bytes or (
            stream.answered >= self.streaming_bytes
            and (
                now - stream.last_output < self.answer_window
                or stream.inflight >= self.streaming_bytes
            )
        )

    def _share(self, bulk: list[Stream], now: float) -> None:
        """Deficit round robin over the bulk streams within the socket's window, none with more
        than its fair part of it in flight: turns alone would let a stream whose client acks
        slowly (a hidden, paced tab) gather the whole window and starve a fast one."""
        start = self._turn % len(bulk)
        self._turn += 1
        # The furthest behind first (pending is a stream's lag behind its session's output),
        # in turn among equals: a shared session is read while any subscriber has credit, so a
        # subscriber whose socket serves it late would drift behind the others until history
        # moves past it; lag first keeps each socket's streams level instead. A stream left out
        # of MAX_SKIPS flushes in a row goes first, so streams that lag further still (shared
        # floods on a socket too slow for them) cannot starve it.
        order = sorted(bulk[start:] + bulk[:start], key=_priority, reverse=True)
        part = max(self.quantum, self.socket_window // len(bulk))
        limits = [(stream, self._limit(stream, now)) for stream in order]  # once per flush
        for stream in order:
            stream.skipped += 1  # back to 0 with its next send (_send_from)
        progress = True
        while progress and max(self.inflight, self.unwritten) < self.socket_window:
            progress = False
            for stream, limit in limits:
                room = min(
                    limit - self.inflight,
                    part - stream.inflight,
                    self.socket_window - self.unwritten,
                )
                n = min(stream.pending, stream.credit, self.quantum, room)
                if n > 0 and self._send_from(stream, n) > 0:
                    progress = True

    def _send_from(self, stream: Stream, n: int) -> int:
        sent = self._send(stream.key, n)
        if sent > 0:
            if stream.inflight == 0:
                stream.last_credit = self._clock()
            if stream.interval:
                stream.sends_at = self._clock() + stream.interval
            stream.skipped = 0
            stream.answered += sent
            stream.pending -= sent
            stream.inflight += sent
            self.inflight += sent
        elif n >= 4 and stream.inflight == 0:
            # Nothing there after all (a later notify() says otherwise). Under 4 bytes, the
            # next character may just not fit, and with bytes in flight a replay frame may wait
            # for room for a whole escape sequence (replay.py): it waits for more credit, and
            # the next credit flushes again (the flush leaves the scheduler starved).
            stream.pending = 0
        return sent


def _priority(stream: Stream) -> tuple[bool, int]:
    return stream.skipped >= policy.MAX_SKIPS, stream.pending

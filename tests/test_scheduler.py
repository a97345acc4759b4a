"""Pure tests of the output scheduler (scheduler.py) with a fake clock and a fake writer."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from jupyter_termmux.policy import MAX_SKIPS
from jupyter_termmux.scheduler import Scheduler

DELAY = 0.004


class FakeLoop:
    """A clock and timers that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[list[Any]] = []  # [when, fn, cancelled]

    def call_later(self, delay: float, fn: Callable[[], None]) -> Any:
        entry = [self.now + delay, fn, False]
        self.timers.append(entry)

        class Handle:
            def cancel(self) -> None:
                entry[2] = True

        return Handle()

    def pending(self) -> list[float]:
        return sorted(t[0] - self.now for t in self.timers if not t[2])

    def run(self, until: float | None = None) -> None:
        """Run due timers (those at or before ``until`` seconds from now)."""
        limit = self.now + (until or 0.0)
        while True:
            due = [t for t in self.timers if not t[2] and t[0] <= limit]
            if not due:
                break
            entry = min(due, key=lambda t: t[0])
            entry[2] = True
            self.now = max(self.now, entry[0])
            entry[1]()


class Sink:
    """Records what was sent: (key, bytes) in order; each key has an endless supply."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, key: Any, n: int) -> int:
        self.sent.append((key, n))
        return n


def make(
    socket_window: int = 1 << 20, quantum: int = 64 * 1024, **typing: Any
) -> tuple[Scheduler, FakeLoop, Sink]:
    loop, sink = FakeLoop(), Sink()
    sched = Scheduler(
        clock=lambda: loop.now,
        call_later=loop.call_later,
        send=sink.send,
        coalesce_delay=DELAY,
        socket_window=socket_window,
        quantum=quantum,
        **typing,
    )
    return sched, loop, sink


def streaming(gap: float) -> tuple[Scheduler, FakeLoop, Sink]:
    """A scheduler whose stream ``a`` sent a frame ``gap`` seconds ago (the sink is empty)."""
    sched, loop, sink = make()
    sched.add("a", 1 << 20)
    sched.notify("a", 5000)
    loop.run()
    sink.sent.clear()
    loop.now += gap
    return sched, loop, sink


def test_output_after_idle_goes_out_on_the_next_pass() -> None:
    """The first output after an idle period is sent without waiting for the coalesce delay."""
    sched, loop, sink = make()
    sched.add("a", 1 << 20)
    sched.notify("a", 5000)
    assert loop.pending() == [0.0]
    loop.run()
    assert sink.sent == [("a", 5000)]


def test_a_stream_is_coalesced_for_at_most_the_delay() -> None:
    """Output that keeps coming is merged and sent once the coalesce delay passes."""
    sched, loop, sink = make()
    sched.add("a", 1 << 20)
    sched.notify("a", 5000)
    loop.run()
    sink.sent.clear()
    loop.now += 0.001
    sched.notify("a", 5000)
    assert loop.pending() == pytest.approx([DELAY])
    loop.now += 0.001
    sched.notify("a", 9000)
    assert loop.pending() == pytest.approx([DELAY - 0.001])
    loop.run(DELAY)
    assert sink.sent == [("a", 9000)]


def test_small_output_is_never_held_back() -> None:
    """Output under 1 KB goes out on the next pass even mid-stream (a flood's last bytes)."""
    sched, loop, _sink = streaming(0.001)
    sched.notify("a", 10, live=True)
    assert loop.pending() == [0.0]


def test_a_quiet_streams_small_output_goes_at_once() -> None:
    """A prompt or a clock's tick in a quiet session goes out at once: not on the next pass,
    which comes only after the read round that read it has read the other sessions' floods."""
    sched, loop, sink = streaming(1.0)
    sched.notify("a", 10, live=True)
    assert sink.sent[-1] == ("a", 10)
    assert loop.pending() == []


def test_output_answering_input_is_not_held_back() -> None:
    """Within 50 ms of input, even large output (an editor's redraw) goes out at once."""
    sched, loop, sink = streaming(0.001)
    sched.input("a")
    sched.notify("a", 50_000, live=True)
    assert sink.sent[-1] == ("a", 50_000)
    assert loop.pending() == []


def test_urgent_output_without_credit_goes_once_credit_returns() -> None:
    """Live urgent output that finds its window full is not dropped or stalled: it waits for a
    flush, and the credit that frees the window sends it."""
    sched, loop, sink = make(quantum=1000)
    sched.add("a", 1000)
    sched.input("a")
    sched.notify("a", 1000, live=True)
    assert sink.sent == [("a", 1000)]
    sched.notify("a", 10, live=True)
    assert sink.sent == [("a", 1000)]
    assert loop.pending() == [0.0]
    loop.run()
    assert sink.sent == [("a", 1000)]
    sched.credit("a", 1000)
    loop.run()
    assert sink.sent == [("a", 1000), ("a", 10)]


def test_urgent_output_of_an_attach_waits_for_the_next_pass() -> None:
    """Output that is not live (an attach's replay) goes on the next pass even when small: the
    connection answers the attach first, and a v2 client learns the channel from that answer."""
    sched, loop, sink = make()
    sched.add("a", 1 << 20)
    sched.notify("a", 10)
    assert sink.sent == []
    assert loop.pending() == [0.0]
    loop.run()
    assert sink.sent == [("a", 10)]


def test_urgent_output_goes_at_once_within_its_credit_and_quantum() -> None:
    """At once means one frame of at most a quantum within the stream's credit; the rest
    follows on the next pass (or with credit), as any output does."""
    sched, loop, sink = make(quantum=1000)
    sched.add("a", 1500)
    sched.input("a")
    sched.notify("a", 2500, live=True)
    assert sink.sent == [("a", 1000)]
    assert loop.pending() == [0.0]
    loop.run()
    assert sink.sent == [("a", 1000), ("a", 500)]  # the window is full
    sched.credit("a", 1500)
    loop.run()
    assert sink.sent[-1] == ("a", 1000)


def test_urgent_streams_go_first_smallest_first() -> None:
    """In one pass, an echo is sent before another session's flood."""
    sched, loop, sink = make()
    for key in ("flood", "echo"):
        sched.add(key, 1 << 20)
    sched.notify("flood", 200_000)
    sched.notify("echo", 3)
    loop.run()
    assert sink.sent[0] == ("echo", 3)


def test_bulk_streams_share_the_socket_in_turn() -> None:
    """Two floods get quantum-sized turns in alternation, not one after the other."""
    sched, loop, sink = make(quantum=1000)
    for key in ("a", "b"):
        sched.add(key, 1 << 20)
        sched.notify(key, 5000)
    loop.run()
    assert [k for k, _ in sink.sent[:4]] in (["a", "b", "a", "b"], ["b", "a", "b", "a"])
    assert sum(n for k, n in sink.sent if k == "a") == 5000
    assert sum(n for k, n in sink.sent if k == "b") == 5000


def test_the_first_turn_rotates_between_passes() -> None:
    """Among streams as far behind, each pass starts with another one, so no flood always goes
    first."""
    sched, loop, sink = make(socket_window=1000, quantum=1000)
    for key in ("a", "b"):
        sched.add(key, 1 << 20)
        sched.notify(key, 50_000)
    loop.run()
    first = sink.sent[0][0]
    sched.credit(first, 1000)
    for key in ("a", "b"):  # as far behind again
        sched.notify(key, 50_000)
    loop.run()
    assert sink.sent[1][0] != first


def test_the_stream_furthest_behind_goes_first() -> None:
    """Bulk streams are served by lag (pending bytes) before turn: with room for one frame, the
    stream with the most pending sends it, whichever stream's turn it is."""
    lags = {"a": 10_000, "b": 50_000, "c": 20_000}
    for order in itertools.permutations(lags):  # whichever stream the turn starts with
        sched, loop, sink = make(socket_window=1000, quantum=1000)
        for key in order:
            sched.add(key, 1 << 20)
            sched.notify(key, lags[key])
        loop.run()
        assert sink.sent == [("b", 1000)], order


def run_floods(
    sched: Scheduler,
    loop: FakeLoop,
    shared: dict[str, int],
    local: list[str],
    q: int,
    window: int,
    watch: Callable[[], None],
) -> None:
    """200 steps of a socket whose client acks all it gets. Each shared stream's session prints
    a frame per step whatever this socket does (others read it), up to its cap of lag (what
    history holds); each local stream's session only while its backlog is under its window
    (its PTY pauses). ``watch`` runs after each step's sends."""
    for key in [*shared, *local]:
        sched.add(key, window)
    for _ in range(200):
        for key, cap in shared.items():
            sched.notify(key, min(sched.streams[key].pending + q, cap))
        for key in local:
            stream = sched.streams[key]
            if stream.backlog < window:
                sched.notify(key, stream.pending + q)
        loop.now += 1
        loop.run()
        watch()
        for key in [*shared, *local]:
            sched.credit(key, sched.streams[key].inflight)


def test_a_shared_stream_keeps_up_on_a_busy_socket() -> None:
    """A shared session is read while any subscriber has credit, so on a busy socket its output
    can grow faster than the socket's turns give it: here a frame per step, on a socket with
    room for two frames and three other floods (each read only while its backlog is
    under its window). Lag first keeps the shared stream level; in turns alone it would get a
    quarter of the room, fall behind by half a frame per step, and be truncated once history
    moved past it, though its client kept up."""
    q, window = 4000, 16000  # frames above interactive_bytes: all bulk
    sched, loop, _ = make(socket_window=2 * q, quantum=q)
    worst = [0]

    def watch() -> None:
        worst[0] = max(worst[0], sched.streams["shared"].pending)

    run_floods(sched, loop, {"shared": 1 << 62}, ["b", "c", "d"], q, window, watch)
    # The others' lag stops at their window (their PTYs pause); the shared one stays level.
    assert worst[0] <= window + q, f"the shared stream fell {worst[0]} bytes behind"


def test_streams_further_behind_cannot_starve_a_flood() -> None:
    """Two shared floods that lag ever further (their sessions run ahead with faster
    subscribers elsewhere) on a socket too slow for all three, at v2's sizes: the third flood
    is never left out of more than ``MAX_SKIPS`` flushes in a row. Lag alone handed the two the
    whole window on every pass (the third got 0.5 of 52 MB)."""
    k = 1024
    q, window = 128 * k, 256 * k
    sched, loop, sink = make(socket_window=256 * k, quantum=q)
    longest = [0]

    def watch() -> None:
        longest[0] = max(longest[0], sched.streams["local"].skipped)

    # history holds 512 KiB of lag at most
    run_floods(sched, loop, {"shared1": 512 * k, "shared2": 512 * k}, ["local"], q, window, watch)
    sent = {
        key: sum(n for s, n in sink.sent if s == key) for key in ("shared1", "shared2", "local")
    }
    assert longest[0] <= MAX_SKIPS, longest[0]
    assert sent["local"] >= sum(sent.values()) / 12, sent


def test_stream_window_caps_bytes_in_flight_until_credit() -> None:
    """A stream never has more than its window in flight; credit lets it send again."""
    sched, loop, sink = make()
    sched.add("a", 4096)
    sched.notify("a", 100_000)
    loop.run()
    assert sum(n for _, n in sink.sent) == 4096
    sched.notify("a", 100_000 - 4096)
    loop.run()
    assert sum(n for _, n in sink.sent) == 4096  # still nothing: no credit
    sched.credit("a", 1000)
    loop.run()
    assert sum(n for _, n in sink.sent) == 5096


def test_socket_window_caps_bulk_but_not_an_echo() -> None:
    """Bulk output stops at the socket window; a small urgent output still goes out."""
    sched, loop, sink = make(socket_window=10_000, quantum=4000)
    for key in ("f1", "f2", "echo"):
        sched.add(key, 1 << 20)
    sched.notify("f1", 100_000)
    sched.notify("f2", 100_000)
    loop.run()
    assert sched.inflight <= 10_000 + 4000
    bulk = sum(n for _, n in sink.sent)
    sched.notify("echo", 5)
    loop.run()
    assert sink.sent[-1] == ("echo", 5) and sum(n for _, n in sink.sent) == bulk + 5


def test_removing_a_stream_returns_its_share_of_the_socket() -> None:
    """A detached stream's bytes in flight stop counting against the socket."""
    sched, loop, _sink = make()
    sched.add("a", 1 << 20)
    sched.notify("a", 7000)
    loop.run()
    assert sched.inflight == 7000
    sched.remove("a")
    assert sched.inflight == 0


def test_no_frame_is_larger_than_the_quantum() -> None:
    """Even urgent output (an answer to input) goes out in frames of at most the quantum."""
    sched, loop, sink = make(quantum=1000)
    sched.add("a", 1 << 20)
    sched.input("a")
    sched.notify("a", 5500)
    loop.run()
    assert max(n for _, n in sink.sent) == 1000 and sum(n for _, n in sink.sent) == 5500


def test_a_character_that_does_not_fit_waits_for_credit() -> None:
    """When the credit left is smaller than the next (multi-byte) character, the stream keeps
    its pending bytes and sends them once credit returns (it is not taken as empty)."""
    loop = FakeLoop()
    sent: list[int] = []

    def send(key: Any, n: int) -> int:
        got = 3 if n >= 3 else 0  # 3-byte characters only
        sent.append(got)
        return got

    sched = Scheduler(
        clock=lambda: loop.now,
        call_later=loop.call_later,
        send=send,
        coalesce_delay=DELAY,
        socket_window=1 << 20,
        quantum=1000,
    )
    sched.add("a", 5)
    sched.notify("a", 6)
    loop.run()
    assert sum(sent) == 3 and sched.streams["a"].pending == 3
    sched.credit("a", 3)
    loop.run()
    assert sum(sent) == 6


def test_credit_does_not_cut_a_flood_into_small_frames() -> None:
    """A write completion or ack only triggers a flush when output waited for credit; otherwise
    a streaming session keeps being coalesced into large frames."""
    sched, loop, _sink = make()
    sched.add("a", 1 << 20)
    sched.notify("a", 5000)
    loop.run()
    loop.now += 0.001
    sched.notify("a", 3000)  # streaming: waits for the coalesce delay
    sched.credit("a", 5000)  # the first frame was written: no reason to send 3000 now
    assert loop.pending() == pytest.approx([DELAY])


def make_typing(hold: float) -> tuple[Scheduler, FakeLoop, Sink]:
    return make(100_000, 4000, typing_window=10_000, typing_hold=hold, streaming_bytes=4000)


def test_typing_shrinks_the_bulk_window_until_the_hold_passes() -> None:
    """After input on the socket, other sessions' bulk in flight stays within the typing window
    (so the next echo waits behind little); once typing stops for the hold, the full window is
    back."""
    sched, loop, sink = make_typing(hold=2.0)
    for key in ("flood", "shell"):
        sched.add(key, 1 << 20)
    sched.notify("flood", 1_000_000)
    loop.run()
    assert sched.inflight == 100_000  # nobody types: the whole socket window
    sched.credit("flood", 100_000)
    sched.input("shell")
    loop.run()
    assert 0 < sched.inflight <= 10_000  # typing: bulk is held to the typing window
    sched.notify("shell", 1)  # the echo is not held by it
    loop.run()
    assert sink.sent[-1] == ("shell", 1)
    loop.now += 2.5
    sched.credit("flood", sched.streams["flood"].inflight)
    loop.run()
    assert sched.inflight == 100_000  # the hold passed: full window again


def test_a_streaming_session_typed_into_and_shared_sessions_keep_the_full_window() -> None:
    """`cat big.log` answers its own input: once the session typed into streams, nothing is held
    back; a session other sockets also watch never is (holding this socket's share back would
    only make it lag); a session watched only here, while a quiet one is typed into, is."""
    sched, loop, _ = make_typing(hold=2.0)
    for key in ("cat", "shared", "other"):
        sched.add(key, 1 << 20)
    sched.input("cat")
    sched.notify("cat", 1_000_000)
    sched.notify("other", 1_000_000)
    loop.run()
    assert sched.inflight == 100_000  # the typed-into session streams: full window for all
    assert sched.streams["other"].inflight > 10_000
    sched.credit("cat", sched.streams["cat"].inflight)
    sched.credit("other", sched.streams["other"].inflight)
    sched.notify("cat", 0)
    sched.notify("other", 0)
    sched.notify("shared", 1_000_000, shared=True)
    loop.run()
    assert sched.inflight == 100_000  # shared: its full share although "cat" is quiet now
    sched.credit("shared", 100_000)
    sched.notify("shared", 0, shared=True)
    loop.now += 0.1  # "cat" has printed nothing for a while, and has nothing in flight
    sched.notify("other", 1_000_000)
    loop.run()
    assert sched.inflight <= 10_000  # "cat" is quiet: protect its echoes from "other"


def test_a_session_typed_into_that_streams_is_seen_streaming_between_its_frames() -> None:
    """Right after a flush a streaming session has nothing pending; what it sent since its
    input still says it streams, so the sessions beside it keep the full window (four floods
    each started by a typed command ran under the typing window for 2 s: the whole 4 x 10 MB
    throughput run)."""
    sched, loop, _ = make_typing(hold=2.0)
    for key in ("cat", "other"):
        sched.add(key, 1 << 20)
    sched.input("cat")
    sched.notify("cat", 8000)  # two quanta: sent at once, nothing left pending
    loop.run()
    assert sched.streams["cat"].pending == 0
    sched.notify("other", 1_000_000)
    loop.run()
    assert sched.streams["other"].inflight > 10_000
    # The answer was a finished `ls` after all: acked, and nothing more for a while.
    sched.credit("cat", 8000)
    sched.credit("other", sched.streams["other"].inflight)
    loop.now += 0.1
    sched.notify("other", 1_000_000)
    loop.run()
    assert sched.streams["other"].inflight <= 10_000


def test_a_zero_typing_hold_keeps_the_full_window() -> None:
    sched, loop, _ = make_typing(hold=0.0)
    sched.add("flood", 1 << 20)
    sched.add("shell", 1 << 20)
    sched.input("shell")
    sched.notify("flood", 1_000_000)
    loop.run()
    assert sched.inflight == 100_000


def test_a_slow_acker_cannot_gather_the_whole_socket_window() -> None:
    """A stream whose client acks slowly (a hidden, paced tab) keeps at most its fair part of
    the socket's window in flight, so a fast stream beside it still has room."""
    sched, loop, sink = make(socket_window=100_000, quantum=4000)
    sched.add("hidden", 1 << 20)
    sched.add("shown", 1 << 20)
    sched.notify("hidden", 1_000_000)
    sched.notify("shown", 1_000_000)
    for _ in range(50):  # the shown tab acks all it gets; the hidden one acks nothing
        loop.run()
        sched.credit("shown", sched.streams["shown"].inflight)
        sched.notify("shown", 1_000_000)
        sched.notify("hidden", 1_000_000)
    assert sched.streams["hidden"].inflight <= 50_000
    shown = sum(n for k, n in sink.sent if k == "shown")
    assert shown >= 50 * 40_000


def test_streaming_is_judged_by_streaming_bytes_not_by_the_frame_size() -> None:
    """A session typed into that has sent ``streaming_bytes`` (less than a frame) counts as
    streaming: the frame size of v2 (128 KiB) does not move when the typing window lets go."""
    sched, loop, _ = make(
        100_000, 16_000, typing_window=10_000, typing_hold=2.0, streaming_bytes=4000
    )
    for key in ("cat", "other"):
        sched.add(key, 1 << 20)
    sched.input("cat")
    sched.notify("cat", 8000)  # half a frame, two times streaming_bytes
    loop.run()
    sched.notify("other", 1_000_000)
    loop.run()
    assert sched.streams["other"].inflight > 10_000


def test_the_credit_clock_starts_when_output_goes_in_flight_after_none() -> None:
    """A client that had nothing to acknowledge has not stopped acknowledging: a stream's
    last credit moves to the first send after everything was acknowledged (the lag hold asks
    whether its client still takes its output), and not on later sends while some is in
    flight."""
    sched, loop, _ = make()
    stream = sched.add("a", 1 << 20)
    loop.now += 10.0  # a quiet spell
    sched.notify("a", 5000)
    loop.run()
    assert stream.last_credit == loop.now
    sent_at = loop.now
    loop.now += 1.0
    sched.notify("a", 5000)  # more while the first is unacknowledged
    loop.run()
    assert stream.last_credit == sent_at
    sched.credit("a", 10000)
    assert stream.last_credit == loop.now


class Waiting(Sink):
    """Sends nothing under ``need`` bytes, as a replay frame waiting for a whole sequence."""

    need = 20

    def send(self, key: Any, n: int) -> int:
        self.sent.append((key, n))
        return n if n >= self.need else 0


def test_a_stream_that_waits_for_room_keeps_its_output_for_the_next_credit() -> None:
    """A send that returns nothing while the stream has bytes in flight (a replay frame waiting
    for room for a whole escape sequence) leaves its output pending, and the next credit sends
    it; with nothing in flight, nothing sent means nothing there."""
    loop, sink = FakeLoop(), Waiting()
    sched = Scheduler(
        clock=lambda: loop.now,
        call_later=loop.call_later,
        send=sink.send,
        coalesce_delay=DELAY,
        socket_window=1 << 20,
    )
    sched.add("a", 100)
    sched.notify("a", 150)
    loop.run()
    assert sink.sent == [("a", 100)]
    sched.credit("a", 10)
    loop.run()
    assert sink.sent[-1] == ("a", 10) and sched.streams["a"].pending == 50
    sched.credit("a", 10)
    loop.run()
    assert sink.sent[-1] == ("a", 20) and sched.streams["a"].pending == 30
    sink.need = 1000
    sched.credit("a", 100)
    loop.run()
    assert sched.streams["a"].pending == 0


def test_output_not_yet_written_stops_the_socket_whatever_is_acknowledged() -> None:
    """Bytes handed to the socket count against it until the OS has them: a client that
    acknowledges everything but reads nothing (a blind acknowledger) gets nothing more once
    the socket window is unwritten, and gets output again as writes complete."""
    sched, loop, sink = make(socket_window=10_000, quantum=4000)
    sched.add("a", 1 << 20)
    sched.notify("a", 100_000)
    loop.run()
    sent = sum(n for _, n in sink.sent)
    sched.unwritten = sent  # as output.py counts what it hands to tornado
    for _ in range(5):
        sched.credit("a", 1 << 30)  # acknowledges far more than it was sent
        sched.notify("a", 100_000 - sent)
        loop.run()
    assert sum(n for _, n in sink.sent) == sent, "sent more while nothing was written"
    assert sched.inflight == 0 and sched.streams["a"].inflight == 0
    sched.written("a", 4000)
    loop.run()
    assert sum(n for _, n in sink.sent) > sent


def test_an_acknowledgement_of_nothing_in_flight_is_not_credit() -> None:
    """Credit beyond what is in flight counts for nothing, and does not make the client look
    as if it took its output (the lag hold asks when it last did)."""
    sched, loop, _ = make()
    stream = sched.add("a", 1 << 20)
    sched.notify("a", 5000)
    loop.run()
    sched.credit("a", 5000)
    acked_at = loop.now
    loop.now += 3.0
    sched.credit("a", 1 << 30)
    assert stream.last_credit == acked_at
    assert stream.inflight == 0 and sched.inflight == 0


def test_a_detached_streams_unwritten_bytes_still_count() -> None:
    """Removing a stream (a detach, a re-attach) forgets its credit, not the bytes the socket
    still has to write: a client that re-attaches in a loop without reading gets no fresh
    window of memory each time."""
    sched, loop, sink = make(socket_window=10_000, quantum=4000)
    sched.add("a", 1 << 20)
    sched.notify("a", 100_000)
    loop.run()
    sched.unwritten = sum(n for _, n in sink.sent)
    sched.remove("a")
    sched.add("a", 1 << 20)
    sched.notify("a", 100_000)
    loop.run()
    assert sum(n for _, n in sink.sent) == sched.unwritten


def test_urgent_output_also_waits_for_unwritten_bytes() -> None:
    """An echo skips the bulk queue, not the memory bound: a socket whose window of output is
    unwritten gets no urgent output either until the OS takes some."""
    sched, loop, sink = make(socket_window=10_000, quantum=4000)
    sched.add("echo", 1 << 20)
    sched.unwritten = 10_000
    sched.input("echo")
    sched.notify("echo", 10, live=True)
    loop.run()
    assert sink.sent == []
    sched.written("gone", 4000)  # some other stream's bytes reached the OS
    loop.run()
    assert sink.sent == [("echo", 10)]


def test_a_write_of_a_removed_stream_wakes_the_others() -> None:
    """Bytes of a stream that is gone (detached, ended) still made room when written: the
    streams that waited for it are woken, on v1 too, where a write is also credit."""
    sched, loop, sink = make(socket_window=10_000, quantum=4000)
    sched.add("gone", 1 << 20)
    sched.add("waits", 1 << 20)
    sched.unwritten = 10_000
    sched.notify("waits", 50_000)
    loop.run()
    assert sink.sent == []
    sched.remove("gone")
    sched.written("gone", 10_000, credit=True)
    loop.run()
    assert sink.sent and all(key == "waits" for key, _ in sink.sent)


# --- views: at most one send per interval ----------------------------------------------------

VIEW = 0.05


def test_a_quiet_views_first_output_goes_at_once() -> None:
    """A view's first keystroke echo is not delayed by its interval."""
    sched, loop, sink = make()
    sched.add("v", 1 << 20, VIEW)
    loop.now += 1.0
    sched.notify("v", 10, live=True)
    assert sink.sent == [("v", 10)]


def test_a_view_sends_at_most_once_per_interval() -> None:
    """Output to a view within its interval of its last send waits for the interval's end,
    whatever its kind (urgent or bulk); then everything pending goes in one update."""
    sched, loop, sink = make()
    sched.add("v", 1 << 20, VIEW)
    sched.notify("v", 10, live=True)
    sink.sent.clear()
    loop.now += 0.01
    sched.input("v")  # an answer to input is urgent, but the view just had its update
    sched.notify("v", 500, live=True)
    sched.notify("v", 900, live=True)
    assert sink.sent == []
    assert loop.pending() == pytest.approx([VIEW - 0.01])
    loop.run(VIEW)
    assert sink.sent == [("v", 900)]


def test_a_views_interval_does_not_delay_a_writer_on_the_same_socket() -> None:
    """A socket with a write tab and a view tab: the writer's flood and echoes go as ever,
    the view's output waits for its interval (a flush for the writer does not take it)."""
    sched, loop, sink = make()
    sched.add("w", 1 << 20)
    sched.add("v", 1 << 20, VIEW)
    sched.notify("v", 100, live=True)
    loop.now += 0.001
    sched.notify("v", 5000)
    sched.notify("w", 5000)
    loop.run()
    assert ("w", 5000) in sink.sent and sink.sent.count(("v", 5000)) == 0
    loop.run(VIEW)
    assert sink.sent[-1] == ("v", 5000)

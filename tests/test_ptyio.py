"""The PTY helpers (ptyio.py) on a real pseudo-terminal pair."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import termios
import time
from collections.abc import Callable

from jupyter_termmux import policy, ptyio


class Reader:
    """The consumer side of ``ReadRounds`` (what ``pty.Pty`` is), on a real PTY pair."""

    def __init__(self, name: str, log: list[tuple[str, bytes, bool]], limit: int = 65536):
        self.name = name
        self.fd, self.slave = os.openpty()
        os.set_blocking(self.fd, False)
        self.reading = True
        self.read_limit = limit
        self.log = log
        self.then: Callable[[], None] = lambda: None

    def on_read(self, data: bytes, eof: bool) -> None:
        self.log.append((self.name, data, eof))
        self.then()

    def write(self, data: bytes) -> None:
        # A PTY nobody reads takes 10-19 KB, by how far the kernel has moved it on: keep under.
        os.set_blocking(self.slave, False)
        view = memoryview(data)
        while view:  # the tty takes a write in parts of up to 10 KiB
            view = view[os.write(self.slave, view) :]

    def close(self) -> None:
        for fd in (self.slave, self.fd):
            try:
                os.close(fd)
            except OSError:
                pass


def holding(r: Reader, n: int, timeout: float = 10.0) -> None:
    """Wait until the kernel has ``n`` bytes ready to read in ``r``'s PTY: it moves a write
    into the line discipline on a worker, so under load a read right after the write can find
    less or nothing. (FIONREAD counts that buffer: at most one kernel read, 4095 bytes.)"""
    deadline = time.monotonic() + timeout
    while struct.unpack("i", fcntl.ioctl(r.fd, termios.FIONREAD, b"\0" * 4))[0] < n:
        assert time.monotonic() < deadline, f"{r.name}: fewer than {n} bytes ready"
        time.sleep(0.005)  # poll interval; the condition is the count


def one_round(*ready: Reader) -> None:
    """Mark ``ready`` readable in this order, as the loop's reader callbacks do, and run the
    round (it runs on the next loop pass)."""

    async def go() -> None:
        rounds = ptyio.ReadRounds(asyncio.get_running_loop())
        for r in ready:
            rounds.ready(r)
        await asyncio.sleep(0)  # the pass that runs the round
        await asyncio.sleep(0)

    asyncio.run(go())


def rest(r: Reader, log: list[tuple[str, bytes, bool]], want: int) -> bytes:
    """Further rounds until ``want`` bytes came (the kernel may not have moved them on yet)."""
    got = b"".join(d for n, d, _ in log if n == r.name)
    for _ in range(50):
        if len(got) >= want:
            break
        one_round(r)
        got += log[-1][1]
    return got


def test_a_round_reads_past_one_kernel_read_and_reports_the_end() -> None:
    """Output the kernel hands out 4095 bytes at a time is read on within one delivery; an
    empty PTY gives nothing and no end; the end comes once every holder of the tty is gone."""
    log: list[tuple[str, bytes, bool]] = []
    a = Reader("a", log)
    try:
        payload = b"z" * 8_000  # two kernel reads
        a.write(payload)
        holding(a, ptyio.KERNEL_CHUNK)
        one_round(a)
        assert len(log[0][1]) >= ptyio.KERNEL_CHUNK
        assert rest(a, log, 8_000) == payload
        one_round(a)
        assert log[-1] == ("a", b"", False)  # nothing there: not an end
        os.close(a.slave)
        a.slave = -1
        one_round(a)
        assert log[-1] == ("a", b"", True)
    finally:
        a.close()


def test_a_quiet_session_is_delivered_before_the_floods_ready_with_it() -> None:
    """Ready PTYs are read in turns: a short answer leaves the round after its first read and
    is delivered at once, not after a flood queued before it has read all it holds."""
    log: list[tuple[str, bytes, bool]] = []
    flood, quiet = Reader("flood", log), Reader("quiet", log)
    try:
        flood.write(b"f" * 9_000)
        quiet.write(b"$ ")
        holding(flood, ptyio.KERNEL_CHUNK)
        holding(quiet, 2)
        one_round(flood, quiet)
        assert log[0] == ("quiet", b"$ ", False)
        assert log[1][0] == "flood" and len(log[1][1]) >= ptyio.KERNEL_CHUNK
        assert rest(flood, log, 9_000) == b"f" * 9_000
    finally:
        flood.close()
        quiet.close()


def test_a_session_paused_within_a_round_gets_what_was_read_and_no_more() -> None:
    """What one session delivers may pause another (flow control): that one is delivered what
    the round had read for it, is not read again, and the rest stays in its PTY."""
    log: list[tuple[str, bytes, bool]] = []
    big, small = Reader("big", log), Reader("small", log)
    try:
        big.write(b"b" * 9_000)
        small.write(b"s" * 100)
        holding(big, ptyio.KERNEL_CHUNK)  # under load the kernel moves a write on late
        holding(small, 100)

        def pause_big() -> None:
            big.reading = False

        small.then = pause_big
        one_round(big, small)
        assert [n for n, _, _ in log] == ["small", "big"]
        # its first turn's read, before small paused it, and no second one
        assert ptyio.KERNEL_CHUNK <= len(log[1][1]) < 2 * ptyio.KERNEL_CHUNK
        big.reading = True
        assert rest(big, log, 9_000) == b"b" * 9_000
    finally:
        big.close()
        small.close()


def test_split_utf8_keeps_an_incomplete_character_back() -> None:
    """A read ending inside a character is cut before it; a whole one is kept."""
    euro = "€".encode()
    assert ptyio.split_utf8(b"ab" + euro[:2]) == 2
    assert ptyio.split_utf8(b"ab" + euro) == 5
    assert ptyio.split_utf8("𝄞".encode()[:3]) == 0
    assert ptyio.split_utf8(b"\xff\xfe") == 2  # not UTF-8 at all: passed on as it is


def test_signal_names() -> None:
    """Named signals by name, real-time ones by number, none for a normal exit."""
    assert ptyio.signal_name(signal.SIGKILL) == "SIGKILL"
    assert ptyio.signal_name(40) == "SIG40"
    assert ptyio.signal_name(None) is None


def test_one_read_never_outruns_the_history_room() -> None:
    """history_room plus one wake-up's read fits in the history, whatever its size."""
    for limit in (10_000, 131_071, 131_072, 524_288, 10**8):
        assert policy.history_room(limit) + ptyio.read_cap(limit) + ptyio.TRIM_SLACK == limit
        assert 0 < ptyio.read_cap(limit) <= ptyio.READ_SIZE
    assert ptyio.read_cap(1) == 1
    log: list[tuple[str, bytes, bool]] = []
    a = Reader("a", log, limit=6_000)  # more than one kernel read, less than what is there
    try:
        a.write(b"y" * 8_000)
        got = rest(a, log, 8_000)
        assert got == b"y" * 8_000
        assert max(len(d) for _, d, _ in log) <= 6_000
    finally:
        a.close()


def test_a_burst_read_to_its_end_costs_one_round_not_two() -> None:
    """Wired as the server wires it (``add_reader``): the pass that runs the round still holds
    the PTY's readiness from before the read; it must not start a second round that reads an
    empty PTY (an EAGAIN and an empty delivery per keystroke echo). A second PTY written after
    the first delivery is the sentinel: its round comes after any second round of the first."""
    log: list[tuple[str, bytes, bool]] = []
    a, b = Reader("a", log), Reader("b", log)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        rounds = ptyio.ReadRounds(loop)
        delivered = {r.name: asyncio.Event() for r in (a, b)}
        for r in (a, b):
            r.then = delivered[r.name].set
            loop.add_reader(r.fd, rounds.ready, r)
        try:
            a.write(b"$ ")
            await asyncio.wait_for(delivered["a"].wait(), 10)
            b.write(b"#")
            await asyncio.wait_for(delivered["b"].wait(), 10)
        finally:
            for r in (a, b):
                loop.remove_reader(r.fd)

    try:
        asyncio.run(go())
        assert log == [("a", b"$ ", False), ("b", b"#", False)]
    finally:
        a.close()
        b.close()


def test_a_failing_delivery_loses_no_other_sessions_data() -> None:
    """A bug in one session's delivery is reported to the loop; the others still get theirs."""
    log: list[tuple[str, bytes, bool]] = []
    bad, good = Reader("bad", log), Reader("good", log)
    reported: list[dict[str, object]] = []

    def boom() -> None:
        raise RuntimeError("bug")

    bad.then = boom
    try:
        bad.write(b"x" * 10)
        good.write(b"y" * 10)
        holding(bad, 10)
        holding(good, 10)

        async def go() -> None:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
            rounds = ptyio.ReadRounds(loop)
            rounds.ready(bad)
            rounds.ready(good)
            rounds.ready(bad)  # queued once
            await asyncio.sleep(0)
            await asyncio.sleep(0)

        asyncio.run(go())
        assert [(n, d) for n, d, _ in log] == [("bad", b"x" * 10), ("good", b"y" * 10)]
        assert len(reported) == 1 and isinstance(reported[0]["exception"], RuntimeError)
    finally:
        bad.close()
        good.close()

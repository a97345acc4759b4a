"""The PTY helpers (ptyio.py) on a real pseudo-terminal pair."""

from __future__ import annotations

import os
import signal

from jupyter_termmux import ptyio


def test_read_available_takes_more_than_one_kernel_read() -> None:
    """Output the kernel hands out 4095 bytes at a time is read up to 64 KiB in one call."""
    master, slave = os.openpty()
    try:
        os.set_blocking(master, False)
        payload = b"z" * 8_000  # two kernel reads, and within what the tty buffers
        os.write(slave, payload)
        got, eof = ptyio.read_available(master)
        assert not eof and len(got) > 4095 and payload.startswith(got)
        rest, _ = ptyio.read_available(master)
        assert got + rest == payload
        assert ptyio.read_available(master) == (b"", False)  # nothing there: not an end
    finally:
        os.close(slave)
    try:
        assert ptyio.read_available(master)[1] is True  # every holder of the tty is gone
    finally:
        os.close(master)


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
        assert ptyio.history_room(limit) + ptyio.read_cap(limit) + ptyio.TRIM_SLACK == limit
        assert 0 < ptyio.read_cap(limit) <= ptyio.READ_SIZE
    assert ptyio.read_cap(1) == 1
    master, slave = os.openpty()
    try:
        os.set_blocking(master, False)
        os.write(slave, b"y" * 8_000)
        got, _ = ptyio.read_available(master, 3_000)
        assert len(got) == 3_000
    finally:
        os.close(slave)
        os.close(master)

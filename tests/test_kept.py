"""Kept terminals (``TermMuxApp.keep_terminals``) against real ``jupyter server`` processes that
are stopped with SIGTERM or SIGKILL and started again on the same runtime directory.

The program is a ticker printing a numbered line every 10 ms; a protocol v2 client records the
output with its offsets, so "no line lost, none doubled" is checked on the bytes themselves.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import stat
from pathlib import Path
from typing import Any

import psutil
import pytest
from client import Client
from conftest import SOCKET_PATH, exited, poll_until
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from benchmarks.server import JupyterServer
from jupyter_termmux import keeper
from jupyter_termmux.kept import Saved, load_state, save_state

pytestmark = pytest.mark.timeout(180)

KEEP = ["--TermMuxApp.keep_terminals=True"]

TICKER = """
import sys, time
i = 0
while True:
    sys.stdout.write("L%07d\\n" % i)
    sys.stdout.flush()
    i += 1
    time.sleep(0.01)
"""
LINE = re.compile(rb"L(\d{7})\r\n")


async def v2_client(server: JupyterServer, name: str) -> Client:
    """A v2 socket to ``server`` that acknowledges output as it arrives, after its hello."""
    client = await Client.connect(
        server.ws + "/".join(SOCKET_PATH), server.headers, name, v2=True, ack=True
    )
    await client.wait_type("hello")
    return client


def numbers(data: bytes) -> list[int]:
    return [int(m.group(1)) for m in LINE.finditer(data)]


def ticker(server: JupyterServer) -> psutil.Process | None:
    for p in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if "ticker.py" in " ".join(p.info["cmdline"] or ()) and str(server.tmp) in (
                p.info["cwd"] or ""
            ):
                return p
        except psutil.Error:
            pass
    return None


def keepers(server: JupyterServer) -> list[psutil.Process]:
    return [p for p in server.left_running() if "jupyter_termmux.keeper" in " ".join(p.cmdline())]


async def start_ticker(server: JupyterServer) -> tuple[Client, dict[str, Any], psutil.Process]:
    """A terminal running the ticker, a v2 client attached to it (the answer), and the ticker's
    process."""
    (server.root / "ticker.py").write_text(TICKER, encoding="utf-8")
    await server.create_terminals(["1"])
    client = await v2_client(server, "ticker")
    attached = await client.attach("1", replay=False)
    ch = attached["channel"]
    client.type("1", "exec python3 ticker.py\r")
    await client.until(lambda: len(numbers(client.contiguous(ch))) >= 30, "30 ticker lines")
    proc = await poll_until(lambda: ticker(server), 10, "the ticker's process")
    return client, attached, proc


async def names(server: JupyterServer) -> list[str]:
    return [t["name"] for t in await server.api("GET", "api/terminals")]


def assert_consecutive(nums: list[int], what: str) -> None:
    assert nums, f"{what}: no lines"
    bad = [(a, b) for a, b in zip(nums, nums[1:]) if b != a + 1]
    assert not bad, f"{what}: lines lost or doubled at {bad[:5]} (of {len(nums)})"


async def test_sigterm_restart_resumes_losslessly() -> None:
    """A ticker survives a SIGTERM restart (same pid) and a client resuming with ``since`` and
    the incarnation gets every line exactly once."""
    async with JupyterServer(KEEP) as server:
        client, attached, proc = await start_ticker(server)
        await server.halt(signal.SIGTERM)
        await asyncio.wait_for(client.closed.wait(), 10)
        before = client.contiguous(attached["channel"])
        since = client.next_offset[attached["channel"]]
        assert proc.is_running() and not exited(proc), "the ticker ended with the server"
        await server.start()
        assert await names(server) == ["1"]
        again = await v2_client(server, "again")
        resumed = await again.attach("1", since=since, incarnation=attached["incarnation"])
        assert resumed["incarnation"] == attached["incarnation"]
        assert resumed["offset"] == since and not resumed.get("truncated"), resumed
        ch = resumed["channel"]
        last = numbers(before)[-1]
        await again.until(
            lambda: (
                numbers(again.contiguous(ch)) and numbers(again.contiguous(ch))[-1] >= last + 100
            ),
            "100 lines after the restart",
        )
        assert ticker(server) is not None and ticker(server).pid == proc.pid  # type: ignore[union-attr]
        nums = numbers(before + again.contiguous(ch))
        assert_consecutive(nums, "across the restart")
        await again.close()


async def test_sigkill_restart_session_comes_back() -> None:
    """A ticker survives a SIGKILL of the server; the new server adopts its terminal under the
    same name, and a client resuming gets the truncated path and the ticker's new lines."""
    async with JupyterServer(KEEP) as server:
        client, attached, proc = await start_ticker(server)
        await server.halt(signal.SIGKILL)
        await asyncio.wait_for(client.closed.wait(), 10)
        last = numbers(client.contiguous(attached["channel"]))[-1]
        await server.start()
        assert await names(server) == ["1"]
        again = await v2_client(server, "again")
        resumed = await again.attach(
            "1",
            since=client.next_offset[attached["channel"]],
            incarnation=attached["incarnation"],
        )
        # the same program's life, its offsets moved past any the crashed server gave
        assert resumed["incarnation"] == attached["incarnation"]
        assert resumed.get("truncated") and resumed["offset"] >= 2 * 2**40, resumed
        ch = resumed["channel"]
        await again.until(
            lambda: (
                numbers(again.contiguous(ch)) and numbers(again.contiguous(ch))[-1] >= last + 50
            ),
            "50 lines after the restart",
        )
        assert ticker(server).pid == proc.pid  # type: ignore[union-attr]
        nums = [n for n in numbers(again.contiguous(ch)) if n > last]
        assert_consecutive(nums, "after the crash")
        await again.close()
        # JupyterLab's own terminal socket sees the adopted terminal too
        req = HTTPRequest(f"{server.ws}terminals/websocket/1", headers=server.headers)
        classic = await websocket_connect(req)
        seen = ""
        while len(LINE.findall(seen.encode())) < 5:
            msg = await asyncio.wait_for(classic.read_message(), 10)
            assert msg is not None, "the classic socket closed"
            kind, *args = json.loads(msg)
            if kind == "stdout":
                seen += args[0]
        classic.close()


async def test_close_ends_program_and_keeper() -> None:
    """``session.close`` ends the kept program and its keeper: no keeper process remains."""
    async with JupyterServer(KEEP) as server:
        client, _, proc = await start_ticker(server)
        assert len(keepers(server)) == 1
        await client.request({"type": "session.close", "sessionId": "1"})
        exit_msg = await client.wait_type("session.exited")
        assert exit_msg["sessionId"] == "1"
        await poll_until(lambda: exited(proc), 10, "the ticker to end")
        await poll_until(lambda: not keepers(server), 10, "no keeper left")
        assert await names(server) == []
        assert not list((server.tmp / "runtime" / "termmux-kept").glob("*.sock"))
        await client.close()


async def test_keeper_sigkill_ends_session() -> None:
    """A keeper killed with SIGKILL ends its session with ``session.exited``."""
    async with JupyterServer(KEEP) as server:
        client, _, proc = await start_ticker(server)
        (keeper,) = keepers(server)
        keeper.kill()
        exit_msg = await client.wait_type("session.exited")
        assert exit_msg["sessionId"] == "1"
        await poll_until(lambda: exited(proc), 10, "the ticker to end")
        assert await names(server) == []
        await client.close()


async def test_off_terminals_end_with_the_server() -> None:
    """With ``keep_terminals`` off (the default), terminals end with the server, as before."""
    async with JupyterServer() as server:
        client, _, proc = await start_ticker(server)
        await server.halt(signal.SIGTERM)
        await poll_until(lambda: exited(proc), 10, "the ticker to end with the server")
        assert not (server.tmp / "runtime" / "termmux-kept").exists()
        await asyncio.wait_for(client.closed.wait(), 10)


async def test_stale_garbage_and_a_second_server() -> None:
    """A stale socket file is removed, a socket answering garbage is skipped, and a second
    server on the same runtime directory does not take the first one's terminals."""
    async with JupyterServer(KEEP) as server:
        client, attached, proc = await start_ticker(server)
        kept = server.tmp / "runtime" / "termmux-kept"
        stale = kept / "7-dead.sock"
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(stale))
        s.close()  # the file stays, nobody listens: a keeper that died with SIGKILL

        async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readline()
            writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
            await writer.drain()
            writer.close()

        junk = await asyncio.start_unix_server(garbage, str(kept / "8-junk.sock"))
        second = JupyterServer(KEEP)
        second.tmp, second.root = server.tmp, server.root
        try:
            await second.start()
            assert await names(second) == []
            log = Path(second.log_path).read_text()
            assert "two servers share the runtime directory" in log, log
            assert "removing stale kept-terminal socket" in log and not stale.exists()
            assert "not adopting kept terminal 8-junk.sock" in log
        finally:
            await second.halt()
            junk.close()
        # the first server still has its terminal and its ticker
        assert await names(server) == ["1"]
        ch = attached["channel"]
        mark = len(numbers(client.contiguous(ch)))
        await client.until(lambda: len(numbers(client.contiguous(ch))) > mark + 10, "more lines")
        assert not exited(proc)
        await client.close()


async def test_exit_code_reaches_the_server_through_the_keeper() -> None:
    """The kept program's exit code, reaped by its keeper, is the session's; files are private
    (the folder 0700, the socket 0600) and gone with the keeper."""
    async with JupyterServer(KEEP) as server:
        await server.create_terminals(["1"])
        kept = server.tmp / "runtime" / "termmux-kept"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o700
        (sock,) = kept.glob("*.sock")
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        client = await v2_client(server, "exit")
        await client.attach("1", replay=False)
        client.type("1", "exit 3\r")
        exit_msg = await client.wait_type("session.exited")
        assert exit_msg["exitCode"] == 3, exit_msg
        await poll_until(lambda: not keepers(server), 10, "no keeper left")
        assert not list(kept.iterdir())
        await client.close()


def test_keeper_control_lines() -> None:
    """The keeper's control protocol: one JSON object with an ``op`` a line, bounded."""
    msg = {"op": keeper.ATTACHED, "name": "1", "exit": None}
    lines = keeper.Lines()
    wire = keeper.encode(msg)
    assert lines.feed(wire[:5]) == []
    (line,) = lines.feed(wire[5:])
    assert keeper.decode(line) == msg
    for bad in (b"[]", b'{"op": 1}', b"HTTP/1.1 200 OK\r", b"{"):
        with pytest.raises(ValueError):
            keeper.decode(bad)
    with pytest.raises(ValueError):
        keeper.Lines().feed(b"x" * (keeper.MAX_LINE + 1))


def test_keeper_exit_status() -> None:
    """How a program ended, from its wait status: a code, or a signal's name."""
    assert keeper.exit_of(3 << 8) == {"code": 3, "signal": None}
    assert keeper.exit_of(signal.SIGKILL) == {"code": None, "signal": "SIGKILL"}


def test_state_file_is_for_its_keeper_only(tmp_path: Path) -> None:
    """A saved state is read once, by the keeper it was saved for (0600 on disk)."""
    path = tmp_path / "1-abc.state"
    save_state(path, Saved("abc", 100, b"hello", b"\xc3"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_state(path, "other") is None and not path.exists()
    save_state(path, Saved("abc", 100, b"hello", b"\xc3"))
    assert load_state(path, "abc") == Saved("abc", 100, b"hello", b"\xc3")
    assert load_state(path, "abc") is None

"""Faults against real servers and real PTYs: shutdown, cut connections, abusive clients.

The shutdown and abuse tests run a real ``jupyter server`` subprocess (``benchmarks.server``),
so that its signals, file descriptors, memory and child processes are its own; the cut-connection
tests use the in-process test server and a loopback TCP proxy subprocess that is killed.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from typing import Any

from client import Client, RawClient, raw_handshake
from conftest import GEN_SCRIPT, REPO, SOCKET_PATH, exited, poll_until
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from benchmarks.server import JupyterServer


async def mux_connect(server: JupyterServer, name: str) -> Client:
    """A termmux socket to a subprocess server."""
    return await Client.connect(server.ws + "/".join(SOCKET_PATH), server.headers, name)


async def start_stream(client: Client, sid: str, prefix: str, rate: int = 2000) -> int:
    """Attach and start numbered lines at ``rate`` per second; return the frame index before them."""
    await client.attach(sid, replay=False)
    since = len(client.frames)
    client.type(sid, f"python3 tm_gen.py stream {prefix} {rate}\r")
    await client.wait_output(sid, f"{prefix}0000005\r\n", timeout=30, since=since)
    return since


# ------------------------------------------------------------------------ server shutdown


def test_sigterm_closes_every_socket_with_1001_and_leaves_no_child() -> None:
    """A jupyter server SIGTERMed while three sockets stream closes each of them with 1001 and leaves none of its shells or their programs running."""

    async def scenario() -> None:
        async with JupyterServer() as server:
            (server.root / "tm_gen.py").write_text(GEN_SCRIPT)
            names = ["sigterm_a", "sigterm_b", "sigterm_c"]
            await server.create_terminals(names)
            clients = []
            for i, name in enumerate(names):
                c = await mux_connect(server, f"c{i}")
                await start_stream(c, name, "ABC"[i])
                clients.append(c)
            assert server.ps is not None
            kids = server.ps.children(recursive=True)
            assert len(kids) >= 6, f"expected 3 shells and 3 generators, found {kids}"
            server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            for c in clients:
                try:
                    await asyncio.wait_for(c.closed.wait(), 30)
                except asyncio.TimeoutError:
                    raise AssertionError(f"{c.name} still open 30 s after SIGTERM") from None
            deadline = time.monotonic() + 30
            while server.proc.poll() is None:  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the server did not exit after SIGTERM"
                await asyncio.sleep(0.1)
            codes = [c.close_code for c in clients]
            assert codes == [1001] * len(clients), f"close codes {codes}\n{server.log_tail()}"
            # The shells' programs get their SIGHUP from the shell or the kernel as the shells
            # go, so they may still be exiting (a few ms, seen in CI) when the server is gone.
            # Dying is fine; anything still running after 10 s was left behind (this proves
            # that nothing survives, whoever ended it: the server or the PTY's hang-up).
            left = [k for k in kids if not exited(k)]
            try:
                await poll_until(lambda: all(exited(k) for k in left), 10, "the children to exit")
            except AssertionError:
                running = [k for k in left if not exited(k)]
                for k in running:  # ours: the test's server started them
                    k.kill()
                pids = [k.pid for k in running]
                raise AssertionError(
                    f"children still running 10 s after the server exited: {pids}"
                ) from None
            print(
                f"SIGTERM: close codes {codes}; {len(kids)} children before,"
                f" {len(left)} still exiting as the server exited"
            )

    asyncio.run(scenario())


# ---------------------------------------------------------------------- cut connections


async def assert_server_healthy(connect: Any, router: Any, sid: str, prefix: str) -> None:
    """No socket is left in the router, and a new socket gets the session's live output."""
    await poll_until(lambda: router.stats()["sockets"] == 0, 15, "the cut socket to be dropped")
    assert sid not in router.stats()["sessions"], router.stats()  # no subscriber holds it
    fresh = await connect("fresh")
    attached = await fresh.attach(sid, replay=False)
    at = fresh.index_of(attached)
    await poll_until(
        lambda: len(re.findall(prefix + r"\d{7}\r\n", fresh.text(sid, at))) >= 20,
        20,
        "live lines on a new socket",
    )


async def test_client_side_reset_mid_stream_leaves_the_server_healthy(
    connect, connect_raw, make_terminal, gen_script, router
):
    """A client whose TCP connection is reset mid-stream is dropped by the server, which keeps streaming to a new socket."""
    sid = await make_terminal("cut_client")
    raw = await connect_raw("doomed")
    await raw.attach(sid, replay=False)
    since = len(raw.frames)
    raw.type(sid, f"python3 {gen_script.name} stream K 2000\r")
    await raw.wait_output(sid, "K0000050\r\n", timeout=30, since=since)
    await raw.abort()
    await assert_server_healthy(connect, router, sid, "K")


async def test_server_side_cut_by_a_killed_proxy_leaves_the_server_healthy(
    connect, make_terminal, gen_script, router, jp_http_port, jp_base_url, jp_auth_header
):
    """A socket whose loopback proxy is killed mid-stream is dropped by the server, which keeps streaming to a new socket."""
    sid = await make_terminal("cut_proxy")
    proxy = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.proxy",
        str(jp_http_port),
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        cwd=REPO,
    )
    try:
        assert proxy.stdout is not None
        port = int(await asyncio.wait_for(proxy.stdout.readline(), 30))
        url = f"ws://127.0.0.1:{port}{jp_base_url}{'/'.join(SOCKET_PATH)}"
        ws = await websocket_connect(HTTPRequest(url, headers=dict(jp_auth_header)))
        proxied = Client(ws, "proxied")
        await proxied.attach(sid, replay=False)
        since = len(proxied.frames)
        proxied.type(sid, f"python3 {gen_script.name} stream X 2000\r")
        await proxied.wait_output(sid, "X0000050\r\n", timeout=30, since=since)
        assert router.stats()["sockets"] == 1
    finally:
        proxy.kill()  # by its PID: the connection dies in the middle of the stream
        await proxy.wait()
    await asyncio.wait_for(proxied.closed.wait(), 15)
    await assert_server_healthy(connect, router, sid, "X")


# ------------------------------------------------------------------------ abusive clients

ROUNDS = 20
SESSIONS = 20
PASTE = 200_000
FD_SLACK = 10
RSS_SLACK = 30 * 1024 * 1024


def test_abusive_clients_leak_no_fds_memory_or_children() -> None:
    """20 rounds of a client attaching 20 sessions, pasting 200 KB into each and resetting its connection leave the server's fds within +10, its RSS within +30 MB and its child processes unchanged."""

    async def one_round(server: JupyterServer, names: list[str], n: int) -> None:
        path = "/" + "/".join(SOCKET_PATH)
        sock, rest = await raw_handshake(server.port, path, server.headers)
        raw = RawClient(sock, f"abuser{n}", rest)
        for name in names:
            await raw.attach(name, replay=False)
        paste = "p" * (PASTE - 1) + "\n"
        for name in names:
            msg = {"type": "terminal.input", "sessionId": name, "data": paste}
            await raw._send_frame(0x1, json.dumps(msg).encode())
        await raw.abort()

    async def scenario() -> None:
        async with JupyterServer() as server:
            assert server.ps is not None
            names = [f"abused{i}" for i in range(SESSIONS)]
            await server.create_terminals(names)
            setup = await mux_connect(server, "setup")
            for name in names:  # every shell hands its input to cat, which reads it all
                await setup.attach(name, replay=False)
                since = len(setup.frames)
                setup.type(name, "stty -echo -icanon; echo tm_ok_$((2*3)); exec cat >/dev/null\r")
                await setup.wait_output(name, "tm_ok_6", since=since)
            await setup.close()

            def figures() -> tuple[int, int, int]:
                assert server.ps is not None
                return (
                    server.ps.num_fds(),
                    server.ps.memory_info().rss,
                    len(server.ps.children(recursive=True)),
                )

            for n in range(2):  # warm-up: thread pools, caches
                await one_round(server, names, n)
            probe = await mux_connect(server, "probe")
            await probe.barrier(timeout=30)  # the server has handled the warm-up drops
            await probe.close()
            fds0, rss0, kids0 = figures()
            start = time.monotonic()
            for n in range(ROUNDS):
                await one_round(server, names, n + 2)
            took = time.monotonic() - start

            healthy = await mux_connect(server, "healthy")
            created = await healthy.request({"type": "session.create", "sessionId": "after"})
            assert created["type"] == "session.created", created
            await healthy.attach("after")
            await healthy.run("after", timeout=30)
            await healthy.request({"type": "session.close", "sessionId": "after"}, 30)
            await healthy.close()

            deadline = time.monotonic() + 15
            while True:  # the last drops are handled a moment after the connection ends
                fds1, rss1, kids1 = figures()
                if fds1 <= fds0 + FD_SLACK and kids1 == kids0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            print(
                f"abuse: {ROUNDS} rounds x {SESSIONS} sessions x {PASTE // 1000} KB in {took:.1f} s;"
                f" fds {fds0} -> {fds1}, RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MB,"
                f" children {kids0} -> {kids1}"
            )
            assert fds1 <= fds0 + FD_SLACK, f"fds grew from {fds0} to {fds1}"
            assert rss1 <= rss0 + RSS_SLACK, f"RSS grew by {(rss1 - rss0) / 2**20:.1f} MB"
            assert kids1 == kids0, f"child processes {kids0} -> {kids1}"

    asyncio.run(scenario())

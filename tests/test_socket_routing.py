"""Routing: a session's output reaches exactly the sockets attached to it, whole and in order."""

from __future__ import annotations

import asyncio

from client import raw_handshake, sentinel
from conftest import assert_contiguous, foreign_lines, numbered

BIG_LINES = 1_000_000  # 10 bytes a line through the PTY ("A0000001\r\n"): 10 MB per session


async def test_output_reaches_only_attached_sockets(connect, make_terminal):
    """Each socket gets the output of the sessions it attached, tagged with their ids, and nothing else."""
    s1, s2 = await make_terminal("route_one"), await make_terminal("route_two")
    both, only1, only2 = await connect("both"), await connect("only1"), await connect("only2")
    await both.attach(s1)
    await both.attach(s2)
    await only1.attach(s1)
    await only2.attach(s2)

    cmd1, out1 = sentinel("one")
    cmd2, out2 = sentinel("two")
    both.type(s1, cmd1)
    both.type(s2, cmd2)
    for client, sid, out in [
        (both, s1, out1),
        (both, s2, out2),
        (only1, s1, out1),
        (only2, s2, out2),
    ]:
        await client.wait_output(sid, out)

    # A ping barrier on each socket: anything the server queued before it has arrived.
    for client in (both, only1, only2):
        await client.barrier()
    assert out2 not in both.text(s1) and out1 not in both.text(s2)
    assert not only1.of_type("terminal.output", sessionId=s2), "only1 got output of route_two"
    assert not only2.of_type("terminal.output", sessionId=s1), "only2 got output of route_one"
    assert out2 not in only1.text(s1) and out1 not in only2.text(s2)
    for client in (both, only1, only2):
        for f in client.of_type("terminal.output"):
            assert f["sessionId"] in (s1, s2) and isinstance(f["data"], str), f


async def test_four_sessions_of_10mb_on_one_socket(connect, make_terminal, gen_script):
    """Four sessions printing 10 MB each at once over one socket arrive whole, in order, unmixed."""
    prefixes = "ABCD"
    sids = [await make_terminal(f"big_{p}") for p in prefixes]
    client = await connect("big")
    for sid in sids:
        await client.attach(sid, replay=False)
    since = len(client.frames)
    for p, sid in zip(prefixes, sids):
        client.type(sid, f"python3 {gen_script.name} burst {p} {BIG_LINES}\r")
    await asyncio.gather(
        *(
            client.wait_output(sid, f"tm_end_{p}_{BIG_LINES}", timeout=150, since=since)
            for p, sid in zip(prefixes, sids)
        )
    )
    for p, sid in zip(prefixes, sids):
        text = client.text(sid, since)
        assert not foreign_lines(text, p), (
            f"{sid} carries lines of another session: {foreign_lines(text, p)}"
        )
        assert_contiguous(numbered(text, p), 1, BIG_LINES, f"session {sid}")


async def test_three_sockets_on_one_session_each_get_the_whole_stream(
    connect, make_terminal, gen_script
):
    """Three sockets attached to one session each receive every line of a 2 MB stream once, in order."""
    n = 200_000
    sid = await make_terminal("shared")
    clients = [await connect(f"c{i}") for i in range(3)]
    marks = []
    for c in clients:
        await c.attach(sid, replay=False)
        marks.append(len(c.frames))
    clients[0].type(sid, f"python3 {gen_script.name} burst S {n}\r")
    await asyncio.gather(
        *(c.wait_output(sid, f"tm_end_S_{n}", timeout=60, since=m) for c, m in zip(clients, marks))
    )
    for c, m in zip(clients, marks):
        assert_contiguous(numbered(c.text(sid, m), "S"), 1, n, f"{c.name}")


async def test_closing_classic_terminal_socket_does_not_cut_termmux_output(
    connect, make_terminal, term_manager, jp_http_port, jp_base_url, jp_auth_header
):
    """A classic terminal socket of the same PTY that is closing (its writes raise) does not stop termmux subscribers from getting the output."""
    sid = await make_terminal("shared_classic")
    path = f"{jp_base_url.rstrip('/')}/terminals/websocket/{sid}"
    # JupyterLab's own terminal socket for the session, never read from.
    sock, _ = await raw_handshake(jp_http_port, path, dict(jp_auth_header))
    try:
        term = term_manager.terminals[sid]
        (classic,) = [c for c in term.clients if type(c).__name__ == "TermSocket"]
        # Closed from the server side: until the peer answers (never) or 5 s pass, every
        # write_message raises WebSocketClosedError inside terminado's fan-out loop.
        classic.close()
        client = await connect("after_classic")
        await client.attach(sid)
        command, out = sentinel("classic")
        client.type(sid, command)
        await client.wait_output(sid, out, timeout=8)
    finally:
        sock.close()

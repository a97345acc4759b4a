"""Hardening: sharing a PTY with JupyterLab's terminal, latency, names, exits, closes.

Real server, real PTYs running bash, real sockets; every wait is for a frame, a sentinel string
or a state, never for silence. Some of these describe behaviour the server does not have yet
(the v2 protocol, the session-id rule): they fail until it does.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import statistics
import time
from datetime import datetime
from typing import Any

import psutil
from client import Client, RawClient, raw_handshake, sentinel, ws_frame
from conftest import SOCKET_PATH, exited, poll_until


async def shell_pid(client: Client, sid: str, prefix: str = "") -> int:
    """The pid of the shell of ``sid``, as the shell itself prints it (``$$``)."""
    k = next(_pids)
    since = len(client.frames)
    client.type(sid, f"{prefix}echo tm_pid_$$_$(({k}+{k}))\r")
    m = await client.wait_output(sid, re.compile(rf"tm_pid_(\d+)_{2 * k}"), since=since)
    return int(m.group(1))


_pids = iter(range(100, 10**6))


async def terminal_names(jp_fetch: Any) -> list[str]:
    """Names in GET /api/terminals."""
    return [t["name"] for t in json.loads((await jp_fetch("api", "terminals")).body)]


# ---------------------------------------------------- 1. sharing with JupyterLab's terminal

# A deliberately slow reader (4 KB a millisecond): both paths' writers stay blocked on a full
# PTY input buffer for most of the paste, which is when they can get in each other's way.
READER_SCRIPT = r"""
import os, sys, time
out = open(sys.argv[1], "wb")
tail, ends = b"", set()
os.write(1, ("tm_rdy_%d\r\n" % (6 * 7)).encode())
while len(ends) < 2:
    b = os.read(0, 4096)
    time.sleep(0.001)
    if not b:
        break
    out.write(b)
    out.flush()  # the test paces the paste by this file's size
    lines = (tail + b).split(b"\n")
    tail = lines.pop()
    ends.update(x for x in lines if x in (b"ENDA", b"ENDB"))
out.close()
os.write(1, ("tm_fin_%d\r\n" % (7 * 7)).encode())
"""

PASTE_LINES = 10_500  # per path: 2 x ~1 MB, 21 000 lines

#: How far the paste may run ahead of what the reader has recorded: a paste never needs the
#: server to queue more than this (well under its 1 MiB input bound), yet both writers stay
#: blocked on the full PTY all along.
AHEAD = 256 * 1024


def paste_line(prefix: str, i: int) -> str:
    """Numbered line ``i`` of path ``prefix``: 95 bytes fully determined by (prefix, i)."""
    tag = f"{prefix}{i:07d}"
    return f"{tag}:" + (tag * 11)[:86] + "\n"


def paste_chunks(prefix: str, lines_per_chunk: int = 40) -> list[str]:
    """The paste of one path as frames of whole lines (about 4 KB each), then its end marker."""
    chunks = [
        "".join(paste_line(prefix, i) for i in range(s, min(s + lines_per_chunk, PASTE_LINES + 1)))
        for s in range(1, PASTE_LINES + 1, lines_per_chunk)
    ]
    return chunks + [f"END{prefix}\n"]


async def test_paste_through_termmux_and_classic_socket_at_once(
    connect, make_terminal, jp_ws_fetch, jp_root_dir
):
    """A 2 MB paste sent through a termmux socket and JupyterLab's classic terminal socket into one session at once arrives with every line exactly once and whole, and the classic socket stays open."""
    (jp_root_dir / "tm_reader.py").write_text(READER_SCRIPT)
    got = jp_root_dir / "tm_got.txt"
    sid = await make_terminal("shared_paste")
    mux = await connect("mux")
    await mux.attach(sid)
    classic = await jp_ws_fetch("terminals", "websocket", sid)
    classic_out: list[str] = []
    classic_closed = asyncio.Event()

    async def read_classic() -> None:
        while True:
            msg = await classic.read_message()
            if msg is None:
                classic_closed.set()
                return
            kind, *rest = json.loads(msg)
            if kind == "stdout":
                classic_out.append(rest[0])

    reader_task = asyncio.ensure_future(read_classic())
    tasks: list[asyncio.Future[Any]] = [reader_task]
    try:
        since = len(mux.frames)
        # raw: every byte reaches the reader as typed (no line editing, no echo).
        mux.type(sid, f"stty raw -echo; python3 tm_reader.py {got.name}; stty sane\r")
        await mux.wait_output(sid, "tm_rdy_42", since=since)

        def recorded() -> int:
            return got.stat().st_size if got.exists() else 0

        async def paste() -> None:
            # Chunk by chunk from both paths in turn, so the two pastes reach the server
            # interleaved, as two people pasting at once would; never more than AHEAD bytes
            # ahead of the reader.
            sent = 0
            for a, b in zip(paste_chunks("A"), paste_chunks("B")):
                sent += len(a) + len(b)
                if sent - recorded() > AHEAD:
                    await poll_until(lambda s=sent: s - recorded() <= AHEAD, 60, "the reader")
                await mux.ws.write_message(
                    json.dumps({"type": "terminal.input", "sessionId": sid, "data": a})
                )
                await classic.write_message(json.dumps(["stdin", b]))

        sender = asyncio.ensure_future(paste())
        tasks.append(sender)
        finished = asyncio.ensure_future(mux.wait_output(sid, "tm_fin_49", 180, since))
        closed = asyncio.ensure_future(classic_closed.wait())
        tasks += [finished, closed]
        await asyncio.wait({finished, closed}, timeout=200, return_when=asyncio.FIRST_COMPLETED)
        assert not classic_closed.is_set(), (
            f"the classic terminal socket was dropped (close code {classic.close_code}) "
            "during the shared paste"
        )
        closed.cancel()
        await finished  # raises with the last frames if the reader never saw both end markers
        await sender
        errors = mux.of_type("error", since)
        assert not errors, f"termmux refused part of the paste: {errors[:3]}"

        lines = got.read_bytes().decode().split("\n")
        assert lines[-1] == "", "the file does not end with a whole line"
        seen: dict[str, list[int]] = {"A": [], "B": []}
        broken = []
        switches, last = 0, ""
        for line in lines[:-1]:
            if line in ("ENDA", "ENDB"):
                continue
            m = re.fullmatch(r"([AB])(\d{7}):.*", line)
            if not m or line + "\n" != paste_line(m.group(1), int(m.group(2))):
                broken.append(line[:120])
                continue
            seen[m.group(1)].append(int(m.group(2)))
            switches += m.group(1) != last
            last = m.group(1)
        print(f"shared paste: the two paths took turns {switches} times")
        assert switches > 2, "the two pastes did not overlap: nothing was shared"
        assert not broken, f"{len(broken)} lines split or mixed by the other path: {broken[:4]}"
        for prefix, nums in seen.items():
            assert nums == list(range(1, PASTE_LINES + 1)), (
                f"path {prefix}: {len(nums)} lines, {len(set(nums))} distinct, expected "
                f"1..{PASTE_LINES} once each in order"
            )

        # The classic socket still works both ways.
        cmd, expected = sentinel("classic")
        await classic.write_message(json.dumps(["stdin", cmd]))
        await poll_until(lambda: expected in "".join(classic_out), 10, "classic echo")
        assert not classic_closed.is_set()
    finally:
        classic.close()
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: the assertion above says what went wrong


# ------------------------------------------------------------------------------- 2. Nagle


class TimedRawClient(RawClient):
    """A raw socket that stamps each received frame with its arrival time."""

    def __init__(self, *args: Any) -> None:
        self.times: list[float] = []
        super().__init__(*args)

    def _record(self, frame: dict[str, Any]) -> None:
        self.times.append(time.monotonic())
        super()._record(frame)


async def test_back_to_back_frames_are_not_delayed_by_nagle(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header
):
    """Two frames the server writes back to back (an error reply, then a pong) reach the client together: the median gap over 20 tries is under 20 ms (generous; Nagle with delayed ACKs costs a 40 ms quantum, TCP_NODELAY about 0)."""
    await jp_fetch("api", "status")  # the server listens once a request was made
    path = jp_base_url.rstrip("/") + "/" + "/".join(SOCKET_PATH)
    sock, rest = await raw_handshake(jp_http_port, path, dict(jp_auth_header))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the client adds no delay
    client = TimedRawClient(sock, "timed", rest)
    loop = asyncio.get_running_loop()
    try:
        await client.barrier()
        gaps = []
        for i in range(20):
            since = len(client.frames)
            both = ws_frame(0x1, b"not json") + ws_frame(
                0x1, json.dumps({"type": "ping", "id": i}).encode()
            )
            await loop.sock_sendall(sock, both)  # one TCP segment, two frames
            pong = await client.wait_frame(lambda f, i=i: f.get("id") == i, since=since)
            assert pong["type"] == "pong", pong
            p = client.index_of(pong)
            (err,) = [j for j in range(since, p) if client.frames[j].get("type") == "error"]
            gaps.append(client.times[p] - client.times[err])
        median = statistics.median(gaps)
        print(
            f"error->pong gap over {len(gaps)} tries: median {median * 1e3:.2f} ms, "
            f"max {max(gaps) * 1e3:.2f} ms"
        )
        assert median < 0.020, (
            f"median gap {median * 1e3:.1f} ms between two back-to-back server frames "
            "(TCP_NODELAY not set on the server socket?)"
        )
    finally:
        await client.close()


# ------------------------------------------------------------------------------- 4. names

ODD_NAMES = ["x" * 300, "my-term", "with space", "../x", "", "été"]
REFUSED_CREATE_NAMES = ["my-term", "with space", "../x", "", "été", "a" * 65, "a/b", "x.y"]


async def test_every_listed_session_can_be_attached_and_closed(connect, jp_fetch, jp_root_dir):
    """Terminals created over REST with names outside \\w+ (300 chars, dashes, spaces, '../x', empty, accents) are listed by session.list and can each be attached and closed over the socket."""
    for name in ODD_NAMES:
        r = await jp_fetch(
            "api",
            "terminals",
            method="POST",
            body=json.dumps({"name": name, "cwd": str(jp_root_dir)}),
        )
        assert json.loads(r.body)["name"] == name
    client = await connect()
    listed = [s["sessionId"] for s in (await client.request({"type": "session.list"}))["sessions"]]
    assert sorted(listed) == sorted(ODD_NAMES), listed
    failures = []
    for sid in listed:
        answer = await client.request({"type": "session.attach", "sessionId": sid})
        if answer.get("type") != "session.attached" or answer.get("sessionId") != sid:
            failures.append(f"attach {sid[:40]!r}: {answer}")
            continue
        closed = await client.request({"type": "session.close", "sessionId": sid}, timeout=20)
        if closed.get("type") != "session.closed":
            failures.append(f"close {sid[:40]!r}: {closed}")
    left = await terminal_names(jp_fetch)
    assert not failures, "\n".join(failures)
    assert not set(left) & set(listed), f"still running: {left}"


async def test_session_create_refuses_names_outside_the_rule(connect, jp_fetch):
    """session.create with a name outside ^[A-Za-z0-9_]{1,64}$ is refused with invalid-session-id echoing the id, and creates nothing."""
    client = await connect()
    before = await terminal_names(jp_fetch)
    wrong = []
    for name in REFUSED_CREATE_NAMES:
        answer = await client.request({"type": "session.create", "sessionId": name}, timeout=20)
        if answer.get("type") != "error" or answer.get("code") != "invalid-session-id":
            wrong.append(f"{name[:40]!r}: {answer}")
    after = await terminal_names(jp_fetch)
    assert not wrong, "\n".join(wrong)
    assert after == before, f"created: {set(after) - set(before)}"
    ok = await client.request({"type": "session.create", "sessionId": "A" * 64})
    assert ok["type"] == "session.created", ok


async def test_lookup_ids_are_any_unicode_string_up_to_1024(connect):
    """A lookup id of 0 to 1024 valid-Unicode characters naming no terminal is unknown-session; 1025 characters or a lone surrogate is a refused sessionId field (invalid-field), each answer echoing the request id."""
    client = await connect()
    for sid in ("", "../x", "é" * 1024):
        answer = await client.request({"type": "session.attach", "sessionId": sid})
        assert answer["type"] == "error" and answer["code"] == "unknown-session", answer
    frames = {
        "long": json.dumps({"type": "session.attach", "sessionId": "a" * 1025, "id": "long"}),
        "lone": '{"type": "session.attach", "sessionId": "a\\ud800", "id": "lone"}',
    }
    for rid, frame in frames.items():
        client.send(frame)
        answer = await client.wait_frame(lambda f, r=rid: f.get("id") == r, what=rid)
        assert answer["type"] == "error" and answer["code"] == "invalid-field", answer
        assert "sessionId" in answer["message"], answer


# ---------------------------------------------------------------------- 5. names not reused


async def test_automatic_names_are_not_reused(connect, jp_fetch):
    """A session created without a name after an earlier one exited gets a different name."""
    client = await connect()
    first = (await client.request({"type": "session.create"}))["sessionId"]
    await client.attach(first)
    await client.run(first)
    client.type(first, "exit\r")
    await client.wait_type("session.exited", timeout=20, sessionId=first)
    deadline = time.monotonic() + 20
    while first in await terminal_names(jp_fetch):
        assert time.monotonic() < deadline, f"{first} still listed after it exited"
        await asyncio.sleep(0.05)
    second = (await client.request({"type": "session.create"}))["sessionId"]
    assert second != first, f"the name {first!r} of an ended session was given out again"


async def test_incarnation_differs_between_lives_of_a_name(connect_v2):
    """On v2, session.attached carries an incarnation that differs when a name is closed and created again."""
    client = await connect_v2()
    hello = await client.wait_type("hello")
    assert hello.get("protocol") == 2, hello
    incarnations = []
    for _ in range(2):
        created = await client.request({"type": "session.create", "sessionId": "reborn"})
        assert created["type"] == "session.created", created
        attached = await client.attach("reborn")
        inc = attached.get("incarnation")
        assert isinstance(inc, str) and inc, attached
        incarnations.append(inc)
        closed = await client.request({"type": "session.close", "sessionId": "reborn"}, 20)
        assert closed["type"] == "session.closed", closed
    assert incarnations[0] != incarnations[1], incarnations


# -------------------------------------------------------------------------- 6. exit signal


async def test_sigkill_is_reported_as_the_signal(connect, make_terminal, term_manager):
    """A shell killed with SIGKILL is reported by session.exited with signal SIGKILL."""
    sid = await make_terminal("killed")
    client = await connect()
    await client.attach(sid)
    pid = await shell_pid(client, sid)
    assert pid == term_manager.terminals[sid].ptyproc.pid
    os.kill(pid, signal.SIGKILL)
    exited = await client.wait_type("session.exited", timeout=20, sessionId=sid)
    assert exited.get("signal") == "SIGKILL", exited
    assert exited.get("exitCode") in (None, -9), exited


# -------------------------------------------------------------- 7. closing does not stall


async def test_closing_50_sessions_does_not_stall_the_event_loop(connect, term_manager):
    """While one socket closes 50 sessions at once, another socket's ping round trips stay under 0.5 s."""
    closer, watcher = await connect("closer"), await connect("watcher")
    sids = []
    for i in range(50):
        created = await closer.request({"type": "session.create", "sessionId": f"bulk{i}"})
        assert created["type"] == "session.created", created
        sids.append(created["sessionId"])
    shells = [psutil.Process(term_manager.terminals[s].ptyproc.pid) for s in sids]
    rtts: list[float] = []
    done = asyncio.Event()

    async def pinger() -> None:
        while not done.is_set():
            t = time.monotonic()
            await watcher.barrier(timeout=60)
            rtts.append(time.monotonic() - t)

    task = asyncio.ensure_future(pinger())
    try:
        await poll_until(lambda: len(rtts) >= 3, 10, "first pings")
        start = time.monotonic()
        for sid in sids:
            closer.send({"type": "session.close", "sessionId": sid, "id": f"close-{sid}"})
        answers = [
            await closer.wait_frame(lambda f, r=f"close-{s}": f.get("id") == r, timeout=120)
            for s in sids
        ]
        took = time.monotonic() - start
    finally:
        done.set()
        await task
    assert all(a["type"] == "session.closed" for a in answers), [
        a for a in answers if a["type"] != "session.closed"
    ][:3]
    print(
        f"closed 50 sessions in {took:.2f} s; {len(rtts)} pings, "
        f"max round trip {max(rtts) * 1e3:.0f} ms, median {statistics.median(rtts) * 1e3:.1f} ms"
    )
    assert max(rtts) < 0.5, f"a ping waited {max(rtts):.2f} s while sessions were closed"
    await poll_until(lambda: all(exited(p) for p in shells), 20, "every closed shell to be gone")


# ------------------------------------------------------- 8. close survives a disconnect


async def test_close_finishes_after_the_requester_disconnects(connect_raw, make_terminal, jp_fetch):
    """session.close terminates even a shell that ignores HUP/INT/TERM when the requesting socket drops right after sending it."""
    sid = await make_terminal("orphan_close")
    raw = await connect_raw("closer")
    await raw.attach(sid)
    pid = await shell_pid(raw, sid, prefix="trap '' HUP INT TERM; ")
    shell = psutil.Process(pid)
    frame = ws_frame(0x1, json.dumps({"type": "session.close", "sessionId": sid}).encode())
    await asyncio.get_running_loop().sock_sendall(raw.sock, frame)
    await raw.close()  # the TCP connection drops right after the request

    deadline = time.monotonic() + 20
    while sid in await terminal_names(jp_fetch):
        if time.monotonic() > deadline:
            raise AssertionError("the terminal is still listed 20 s after session.close")
        await asyncio.sleep(0.1)
    await poll_until(lambda: exited(shell), 10, f"the shell {pid} to be gone")


# ------------------------------------------------------------- 9. second attach replays (v2)


async def test_attaching_twice_without_since_replays_each_time(connect, connect_v2, make_terminal):
    """On v2 each session.attach without since on one socket (a first and a second panel) is answered with an offset, then replay frames from that offset holding the history."""
    sid = await make_terminal("two_panels")
    typist = await connect("typist")  # gives the session a known history first
    await typist.attach(sid)
    cmd, expected = sentinel("panel")
    since = len(typist.frames)
    typist.type(sid, cmd)
    await typist.wait_output(sid, expected, since=since)

    client = await connect_v2()
    await client.wait_type("hello")
    for panel in ("first", "second"):
        answer = await client.attach(sid)
        at = client.index_of(answer)
        channel, offset = answer.get("channel"), answer.get("offset")
        assert isinstance(channel, int) and isinstance(offset, int), (panel, answer)
        await client.wait_text(channel, re.escape(expected), since=at)
        frames = [
            f for f in client.frames[at:] if f.get("type") == "<binary>" and f["channel"] == channel
        ]
        assert frames[0]["kind"] == 2, f"{panel} attach: no replay frame first: {answer}"
        assert frames[0]["offset"] == offset, (panel, frames[0]["offset"], answer)
        assert expected.encode() in client.stream(channel, kinds=(2,), since=at), (
            f"{panel}: no history"
        )


# ------------------------------------------------------------ 10. output counts as activity


async def test_output_alone_advances_last_activity(connect, make_terminal, jp_fetch):
    """A session that only prints (no input after the command starts) has its last_activity in GET /api/terminals advance."""
    sid = await make_terminal("chatty")
    client = await connect()
    await client.attach(sid)
    since = len(client.frames)
    client.type(sid, "while :; do echo tm_tick_$((1+1)); sleep 0.2; done\r")
    await client.wait_output(sid, "tm_tick_2", since=since)

    async def last_activity() -> datetime:
        model = json.loads((await jp_fetch("api", "terminals", sid)).body)
        return datetime.fromisoformat(model["last_activity"].replace("Z", "+00:00"))

    t0 = await last_activity()
    # The server may stamp activity at most every second or so: wait (bounded) until it does,
    # while the loop keeps printing and nothing is typed.
    deadline = time.monotonic() + 10
    while await last_activity() <= t0:
        if time.monotonic() > deadline:
            raise AssertionError(f"last_activity stayed {t0} for 10 s while the session printed")
        await asyncio.sleep(0.1)
    assert client.text(sid, since).count("tm_tick_2") >= 2, "the session stopped printing"

"""Session lifecycle on the socket: attach, replay, detach, close, exit, resize, ping, list, logs."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import psutil
import pytest
from client import sentinel
from conftest import assert_contiguous, numbered, poll_until
from tornado.httpclient import HTTPClientError

HISTORY_LIMIT = 10_000


@pytest.fixture
def termmux_config():
    """A small history so that replays are truncated."""
    return {"history_limit": HISTORY_LIMIT}


def termmux_clients(term_manager, sid):
    """The subscriber objects termmux put on the PtyWithClients of ``sid``."""
    return [
        c
        for c in term_manager.terminals[sid].clients
        if type(c).__module__.split(".")[0] == "jupyter_termmux"
    ]


# ------------------------------------------------------------------------------------- attach (2)


@pytest.mark.parametrize("sid", ["nope", "no_such_terminal_42"])
async def test_attach_unknown_session(connect, sid):
    """Attaching a well-formed id that names no terminal is answered by error unknown-session with that id."""
    client = await connect()
    answer = await client.request({"type": "session.attach", "sessionId": sid})
    assert answer["type"] == "error" and answer["code"] == "unknown-session", answer
    assert answer.get("sessionId") == sid or sid in answer.get("message", ""), answer
    await client.barrier()  # the socket is still open


@pytest.mark.parametrize("sid", ["../etc", "", "a-b", "x y", "a/b", "a" * 256])
async def test_attach_odd_session_id_is_a_lookup(connect, sid):
    """Any string is a lookup (never a path): a name no terminal has is unknown-session."""
    client = await connect()
    answer = await client.request({"type": "session.attach", "sessionId": sid})
    assert answer["type"] == "error" and answer["code"] == "unknown-session", answer
    assert answer.get("sessionId") == sid, answer
    await client.barrier()


@pytest.mark.parametrize("sid", ["../etc", "", "a-b", "x y", "été", "a" * 65])
async def test_create_with_a_name_others_cannot_serve_is_refused(connect, term_manager, sid):
    """session.create with a name outside [A-Za-z0-9_]{1,64} is refused and creates nothing."""
    client = await connect()
    before = set(term_manager.terminals)
    answer = await client.request({"type": "session.create", "sessionId": sid})
    assert answer["type"] == "error" and answer["code"] == "invalid-session-id", answer
    assert set(term_manager.terminals) == before
    await client.barrier()


async def test_attach_255_character_name_is_well_formed(connect):
    """A 255-character \\w+ id is well formed (unknown-session, not invalid-session-id)."""
    client = await connect()
    answer = await client.request({"type": "session.attach", "sessionId": "a" * 255})
    assert answer["type"] == "error" and answer["code"] == "unknown-session", answer


async def test_attach_twice_is_harmless(connect, make_terminal, term_manager):
    """A second attach is answered session.attached again without a second replay or doubled output."""
    sid = await make_terminal("twice")
    client = await connect()
    await client.attach(sid)
    await client.run(sid)  # the session now has history
    second = await client.attach(sid)
    since = client.index_of(second)
    cmd, expected = sentinel()
    client.type(sid, cmd)
    await client.wait_output(sid, expected)
    await client.barrier()
    assert client.text(sid, since).count(expected) == 1, client.text(sid, since)
    assert not [f for f in client.frames[since:] if f.get("replay")], "second attach replayed"
    assert len(termmux_clients(term_manager, sid)) == 1


# ------------------------------------------------------------------------------------- replay (3)


async def test_a_full_pty_buffer_never_outruns_a_small_history(
    connect, make_terminal, gen_script, jp_root_dir
):
    """With the server busy while a program fills the PTY (more waiting than history holds),
    one wake-up reads no more than history can hold past a v1 subscriber's position, so that
    subscriber loses nothing (a 64 KiB read into a 10 KB history lost lines, seen in CI)."""
    sid = await make_terminal("fullbuf")
    client = await connect()
    await client.attach(sid)
    start = len(client.frames)
    progress = jp_root_dir / "tm_progress_B"
    client.type(
        sid, f"sleep 0.3; TM_PROGRESS={progress.name} python3 {gen_script.name} burst B 20000\r"
    )
    await client.wait_output(sid, "burst B 20000", since=start)  # the shell has the command
    # Block the server's loop (same process) until the program has written more into the PTY
    # than history holds: nobody reads it meanwhile, so all of that waits in the PTY.
    want = HISTORY_LIMIT + 4096
    deadline = time.monotonic() + 60
    while _written(progress) < want:
        assert time.monotonic() < deadline, f"the program wrote {_written(progress)} bytes"
        time.sleep(0.01)  # noqa: ASYNC251  # blocking on purpose; the condition is the count
    await client.wait_output(sid, "tm_end_B_20000", timeout=60, since=start)
    assert_contiguous(numbered(client.text(sid, start), "B"), 1, 20000, "v1 socket")


def _written(progress: Path) -> int:
    """What the generator says it wrote so far (``TM_PROGRESS``)."""
    try:
        return int(progress.read_text())
    except (FileNotFoundError, ValueError):
        return 0


async def test_late_attach_replays_history_then_live_without_seam(
    connect, make_terminal, gen_script, jp_root_dir
):
    """A socket attaching mid-stream gets the most recent output (<= history_limit) then live output, with no gap or repeat at the seam."""
    sid = await make_terminal("late")
    first = await connect("first")
    await first.attach(sid)
    start = len(first.frames)
    first.type(sid, f"python3 {gen_script.name} stream L 3000\r")
    await first.wait_output(sid, "L0002000\r\n", timeout=30, since=start)  # > 20 KB printed

    late = await connect("late")
    attached = await late.attach(sid)
    at = late.index_of(attached)
    await poll_until(
        lambda: len(numbered(late.text(sid, at), "L")) > 500, 30, "live lines on the late socket"
    )

    fresh = await connect("fresh")
    last_before = max(numbered(first.text(sid, start), "L"))
    fresh_attached = await fresh.attach(sid, replay=False)
    fat = fresh.index_of(fresh_attached)
    await poll_until(lambda: len(numbered(fresh.text(sid, fat), "L")) > 200, 30, "fresh lines")

    (jp_root_dir / "stop_L").touch()
    ends = []
    for c, since in ((first, start), (late, at), (fresh, fat)):
        m = await c.wait_output(sid, re.compile(r"tm_end_L_(\d+) tm_done_L"), 30, since)
        ends.append(int(m.group(1)))
    total = ends[0]
    assert ends == [total] * 3

    assert_contiguous(numbered(first.text(sid, start), "L"), 1, total, "first socket")

    replays = [f for f in late.frames[at:] if f.get("replay")]
    assert len(replays) == 1, f"{len(replays)} replay frames"
    replay = replays[0]
    assert replay["type"] == "terminal.output" and replay["sessionId"] == sid, replay
    outputs = late.of_type("terminal.output", at, sessionId=sid)
    assert outputs[0] is replay, "live output arrived before the replay"
    size = len(replay["data"].encode())
    assert HISTORY_LIMIT // 2 <= size <= HISTORY_LIMIT, f"replay of {size} bytes"
    lines = numbered(late.text(sid, at), "L")
    assert_contiguous(lines, None, total, "late socket (replay + live)")
    assert lines[0] > 1, "the replay was not bounded"

    fresh_lines = numbered(fresh.text(sid, fat), "L")
    assert not [f for f in fresh.frames[fat:] if f.get("replay")], "replay: false got a replay"
    assert_contiguous(fresh_lines, None, total, "fresh socket")
    assert fresh_lines[0] > last_before, (
        f"replay: false got line {fresh_lines[0]}, printed before the attach (<= {last_before})"
    )


async def test_history_is_bounded_in_bytes(connect, make_terminal, gen_script, router):
    """After 1 MB of output the session holds at most history_limit bytes, the most recent ones."""
    n = 100_000
    sid = await make_terminal("bounded")
    client = await connect()
    await client.attach(sid)
    client.type(sid, f"python3 {gen_script.name} burst H {n}\r")
    await client.wait_output(sid, f"tm_end_H_{n}", timeout=30)
    stats = router.stats()["sessions"][sid]
    assert 0 < stats["history_bytes"] <= HISTORY_LIMIT, stats

    late = await connect("late")
    at = late.index_of(await late.attach(sid))
    replay = await late.wait_frame(lambda f: f.get("replay") is True, since=at, what="the replay")
    assert len(replay["data"].encode()) <= HISTORY_LIMIT
    assert f"tm_end_H_{n}" in replay["data"]
    nums = numbered(replay["data"], "H")
    assert_contiguous(nums, None, n, "replay")


# ------------------------------------------------------------------------------------- detach (4)


async def test_detach_stops_output_at_once(connect, make_terminal, router):
    """After session.detached no terminal.output of that session reaches the socket; the PTY and other sockets go on."""
    sid, other = await make_terminal("det"), await make_terminal("det_other")
    leaving, staying = await connect("leaving"), await connect("staying")
    await leaving.attach(sid)
    await leaving.attach(other)
    await staying.attach(sid)
    await leaving.run(sid)
    detached = await leaving.detach(sid)
    cut = leaving.index_of(detached)

    await staying.run(sid, tag="after")
    await staying.run(sid, tag="after")
    # Order behind anything the server may have queued for `leaving`: output of another session,
    # then a ping barrier.
    await leaving.run(other)
    await leaving.barrier()
    late = leaving.of_type("terminal.output", cut, sessionId=sid)
    assert not late, f"output after session.detached: {late[:3]}"
    assert router.stats()["sessions"][sid]["subscribers"] == 1

    # Detaching again (not attached) is harmless; input is refused as not-attached.
    await leaving.detach(sid)
    answer = await leaving.request({"type": "terminal.input", "sessionId": sid, "data": "x"})
    assert answer["type"] == "error" and answer["code"] == "not-attached", answer


# ------------------------------------------------------------------------------- socket close (5)


async def test_closing_sockets_cleans_every_subscription(
    connect, make_terminal, router, term_manager
):
    """After many connect/attach/close cycles nothing of the sockets is left, and the shells still run."""
    sids = [await make_terminal(f"cyc{i}") for i in range(3)]
    pids = {sid: term_manager.terminals[sid].ptyproc.pid for sid in sids}
    first = await connect("setter")
    await first.attach(sids[0])
    first.type(sids[0], "TMVAR=$((3*7))\r")
    await first.run(sids[0])
    await first.close()

    for cycle in range(15):
        clients = [await connect(f"cycle{cycle}_{i}") for i in range(2)]
        for c in clients:
            for sid in sids:
                await c.attach(sid, replay=cycle % 2 == 0)
        if cycle == 0:
            stats = router.stats()
            assert stats["sockets"] >= 2 and stats["subscriptions"] >= 6, stats
            for sid in sids:
                assert len(termmux_clients(term_manager, sid)) == 2
        clients[0].type(sids[cycle % 3], "true\r")
        for c in clients:
            await c.close()

    def clean():
        stats = router.stats()
        return (
            stats["sockets"] == 0
            and stats["subscriptions"] == 0
            and all(s["subscribers"] == 0 for s in stats["sessions"].values())
        )

    await poll_until(clean, 10, "router stats without sockets")
    for sid in sids:
        assert term_manager.terminals[sid].clients == [], term_manager.terminals[sid].clients
        assert psutil.pid_exists(pids[sid]) and term_manager.terminals[sid].ptyproc.isalive()

    again = await connect("again")
    await again.attach(sids[0], replay=False)
    again.type(sids[0], "echo tm_var_$TMVAR\r")
    await again.wait_output(sids[0], "tm_var_21")


# ------------------------------------------------------------------------------------ exit (6)


async def test_pty_exit_reaches_every_attached_socket(connect, make_terminal, router):
    """When the shell exits every attached socket gets session.exited and the subscriptions go away."""
    sid = await make_terminal("exiting")
    a, b = await connect("a"), await connect("b")
    await a.attach(sid)
    await b.attach(sid)
    await a.run(sid)
    a.type(sid, "exit 3\r")
    for c in (a, b):
        ex = await c.wait_type("session.exited", sessionId=sid)
        assert ex["exitCode"] == 3 and ex.get("signal") is None, ex
    await poll_until(lambda: router.stats()["subscriptions"] == 0, 10, "no subscriptions")
    answer = await a.request({"type": "terminal.input", "sessionId": sid, "data": "x"})
    assert answer["type"] == "error" and answer["code"] in ("unknown-session", "not-attached")


async def test_session_close_reaches_every_attached_socket(
    connect, make_terminal, jp_fetch, router
):
    """session.close sends session.exited to every attached socket, then session.closed to the requester."""
    sid = await make_terminal("closing")
    a, b = await connect("a"), await connect("b")
    await a.attach(sid)
    await b.attach(sid)
    await a.run(sid)
    closed = await a.request({"type": "session.close", "sessionId": sid}, timeout=20)
    assert closed["type"] == "session.closed" and closed["sessionId"] == sid, closed
    exited = a.of_type("session.exited", sessionId=sid)
    assert exited and a.index_of(exited[0]) < a.index_of(closed), "session.closed before exited"
    ex_b = await b.wait_type("session.exited", sessionId=sid)
    # session.close ends bash with SIGHUP (its first signal), which bash dies of: no exit code.
    for ex in (exited[0], ex_b):
        assert ex["exitCode"] is None and ex.get("signal") == "SIGHUP", ex
    await poll_until(lambda: router.stats()["subscriptions"] == 0, 10, "no subscriptions")
    names = [t["name"] for t in json.loads((await jp_fetch("api", "terminals")).body)]
    assert sid not in names


async def test_session_close_answers_when_detached_before_the_exit(connect, make_terminal):
    """session.close answers session.closed (not an error after a timeout) when the requester detaches while the program is still being terminated."""
    sid = await make_terminal("stubborn")
    a = await connect("stubborn")
    await a.attach(sid)
    since = len(a.frames)
    a.type(sid, "trap '' HUP INT TERM; echo tm_trap_$((2*21))\r")
    await a.wait_output(sid, "tm_trap_42", since=since)
    a.send({"type": "session.close", "sessionId": sid, "id": "close-1"})
    await a.detach(sid)
    answer = await a.wait_frame(lambda f: f.get("id") == "close-1", 8, what="close answer")
    assert answer["type"] == "session.closed", answer


async def test_rest_delete_reaches_every_attached_socket(connect, make_terminal, jp_fetch, router):
    """DELETE /api/terminals/{name} sends session.exited to every attached socket."""
    sid = await make_terminal("deleted")
    a, b = await connect("a"), await connect("b")
    await a.attach(sid)
    await b.attach(sid)
    await a.run(sid)
    await jp_fetch("api", "terminals", sid, method="DELETE")
    for c in (a, b):
        await c.wait_type("session.exited", timeout=20, sessionId=sid)
    await poll_until(lambda: router.stats()["subscriptions"] == 0, 10, "no subscriptions")
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("api", "terminals", sid)
    assert e.value.code == 404


# ---------------------------------------------------------------------------------- resize (7)


async def _pty_size(client, sid):
    """(rows, cols) of the PTY as `stty size` reports it inside the shell."""
    k = next(_size_ids)
    since = len(client.frames)
    client.type(sid, f"echo tm_sz_$(stty size | tr ' ' x)_$((5000+{k}))\r")
    m = await client.wait_output(sid, re.compile(rf"tm_sz_(\d+)x(\d+)_{5000 + k}"), since=since)
    return int(m.group(1)), int(m.group(2))


_size_ids = iter(range(10**6))


def _resize(client, sid, rows, cols):
    client.send({"type": "terminal.resize", "sessionId": sid, "rows": rows, "cols": cols})


async def test_size_follows_the_latest_active_writer(connect, make_terminal, router):
    """The PTY takes the size of the writer that last resized or typed (tmux's window-size
    latest), not the smallest; when that writer detaches or closes, the next most recent one's
    applies; a socket of no known size changes nothing by typing."""
    sid = await make_terminal("sized")
    a, b = await connect("a"), await connect("b")
    await a.attach(sid)
    _resize(a, sid, 30, 100)
    await a.barrier()
    assert await _pty_size(a, sid) == (30, 100)

    await b.attach(sid)  # no size yet: typing does not change the PTY
    assert await _pty_size(b, sid) == (30, 100)
    _resize(b, sid, 20, 120)
    await b.barrier()
    assert await _pty_size(b, sid) == (20, 120), "a resize does not make the latest writer"
    assert await _pty_size(a, sid) == (30, 100), "input does not make the latest writer"
    assert await _pty_size(b, sid) == (20, 120)

    since = len(a.frames)
    await b.detach(sid)
    await a.wait_type("session.resized", since=since, sessionId=sid, rows=30, cols=100)

    await b.attach(sid)
    _resize(b, sid, 25, 90)
    await b.barrier()
    assert await _pty_size(b, sid) == (25, 90)
    since = len(a.frames)
    await b.close()
    await a.wait_type("session.resized", since=since, sessionId=sid, rows=30, cols=100)
    assert router.terminals.get(sid).term.ptyproc.getwinsize() == (30, 100)


async def test_create_with_size_starts_the_program_at_that_size(connect):
    """session.create with rows/cols gives the PTY (and $LINES/$COLUMNS) that size before any resize."""
    client = await connect()
    created = await client.request({"type": "session.create", "rows": 37, "cols": 111})
    sid = created["sessionId"]
    await client.attach(sid)
    assert await _pty_size(client, sid) == (37, 111)
    since = len(client.frames)
    client.type(sid, "echo tm_env_${LINES}x${COLUMNS}_$((7000+1))\r")
    await client.wait_output(sid, "tm_env_37x111_7001", since=since)


async def test_resize_requires_attach(connect, make_terminal):
    """terminal.resize for a session this socket is not attached to is refused with not-attached."""
    sid = await make_terminal("unsized")
    client = await connect()
    answer = await client.request(
        {"type": "terminal.resize", "sessionId": sid, "rows": 10, "cols": 10}
    )
    assert answer["type"] == "error" and answer["code"] == "not-attached", answer


# ------------------------------------------------------------------------------ answers (8)


async def test_ping_pong_echoes_id(connect):
    """ping is answered by pong echoing the id (string or integer), and without an id when none was sent."""
    client = await connect()
    for rid in ("abc", 7, 0):
        since = len(client.frames)
        client.send({"type": "ping", "id": rid})
        pong = await client.wait_frame(lambda f: f.get("type") == "pong", since=since)
        assert pong.get("id") == rid and type(pong.get("id")) is type(rid), pong
    since = len(client.frames)
    client.send({"type": "ping"})
    pong = await client.wait_type("pong", since=since)
    assert "id" not in pong or pong["id"] is None, pong


async def test_every_answer_echoes_id(connect, make_terminal):
    """attached, detached, created, closed, list and error answers all echo the request id."""
    sid = await make_terminal("ids")
    client = await connect()
    cases = [
        ({"type": "session.attach", "sessionId": sid, "id": 11}, "session.attached"),
        ({"type": "session.list", "id": "l"}, "session.list"),
        ({"type": "session.detach", "sessionId": sid, "id": "d"}, "session.detached"),
        ({"type": "session.create", "sessionId": "ids_new", "id": 12}, "session.created"),
        ({"type": "session.close", "sessionId": "ids_new", "id": "c"}, "session.closed"),
        ({"type": "session.attach", "sessionId": "nope", "id": 13}, "error"),
        ({"type": "session.attach", "sessionId": "../x", "id": "e"}, "error"),
        ({"type": "ping", "id": 14}, "pong"),
    ]
    for msg, answer_type in cases:
        since = len(client.frames)
        client.send(msg)
        answer = await client.wait_frame(
            lambda f, t=answer_type: f.get("type") == t, timeout=20, since=since, what=answer_type
        )
        assert answer.get("id") == msg["id"], (msg, answer)
        if answer_type == "error":
            assert answer.get("request") in (None, "session.attach"), answer


# ----------------------------------------------------------------------------- list & create


async def test_session_list_counts_clients(connect, make_terminal):
    """session.list reports every terminal with its client count and whether this socket is attached."""
    s1, s2, s3 = [await make_terminal(n) for n in ("lst_a", "lst_b", "lst_c")]
    a, b = await connect("a"), await connect("b")
    await a.attach(s1)
    await b.attach(s1)
    await b.attach(s2)
    answer = await a.request({"type": "session.list"})
    assert answer["type"] == "session.list", answer
    got = {s["sessionId"]: (s["clients"], s["attached"]) for s in answer["sessions"]}
    assert got == {s1: (2, True), s2: (1, False), s3: (0, False)}, got


async def test_session_create(connect, jp_fetch, jp_root_dir):
    """session.create starts a terminal (cwd relative to the root dir) without attaching, and refuses a taken name."""
    (jp_root_dir / "notebooks").mkdir()
    client = await connect()
    created = await client.request(
        {"type": "session.create", "sessionId": "train", "cwd": "notebooks"}
    )
    assert created["type"] == "session.created" and created["sessionId"] == "train", created
    names = [t["name"] for t in json.loads((await jp_fetch("api", "terminals")).body)]
    assert "train" in names
    listed = await client.request({"type": "session.list"})
    entry = {"sessionId": "train", "clients": 0, "attached": False, "writers": 0, "viewers": 0}
    assert entry in listed["sessions"]

    await client.attach("train")
    since = len(client.frames)
    client.type("train", "echo tm_pwd_$(basename $PWD)_$((2+2))\r")
    await client.wait_output("train", "tm_pwd_notebooks_4", since=since)

    taken = await client.request({"type": "session.create", "sessionId": "train"})
    assert taken["type"] == "error" and taken["code"] == "session-exists", taken
    anon = await client.request({"type": "session.create"})
    assert anon["type"] == "session.created" and re.fullmatch(r"\w+", anon["sessionId"]), anon
    assert anon["sessionId"] != "train"


# ----------------------------------------------------------------------------- logging (12)


async def test_attach_detach_cleanup_are_logged(connect, make_terminal, caplog):
    """Attach, detach and socket cleanup are logged with the session id and the subscriber count."""
    caplog.set_level(logging.DEBUG)
    sid = await make_terminal("logged_sess")
    a, b = await connect("a"), await connect("b")
    await a.attach(sid)
    await b.attach(sid)  # now 2 subscribers
    await b.detach(sid)  # back to 1
    mark = len(caplog.records)
    await a.close()  # cleanup: 0

    def counts(records):
        """(kind, subscriber count) of every attach/detach log line naming this session.

        The count is the number written next to "subscriber(s)"; the socket label (which holds
        the peer address, 127.0.0.1) is not searched, so no stray digit can match.
        """
        found = []
        for r in records:
            msg = r.getMessage()
            if sid not in msg:
                continue
            if "detach" in msg.lower():
                kind = "detach"
            elif "attach" in msg.lower():
                kind = "attach"
            else:
                continue
            for m in re.finditer(r"\b(\d+) subscribers?\b", msg):
                found.append((kind, int(m.group(1))))
        return found

    await poll_until(
        lambda: ("detach", 0) in counts(caplog.records[mark:]), 10, "the cleanup line with count 0"
    )
    before = counts(caplog.records[:mark])
    assert ("attach", 1) in before and ("attach", 2) in before, f"attach lines: {before}"
    assert ("detach", 1) in before, f"no detach line with count 1: {before}"
    assert ("detach", 0) not in before, f"count 0 logged before the socket closed: {before}"

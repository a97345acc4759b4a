"""Defects a review of the v2 server found, each pinned by a test that fails without its fix:
a classic paste larger than the input queue, a busy loop over lone slow v1 holders, an exit by a
signal without a name, and which reservation a returning client releases."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from conftest import poll_until

from jupyter_termmux.ptyio import INPUT_QUEUE_LIMIT


async def test_a_failing_live_wake_does_not_starve_the_other_subscribers(
    connect: Any, make_terminal: Any, router: Any, caplog: Any
) -> None:
    """Live output may be sent from within the router's wake of each subscriber: a bug in one
    socket's send path is logged, and the session's other subscribers still get the output."""
    sid = await make_terminal("wakefail")
    first, second = await connect("first"), await connect("second")
    await first.attach(sid)
    await second.attach(sid)
    broken = next(c for c in router.clients() if router.subscriber(c, sid) is not None)

    def fail(sub: Any, live: bool = False) -> None:
        raise RuntimeError("a bug in a send path")

    broken.wake = fail  # woken first: the router wakes subscribers in the order they attached
    second.type(sid, "echo WAKE_$((6*7))\r")
    await second.wait_output(sid, "WAKE_42")
    assert "output of wakefail to" in caplog.text


async def test_classic_paste_larger_than_the_input_queue_arrives(
    connect: Any, make_terminal: Any, jp_ws_fetch: Any
) -> None:
    """A 1.5 MB paste through JupyterLab's own terminal socket into a session termmux adopted is
    written whole (it waits for an empty queue, it does not wait forever), and the classic
    socket's input thread is free again afterwards."""
    sid = await make_terminal("bigpaste")
    client = await connect()
    await client.attach(sid)  # adopted: its input now goes through termmux's writer
    client.type(sid, "stty -echo; wc -l | sed 's/^ */LINES_/'\r")
    await client.barrier()
    classic = await jp_ws_fetch("terminals", "websocket", sid)
    line = "p" * 99 + "\r"
    count = (INPUT_QUEUE_LIMIT * 3 // 2) // len(line)
    await classic.write_message(json.dumps(["stdin", line * count]))
    await classic.write_message(json.dumps(["stdin", "\x04"]))  # EOF for wc, after the paste
    await client.wait_output(sid, f"LINES_{count}", timeout=60)
    classic.close()


class TestSlowV1:
    """A short grace, to spend it quickly."""

    @pytest.fixture
    def termmux_config(self) -> dict[str, Any]:
        return {"slow_subscriber_timeout": 0.2}

    async def test_lone_slow_holder_is_not_looked_at_in_a_busy_loop(
        self, connect_raw: Any, make_terminal: Any, router: Any
    ) -> None:
        """A lone v1 socket that stops reading far past the grace holds its session without
        a timer or read round spinning (nobody else could read, so nothing is decided), and
        is not detached."""
        sid = await make_terminal("lone_slow")
        raw = await connect_raw(rcvbuf=4096)
        await raw.attach(sid)
        events: list[str] = []
        router.listeners.append(lambda event, name: events.append(event) if name == sid else None)
        session = router.sessions[sid]
        decisions = 0
        update = router.update

        def counted(s: Any) -> None:
            nonlocal decisions
            decisions += s is session
            update(s)

        router.update = counted  # counts the router's decisions on the real server
        raw.stall()
        raw.type(sid, "yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r")
        await poll_until(lambda: "paused" in events, 20, "the session to pause")
        first = decisions
        await asyncio.sleep(1.0)  # a measurement window: how many decisions happen in 1 s
        assert decisions - first < 30, decisions - first
        assert "slow" not in events and router.subscriber(router.clients()[0], sid) is not None
        raw.resume()


async def test_exit_by_a_realtime_signal_is_reported(
    connect: Any, make_terminal: Any, router: Any
) -> None:
    """A shell ended by a signal with no name in Python's enum (40) still reports its exit."""
    sid = await make_terminal("rtsig")
    client = await connect()
    await client.attach(sid)
    client.type(sid, "kill -40 $$\r")
    exited = await client.wait_frame(lambda f: f.get("type") == "session.exited", 20, 0)
    assert exited["signal"] == "SIG40" and exited["exitCode"] is None
    await poll_until(lambda: sid not in router.sessions, 10, "the session to be dropped")


async def test_a_failed_write_closes_once_and_writes_no_more(
    connect: Any, make_terminal: Any, router: Any, caplog: Any
) -> None:
    """When handing a frame to tornado fails unexpectedly, the socket is closed with 1011, the
    failure is logged once, and no further frame is attempted on it."""
    sid = await make_terminal("failwrite")
    client = await connect()
    await client.attach(sid)
    (conn,) = router.clients()
    calls: list[Any] = []

    def broken(frame: Any, binary: bool = False) -> Any:
        calls.append(frame)
        raise RuntimeError("injected write failure")

    conn.transport.write_frame = broken  # fault injection on the real server's handler
    client.type(sid, "seq 1 20000\r")
    await asyncio.wait_for(client.closed.wait(), 20)
    assert client.ws.close_code == 1011
    failures = [r for r in caplog.records if "writing a frame failed" in r.getMessage()]
    assert len(failures) == 1 and len(calls) == 1


async def test_an_ended_terminal_leaves_no_watch_on_its_fd(
    connect: Any, make_terminal: Any, jp_fetch: Any, router: Any
) -> None:
    """After a terminal deleted over REST ends, the event loop watches nothing on its old fd
    number (a stale watch breaks whatever socket the kernel gives that number to next)."""
    sid = await make_terminal("stale_fd")
    a, b = await connect("a"), await connect("b")
    await a.attach(sid)
    await b.attach(sid)
    fd = router.sessions[sid].pty.fd
    await jp_fetch("api", "terminals", sid, method="DELETE")
    for c in (a, b):
        await c.wait_type("session.exited", timeout=20, sessionId=sid)
    await poll_until(lambda: router.stats()["subscriptions"] == 0, 10, "no subscriptions")
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    key = selector.get_map().get(fd)
    assert key is None or "Pty" not in repr(key.data), key

"""A client that stops reading for real: it attaches a session, then SIGSTOPs itself.

Run by the ``stall`` and ``shared-stall`` scenarios as a separate process, because an in-process
tornado client keeps reading into its own queue (and, on v2, would keep acknowledging). Without
``--shared`` it types the command for a big stream itself before stopping; with ``--shared``
another client of the same session does. After SIGCONT it reads everything, verifies it, and
prints one JSON line: ``{"event": "done", "ok": ..., "error": ..., "received": ...}``.

On v2 a stalled subscriber of a session that another client keeps reading falls behind history;
the server then says ``session.truncated`` (or answers a re-attach with ``truncated: true``) and
replays what history still holds. This client checks exactly that: every byte before the marker
is the stream's prefix, every byte after it is the stream from the marker's offset on (placed by
the v2 offsets, not by searching), and it reports how much history was replayed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from .transports import V2_OUTPUT, V2_REPLAY, TermmuxV2View
from .verify import StreamVerifier, gen_command


def say(**kw: object) -> None:
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class _Server:
    """The two things a view needs to know about the server."""

    def __init__(self, ws: str, token: str):
        self.ws = ws
        self.headers = {"Authorization": f"token {token}"}


class StalledV2View(TermmuxV2View):
    """A v2 view whose one session may be truncated, checked against the stream's offsets."""

    def __init__(self, server: Any, session: str, ver: StreamVerifier):
        super().__init__(server, [session])
        self.session = session
        self.ver = ver
        self.add_sink(session, ver)
        self.body_base: int | None = None  # stream offset of the body's first byte
        self._tail = b""  # last bytes before the body, to find BEGIN across frames
        self._tail_off = 0
        self.truncations: list[dict[str, Any]] = []
        self.expect_replay = False
        self.end_offset: int | None = None
        self.detached = asyncio.Event()

    def _output(self, session: str, ch: int, typ: int, off: int, payload: bytes) -> None:
        want = self.next_offset.get(ch)
        if want is not None and off != want:
            self.errors.append(
                f"frame at offset {off}, expected {want} without a truncation marker"
            )
        self.next_offset[ch] = off + len(payload)
        if typ == V2_REPLAY and not self.expect_replay:
            self.errors.append(f"replay frame at {off} without a truncation marker")
        elif typ == V2_OUTPUT:
            self.expect_replay = False
        elif typ != V2_REPLAY:
            self.errors.append(f"unknown frame type {typ}")
        if self.body_base is None:
            if not self._tail:
                self._tail_off = off
            buf = self._tail + payload
            i = buf.find(self.ver.begin)  # type: ignore[arg-type]
            if i >= 0:
                self.body_base = self._tail_off + i + len(self.ver.begin)
            else:
                keep = len(self.ver.begin)
                self._tail = buf[-keep:]
                self._tail_off = off + len(payload) - len(self._tail)
        self._deliver(session, payload)
        if self.ver.ok and self.end_offset is None and self.body_base is not None:
            self.end_offset = self.body_base + self.ver.body_len

    def _truncated(self, m: dict[str, Any]) -> None:
        self._truncate(m.get("channel"), m.get("offset"), "session.truncated")

    def _truncate(self, ch: Any, offset: Any, how: str, want: int | None = None) -> None:
        if not isinstance(ch, int) or not isinstance(offset, int):
            self.errors.append(f"{how} without an integer channel/offset")
            return
        if want is None:
            want = self.next_offset.get(ch, offset)
        self.truncations.append({"how": how, "offset": offset, "gap": offset - want})
        if offset < want:
            self.errors.append(f"{how} to offset {offset}, before what was delivered ({want})")
        self.next_offset[ch] = offset
        self.expect_replay = True
        if self.body_base is None:
            self.errors.append(f"{how} before the BEGIN marker arrived: cannot place the replay")
            return
        pos = offset - self.body_base
        if pos > self.ver.body_len:
            self.errors.append(f"{how} past the end of the stream ({pos} > {self.ver.body_len})")
            return
        if pos > self.ver.pos or self.ver.state == "pre":
            self.ver.resync(max(0, pos))

    def _control(self, m: dict[str, Any]) -> None:
        if m.get("type") == "session.detached" and m.get("id") is None:
            self.detached.set()  # unsolicited (v1 did this for slow sockets): re-attach
            return
        super()._control(m)


async def stalled_v2(a: argparse.Namespace, ver: StreamVerifier, done: asyncio.Event) -> int:
    server = _Server(a.url, a.token)
    view = StalledV2View(server, a.session, ver)
    await view.open()
    if not a.shared:
        await view.send(a.session, gen_command(a.gen, a.session, a.lines))
    say(event="stopping")
    os.kill(os.getpid(), signal.SIGSTOP)
    # ... resumed by SIGCONT: the reader task runs again and acks what it reads
    t0 = time.perf_counter()
    deadline = t0 + a.timeout
    reattached = 0
    while not done.is_set() and time.perf_counter() < deadline:
        closed = view.task is not None and view.task.done()
        if (view.detached.is_set() or closed) and reattached < 3:
            # the server let go of us: come back with what we have (``since``)
            reattached += 1
            view.detached.clear()
            ch = view.channel_of[a.session]
            since = view.next_offset[ch]
            inc = view.attached[a.session].get("incarnation")
            if closed:
                old = view
                view = StalledV2View(server, a.session, ver)
                view.body_base, view.truncations = old.body_base, old.truncations
                view.errors = old.errors
                view.sessions = []  # open the socket only; attach with ``since`` below
                await view.open()
            fields: dict[str, Any] = {"since": since}
            if inc is not None:
                fields["incarnation"] = inc
            ans = (await view.attach([a.session], **fields))[0]
            nch = ans["channel"]
            if ans.get("truncated"):
                view._truncate(nch, ans["offset"], "session.attached truncated", since)
            elif ans["offset"] != since:
                view.errors.append(f"re-attach since {since} answered offset {ans['offset']}")
            continue
        try:
            await asyncio.wait_for(done.wait(), 0.2)
        except asyncio.TimeoutError:
            pass
    errors = list(view.errors)
    if not a.shared and view.truncations:
        # its only subscriber is stalled: the PTY must wait for it, nothing may be lost
        errors.append(f"output lost while the only subscriber was stalled: {view.truncations}")
    hist = int((view.hello.get("limits") or {}).get("historyLimit", 0))
    replayed = None
    if view.truncations and view.end_offset is not None:
        replayed = view.end_offset - view.truncations[-1]["offset"]
    acks = view.acks_sent
    try:
        # detach before closing: a socket that just goes away leaves the session a reservation
        # of resume_hold seconds (PROTOCOL.md), which would hold back the fast client's next run
        await view.request({"type": "session.detach", "sessionId": a.session}, timeout=5)
    except Exception as e:  # noqa: BLE001  # reported, then the socket closes anyway
        errors.append(f"detach failed: {e}")
    await view.close()
    ok = ver.ok and not errors
    say(
        event="done",
        ok=ok,
        error="; ".join([ver.describe()] + errors[:5]) if not ok else None,
        received=ver.received,
        drain_s=time.perf_counter() - t0,
        truncations=view.truncations,
        replayed_bytes=replayed,
        history_limit=hist,
        reattached=reattached,
        acks=acks,
    )
    return 0 if ok else 1


async def main(a: argparse.Namespace) -> int:
    done = asyncio.Event()
    binary = a.transport == "termmux-v2"
    ver = StreamVerifier(a.session, a.lines, on_done=done.set, binary=binary)
    if binary:
        return await stalled_v2(a, ver, done)
    headers = {"Authorization": f"token {a.token}"}
    if a.transport == "terminado":
        url = f"{a.url}terminals/websocket/{a.session}"
    else:
        url = f"{a.url}api/termmux/socket"
    conn = await websocket_connect(HTTPRequest(url, headers=headers), max_message_size=64 << 20)
    conn.protocol.set_nodelay(True)  # type: ignore[union-attr]  # as browsers (transports.py)
    command = gen_command(a.gen, a.session, a.lines)
    if a.transport == "termmux":
        await conn.write_message(
            json.dumps({"type": "session.attach", "sessionId": a.session, "replay": False, "id": 1})
        )
        while True:
            m = json.loads(await conn.read_message())  # type: ignore[arg-type]
            if m.get("id") == 1:
                if m.get("type") != "session.attached":
                    say(event="done", ok=False, error=f"attach refused: {m}", received=0)
                    return 1
                break
        if not a.shared:
            await conn.write_message(
                json.dumps({"type": "terminal.input", "sessionId": a.session, "data": command})
            )
    else:
        await conn.read_message()  # setup
        if not a.shared:
            await conn.write_message(json.dumps(["stdin", command]))
    say(event="stopping")
    os.kill(os.getpid(), signal.SIGSTOP)
    # ... resumed by SIGCONT
    t0 = time.perf_counter()
    deadline = t0 + a.timeout
    errors: list[str] = []
    while not done.is_set() and time.perf_counter() < deadline:
        try:
            msg = await asyncio.wait_for(
                conn.read_message(), max(0.1, deadline - time.perf_counter())
            )
        except asyncio.TimeoutError:
            break
        if msg is None:
            errors.append(f"socket closed ({conn.close_code} {conn.close_reason})")
            break
        m = json.loads(msg)
        if a.transport == "terminado":
            if m[0] == "stdout":
                ver.feed(m[1])
        elif m.get("type") == "terminal.output":
            ver.feed(m["data"])
        elif m.get("type") in ("error", "session.detached", "session.exited"):
            errors.append(f"unexpected {m}")
    conn.close()
    ok = ver.ok and not errors
    say(
        event="done",
        ok=ok,
        error="; ".join([ver.describe()] + errors) if not ok else None,
        received=ver.received,
        drain_s=time.perf_counter() - t0,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--transport", required=True, choices=["terminado", "termmux", "termmux-v2"])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--session", required=True)
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--gen", required=True)
    p.add_argument(
        "--shared",
        action="store_true",
        help="only attach and stall: another client of the session starts the stream",
    )
    p.add_argument("--timeout", type=float, default=300)
    sys.exit(asyncio.run(main(p.parse_args())))

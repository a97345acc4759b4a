"""A client that stops reading for real: it starts a big stream, then SIGSTOPs itself.

Run by the ``stall`` scenario as a separate process, because an in-process tornado client keeps
reading into its own queue. After SIGCONT it reads everything, verifies it, and prints one JSON
line: ``{"event": "done", "ok": ..., "error": ..., "received": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from .verify import StreamVerifier


def say(**kw: object) -> None:
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


async def main(a: argparse.Namespace) -> int:
    done = asyncio.Event()
    ver = StreamVerifier(a.session, a.lines, on_done=done.set)
    headers = {"Authorization": f"token {a.token}"}
    if a.transport == "terminado":
        url = f"{a.url}terminals/websocket/{a.session}"
    else:
        url = f"{a.url}api/termmux/socket"
    conn = await websocket_connect(HTTPRequest(url, headers=headers), max_message_size=64 << 20)
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
        await conn.write_message(
            json.dumps(
                {
                    "type": "terminal.input",
                    "sessionId": a.session,
                    "data": f"python3 {a.gen} {a.session} {a.lines}\r",
                }
            )
        )
    else:
        await conn.read_message()  # setup
        await conn.write_message(json.dumps(["stdin", f"python3 {a.gen} {a.session} {a.lines}\r"]))
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
    p.add_argument("--transport", required=True, choices=["terminado", "termmux"])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--session", required=True)
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--gen", required=True)
    p.add_argument("--timeout", type=float, default=300)
    sys.exit(asyncio.run(main(p.parse_args())))

"""Forced reconnects during a stream: bytes lost or doubled by protocol v2's resume.

A v2 client reads a numbered stream through a loopback TCP proxy that cuts the connection every
``--mb / --cuts`` MB, alternately on the client's side and on the server's side, and resumes
each time with ``since`` (and ``incarnation``, and the ``resume`` token of its last attach). Every frame's offset is checked against the
offset the client expects: a frame starting later is a gap (lost bytes), earlier an overlap
(doubled bytes); at the end every line must be there once, in order.

    python -m benchmarks.reconnects --mb 50 --cuts 100 --gap 0.2

Each time the client stays away ``--gap`` seconds before reconnecting, while the program keeps
printing: far more than history holds at flood speed, so the ``resume_hold`` reservation (the
PTY is not read past what history can hold for the client) is what keeps the stream whole.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from jupyter_termmux import frames

from .proxy import Proxy
from .server import JupyterServer

LINE = 70  # bytes per numbered line ("%09d " + 59 x + "\n" becomes 71 with the tty's \r)


async def soak(mb: float, cuts: int, gap: float, server_args: list[str]) -> dict[str, Any]:
    """Run the stream with ``cuts`` forced reconnects; return the counts."""
    lines = int(mb * 1e6 / (LINE + 1))
    async with JupyterServer(extra_args=server_args) as srv:
        proxy = await Proxy(srv.port).start()
        await srv.create_terminals(["soak"])
        url = f"ws://127.0.0.1:{proxy.port}/api/termmux/socket"
        state: dict[str, Any] = {"offset": None, "incarnation": None, "resume": None}
        got = bytearray()
        lost = doubled = truncations = reconnects = 0
        every = max(1, int(mb * 1e6 / (cuts + 1)))
        next_cut = every
        started = False
        t0 = time.monotonic()
        done = False
        while not done:
            req = HTTPRequest(url, headers=srv.headers)
            ws = await websocket_connect(req, subprotocols=["termmux.v2"], max_message_size=1 << 26)
            hello = json.loads(await ws.read_message())
            ack_bytes = hello["limits"]["ackBytes"]
            attach: dict[str, Any] = {"type": "session.attach", "sessionId": "soak", "id": 1}
            if state["offset"] is not None:
                attach.update(since=state["offset"], incarnation=state["incarnation"])
                if state["resume"] is not None:  # releases the reservation the drop left
                    attach["resume"] = state["resume"]
            else:
                attach["replay"] = False
            await ws.write_message(json.dumps(attach))
            unacked = 0
            while True:
                msg = await ws.read_message()
                if msg is None:
                    reconnects += 1
                    # Away for a while: the program floods on; the reservation must hold history.
                    await asyncio.sleep(gap)
                    break
                if isinstance(msg, str):
                    m = json.loads(msg)
                    if m["type"] == "session.attached":
                        truncations += int(m["truncated"])
                        state["incarnation"] = m["incarnation"]
                        state["resume"] = m.get("resume")
                        if state["offset"] is None:
                            state["offset"] = m["offset"]
                        elif m["offset"] != state["offset"]:
                            lost += max(0, m["offset"] - state["offset"])
                            doubled += max(0, state["offset"] - m["offset"])
                            state["offset"] = m["offset"]
                        if not started:
                            started = True
                            cmd = (
                                'python3 -c "import sys; w=sys.stdout.write\n'
                                f"for i in range({lines}): w('%09d ' % i + 'x' * 59 + '\\\\n')\"; "
                                "echo SOAK_$((6*7))\r"
                            )
                            await ws.write_message(
                                json.dumps(
                                    {"type": "terminal.input", "sessionId": "soak", "data": cmd}
                                )
                            )
                    elif m["type"] == "session.truncated":
                        truncations += 1
                    continue
                f = frames.decode(msg)
                if f.offset != state["offset"]:
                    lost += max(0, f.offset - state["offset"])
                    doubled += max(0, state["offset"] - f.offset)
                got += f.payload
                state["offset"] = f.offset + len(f.payload)
                unacked += len(f.payload)
                if unacked >= ack_bytes:
                    try:
                        await ws.write_message(
                            json.dumps({"type": "ack", "channel": f.channel, "bytes": unacked})
                        )
                    except WebSocketClosedError:
                        pass
                    unacked = 0
                if b"SOAK_42" in got[-200:]:
                    done = True
                    ws.close()
                    break
                if len(got) >= next_cut and reconnects < cuts:
                    next_cut += every
                    proxy.cut("client" if reconnects % 2 == 0 else "server")
        elapsed = time.monotonic() - t0
        await proxy.stop()
    numbers = [int(n) for n in re.findall(rb"(\d{9}) x{59}\r?\n", bytes(got))]
    missing = lines - len(set(numbers))
    repeated = len(numbers) - len(set(numbers))
    in_order = numbers == sorted(numbers)
    return {
        "mb": len(got) / 1e6,
        "reconnects": reconnects,
        "lost_bytes": lost,
        "doubled_bytes": doubled,
        "truncations": truncations,
        "lines_missing": missing,
        "lines_repeated": repeated,
        "in_order": in_order,
        "seconds": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0)
    ap.add_argument("--cuts", type=int, default=100)
    ap.add_argument("--gap", type=float, default=0.2, help="seconds away before reconnecting")
    ap.add_argument("--server-arg", action="append", default=[], help="passed to the server")
    args = ap.parse_args(argv)
    result = asyncio.run(soak(args.mb, args.cuts, args.gap, args.server_arg))
    print(json.dumps(result))
    ok = not (result["lost_bytes"] or result["doubled_bytes"] or result["lines_missing"])
    ok = ok and not result["lines_repeated"] and result["in_order"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

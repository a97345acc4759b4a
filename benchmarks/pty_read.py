"""Micro-benchmark: what does reading a PTY cost per MB, and does a drain loop help?

``python -m benchmarks.pty_read`` runs the benchmark's line generator in a PTY (ptyprocess, as
terminado does) and reads it on an asyncio loop in two ways:

- ``terminado``: on each readiness event, ``poll()`` the fd, then one ``read(65536)`` (what
  ``terminado.management.TermManagerBase.pty_read`` does), decode, back to the loop;
- ``drain``: fd set O_NONBLOCK; on each readiness event ``os.read`` until EAGAIN or 256 KB,
  one decode of the joined bytes.

It prints reader CPU ms per MB, reads per MB, bytes per read and MB/s for each; no server.
"""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import os
import select
import sys
import tempfile
import time
from pathlib import Path

import psutil
from ptyprocess import PtyProcess

from .verify import GEN_SCRIPT, lines_for_mb


async def one(mode: str, mb: float, gen: Path) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    n = lines_for_mb("pr", mb)
    proc = PtyProcess.spawn([sys.executable, str(gen), "pr", str(n)], dimensions=(24, 80))
    fd = proc.fd
    if mode == "drain":
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
    done = loop.create_future()
    stats = {"bytes": 0, "reads": 0, "events": 0}
    end = "END pr\r\n"
    tail = [""]

    def finish() -> None:
        loop.remove_reader(fd)
        if not done.done():
            done.set_result(None)

    def on_ready() -> None:
        stats["events"] += 1
        if mode == "terminado":
            p = select.poll()
            p.register(fd, select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR)
            if not p.poll(100):
                return
            try:
                b = os.read(fd, 65536)
            except OSError:
                return finish()
            stats["reads"] += 1
            chunks = [b] if b else []
        else:
            chunks = []
            got = 0
            while got < 256 * 1024:
                try:
                    b = os.read(fd, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    return finish()
                stats["reads"] += 1
                if not b:
                    break
                chunks.append(b)
                got += len(b)
        if not chunks:
            return finish()
        text = dec.decode(b"".join(chunks))
        stats["bytes"] += len(text)
        t = tail[0] + text[-len(end) :]
        tail[0] = t[-len(end) :]
        if tail[0] == end:
            finish()

    me = psutil.Process()
    c0 = me.cpu_times()
    t0 = time.perf_counter()
    loop.add_reader(fd, on_ready)
    await asyncio.wait_for(done, 120)
    wall = time.perf_counter() - t0
    c1 = me.cpu_times()
    proc.terminate(force=True)
    cpu = (c1.user + c1.system) - (c0.user + c0.system)
    mbs = stats["bytes"] / 1e6
    return {
        "cpu_ms_per_mb": 1000 * cpu / mbs,
        "kernel_share": (c1.system - c0.system) / cpu if cpu else 0,
        "reads_per_mb": stats["reads"] / mbs,
        "events_per_mb": stats["events"] / mbs,
        "bytes_per_read": stats["bytes"] / max(1, stats["reads"]),
        "mb_per_s": mbs / wall,
    }


async def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    with tempfile.TemporaryDirectory() as d:
        gen = Path(d) / "gen.py"
        gen.write_text(GEN_SCRIPT)
        for rep in range(2):
            for mode in ("terminado", "drain"):
                r = await one(mode, mb, gen)
                print(f"{mode:10} " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())

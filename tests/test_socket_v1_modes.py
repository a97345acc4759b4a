"""Protocol v1 (a proxy stripped the subprotocol) restores a full-screen program's modes as v2
does: a late attach's replay starts with the preamble, against a real server, PTY and shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_termmux import screen

#: Small, so that the program's switch to the alternate screen leaves history.
HISTORY_LIMIT = 10_000

#: Enters the alternate screen with bracketed paste, prints more than history holds, then waits.
PROGRAM = (
    "import sys, time\n"
    "sys.stdout.write('\\033[?1049h\\033[?2004hFULL\\r\\n')\n"
    "for i in range(1000): sys.stdout.write('filler line %04d\\r\\n' % i)\n"
    "sys.stdout.write('READY_' + str(6 * 7) + '\\r\\n'); sys.stdout.flush()\n"
    "while True: time.sleep(1)\n"
)


@pytest.fixture
def termmux_config() -> dict[str, Any]:
    """A history the program's output overruns."""
    return {"history_limit": HISTORY_LIMIT}


async def test_a_late_v1_attach_replays_the_alternate_screen_preamble_first(
    connect: Any, make_terminal: Any, jp_root_dir: Path
) -> None:
    """A v1 client attaching after the switch to the alternate screen left history gets, right
    after ``session.attached``, a replay frame that enters the alternate screen (and bracketed
    paste), so the replay leaves a fresh terminal in the program's modes."""
    (jp_root_dir / "full.py").write_text(PROGRAM)
    sid = await make_terminal()
    first = await connect("first")
    await first.attach(sid)
    first.type(sid, "python3 full.py\r")
    await first.wait_output(sid, "READY_42")

    late = await connect("late")
    answer = await late.attach(sid)
    since = late.index_of(answer)
    await late.wait_output(sid, "READY_42", since=since)
    replayed = late.of_type("terminal.output", since=since, sessionId=sid)
    assert replayed and all(f.get("replay") is True for f in replayed), late.summary()
    preamble = screen.preamble(frozenset({(1049, True), (2004, True)}))
    assert replayed[0]["data"] == preamble, replayed[0]
    modes = screen.scan(screen.RESET, late.text(sid, since, replay=True).encode())
    assert screen.in_alternate_screen(modes) and dict(modes).get(2004) is True

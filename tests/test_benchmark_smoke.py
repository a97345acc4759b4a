"""The benchmark stays runnable and keeps catching lost, reordered and misrouted output.

A tiny ``python -m benchmarks --smoke`` run (both transports, every scenario, correctness only,
no timing asserts), plus pure tests of the line verifier it relies on.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.verify import StreamVerifier, line  # noqa: E402

TAG, N = "tp4s01", 500


def stream(lines: list[str]) -> str:
    """What a subscriber sees: the shell's echo, the markers, the lines, the next prompt."""
    return (
        f"python3 /r/gen.py {TAG} {N}\r\nBEGIN {TAG}\r\n"
        + "".join(lines)
        + f"END {TAG}\r\nbash-5.2# "
    )


def feed_in_random_chunks(text: str, seed: int = 1) -> StreamVerifier:
    rnd = random.Random(seed)
    v = StreamVerifier(TAG, N)
    i = 0
    while i < len(text):
        k = rnd.randint(1, 700)
        v.feed(text[i : i + k])
        i += k
    return v


def good() -> list[str]:
    return [line(TAG, i) for i in range(N)]


def test_verifier_accepts_an_intact_stream_in_any_chunking() -> None:
    """Every line once, in order, split anywhere: accepted."""
    for seed in range(5):
        v = feed_in_random_chunks(stream(good()), seed)
        assert v.ok, v.describe()


def test_verifier_catches_a_lost_line() -> None:
    """One missing line fails the stream and names it."""
    ls = good()
    del ls[123]
    v = feed_in_random_chunks(stream(ls))
    assert not v.ok and "lost lines 123" in v.describe()


def test_verifier_catches_reordering_and_duplication() -> None:
    """Two swapped lines, or one line twice, fail the stream."""
    ls = good()
    ls[10], ls[11] = ls[11], ls[10]
    assert not feed_in_random_chunks(stream(ls)).ok
    ls = good()
    ls.insert(50, line(TAG, 49))
    v = feed_in_random_chunks(stream(ls))
    assert not v.ok and "duplicated or reordered" in v.describe()


def test_verifier_catches_a_line_from_another_session() -> None:
    """A line routed to the wrong session is reported as misrouted."""
    ls = good()
    ls[300] = line("tp4s02", 300)
    v = feed_in_random_chunks(stream(ls))
    assert not v.ok and "misrouted" in v.describe()


def test_verifier_catches_a_truncated_stream() -> None:
    """A stream that stops before the end marker never counts as done."""
    v = feed_in_random_chunks(stream(good())[:-2000])
    assert not v.ok and "incomplete" in v.describe()


@pytest.mark.timeout(180)
def test_smoke_run_delivers_every_line_over_both_transports(tmp_path: Path) -> None:
    """``python -m benchmarks --smoke`` runs every scenario over both transports, all verified."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    res = json.loads((tmp_path / "smoke.json").read_text())
    assert res["correctness"] == {"terminado": [], "termmux": []}
    for t in ("terminado", "termmux"):
        got = res["transports"][t]
        assert set(got) == {"throughput", "fanout", "latency", "idle", "scale", "mesh", "stall"}, t
        assert all(r["ok"] for r in got["throughput"].values())
        assert got["stall"]["stalled_delivered_ok"], got["stall"]
        assert not got["scale"]["starved"], got["scale"]

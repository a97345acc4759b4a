"""The benchmark stays runnable and keeps catching lost, reordered and misrouted output.

A tiny ``python -m benchmarks --smoke`` run (every transport, every scenario, correctness only,
no timing asserts), plus pure tests of the line verifier it relies on, for ASCII and mixed
UTF-8 text, over ``str`` (v1, terminado) and ``bytes`` (v2) chunks.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

from benchmarks.verify import StreamVerifier, expected_body, line, utf8_split

TAG, N = "tp4s01", 500


def run_benchmark(args: list[str], timeout: float) -> str:
    """``python -m <args>`` in the repository; its output. A run past ``timeout`` is stopped
    with SIGTERM, not the SIGKILL of ``subprocess.run(timeout=)``: the benchmark then stops its
    server (started in a session of its own) and the server its shells."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        pytest.fail(f"{args[0]} did not finish in {timeout:.0f} s:\n{out[-4000:]}")
    assert proc.returncode == 0, out[-8000:]
    return out


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


@pytest.mark.parametrize("binary", [False, True], ids=["str", "bytes"])
def test_verifier_checks_mixed_utf8_text_in_any_chunking(binary: bool) -> None:
    """Mixed text (ä, ö, €, 𝄞) split anywhere, even inside a character's bytes: accepted, and
    MB are counted in UTF-8 bytes whatever the chunk unit."""
    text = f"python3 gen.py {TAG} {N} mixed\r\nBEGIN {TAG}\r\n" + expected_body(TAG, N, "mixed")
    data = text.encode() if binary else text
    for seed in range(3):
        rnd = random.Random(seed)
        v = StreamVerifier(TAG, N, text="mixed", binary=binary)
        i = 0
        while i < len(data):
            k = rnd.randint(1, 700)
            v.feed(data[i : i + k])
            i += k
        assert v.ok, v.describe()
        assert v.payload_bytes == N * len(line(TAG, 0, "mixed").encode())


def test_verifier_catches_a_lost_mixed_line_in_bytes() -> None:
    """A missing line of mixed text delivered as bytes is named like an ASCII one."""
    ls = [line(TAG, i, "mixed") for i in range(N)]
    del ls[77]
    body = (f"BEGIN {TAG}\r\n" + "".join(ls) + f"END {TAG}\r\n").encode()
    v = StreamVerifier(TAG, N, text="mixed", binary=True)
    v.feed(body)
    assert not v.ok and "lost lines 77" in v.describe()


def test_utf8_split_flags_frames_cut_inside_a_character() -> None:
    """A v2 payload may not start or end inside a UTF-8 sequence; whole characters pass."""
    for ch in "aä€𝄞":
        assert utf8_split(("x" + ch).encode()) is None
        assert utf8_split((ch + "x").encode()) is None
    assert utf8_split("x€".encode()[:-1]) == "frame ends inside a UTF-8 sequence"
    assert utf8_split("𝄞x".encode()[2:]) == "frame starts inside a UTF-8 sequence"


def test_verifier_catches_a_truncated_stream() -> None:
    """A stream that stops before the end marker never counts as done."""
    v = feed_in_random_chunks(stream(good())[:-2000])
    assert not v.ok and "incomplete" in v.describe()


@pytest.mark.timeout(330)
def test_smoke_run_delivers_every_line_over_every_transport(tmp_path: Path) -> None:
    """``python -m benchmarks --smoke`` runs every scenario over every transport (terminado,
    termmux v1 and v2), all verified."""
    run_benchmark(["benchmarks", "--smoke", "--out", str(tmp_path)], timeout=290)
    res = json.loads((tmp_path / "smoke.json").read_text())
    transports = ["terminado", "termmux", "termmux-v2"]
    assert res["correctness"] == {t: [] for t in transports}, res["unavailable"]
    common = {"throughput", "throughput_mixed", "fanout", "latency", "idle", "scale", "mesh"}
    for t in transports:
        got = res["transports"][t]
        want = common | {"stall"} | ({"shared-stall"} if t == "termmux-v2" else set())
        assert set(got) == want, t
        assert all(r["ok"] for r in got["throughput"].values())
        assert all(r["ok"] for r in got["throughput_mixed"].values())
        assert got["stall"]["stalled_delivered_ok"], got["stall"]
        assert not got["scale"]["starved"], got["scale"]
    sh = res["transports"]["termmux-v2"]["shared-stall"]
    assert sh["stalled_ok"] and sh["truncations"], sh


@pytest.mark.timeout(200)
def test_independent_websockets_client_runs_and_verifies(tmp_path: Path) -> None:
    """``python -m benchmarks.wsclient`` (the second client, on the websockets library) streams
    ASCII and mixed text over every transport the server speaks and checks every byte."""
    pytest.importorskip("websockets")
    out = tmp_path / "ws.json"
    texts = {"ascii", "mixed", "ascii-shaped"}
    args = ["benchmarks.wsclient", "--sessions", "2", "--mb", "0.2", "--runs", "1"]
    run_benchmark([*args, "--text", ",".join(texts), "--json", str(out)], timeout=200)
    res = json.loads(out.read_text())
    assert res["failures"] == []
    want = {"terminado", "v1", "v2"}
    assert want <= {t for t, d in res["results"].items() if set(d) == texts}
    spoke = {
        t: {p for x in d.values() for p in x["subprotocols"]} for t, d in res["results"].items()
    }
    assert spoke["v1"] == {"None"}
    assert spoke["v2"] == {"termmux.v2"}, spoke


def test_ascii_shaped_text_differs_from_mixed_text_in_its_content_alone() -> None:
    """The control for the cost per byte: lines as long in bytes, as many per write, and
    nothing but ASCII (both clients' workloads)."""
    from benchmarks.verify import TEXTS, line_length

    for tag in ("a", "tp4s01"):
        assert line_length(tag, "ascii-shaped", binary=True) == line_length(tag, "mixed", True)
    assert TEXTS["ascii-shaped"][0].isascii() and not TEXTS["mixed"][0].isascii()
    assert TEXTS["ascii-shaped"][1] == TEXTS["mixed"][1]
    pytest.importorskip("websockets")
    from benchmarks.wsclient import FILLS, STEPS

    assert len(FILLS["ascii-shaped"].encode()) == len(FILLS["mixed"].encode())
    assert FILLS["ascii-shaped"].isascii() and STEPS["ascii-shaped"] == STEPS["mixed"]


def test_byte_path_micro_benchmark_runs() -> None:
    """``python -m benchmarks.perbyte`` (the server's byte path on ASCII-shaped and mixed
    text, in process) runs and prints both figures and their ratio."""
    out = run_benchmark(["benchmarks.perbyte", "--mb", "1", "--runs", "1"], timeout=60)
    assert re.search(r"mixed over ascii-shaped: ×\d", out), out


def test_independent_client_names_its_transports_strictly() -> None:
    """The main benchmark's names mean the same transports; an unknown one is an error, not
    a silent protocol v1 run under another name."""
    pytest.importorskip("websockets")
    from benchmarks.wsclient import transport_names

    assert transport_names("terminado,termmux-v1,termmux-v2") == ["terminado", "v1", "v2"]
    assert transport_names(None) == ["terminado", "v1", "v2"]
    with pytest.raises(SystemExit, match="unknown --transports"):
        transport_names("terminado,v3")


@pytest.mark.timeout(200)
def test_mesh_subscribers_that_keep_up_are_never_truncated(tmp_path: Path) -> None:
    """16 client sockets (another process's, as in a browser) attached to overlapping sets of
    4 flooding sessions, each session shared by 4 sockets, 1 MB each at full size: all keep
    up, so none falls a whole history behind another subscriber of its session (no
    ``session.truncated``, every line once). 128 KiB frames under a 256 KiB socket window
    broke this while a socket served its streams in plain turns: they grew so coarse that one
    subscriber fell that far behind (the scheduler now serves the furthest behind first); and
        with lag first one still fell behind in about 1 run of 10 while acknowledging, which
        the lag hold (``policy.LAG_ACK_RECENT``) now prevents."""
    args = ["benchmarks", "--only", "mesh", "--transports", "termmux-v2", "--scale-mb", "1"]
    run_benchmark([*args, "--quiet-wait", "0", "--no-plots", "--out", str(tmp_path)], 150)
    mesh = json.loads((tmp_path / "latest.json").read_text())["transports"]["termmux-v2"]["mesh"]
    assert mesh["ok"] and mesh["mb_delivered"] > 63, mesh


@pytest.mark.timeout(60)
def test_viewers_benchmark_runs_and_the_writer_verifies_its_stream(tmp_path: Path) -> None:
    """``python -m benchmarks.viewers`` at a tiny size (1 run, 2 reading and 2 never-reading
    viewers, 1 MB) runs both conditions, and the writer got every line once, in order, at
    contiguous offsets, in each."""
    out = tmp_path / "viewers.json"
    args = ["benchmarks.viewers", "--runs", "1", "--readers", "2", "--stalled", "2"]
    args += ["--mb", "1", "--samples", "5", "--warmup", "0.5", "--conditions", "viewers"]
    run_benchmark([*args, "--json", str(out)], timeout=45)  # about 20 s
    res = json.loads(out.read_text())
    assert res["verified"], res["runs"]
    assert set(res["runs"]) == {"alone", "viewers"}
    for cond, (r,) in res["runs"].items():
        assert r["verified"] and not r["errors"], (cond, r)
        assert r["mb_per_s"] > 0 and r["rss_samples"] > 0, r
        assert {"p50_ms", "p99_ms"} <= set(r["echo_idle"]) & set(r["echo_flood"]), r
    crowd = res["runs"]["viewers"][0]["viewers"]
    # Views are sent the screen: each reader got output, and every skip went forward at a clean
    # offset (the benchmark's client counts a gap or a backward skip as an error).
    assert crowd["reader_bytes_min"] > 10_000 and crowd["reader_errors"] == 0, crowd
    assert {"throughput_ratio", "echo_flood_p99_ratio", "rss_growth_met"} <= set(
        res["verdicts"]["viewers"]
    )
    assert set(res["medians"]["viewers"]) >= {"mb_per_s", "echo_flood_p99", "rss_growth_mb"}

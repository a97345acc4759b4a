"""Hostile clients against a real ``jupyter server``: what each costs the server's memory, and
what an honest client still gets.

Each test starts its own server subprocess (loopback, ``benchmarks.server.JupyterServer``) with
``slow_subscriber_timeout`` set to ``GRACE``, floods a session with ``FLOOD_MB`` of numbered lines
(the benchmark's generator, run by the session's shell), lets one hostile client work on it, and
samples the server's RSS every 50 ms. Every test asserts:

* the server's RSS grew by less than ``RSS_LIMIT_MB`` (peak during the flood less the RSS before
  it, after a warm-up flood);
* the honest clients got every line, in order, with no gap in the v2 offsets and no truncation
  (they read at full speed and ack at once, so nothing excuses one);
* for the hostile clients that only hurt themselves (1-3: blind acker, re-attach spam, never
  reader): a second honest client, on another session of the same server, keeps streaming:
  short floods one after another, each through within ``PROBE_TIMEOUT``. The flooded session
  is read by an honest client too (``drained``), so the flood runs its 100 MB whatever the
  server does with the hostile one; the blind acker also runs as the flood's only client
  (``alone``), where the flood goes as fast as the server lets it have the output;
* for those that share the honest client's session (4, 5: attach-and-abort loop, dripping
  re-attacher): the honest client's MB/s over the part of the flood after the grace is at
  least ``MIN_SHARE`` of its MB/s alone (same server, same session, same flood size, measured
  over the same part of the flood just before). Controls run the same two with the server's
  hold for that kind of client turned off, to show the threshold can be met on this machine.

Run them with ``pytest -m hostile -s tests/test_hostile.py``: each prints one ``HOSTILE <test>
{figures}`` line and writes the same JSON to ``tests/artifacts/hostile/<test>.json`` (and to the
JUnit XML's properties, with ``--junitxml``). ``TERMMUX_BENCH_SERVER_SRC=<dir>`` runs them
against another checkout's server (``benchmarks/server.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, Callable

import pytest
from hostile import (
    MB,
    Flood,
    Prober,
    honest_view,
    kill_program,
    raw_client,
    report,
    rss_sampler,
    send_now,
    settled_rss,
    stop_task,
)

from benchmarks.scenarios import close_all, handshake
from benchmarks.server import JupyterServer
from benchmarks.transports import V2_HEADER
from jupyter_termmux import policy

#: The server's ``slow_subscriber_timeout`` here (5 s by default): how long a client of a shared
#: session may hold the others back. After it the honest client must go at full speed (mostly).
GRACE = 1.0
#: A subscriber that acked within this is "still taking its output" and may hold a shared
#: session (``policy.LAG_ACK_RECENT``).
LAG_HOLD = policy.LAG_ACK_RECENT

FLOOD_MB = 100
RSS_LIMIT_MB = 20
MIN_SHARE = 0.5
#: The honest client's MB/s is measured from this long after its flood's command went out: the
#: grace and a quarter of a second for the server's clock to start it (the lag begins when
#: history has moved a history's room past the slow one, a few ms into the flood).
MEASURE_AFTER = GRACE + 0.25
WARMUP_MB = 5
#: The hostile client starts when the honest one has this much of the flood: history is full.
UNDER_WAY = 2 * MB

#: Most seconds a flood may take, from its command: a run past this is cut there and measured
#: as it stands (today's server holds some floods for good).
FLOOD_DEADLINE = 20.0
#: ... a flood whose only client is the hostile one (today's server gives a blind acker the
#: 100 MB in about 8 s): past this, the flood is taken to be paused by the server.
ALONE_DEADLINE = 10.0
SOLO_DEADLINE = 20.0
SHARED_DEADLINE = 15.0

#: The probes of another session (1-3): lines per probe (~0.2 MB), the longest one may take,
#: the pause between two.
PROBE_LINES = 2000
PROBE_TIMEOUT = 5.0
PROBE_GAP = 0.2
MAX_PROBES = int(FLOOD_DEADLINE / PROBE_GAP) + 1

#: A receive buffer that holds next to nothing (the kernel doubles it, to about 8 KiB).
SMALL_RCVBUF = 4096
#: 1. blind acker: claims 2**30 bytes (the protocol's largest ack) every 20 ms
BLIND_ACK = 2**30
BLIND_PERIOD = 0.02
#: 2. re-attach spam: attaches with replay, a few ms apart (each one a turn of the server's loop)
SPAM_ATTACHES = 400
SPAM_GAP = 0.0025
#: 4. attach-and-abort: one connect-attach-abort cycle per this many seconds at most (its
#: connection rate is not the point: what each drop leaves behind is)
ABORT_PERIOD = 0.05
#: 5. dripper: 1 byte of credit just inside policy.LAG_ACK_RECENT, a new attach just after the grace
DRIP_PERIOD = 0.9 * LAG_HOLD
REATTACH_PERIOD = 1.1 * GRACE

SERVER_ARGS = [f"--TermMuxApp.slow_subscriber_timeout={GRACE}"]
FLOODED, OTHER, SOLO = "flooded", "other", "solo"

pytestmark = [pytest.mark.hostile, pytest.mark.timeout(120)]

#: A hostile client: (server, session, figures to fill in, set once it is at work). It runs
#: until cancelled (every loop is bounded anyway) and closes its sockets on the way out.
Hostile = Callable[[JupyterServer, str, dict[str, Any], asyncio.Event], Awaitable[None]]


# ------------------------------------------------------------------------------ hostile clients


async def blind_acker(
    srv: JupyterServer, sid: str, figs: dict[str, Any], ready: asyncio.Event
) -> None:
    """v2: attaches, then never reads its socket, but acks 2**30 bytes every 20 ms."""
    raw = await raw_client(srv, "blind", rcvbuf=SMALL_RCVBUF)
    figs["acks"] = 0
    try:
        channel = (await raw.attach(sid))["channel"]
        raw.stall()
        ready.set()
        end = time.monotonic() + FLOOD_DEADLINE
        for _ in range(int(FLOOD_DEADLINE / BLIND_PERIOD)):
            if time.monotonic() > end:
                break
            await send_now(raw, {"type": "ack", "channel": channel, "bytes": BLIND_ACK})
            figs["acks"] += 1
            await asyncio.sleep(BLIND_PERIOD)
    except OSError as e:  # the server may drop a client that lies about its credit
        figs["dropped_by_server"] = repr(e)
    finally:
        await raw.abort()


async def reattach_spammer(
    srv: JupyterServer, sid: str, figs: dict[str, Any], ready: asyncio.Event
) -> None:
    """v2: sends 400 ``session.attach`` (with replay) for one session, never reading."""
    raw = await raw_client(srv, "spam", rcvbuf=SMALL_RCVBUF)
    raw.stall()  # (the hello may already be in: nothing after it)
    figs.update(attaches=0, busy=True)  # busy: the scenario measures until the spam is out
    try:
        ready.set()
        for i in range(SPAM_ATTACHES):
            msg = {"type": "session.attach", "sessionId": sid, "replay": True, "id": i}
            await send_now(raw, msg)
            figs["attaches"] += 1
            await asyncio.sleep(SPAM_GAP)
        figs["busy"] = False
        await asyncio.sleep(FLOOD_DEADLINE)  # stays, reading nothing, until the flood ends
    except OSError as e:
        figs["dropped_by_server"] = repr(e)
    finally:
        await raw.abort()


def never_reader(version: int) -> Hostile:
    """v1 or v2: attaches (with replay), then neither reads nor acks."""

    async def attack(
        srv: JupyterServer, sid: str, figs: dict[str, Any], ready: asyncio.Event
    ) -> None:
        raw = await raw_client(srv, f"never-v{version}", version, rcvbuf=SMALL_RCVBUF)
        try:
            await raw.attach(sid)
            raw.stall()
            ready.set()
            await asyncio.sleep(FLOOD_DEADLINE)  # until the flood ends
        finally:
            await raw.abort()

    return attack


async def attach_and_abort(
    srv: JupyterServer, sid: str, figs: dict[str, Any], ready: asyncio.Event
) -> None:
    """v2: connects, attaches the shared session, then drops the TCP connection without a close
    frame (a RST and a plain FIN in turn), again and again."""
    figs.update(cycles=0, refused=0)
    end = time.monotonic() + SHARED_DEADLINE
    for i in range(int(SHARED_DEADLINE / ABORT_PERIOD)):
        t0 = time.monotonic()
        if t0 > end:
            break
        try:
            raw = await raw_client(srv, f"abort{i}")
        except (AssertionError, OSError, asyncio.TimeoutError):  # a server may refuse it
            figs["refused"] += 1
        else:
            try:
                await raw.attach(sid, replay=False)
                figs["cycles"] += 1
            except AssertionError:  # refused, or closed by the server
                figs["refused"] += 1
            finally:
                await raw.abort(rst=i % 2 == 0)
        ready.set()
        await asyncio.sleep(max(0.0, ABORT_PERIOD - (time.monotonic() - t0)))


async def dripper(srv: JupyterServer, sid: str, figs: dict[str, Any], ready: asyncio.Event) -> None:
    """v2: on the shared session, acks 1 byte every 90 ms (just inside ``policy.LAG_ACK_RECENT``: it is
    still "taking its output") and attaches again just after each grace (a new lag)."""
    raw = await raw_client(srv, "dripper", rcvbuf=SMALL_RCVBUF)
    figs.update(acks=0, attaches=0)
    try:
        channel = (await raw.attach(sid))["channel"]
        figs["attaches"] += 1
        attached = time.monotonic()
        ready.set()
        end = attached + SHARED_DEADLINE
        for _ in range(int(SHARED_DEADLINE / DRIP_PERIOD)):
            if time.monotonic() > end:
                break
            if time.monotonic() - attached >= REATTACH_PERIOD:
                channel = (await raw.attach(sid))["channel"]
                figs["attaches"] += 1
                attached = time.monotonic()
            await send_now(raw, {"type": "ack", "channel": channel, "bytes": 1})
            figs["acks"] += 1
            await asyncio.sleep(DRIP_PERIOD)
    except (OSError, AssertionError) as e:
        figs["dropped_by_server"] = repr(e)
    finally:
        await raw.abort(rst=False)
        sizes = [f["bytes"] - V2_HEADER.size for f in raw.frames if f.get("type") == "<binary>"]
        figs.update(frames=len(sizes), frames_under_16_bytes=sum(n < 16 for n in sizes))


# ------------------------------------------------------------------------------ scenarios


async def start_attack(
    hostile: Hostile, srv: JupyterServer, sid: str, figs: dict[str, Any]
) -> asyncio.Task[None]:
    """Start ``hostile`` on ``sid``; return once it is at work."""
    ready = asyncio.Event()
    task = asyncio.ensure_future(hostile(srv, sid, figs, ready))
    waiting = asyncio.ensure_future(ready.wait())
    await asyncio.wait([task, waiting], timeout=15, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if not ready.is_set():
        error = await stop_task(task)
        raise AssertionError(f"the hostile client did not get to work: {error!r}")
    return task


async def beside_a_flood(name: str, hostile: Hostile, drained: bool = True) -> dict[str, Any]:
    """Hostile clients 1-3: ``hostile`` attaches to a session an honest client floods, while
    another honest client streams another session.

    ``drained``: the honest client that started the flood stays and reads it at full speed, so
    the flood runs its ``FLOOD_MB`` whatever the server does with ``hostile`` (and must get all
    of it). Otherwise it detaches once ``hostile`` is at work: the flood then goes only as fast
    as the server lets ``hostile`` have it, and runs until its program has printed everything
    or ``ALONE_DEADLINE`` (a server that stops sending to ``hostile`` pauses it for good)."""
    figs: dict[str, Any] = {"test": name, "grace_s": GRACE, "flood_mb": FLOOD_MB}
    failures: list[str] = []
    async with JupyterServer(SERVER_ARGS) as srv:
        await srv.create_terminals([FLOODED, OTHER])
        drain = await honest_view(srv, [FLOODED])
        other = await honest_view(srv, [OTHER])
        await handshake([drain, other])
        warm = await Flood(drain, FLOODED, "warm", WARMUP_MB).start()
        assert await warm.wait(30), warm.errors()

        rss0 = await settled_rss(srv)
        sampler = rss_sampler(srv, rss0)
        flood = await Flood(drain, FLOODED, "flood", FLOOD_MB).start()
        await flood.running(UNDER_WAY, 30)
        hostile_figs: dict[str, Any] = {}
        attack = await start_attack(hostile, srv, FLOODED, hostile_figs)
        t_attack = time.perf_counter()
        prober = Prober(other, OTHER, PROBE_LINES, PROBE_TIMEOUT, PROBE_GAP)
        probing = asyncio.ensure_future(prober.run(MAX_PROBES))

        if drained:
            await flood.wait(FLOOD_DEADLINE - (t_attack - flood.t_start))
            t_end = flood.t_stop
        else:
            answer = await drain.request({"type": "session.detach", "sessionId": FLOODED})
            assert answer.get("type") == "session.detached", answer
            program = f"gen.py {flood.tag} "
            deadline = t_attack + ALONE_DEADLINE
            while srv.descendants_running(program) and time.perf_counter() < deadline:
                await asyncio.sleep(0.1)  # polls for the program's end
            t_end = time.perf_counter()
            figs["program_finished"] = not srv.descendants_running(program)
        deadline = time.perf_counter() + 10
        while hostile_figs.get("busy") and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)  # a burst still going out is measured to its end
        prober.stop.set()
        await asyncio.wait_for(probing, PROBE_TIMEOUT + 5)
        await sampler.stop()
        sampler.peak = max(sampler.peak, await settled_rss(srv))  # what the last moment left
        attack_error = await stop_task(attack)
        growth = (sampler.peak - rss0) / MB
        figs.update(
            drained=drained,
            rss_before_mb=round(rss0 / MB, 1),
            rss_growth_mb=round(growth, 1),
            hostile_s=round(t_end - t_attack, 2),
            hostile=hostile_figs,
            **prober.figures(),
        )
        if drained:
            figs.update(
                flood_done=flood.verifier.ok,
                flood_s=round(flood.t_stop - flood.t_start, 2),
                flood_received_mb=round(flood.verifier.pos / MB, 1),
                flood_mb_per_s=round(flood.verifier.pos / MB / (flood.t_stop - flood.t_start), 1),
            )
            failures += [f"flooding client: {e}" for e in flood.errors()]
        if attack_error is not None:
            figs["hostile_error"] = repr(attack_error)
        if growth >= RSS_LIMIT_MB:
            failures.append(f"server RSS grew by {growth:.1f} MB (limit {RSS_LIMIT_MB})")
        failures += [f"other session: {f}" for f in prober.failures]
        if not prober.seconds:
            failures.append("other session: no probe got through during the flood")
        await close_all([drain, other])
    figs["failures"] = failures
    return figs


async def sharing_its_session(
    name: str, hostile: Hostile, server_args: list[str] = SERVER_ARGS
) -> dict[str, Any]:
    """Hostile clients 4-5: ``hostile`` shares the honest client's session.

    The honest client's solo MB/s is the mean of two floods of another session of the same
    server, one just before and one just after the shared flood (the machine's speed drifts
    when other work runs on it; the shared session itself may still be held after the attack,
    for as long as the server holds it for a dropped client)."""
    figs: dict[str, Any] = {"test": name, "grace_s": GRACE, "flood_mb": FLOOD_MB}
    failures: list[str] = []
    async with JupyterServer(server_args) as srv:
        await srv.create_terminals([FLOODED, SOLO])
        honest = await honest_view(srv, [FLOODED, SOLO])
        await handshake([honest])
        for sid in (FLOODED, SOLO):
            warm = await Flood(honest, sid, f"warm{sid}", WARMUP_MB).start()
            assert await warm.wait(30), warm.errors()

        async def solo(tag: str) -> Flood:
            flood = await Flood(honest, SOLO, tag, FLOOD_MB).start()
            await flood.wait(SOLO_DEADLINE)
            assert flood.verifier.ok and not flood.errors(), f"alone: {flood.errors()}"
            return flood

        before = await solo("solo1")
        rss0 = await settled_rss(srv)
        sampler = rss_sampler(srv, rss0)
        hostile_figs: dict[str, Any] = {}
        attack = await start_attack(hostile, srv, FLOODED, hostile_figs)
        shared = await Flood(honest, FLOODED, "shared", FLOOD_MB).start()
        await shared.wait(SHARED_DEADLINE)
        await sampler.stop()
        attack_error = await stop_task(attack)
        # a flood cut at the deadline would compete with the next solo run once released
        await kill_program(srv, f"gen.py {shared.tag} ")
        after = await solo("solo2")

        solo_rates = [f.rate_after(f.t_start + MEASURE_AFTER) for f in (before, after)]
        solo_rate = sum(solo_rates) / 2
        shared_rate = shared.rate_after(shared.t_start + MEASURE_AFTER)
        growth = (sampler.peak - rss0) / MB
        share = shared_rate / solo_rate
        figs.update(
            solo_mb_per_s=round(solo_rate, 2),
            solo_runs_mb_per_s=[round(r, 2) for r in solo_rates],
            solo_s=[round(f.t_stop - f.t_start, 2) for f in (before, after)],
            shared_mb_per_s=round(shared_rate, 2),
            shared_over_solo=round(share, 3),
            shared_done=shared.verifier.ok,
            shared_s=round(shared.t_stop - shared.t_start, 2),
            shared_received_mb=round(shared.verifier.pos / MB, 1),
            rss_before_mb=round(rss0 / MB, 1),
            rss_growth_mb=round(growth, 1),
            hostile=hostile_figs,
        )
        if attack_error is not None:
            figs["hostile_error"] = repr(attack_error)
        if growth >= RSS_LIMIT_MB:
            failures.append(f"server RSS grew by {growth:.1f} MB (limit {RSS_LIMIT_MB})")
        if share < MIN_SHARE:
            failures.append(
                f"honest client after the grace: {shared_rate:.2f} MB/s shared vs "
                f"{solo_rate:.2f} alone ({share:.1%}, needs {MIN_SHARE:.0%})"
            )
        errors = shared.errors()
        if shared.verifier.state == "body" and not shared.verifier.error and not shared.view.errors:
            errors = []  # cut at the deadline, but intact so far: the MB/s says the rest
        failures += [f"honest client: {e}" for e in errors]
        await close_all([honest])
    figs["failures"] = failures
    return figs


def run(
    name: str,
    scenario: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
    record: Callable[[str, object], None],
) -> None:
    """Run one scenario, report its figures (printed, a JSON file, and the test's properties in
    pytest's JUnit XML), then assert it found nothing wrong."""
    t0 = time.monotonic()
    figs = asyncio.run(scenario())
    figs["wall_s"] = round(time.monotonic() - t0, 1)
    report(name, figs)
    record("hostile", json.dumps(figs, sort_keys=True))
    assert not figs["failures"], "; ".join(figs["failures"])


# ------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("drained", [True, False], ids=["drained", "alone"])
def test_blind_acker_costs_no_memory(drained: bool, record_property: Any) -> None:
    """A v2 client that never reads but acks 2**30 bytes every 20 ms, on a session flooded with 100 MB (read by an honest client too, or its only client), grows the server by under 20 MB, and another session keeps streaming."""
    name = f"blind_acker_{'drained' if drained else 'alone'}"
    run(name, lambda: beside_a_flood(name, blind_acker, drained), record_property)


def test_reattach_spam_costs_no_memory(record_property: Any) -> None:
    """400 v2 attaches with replay of one flooded session, never read, grow the server by under 20 MB, and another session keeps streaming."""
    name = "reattach_spam"
    run(name, lambda: beside_a_flood(name, reattach_spammer), record_property)


@pytest.mark.parametrize("version", [1, 2])
def test_never_reader_costs_no_memory(version: int, record_property: Any) -> None:
    """A client (v1 or v2) attached to a session flooded with 100 MB that never reads nor acks grows the server by under 20 MB, and another session keeps streaming."""
    name = f"never_reader_v{version}"
    run(name, lambda: beside_a_flood(name, never_reader(version)), record_property)


def test_attach_and_abort_loop_leaves_the_honest_client_its_speed(record_property: Any) -> None:
    """A v2 client that attaches to a shared session and drops its connection without a close frame, again and again, leaves the honest client of the session at least half its solo MB/s after the grace, and costs under 20 MB."""
    name = "attach_and_abort"
    run(name, lambda: sharing_its_session(name, attach_and_abort), record_property)


def test_dripping_reattacher_leaves_the_honest_client_its_speed(record_property: Any) -> None:
    """A v2 client of a shared session that acks 1 byte every 90 ms and attaches again after each grace leaves the honest client at least half its solo MB/s after the grace, and costs under 20 MB."""
    name = "dripping_reattacher"
    run(name, lambda: sharing_its_session(name, dripper), record_property)


@pytest.mark.parametrize(
    "hostile", [attach_and_abort, dripper], ids=["attach_and_abort", "dripping_reattacher"]
)
def test_the_fairness_measure_passes_without_holds(hostile: Hostile, record_property: Any) -> None:
    """A control: with holds of shared sessions off (``slow_subscriber_timeout=0``), the same hostile client leaves the honest one at least half its solo MB/s, so the threshold is the server's to meet, not the harness's (the hostile client's own CPU, the machine)."""
    name = f"control_{hostile.__name__}"
    args = ["--TermMuxApp.slow_subscriber_timeout=0"]
    run(name, lambda: sharing_its_session(name, hostile, args), record_property)

"""Forced reconnects during a stream lose and double nothing on protocol v2 (a smaller run of
``python -m benchmarks.reconnects``, against a real ``jupyter server`` through a cutting proxy)."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.reconnects import soak

pytestmark = pytest.mark.timeout(300)


def test_cuts_from_both_sides_lose_and_double_nothing() -> None:
    """20 cuts (client and server side in turn), 0.2 s away each time, during 8 MB: every byte
    once, every line once and in order."""
    result = asyncio.run(soak(8, 20, 0.2, []))
    print(result)
    assert result["reconnects"] == 20
    assert (result["lost_bytes"], result["doubled_bytes"], result["truncations"]) == (0, 0, 0)
    assert result["lines_missing"] == 0 and result["lines_repeated"] == 0 and result["in_order"]


def test_the_harness_sees_loss_without_the_reservation() -> None:
    """With resume_hold 0 the same cuts lose output, and the harness counts it (it can fail)."""
    result = asyncio.run(soak(8, 4, 0.2, ["--TermMuxApp.resume_hold=0"]))
    assert result["truncations"] > 0 and result["lost_bytes"] > 0

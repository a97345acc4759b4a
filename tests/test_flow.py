"""Pure tests of the watermark flow control."""

from __future__ import annotations

import pytest

from jupyter_termmux.flow import FlowControl


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def flow(self, high: int = 100, low: int = 20) -> FlowControl:
        return FlowControl(
            high, low, lambda: self.events.append("pause"), lambda: self.events.append("resume")
        )


def test_pauses_above_high_and_resumes_at_low() -> None:
    """Pause fires once when passing the high mark; resume once when falling to the low mark."""
    r = Recorder()
    f = r.flow()
    f.add(100)
    assert r.events == [] and not f.paused
    f.add(1)
    f.add(500)
    assert r.events == ["pause"] and f.paused
    f.remove(500)
    f.remove(60)
    assert r.events == ["pause"]
    f.remove(21)
    assert r.events == ["pause", "resume"] and not f.paused and f.buffered == 20


def test_hysteresis_between_marks() -> None:
    """Between the marks nothing toggles, whichever way the count moves."""
    r = Recorder()
    f = r.flow()
    f.add(150)
    for _ in range(10):
        f.remove(40)
        f.add(40)
    assert r.events == ["pause"]


def test_peak_records_the_worst_backlog() -> None:
    """peak is the largest backlog seen, kept after draining."""
    f = Recorder().flow()
    f.add(70)
    f.add(80)
    f.remove(150)
    assert f.peak == 150 and f.buffered == 0


def test_rejects_inverted_marks() -> None:
    """A low mark at or above the high mark is a configuration error."""
    with pytest.raises(ValueError):
        FlowControl(10, 10, lambda: None, lambda: None)

"""Pure tests of the size rule: the most recently active writer's size (``sizing.Latest``)."""

from __future__ import annotations

from jupyter_termmux.sizing import Latest, known


class Client:
    """A client as the rule sees one: a size, None while unknown."""

    def __init__(self, rows: int | None = None, cols: int | None = None) -> None:
        self.size: tuple[int | None, int | None] | list[object] = (rows, cols)


def test_the_latest_active_client_with_a_size_wins() -> None:
    """Whoever was active last gives the size, larger or smaller than the others'."""
    rule = Latest()
    small, large = Client(20, 80), Client(50, 200)
    clients = [small, large]
    assert rule.size(clients) is None  # nobody active yet: keep the terminal's size
    rule.active(large)
    assert rule.size(clients) == (50, 200) and rule.sizer is large
    rule.active(small)
    assert rule.size(clients) == (20, 80) and rule.sizer is small
    rule.active(large)
    assert rule.size(clients) == (50, 200)


def test_unknown_sizes_and_absent_clients_do_not_count() -> None:
    """A client active with no known size, or no longer among the clients, is passed over."""
    rule = Latest()
    sized, unsized = Client(30, 100), Client()
    rule.active(sized)
    rule.active(unsized)
    assert rule.size([sized, unsized]) == (30, 100)
    gone = Client(10, 10)
    rule.active(gone)
    assert rule.size([sized, unsized]) == (30, 100)


def test_forgetting_the_latest_falls_back_to_the_next() -> None:
    """When the latest leaves (or becomes a viewer), the next most recent one's size applies."""
    rule = Latest()
    a, b, c = Client(20, 80), Client(30, 90), Client(40, 100)
    for client in (a, b, c):
        rule.active(client)
    rule.size([a, b, c])
    rule.forget(c)
    assert rule.sizer is None
    assert rule.size([a, b, c]) == (30, 90)
    rule.forget(b)
    rule.forget(a)
    assert rule.size([a, b, c]) is None


def test_known_takes_only_usable_sizes() -> None:
    """A classic socket's [rows, cols] list counts; None, zero, bools, floats, strings or one
    value too many do not."""
    assert known([24, 80]) == (24, 80) and known((1, 4096)) == (1, 4096)
    for bad in ((None, 80), (0, 80), (24, 4097), (True, 80), (24.0, 80), ("24", 80), (1, 2, 3)):
        assert known(bad) is None, bad
    assert known(None) is None and known(5) is None

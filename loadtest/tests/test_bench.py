"""The bench's interleaving: two figures to divide are taken first, second, second, first."""

from loadtest.bench import _abba


def _figure(rps: float, p99: float, orders: float | None = None) -> dict:
    return {"rps": rps, "orders_per_s": orders, "p50_ms": p99 / 2, "p99_ms": p99, "errors": 1, "requests": 10}


def test_abba_takes_the_halves_in_mirrored_order_and_averages_them():
    calls = []

    def first(seconds):
        calls.append(("first", seconds))
        return _figure(100.0 if len(calls) == 1 else 60.0, p99=10.0 * len(calls), orders=50.0)

    def second(seconds):
        calls.append(("second", seconds))
        return _figure(20.0, p99=5.0)

    a, b = _abba(first, second, seconds=10)

    assert calls == [("first", 5), ("second", 5), ("second", 5), ("first", 5)]
    assert (a["rps"], a["orders_per_s"], a["p99_ms"], a["errors"], a["requests"]) == (80.0, 50.0, 40.0, 2, 20)
    assert (b["rps"], b["orders_per_s"], b["p99_ms"]) == (20.0, None, 5.0)


def test_a_steady_drift_falls_on_both_figures_alike():
    """The machine slows by 10 % a slice: the same code on both sides still divides to 1."""
    speed = iter([1.0, 0.9, 0.8, 0.7])

    def side(seconds):
        return _figure(1000.0 * next(speed), p99=1.0)

    a, b = _abba(side, side)

    assert a["rps"] == b["rps"]

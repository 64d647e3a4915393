"""The detector's rule: a rolling z-score per series, warm-up, cool-down, and forgetting."""

from __future__ import annotations

import pytest

from hivebus import ConfigError
from hivebus.patterns import ZScore


def _feed(rule: ZScore, series: str, values: list[float]) -> list[int]:
    """The indexes of the values judged anomalous."""
    return [n for n, v in enumerate(values) if rule.observe(series, v) is not None]


def test_a_spike_fires_once_warm_and_not_again_within_the_cooldown() -> None:
    rule = ZScore(window=30, threshold=4, min_samples=10, cooldown=5)
    normal = [100.0 + (n % 5) for n in range(20)]
    fired = _feed(rule, "a", [*normal, 500.0, 510.0, *normal[:4], 900.0])
    # 20 = the spike; 21 (another spike) falls in the 5 values of the cool-down (21-25); 26,
    # after it, fires again (the window now holds the spikes, yet 900 is still far out).
    assert fired == [20, 26]


def test_no_anomaly_before_the_warm_up_or_in_another_series() -> None:
    rule = ZScore(window=30, threshold=3, min_samples=10)
    assert _feed(rule, "a", [1.0, 1.0, 1000.0]) == []  # too few to judge
    assert _feed(rule, "b", [50.0 + n % 3 for n in range(40)]) == []


def test_the_judgement_names_the_expectation() -> None:
    rule = ZScore(window=10, threshold=2, min_samples=10)
    for n in range(10):
        rule.observe("s", 10.0 + (n % 2))  # mean 10.5, sample spread ~0.527
    judged = rule.observe("s", 20.0)
    assert judged is not None and judged.window == 10
    assert judged.expected == pytest.approx(10.5) and judged.score == pytest.approx(18.0, rel=0.01)


def test_a_forgotten_series_warms_up_again() -> None:
    rule = ZScore(window=10, threshold=2, min_samples=5)
    _feed(rule, "s", [10.0, 11.0] * 5)
    rule.forget("s")
    assert rule.observe("s", 1000.0) is None


@pytest.mark.parametrize(
    ("options", "field"),
    [({"window": 1}, "window"), ({"min_samples": 100}, "min_samples"),
     ({"threshold": 0}, "threshold"), ({"cooldown": -1}, "cooldown")],
)  # fmt: skip
def test_bad_rules_are_refused_naming_the_field(options: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"ZScore\.{field}"):
        ZScore(**options)  # type: ignore[arg-type]

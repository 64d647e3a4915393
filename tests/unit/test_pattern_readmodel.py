"""The read model's embedded store: versions never go backwards, removals keep their
version, and only select queries are answered."""

from __future__ import annotations

import pytest

from hivebus import ConfigError
from hivebus.patterns import ReadModel
from hivebus.patterns.readmodel.store import Store


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    store = Store()
    assert store.put("a", '{"n": 2}', 2, "t2")
    assert not store.put("a", '{"n": 1}', 1, "t1")  # the changelog catching up, late
    assert store.entry("a") == ({"n": 2}, 2)
    assert store.put("a", None, 3, "t3")  # removed: the version stays
    assert store.entry("a") == (None, 3) and store.count() == 0
    assert store.entry("b") is None


def test_the_store_answers_sql_over_the_json_states_and_nothing_else() -> None:
    store = Store()
    for n, key in enumerate(("x", "y", "z")):
        store.put(key, f'{{"risk": {n / 10}}}', 1, "t")
    rows = store.query("select key from entries where json_extract(value, '$.risk') > ?", (0.05,))
    assert rows == [("y",), ("z",)]
    with pytest.raises(ValueError, match="only select queries"):
        store.query("delete from entries")


def test_a_read_model_names_its_projector_and_its_compacted_changelog() -> None:
    view = ReadModel("risk", partitions=2)
    assert view.projector.name == "risk.projector" and view.projector.exactly_once
    (spec,) = view.projector.topics
    assert (spec.name, spec.partitions) == ("hivebus.view.risk", 2)
    assert spec.config["cleanup.policy"] == "compact"
    with pytest.raises(ConfigError, match=r"ReadModel\.partitions"):
        ReadModel("r", partitions=0)

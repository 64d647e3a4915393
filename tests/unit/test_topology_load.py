"""A topology file is validated field by field; every error names the file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hivebus.topology import TopologyError, load_topology, wire
from hivebus.topology.model import retention_ms

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
AGENTS = ROOT / "agents"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "system.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def minimal(extra_topic: str = "", agent: str = "", extra_contract: str = "") -> str:
    return f"""
        name: payments
        topics:
          transactions.card: {{partitions: 3}}
          transactions.flagged: {{partitions: 3}}{extra_topic}
        contracts:
          - schema: {SCHEMAS}/payments/Transaction.v2.avsc
            topics: [transactions.card]{extra_contract}
        agents:
          fraud-detector:
            module: {AGENTS}/fraud.py:fraud{agent}
    """


def test_the_seed_topology_loads_and_wires_both_agents() -> None:
    loaded = load_topology(ROOT / "topology" / "payments.yaml")
    wired = {agent.name: agent for agent in wire(loaded)}
    assert set(wired) == {"fraud-detector", "compliance-officer"}
    # The fraud agent's pattern matches the flagged topic too, but no contract there is a
    # Transaction, so it is not drawn as a reader of it.
    assert wired["fraud-detector"].reads == ["transactions.card", "transactions.wire"]
    assert wired["compliance-officer"].reads == ["transactions.flagged"]
    assert wired["fraud-detector"].agent.max_in_flight == 256


def test_an_unknown_field_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, minimal().replace("{partitions: 3}}", "{partitons: 3}}", 1))
    path.write_text(path.read_text().replace("transactions.card: {partitions: 3}",
                                             "transactions.card: {partitons: 3}"))  # fmt: skip
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    message = str(caught.value)
    assert f"{path}:3: topics.transactions.card.partitons: unknown field" in message


def test_a_topic_name_kafka_refuses_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(extra_topic="\n          bad/name: {partitions: 1}"))
    with pytest.raises(TopologyError) as caught:
        load_topology(path)
    assert "system.yaml:5: topics" in str(caught.value)
    assert "'bad/name' is not a topic name Kafka accepts" in str(caught.value)


def test_a_wrong_type_names_the_field(tmp_path: Path) -> None:
    text = minimal().replace("flagged: {partitions: 3}", "flagged: {partitions: many}")
    path = write(tmp_path, text)
    with pytest.raises(
        TopologyError, match=r"system.yaml:4: topics.transactions.flagged.partitions"
    ):
        load_topology(path)


def test_a_missing_module_names_the_agent_entry(tmp_path: Path) -> None:
    path = write(tmp_path, minimal().replace(f"{AGENTS}/fraud.py", f"{AGENTS}/nowhere.py"))
    loaded = load_topology(path)
    with pytest.raises(TopologyError) as caught:
        wire(loaded)
    assert "system.yaml:10: agents.fraud-detector.module" in str(caught.value)
    assert "nowhere.py does not exist" in str(caught.value)


def test_an_agent_whose_output_is_not_declared_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, minimal().replace("          transactions.flagged: {partitions: 3}\n", "")
    )
    with pytest.raises(
        TopologyError, match=r"publishes to 'transactions\.flagged', which is not declared"
    ):
        wire(load_topology(path))


def test_the_key_under_agents_must_be_the_agents_name(tmp_path: Path) -> None:
    path = write(tmp_path, minimal().replace("fraud-detector:", "fraud:"))
    with pytest.raises(TopologyError, match=r"defines no agent named 'fraud'.*fraud-detector"):
        wire(load_topology(path))


def test_subscriptions_written_in_the_file_must_match_the_code(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(agent='\n            subscribes: ["transactions.card"]'))
    with pytest.raises(TopologyError, match=r"subscribes to transactions\.\*, not what is written"):
        wire(load_topology(path))


def test_a_contract_for_an_undeclared_topic_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, minimal().replace("topics: [transactions.card]", "topics: [orders]"))
    with pytest.raises(TopologyError, match=r"contracts\[0\]\.topics\[0\]: topic 'orders' is not"):
        load_topology(path)


def test_two_record_types_on_one_topic_need_multi_type(tmp_path: Path) -> None:
    extra = f"\n          - schema: {SCHEMAS}/payments/FlaggedTransaction.avsc"
    extra += "\n            topics: [transactions.card]"
    path = write(tmp_path, minimal(extra_contract=extra))
    with pytest.raises(TopologyError, match="declare it `multi_type: true`"):
        load_topology(path)


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\ntopics: [unclosed\n")
    with pytest.raises(TopologyError, match=r"system.yaml:3:1: not valid YAML"):
        load_topology(path)


def test_a_key_written_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\ntopics:\n  a: {}\n  a: {}\n")
    with pytest.raises(TopologyError, match=r"system.yaml:4: topics.a: written twice"):
        load_topology(path)


@pytest.mark.parametrize(
    ("written", "ms"),
    [("7d", 7 * 86_400_000), ("12h", 12 * 3_600_000), ("forever", -1), (60000, 60000)],
)
def test_retention_is_read_as_milliseconds(written: str | int, ms: int) -> None:
    assert retention_ms(written) == ms


def test_retention_that_is_not_a_duration_is_refused(tmp_path: Path) -> None:
    text = minimal().replace("flagged: {partitions: 3}", "flagged: {retention: soon}")
    path = write(tmp_path, text)
    with pytest.raises(TopologyError, match="retention 'soon' is not a duration"):
        load_topology(path)

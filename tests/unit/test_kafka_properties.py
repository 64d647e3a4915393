"""`client.properties` files read as Kafka's tools read them, each setting with its line."""

from __future__ import annotations

import pytest

from hivebus.errors import ConfigError
from hivebus.kafka.properties import Setting, parse_properties


def test_settings_keep_the_line_they_came_from() -> None:
    text = "# comment\n! also a comment\n\nsecurity.protocol=SASL_SSL\nsasl.mechanism : PLAIN\n"
    assert parse_properties(text, "c.properties") == [
        Setting("security.protocol", "SASL_SSL", "c.properties line 4"),
        Setting("sasl.mechanism", "PLAIN", "c.properties line 5"),
    ]


def test_java_separators_continuations_and_escapes() -> None:
    text = (
        "a = 1\n"
        "b 2\n"
        "c\\=d=3\n"  # an escaped = belongs to the key
        "sasl.jaas.config=x required \\\n"
        '    username="u";\n'
        "e=\\u0041\\tB\n"
        "f=a=b\n"  # only the first = separates
    )
    found = {s.key: s.value for s in parse_properties(text, "f")}
    assert found == {
        "a": "1", "b": "2", "c=d": "3", "sasl.jaas.config": 'x required username="u";',
        "e": "A\tB", "f": "a=b",
    }  # fmt: skip
    assert parse_properties(text, "f")[3].origin == "f line 4"  # where the continued line starts


def test_values_are_trimmed_so_a_stray_space_is_no_part_of_a_password() -> None:
    [setting] = parse_properties("sasl.password=secret   \n", "f")
    assert setting.value == "secret"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sasl.username\n", "f line 1: expected key=value"),
        ("x=1\nsasl.password=\n", "f line 2: sasl.password has no value"),
    ],
)
def test_a_line_without_a_value_is_refused_by_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_properties(text, "f")

"""How a registry subject judges a schema: its level, what it compares with, and why it refuses.

The registry's yes/no is the authority. The reasons are worked out locally (`explain`) against
the same versions the level compares with: the latest one, or all of them when transitive.
"""

from __future__ import annotations

from urllib.parse import quote

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.explain import BACKWARD, FORWARD, Direction, explain

NOT_FOUND = 404


def compatibility_level(client: SchemaRegistryClient, subject: str) -> str:
    """The level in force for `subject`: its own, else the registry's global one.

    Apicurio answers NONE for a subject with no level of its own, so the question is asked with
    `defaultToGlobal=true`, which Confluent and Apicurio both honour.
    """
    rest = getattr(client, "_rest_client", None)
    try:
        if rest is not None:
            answer = rest.get(f"config/{quote(subject, safe='')}", {"defaultToGlobal": "true"})
            return str(answer["compatibilityLevel"])
        return str(client.get_compatibility(subject))
    except SchemaRegistryError as exc:
        if exc.http_status_code != NOT_FOUND:
            raise
    return str(client.get_compatibility())


def directions(level: str) -> tuple[Direction, ...]:
    """Which ways a level reads: BACKWARD, FORWARD, both (FULL) or none (NONE)."""
    base = level.removesuffix("_TRANSITIVE")
    return {"BACKWARD": (BACKWARD,), "FORWARD": (FORWARD,), "FULL": (BACKWARD, FORWARD)}.get(
        base, ()
    )


def registry_accepts(
    client: SchemaRegistryClient, schema_str: str, subject: str, level: str
) -> bool:
    """The registry's own verdict on `schema_str` for `subject`."""
    schema = Schema(schema_str, "AVRO")
    if level.endswith("_TRANSITIVE"):
        return bool(client.test_compatibility_all_versions(subject, schema))
    return bool(client.test_compatibility(subject, schema))


def reasons(client: SchemaRegistryClient, schema_str: str, subject: str, level: str) -> list[str]:
    """Why `schema_str` breaks `subject` under `level`, one line per offending field."""
    if level.endswith("_TRANSITIVE"):
        versions = [client.get_version(subject, v) for v in client.get_versions(subject)]
    else:
        versions = [client.get_latest_version(subject)]
    found: list[str] = []
    for registered in versions:
        theirs = registered.schema.schema_str or ""
        for direction in directions(level):
            reader, writer = (schema_str, theirs) if direction == BACKWARD else (theirs, schema_str)
            for reason in explain(reader, writer, direction):
                if len(versions) > 1:
                    reason += f" (against version {registered.version})"
                if reason not in found:
                    found.append(reason)
    return found

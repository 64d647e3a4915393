"""Contracts: Avro <-> pydantic, registry client, serde, CloudEvents headers, evolution checks."""

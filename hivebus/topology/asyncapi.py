"""The topology as an AsyncAPI 3.0 document: the standard description of an event-driven API.

Other teams' tools (AsyncAPI Studio, code generators, catalogues) read it without knowing
hivebus: topics become channels, Avro contracts become messages with their CloudEvents
headers and Kafka key, and each agent's reads and writes become operations whose consumer
group is the agent's name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from hivebus.contracts import Contract as AvroContract
from hivebus.contracts import subject_for
from hivebus.contracts.endpoints import registry_url
from hivebus.contracts.headers import CONTENT_TYPE, SPECVERSION
from hivebus.kafka.endpoints import bootstrap_servers
from hivebus.topology.graph import Flow, flows, topics_drawn
from hivebus.topology.load import Loaded
from hivebus.topology.model import Topic, retention_ms
from hivebus.topology.wiring import Wired

ASYNCAPI = "3.0.0"
AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA_BINDING = "0.5.0"
Format = Literal["json", "yaml"]
# Topic configs the Kafka channel binding types as integers (the rest stay strings).
_INTEGER_CONFIGS = ("retention.bytes", "delete.retention.ms", "max.message.bytes")


@dataclass
class _Message:
    """One distinct Avro schema of the topology and the topics it is declared on."""

    key: str
    contract: AvroContract
    version: int | None
    topics: list[str] = field(default_factory=list)


def asyncapi_document(
    loaded: Loaded,
    wired: list[Wired],
    *,
    server: str | None = None,
    registry: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of a loaded topology and its wired agents.

    `server` (`host:port`, or several comma-separated) defaults to `KAFKA_BOOTSTRAP_SERVERS`
    or the dev stack's; `registry` to `SCHEMA_REGISTRY_URL`. `version` (info.version)
    defaults to a digest of the channels and operations, so it changes when the API does.
    """
    topology = loaded.topology
    messages = _messages(loaded)
    found = flows(loaded, wired)
    channels = {
        topic: _channel(topic, topology.topics.get(topic), messages)
        for topic in topics_drawn(loaded, found)
    }
    operations = _operations(wired, found, messages)
    components = {m.key: _message(m, loaded) for m in messages}
    digest = hashlib.sha256(
        json.dumps([channels, operations, components], sort_keys=True).encode()
    ).hexdigest()[:12]
    info: dict[str, Any] = {"title": topology.name, "version": version or f"0.0.0+{digest}"}
    if topology.description:
        info["description"] = topology.description
    return {
        "asyncapi": ASYNCAPI,
        "id": f"urn:hivebus:topology:{topology.name}",
        "info": info,
        "defaultContentType": CONTENT_TYPE,
        "servers": _servers(server or bootstrap_servers(), registry or registry_url()),
        "channels": channels,
        "operations": operations,
        "components": {"messages": components},
    }


def render(document: dict[str, Any], fmt: Format = "yaml") -> str:
    """The document as YAML (what AsyncAPI tools show first) or JSON."""
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class _Dumper(yaml.SafeDumper):
    """No `&id001` anchors: shared sub-objects are written out where they are used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def ref(*parts: str) -> dict[str, str]:
    """A local `$ref` (JSON Pointer: `~` and `/` escaped)."""
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return {"$ref": "#/" + "/".join(escaped)}


def _messages(loaded: Loaded) -> list[_Message]:
    """Distinct schemas in file order; several of one record name (its versions, as the
    topology lists them) get keys `<fullname>.v1`, `.v2`..."""
    distinct: dict[tuple[str, str], _Message] = {}
    for entry, contract in zip(loaded.topology.contracts, loaded.contracts, strict=True):
        found = distinct.get((contract.fullname, contract.schema_str))
        if found is None:
            found = _Message(contract.fullname, contract, None)
            distinct[(contract.fullname, contract.schema_str)] = found
        found.topics.extend(t for t in entry.topics if t not in found.topics)
    per_name: dict[str, list[_Message]] = {}
    for message in distinct.values():
        per_name.setdefault(message.contract.fullname, []).append(message)
    for versions in per_name.values():
        if len(versions) > 1:
            for number, message in enumerate(versions, start=1):
                message.key, message.version = f"{message.contract.fullname}.v{number}", number
    return list(distinct.values())


def _message(message: _Message, loaded: Loaded) -> dict[str, Any]:
    contract, topics = message.contract, loaded.topology.topics
    short = contract.fullname.rsplit(".", 1)[-1]
    strategies = {topics[t].multi_type for t in message.topics}
    subjects = [
        subject_for(t, contract.fullname, multi_type=topics[t].multi_type) for t in message.topics
    ]
    kafka: dict[str, Any] = {
        "key": {"type": "string", "description": "the entity the event is about (UTF-8)"},
        "schemaIdLocation": "payload",
        "schemaIdPayloadEncoding": "confluent",
        "bindingVersion": KAFKA_BINDING,
    }
    if len(strategies) == 1:
        multi = strategies.pop()
        kafka["schemaLookupStrategy"] = "TopicRecordNameStrategy" if multi else "TopicNameStrategy"
    body: dict[str, Any] = {
        "name": contract.fullname,
        "title": f"{short} v{message.version}" if message.version else short,
        "contentType": CONTENT_TYPE,
        "headers": _cloudevents_headers(contract.fullname),
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": contract.schema},
        "bindings": {"kafka": kafka},
    }
    if doc := contract.schema.get("doc"):
        body["summary"] = str(doc)
    body["description"] = (
        "Avro in the Confluent wire format (magic byte 0, 4-byte schema id, Avro binary); "
        f"registry subjects: {', '.join(f'`{s}`' for s in subjects)}."
    )
    return body


def _cloudevents_headers(fullname: str) -> dict[str, Any]:
    """The CloudEvents Kafka binary binding headers every hivebus event carries."""

    def text(description: str, **more: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **more}

    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type"],
        "properties": {
            "ce_specversion": text("CloudEvents version", const=SPECVERSION),
            "ce_id": text("unique id of the event"),
            "ce_source": text("hivebus://agents/<agent>, or the publisher's name"),
            "ce_type": text("the Avro record full name", const=fullname),
            "ce_time": text("when the event happened (RFC 3339)", format="date-time"),
            "content-type": text("the value's media type", const=CONTENT_TYPE),
            "ce_correlationid": text("the conversation or task the event belongs to"),
            "ce_causationid": text("the id of the event that caused this one"),
            "ce_runid": text("the durable run that published it"),
            "ce_traceparent": text("W3C trace context"),
        },
    }


def _channel(topic: str, declared: Topic | None, messages: list[_Message]) -> dict[str, Any]:
    if declared is None:
        return {
            "address": topic,
            "description": "A hivebus system topic, created by the runtime, not this topology.",
        }
    channel: dict[str, Any] = {"address": topic}
    if declared.description:
        channel["description"] = declared.description
    channel["messages"] = {
        m.key: ref("components", "messages", m.key) for m in messages if topic in m.topics
    }
    kafka: dict[str, Any] = {"partitions": declared.partitions}
    if declared.replication > 0:
        kafka["replicas"] = declared.replication
    if settings := _topic_configuration(declared):
        kafka["topicConfiguration"] = settings
    kafka["bindingVersion"] = KAFKA_BINDING
    channel["bindings"] = {"kafka": kafka}
    return channel


def _topic_configuration(topic: Topic) -> dict[str, Any]:
    settings: dict[str, Any] = dict(topic.config)
    for key in _INTEGER_CONFIGS:
        if key in settings and settings[key].lstrip("-").isdigit():
            settings[key] = int(settings[key])
    if topic.retention is not None:
        settings["retention.ms"] = retention_ms(topic.retention)
    if topic.cleanup is not None:
        settings["cleanup.policy"] = topic.cleanup.split(",")
    return settings


def _operations(wired: list[Wired], found: list[Flow], messages: list[_Message]) -> dict[str, Any]:
    """Per agent: a `receive` for each topic it reads, then a `send` for each it writes."""
    agents = {agent.name: agent for agent in wired}
    operations: dict[str, Any] = {}
    for flow in found:
        agent = agents[flow.agent]
        action = "receive" if flow.direction == "reads" else "send"
        verb = "reads" if action == "receive" else "writes"
        operation: dict[str, Any] = {
            "action": action,
            "channel": ref("channels", flow.topic),
            "title": f"{agent.name} {verb} {flow.topic}",
        }
        if agent.agent.description:
            operation["summary"] = agent.agent.description
        keys = [
            m.key for m in messages if flow.topic in m.topics and m.contract.fullname in flow.types
        ]
        if keys:
            operation["messages"] = [ref("channels", flow.topic, "messages", key) for key in keys]
        if action == "receive":
            group = {"type": "string", "enum": [agent.name]}
            operation["bindings"] = {"kafka": {"groupId": group, "bindingVersion": KAFKA_BINDING}}
            subscriptions = sorted({h.topic for h in agent.agent.handlers if h.matches(flow.topic)})
            operation["x-hivebus-subscriptions"] = subscriptions
        operations[f"{agent.name}.{action}.{flow.topic}"] = operation
    return operations


def _servers(bootstrap: str, registry: str) -> dict[str, Any]:
    """One server per bootstrap address: `kafka`, or `kafka-1`, `kafka-2`... for several."""
    hosts = [host.strip() for host in bootstrap.split(",") if host.strip()]
    binding = {
        "schemaRegistryUrl": registry,
        "schemaRegistryVendor": "confluent",
        "bindingVersion": KAFKA_BINDING,
    }
    servers = {}
    for number, host in enumerate(hosts, start=1):
        name = "kafka" if len(hosts) == 1 else f"kafka-{number}"
        servers[name] = {
            "host": host,
            "protocol": "kafka",
            "description": "Kafka bootstrap server",
            "bindings": {"kafka": dict(binding)},
        }
    return servers

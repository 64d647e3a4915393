"""The local stack: Apache Kafka (KRaft) and a Confluent-compatible schema registry."""

from hivebus.dev.stack import Endpoints, LocalStack, UpReport, external_endpoints

__all__ = ["Endpoints", "LocalStack", "UpReport", "external_endpoints"]

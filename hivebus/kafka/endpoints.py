"""Where the Kafka cluster is, for code that needs only the address; the whole connection
configuration (TLS, SASL, client settings) is `connection.py`'s."""

from hivebus.kafka.connection import bootstrap_servers
from hivebus.kafka.defaults import DEFAULT_HOST, DEFAULT_KAFKA_PORT
from hivebus.kafka.sources import BOOTSTRAP_ENV

__all__ = ["BOOTSTRAP_ENV", "DEFAULT_HOST", "DEFAULT_KAFKA_PORT", "bootstrap_servers"]

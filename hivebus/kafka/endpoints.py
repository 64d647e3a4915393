"""Where the Kafka cluster is: `KAFKA_BOOTSTRAP_SERVERS`, else the local dev stack's default."""

import os

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_KAFKA_PORT = 19092


def bootstrap_servers() -> str:
    """The bootstrap servers every hivebus client connects to."""
    return os.environ.get(BOOTSTRAP_ENV) or f"{DEFAULT_HOST}:{DEFAULT_KAFKA_PORT}"

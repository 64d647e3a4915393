"""Where the schema registry is: `SCHEMA_REGISTRY_URL`, else the local dev stack's default.

The URL is the Confluent-compatible API root: for Apicurio that is `<base>/apis/ccompat/v7`.
"""

import os

from hivebus.kafka.endpoints import DEFAULT_HOST

REGISTRY_ENV = "SCHEMA_REGISTRY_URL"
DEFAULT_REGISTRY_PORT = 18081
CCOMPAT_PATH = "/apis/ccompat/v7"


def registry_url() -> str:
    """The schema registry URL every hivebus serializer uses."""
    default = f"http://{DEFAULT_HOST}:{DEFAULT_REGISTRY_PORT}{CCOMPAT_PATH}"
    return os.environ.get(REGISTRY_ENV) or default

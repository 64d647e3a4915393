"""Where the schema registry is, for code that needs only the URL; its credentials and TLS
are `registry_config.py`'s.

The URL is the Confluent-compatible API root: for Apicurio that is `<base>/apis/ccompat/v7`.
"""

from hivebus.contracts.registry_config import (
    CCOMPAT_PATH,
    DEFAULT_REGISTRY_PORT,
    REGISTRY_ENV,
    registry_url,
)

__all__ = ["CCOMPAT_PATH", "DEFAULT_REGISTRY_PORT", "REGISTRY_ENV", "registry_url"]

"""LLM access through the openai SDK, with metering and an offline provider.

`LLM.from_env()` talks to any OpenAI-compatible server when `HIVEBUS_LLM_BASE_URL` or an API
key is set, and to the deterministic `OfflineProvider` otherwise.
"""

from hivebus.llm.client import LLM
from hivebus.llm.completion import Completion
from hivebus.llm.errors import LLMError, LLMReplyError, LLMRequestError
from hivebus.llm.offline import OfflineProvider
from hivebus.llm.settings import LLMSettings
from hivebus.llm.usage import Usage

__all__ = [
    "LLM",
    "Completion",
    "LLMError",
    "LLMReplyError",
    "LLMRequestError",
    "LLMSettings",
    "OfflineProvider",
    "Usage",
]

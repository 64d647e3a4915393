"""What an LLM call cost: tokens times the model's price, from a table the deployment sets.

Prices change and differ per contract, so none are built in: `Audit(prices={...})` or
`HIVEBUS_AUDIT_PRICES='{"gpt-4o-mini": [0.15, 0.60]}'`, in any currency per million prompt
and completion tokens. A model is matched by its exact name, then by the longest name it
starts with (`gpt-4o-mini-2024-07-18` takes `gpt-4o-mini`). The offline provider costs 0;
a model with no price has no cost (null), rather than a made-up one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from hivebus.envvars import env
from hivebus.errors import ConfigError
from hivebus.llm.offline import OFFLINE_MODEL

Price = tuple[float, float]  # per million prompt tokens, per million completion tokens


class Prices:
    def __init__(self, table: Mapping[str, Price] | None = None) -> None:
        self._table: dict[str, Price] = {OFFLINE_MODEL: (0.0, 0.0)}
        for model, price in (table or {}).items():
            self._table[model] = _price(model, price)
        self._longest_first = sorted(self._table, key=len, reverse=True)

    @classmethod
    def from_env(cls, table: Mapping[str, Price] | None = None) -> Prices:
        """`table` over what `HIVEBUS_AUDIT_PRICES` says."""
        raw = env("HIVEBUS_AUDIT_PRICES")
        found: dict[str, Price] = {}
        if raw is not None:
            try:
                parsed = json.loads(raw)
            except json.JSONDecodeError as error:
                raise ConfigError(f"HIVEBUS_AUDIT_PRICES is not JSON: {error}") from None
            if not isinstance(parsed, dict):
                raise ConfigError("HIVEBUS_AUDIT_PRICES must be a JSON object of model: [p, c]")
            found = {str(model): _price(model, price) for model, price in parsed.items()}
        return cls({**found, **(table or {})})

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self._table.get(model)
        if price is None:
            price = next((self._table[m] for m in self._longest_first if model.startswith(m)), None)
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


def _price(model: object, price: object) -> Price:
    if (
        isinstance(price, list | tuple)
        and len(price) == 2
        and all(isinstance(p, int | float) and p >= 0 for p in price)
    ):
        return float(price[0]), float(price[1])
    raise ConfigError(
        f"the price of {model!r} must be [per million prompt tokens, per million completion "
        f"tokens], got {price!r}"
    )

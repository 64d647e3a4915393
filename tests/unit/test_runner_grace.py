"""The revoke's wait follows the drain grace: a grace over the old fixed 60 s rebalance
timeout no longer kills the consumer thread (defect 3 of the runtime-core issue)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from hivebus import Agent, Context
from hivebus.contracts import Serde
from hivebus.runtime.runner import REBALANCE_MARGIN_S, AgentRunner
from tests.integration.runtime_contracts import Ping


@pytest.mark.parametrize("grace_s", [2.0, 90.0, 600.0])
async def test_the_consumer_waits_for_the_revoke_longer_than_the_grace(grace_s: float) -> None:
    agent = Agent("grace-check")

    @agent.on("pings", Ping)
    async def handle(ping: Ping, ctx: Context) -> None:
        return None

    runner = AgentRunner(
        agent, serde=cast(Serde, None), producer=cast(Any, None), llm_factory=cast(Any, None),
        instance="test", drain_grace_s=grace_s,
    )  # fmt: skip
    try:
        timeout = runner.consumer._rebalance_timeout_s
        assert timeout == grace_s + REBALANCE_MARGIN_S
        assert timeout > grace_s + 10  # room for the cancelled jobs' unwinding and the commit
    finally:
        runner.consumer.consumer.close()

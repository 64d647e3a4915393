"""A durable agent that speaks A2A and does what the A2A conformance kit asks of an agent.

The kit (a2aproject/a2a-tck) says what it wants by the prefix of a message's id
(scenarios/*.feature there): complete, make artifacts of each kind, wait for input, reject,
stream. Everything here is a plain hivebus run: steps are the `working` updates, a wait for
the signal "input" is `input-required`, the `A2AReply` it returns is the artifacts and the
closing message. Run by `bench/a2a_tck.py` with A2A_TCK_AGENT / _SOURCE / _OUTPUT set, and
built in-process by the gateway's A2A tests.
"""

from __future__ import annotations

import os

from hivebus import Agent, DurableContext
from hivebus.gateway.a2a import A2AArtifact, A2AMessage, A2APart, A2AReply

STREAMING_TIMEOUT_S = float(os.environ.get("TCK_STREAMING_TIMEOUT", "2"))
TEXT = "text/plain"


def text(value: str) -> A2AArtifact:
    return A2AArtifact(parts=[A2APart(text=value)])


def file() -> A2AArtifact:
    return A2AArtifact(parts=[A2APart(raw=b"tck", filename="output.txt", media_type=TEXT)])


# Prefix -> what the run returns after a `working` step (None: no step, the reply at once).
STREAMED = {
    "tck-stream-001": [text("Stream hello from TCK")],
    "tck-stream-003": [text("Stream task lifecycle")],
    "tck-stream-ordering-001": [text("Ordered output")],
    "tck-stream-artifact-text": [text("Streamed text content")],
    "tck-stream-artifact-chunked": [
        A2AArtifact(artifact_id="chunked", parts=[A2APart(text="chunk-1 ")]),
        A2AArtifact(
            artifact_id="chunked", parts=[A2APart(text="chunk-2")], append=True, last_chunk=True
        ),
    ],
    "tck-stream-artifact-file": [file()],
}
AT_ONCE = {
    "tck-stream-002": A2AReply(),
    "tck-complete-task": A2AReply(text="Hello from TCK"),
    "tck-message-response": A2AReply(text="Direct message response", as_message=True),
    "tck-artifact-text": A2AReply(artifacts=[text("Generated text content")]),
    "tck-artifact-file-url": A2AReply(
        artifacts=[
            A2AArtifact(
                parts=[
                    A2APart(
                        url="https://example.com/output.txt", filename="output.txt", media_type=TEXT
                    )
                ]
            )
        ]
    ),
    "tck-artifact-file": A2AReply(artifacts=[file()]),
    "tck-artifact-data": A2AReply(
        artifacts=[A2AArtifact(parts=[A2APart.of_data({"key": "value", "count": 42})])]
    ),
    "tck-reject-task": A2AReply(text="rejected", rejected=True),
}


def _work(label: str) -> str:
    return label


def tck_agent(name: str, source: str, output: str) -> Agent:
    agent = Agent(name, durable=True, description="the A2A conformance kit's system under test")

    @agent.on(source, A2AMessage, output=output)
    async def answer(message: A2AMessage, ctx: DurableContext) -> A2AReply:
        while True:
            found = _prefix(message.message_id, [*STREAMED, *AT_ONCE, "tck-input-required"])
            if found == "tck-input-required":  # the answer is handled as a message again
                message = A2AMessage.model_validate(await ctx.wait_for("input"))
                continue
            if found in STREAMED:
                await ctx.step("work", _work, found)
                return A2AReply(artifacts=STREAMED[found])
            if found in AT_ONCE:
                return AT_ONCE[found]
            if message.message_id.startswith("test-resubscribe-message-id"):
                await ctx.step("work", _work, "long")
                await ctx.sleep(2 * STREAMING_TIMEOUT_S)
                return A2AReply()
            return A2AReply(text=f"Unhandled messageId prefix: {message.message_id}")

    return agent


def _prefix(message_id: str, prefixes: list[str]) -> str | None:
    """The longest prefix that fits (tck-artifact-file-url before tck-artifact-file)."""
    fitting = [p for p in prefixes if message_id.startswith(p)]
    return max(fitting, key=len) if fitting else None


if "A2A_TCK_AGENT" in os.environ:
    agent = tck_agent(
        os.environ["A2A_TCK_AGENT"], os.environ["A2A_TCK_SOURCE"], os.environ["A2A_TCK_OUTPUT"]
    )

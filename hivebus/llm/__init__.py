"""LLM access through the openai SDK, with metering and an offline provider."""

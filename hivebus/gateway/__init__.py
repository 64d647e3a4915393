"""HTTP API, streamed task status, A2A."""

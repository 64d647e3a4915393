"""Durable runs: journal, steps, timers, waits, exactly-once."""

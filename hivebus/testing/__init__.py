"""Helpers for tests that need a real Kafka broker and schema registry."""

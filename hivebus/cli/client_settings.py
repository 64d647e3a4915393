"""`--consumer-config` / `--producer-config KEY=VALUE`: librdkafka settings on the command line."""

from __future__ import annotations

import argparse


def key_value(text: str) -> tuple[str, str]:
    """KEY=VALUE as a pair; `check_settings` has librdkafka judge the key and the value."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()

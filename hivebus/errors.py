"""The exception every hivebus failure a user can act on derives from."""


class HivebusError(Exception):
    """An error whose message says what went wrong and how to fix it."""


class ConfigError(HivebusError):
    """Invalid configuration; the message names the offending field or variable."""

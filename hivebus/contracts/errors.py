"""The failures of the contracts layer, each one a `HivebusError` a user can act on."""

from __future__ import annotations

from hivebus.errors import HivebusError

BAD_MAGIC_BYTE = "bad-magic-byte"
UNKNOWN_SCHEMA_ID = "unknown-schema-id"
TRUNCATED_AVRO = "truncated-avro"
INCOMPATIBLE_SCHEMA = "incompatible-schema"
NOT_AVRO = "not-avro"
UNSUPPORTED_SCHEMA = "unsupported-schema"
INVALID_RECORD = "invalid-record"


class ContractError(HivebusError):
    """A contract cannot be loaded, bound or used; the message names the file or model."""


class ContractDriftError(ContractError):
    """A pydantic face no longer matches its `.avsc`; the message lists each offending field."""


class IncompatibleContract(ContractError):
    """The registry refused a schema (HTTP 409) under the subject's compatibility level."""

    def __init__(self, subject: str, fullname: str, level: str, reasons: list[str]) -> None:
        self.subject = subject
        self.fullname = fullname
        self.level = level
        self.reasons = reasons
        why = "; ".join(reasons) or "the registry gave no detail"
        super().__init__(
            f"{fullname} is not {level}-compatible with subject '{subject}': {why}. "
            "Give new fields defaults, keep field types, or register under a new subject."
        )


class UndecodableRecord(HivebusError):
    """An event value that no handler can ever read: the runtime sends it to the dead-letter topic.

    `reason` is a short stable token (`bad-magic-byte`, `unknown-schema-id`, `truncated-avro`, ...)
    that goes into the DLQ headers, so tools can group failures without parsing prose.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class RegistryUnavailable(HivebusError):
    """The schema registry did not answer in time, refused the connection or failed (HTTP 5xx).

    The record or contract that needed it is fine: a retry once the registry is back will work,
    so this never sends a record to the dead-letter topic.
    """

    def __init__(self, url: str, action: str, failure: str) -> None:
        self.url = url
        self.action = action
        self.failure = failure
        super().__init__(f"the schema registry at {url} is unavailable ({action}): {failure}")


class RegistryAccessDenied(RegistryUnavailable):
    """The registry refused the credentials (HTTP 401) or their rights (403).

    Like an outage, it says nothing about the record: one held back waits for fixed
    credentials instead of being dead-lettered. The message names the setting to check.
    """

    def __init__(self, url: str, action: str, failure: str, hint: str) -> None:
        self.url, self.action, self.failure = url, action, failure
        HivebusError.__init__(
            self, f"the schema registry at {url} refused access ({action}): {failure}; {hint}"
        )

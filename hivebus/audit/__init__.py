"""The black box: every decision of an audited agent, on `hivebus.audit`, and what reads it.

`Agent(..., middleware=[Audit()])` records, for each event the agent handles, the decision
(input by reference, outputs, outcome, duration), each step, each LLM call (model, prompt and
reply by reference, tokens, latency, cost) and each dead letter, as immutable Avro
`AuditEvent`s (in `AuditBatch` records) written through the agent's outbox. `AuditStore`
projects them into SQLite (a run's timeline, statistics per agent, cost per correlation),
restorable anywhere by reading the topic again;
`hivebus history trace` and `hivebus history at` read it. See docs/history.md.
"""

from hivebus.audit.middleware import Audit
from hivebus.audit.records import AuditBatch, AuditBlob, AuditEvent
from hivebus.audit.settings import AuditSettings

__all__ = ["Audit", "AuditBatch", "AuditBlob", "AuditEvent", "AuditSettings"]

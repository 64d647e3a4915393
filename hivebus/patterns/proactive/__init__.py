"""Proactive agents: a detector over a metrics stream emits `AnomalyDetected`, and agents
that subscribe to the anomalies act on them before anyone asks (a root-cause agent, say).
See docs/patterns/proactive.md.
"""

from hivebus.patterns.proactive.detector import detector
from hivebus.patterns.proactive.records import AnomalyDetected
from hivebus.patterns.proactive.rule import Judged, ZScore

__all__ = ["AnomalyDetected", "Judged", "ZScore", "detector"]

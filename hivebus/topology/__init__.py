"""Topology as code: `topology/*.yaml` declares topics, contracts and agents; plan and apply
bring a cluster and registry in line with it, and the same file runs, documents and deploys
the agents."""

from hivebus.topology.load import Loaded, load_topology
from hivebus.topology.model import AgentEntry, Contract, Topic, Topology
from hivebus.topology.source import TopologyError
from hivebus.topology.wiring import Wired, wire

__all__ = [
    "AgentEntry",
    "Contract",
    "Loaded",
    "Topic",
    "Topology",
    "TopologyError",
    "Wired",
    "load_topology",
    "wire",
]

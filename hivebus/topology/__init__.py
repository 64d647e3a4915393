"""Topology: YAML model of topics, contracts and agents; plan and apply."""

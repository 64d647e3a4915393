"""Audit events, projections, trace and replay."""

"""Multi-agent coordination patterns built from the runtime primitives."""

"""hivebus: multi-agent AI systems on Apache Kafka."""

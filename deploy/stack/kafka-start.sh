#!/bin/sh
# One KRaft node (broker + controller) from the local stack's own server.properties, its
# placeholders filled from the environment; storage is formatted on the first start only.
set -eu
data=/data/kafka
config=/data/server.properties
sed -e "s|\${host}|$KAFKA_HOST|g" -e "s|\${kafka_port}|$KAFKA_PORT|g" \
    -e "s|\${controller_port}|$KAFKA_CONTROLLER_PORT|g" -e "s|\${data_dir}|$data|g" \
    /opt/kafka/server.properties >"$config"
if grep -q '\${' "$config"; then
    echo "kafka-start.sh: server.properties has a placeholder this script does not fill:" >&2
    grep '\${' "$config" >&2
    exit 1
fi
logging=-Dlog4j2.configurationFile=/opt/kafka/log4j2.yaml
if [ ! -f "$data/meta.properties" ]; then
    cluster=$(java "$logging" -cp '/opt/kafka/libs/*' kafka.tools.StorageTool random-uuid)
    java "$logging" -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format \
        --cluster-id="$cluster" -c "$config"
fi
# exec: the broker is PID 1 and gets SIGTERM itself, for a controlled shutdown.
exec java "-Xms256m" "-Xmx${KAFKA_HEAP_MB}m" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true "$logging" -cp '/opt/kafka/libs/*' kafka.Kafka "$config"

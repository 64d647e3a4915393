#!/bin/sh
# Apicurio Registry, Confluent-compatible at /apis/ccompat/v7, on the ports the environment names.
set -eu
export QUARKUS_HTTP_HOST="$REGISTRY_HOST" QUARKUS_HTTP_PORT="$REGISTRY_PORT"
export QUARKUS_MANAGEMENT_HOST="$REGISTRY_HOST" QUARKUS_MANAGEMENT_PORT="$REGISTRY_MANAGEMENT_PORT"
# C1 only: starts faster, and the registry's load is a few cached lookups.
exec java "-Xmx${REGISTRY_HEAP_MB}m" -XX:TieredStopAtLevel=1 -jar /opt/registry/quarkus-run.jar

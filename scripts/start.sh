#!/usr/bin/env bash
# `npm start`: runs the gateway. With no KAFKA_BROKERS it runs on the embedded demo feed.
# `npm start -- --kafka-demo` runs the same demo through a local Kafka broker instead
# (scripts/kafka-demo.sh: starts the broker, a producer and the gateway).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if [ "${1:-}" = "--kafka-demo" ]; then
  shift
  exec bash scripts/kafka-demo.sh "$@"
fi
export SWITCHYARD_PRINT_URLS=1
exec node --import tsx gateway/main.ts "$@"

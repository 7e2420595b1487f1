#!/usr/bin/env bash
# `npm start -- --kafka-demo`: the demo through a real local Kafka broker. Starts the broker
# (state in .kafka-state/, jars cached), the demo producer, then the gateway on the demo topics.
# Ctrl-C stops the gateway and the producer; the broker is stopped too (its data is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
state="${KAFKA_STATE_DIR:-.kafka-state}"
line="$(node --import tsx scripts/kafka.ts start --state "$state" | tail -n 1)"
export "${line?}"
producer_pid=""
cleanup() {
  [ -n "$producer_pid" ] && kill "$producer_pid" 2>/dev/null || true
  node --import tsx scripts/kafka.ts stop --state "$state" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
node --import tsx scripts/demo-producer.ts &
producer_pid=$!
export SWITCHYARD_PRINT_URLS=1
# The demo broker is ours: let the gateway create its rollout topic (production: create it yourself).
export ROLLOUT_CREATE_TOPIC="${ROLLOUT_CREATE_TOPIC:-true}"
node --import tsx gateway/main.ts "$@"

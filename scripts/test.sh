#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh machine. Installs what is missing (npm packages, NGINX,
# Chromium), type-checks and lints, starts one real Kafka broker and one Schema Registry (Apicurio)
# for the run, runs every test file with node's test runner, and stops both whatever happens.
#   npm test                      everything
#   npm test -- test/unit         only the files under the given paths
#   SKIP_CHECKS=1 npm test        skip typecheck, lint and the dependency rules (local iteration)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash scripts/ensure-system.sh

if [ "${SKIP_CHECKS:-0}" != "1" ]; then
  echo "[switchyard] typecheck" >&2
  npx tsc -p tsconfig.json --noEmit
  echo "[switchyard] lint" >&2
  npx biome check .
  echo "[switchyard] dependency rules" >&2
  npm run -s lint:deps
fi

paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(test)
mapfile -t files < <(find "${paths[@]}" -name '*.test.ts' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files under ${paths[*]}" >&2; exit 1; fi

state="$(mktemp -d /tmp/switchyard-kafka.XXXXXX)"
registry_state="$(mktemp -d /tmp/switchyard-registry.XXXXXX)"
registry_out="$(mktemp /tmp/switchyard-registry-url.XXXXXX)"
cleanup() {
  node --import tsx scripts/kafka.ts destroy --state "$state" >/dev/null 2>&1 || true
  node --import tsx scripts/schema-registry.ts destroy --state "$registry_state" >/dev/null 2>&1 || true
  rm -f "$registry_out"
}
trap cleanup EXIT
# The Schema Registry (Apicurio, docs/schema-registry.md) starts next to the broker, not after it.
echo "[switchyard] starting Apicurio Registry (${APICURIO_VERSION:-3.3.3})" >&2
node --import tsx scripts/schema-registry.ts start --state "$registry_state" >"$registry_out" &
registry_pid=$!
echo "[switchyard] starting Kafka (${KAFKA_VERSION:-3.9.1})" >&2
kafka_started=$(date +%s)
# NAME=value lines: KAFKA_BROKERS (PLAINTEXT) and the secure listeners (KAFKA_SASL_SSL_BROKERS, ...).
started_out="$(node --import tsx scripts/kafka.ts start --state "$state")"
mapfile -t env_lines < <(grep -E '^[A-Z_]+=' <<<"$started_out")
for line in "${env_lines[@]}"; do export "${line?}"; done
export SWITCHYARD_KAFKA_STATE="$state"
wait "$registry_pid"
# Exported under the test run's own name: a bare SCHEMA_REGISTRY_URL would configure every gateway.
registry_line="SWITCHYARD_$(tail -n 1 "$registry_out")"
export "${registry_line?}"
export SWITCHYARD_SCHEMA_REGISTRY_STATE="$registry_state"
echo "[switchyard] Kafka up in $(( $(date +%s) - kafka_started )) s: ${env_lines[*]}; ${registry_line}; running ${#files[@]} test files" >&2

mkdir -p test-artifacts
# One file at a time: some tests restart the shared broker or measure memory.
node --import tsx --test --test-force-exit --test-reporter=spec --test-concurrency=1 --test-timeout=300000 "${files[@]}"

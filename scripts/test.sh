#!/usr/bin/env bash
# The whole suite, as `npm test` runs it (and CI, through .ci/run): bring up the real local stack
# (Postgres, Redis, Kafka, MinIO on loopback; installed on first use), then lint with module boundaries,
# type-check, and run every Jest project (unit, integration, end-to-end) against that stack.
set -euo pipefail
cd "$(dirname "$0")/.."

export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true
export KAFKAJS_NO_PARTITIONER_WARNING=1

step() { printf '\n==> %s\n' "$*"; }

step "runtime: Node $(node --version) ($(command -v node))"

step "local stack (deploy/local/stack.sh start)"
bash deploy/local/stack.sh start
eval "$(bash deploy/local/stack.sh env)"
export BERTH_STACK_READY=1

step "lint (ESLint with Nx module boundaries)"
npx nx show projects >/dev/null # caches the project graph the module-boundary rule reads
npx eslint --max-warnings 0 .

step "type-check"
npx tsc -p tsconfig.json --noEmit

step "tests (Jest: unit, integration, e2e)"
# Integration tests mostly wait on servers, so two workers pay off even on two cores.
npx jest --ci --maxWorkers=2 "$@"

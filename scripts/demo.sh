#!/usr/bin/env bash
# The demo: per-CPU counters bumped by migrating threads, host data and
# dynamic data through one formula, then the runtime's usage.
set -euo pipefail
build=${1:-build/default}
echo "== percpu-demo: 4 threads x 1,000,000 increments, migrating between CPUs"
"$build/demo/percpu-demo" 4 1000000
echo
echo "== the same with 64 simulated CPUs (PERCPU_NR_CPUS=64)"
PERCPU_NR_CPUS=64 "$build/demo/percpu-demo" 4 200000 | tail -4

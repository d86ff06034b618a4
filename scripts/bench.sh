#!/usr/bin/env bash
# The main job: sets up the machine, builds udpperf and runs its loopback
# benchmark sweep. Extra arguments go to `udpperf bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
mkdir -p out
go build -o out/udpperf ./cmd/udpperf
exec ./out/udpperf bench --chart out/udpperf-bench.svg --out out/udpperf-bench.json "$@"

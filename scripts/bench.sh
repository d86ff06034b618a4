#!/usr/bin/env bash
# The main job: sets up the machine, builds udpperf and runs its loopback
# benchmark sweep. Extra arguments go to `udpperf bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
mkdir -p out
echo "building udpperf (the first build compiles the modules, about a minute)" >&2
go build -o out/udpperf ./cmd/udpperf
echo "running udpperf bench on loopback (by default ten cases of 2 s each, about 30 s)" >&2
exec ./out/udpperf bench --chart out/udpperf-bench.svg --out out/udpperf-bench.json "$@"

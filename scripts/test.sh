#!/usr/bin/env bash
# Runs every test, under the race detector, after setting up the machine.
# Tests that need root, network namespaces or BPF run for real when this
# runs as root; elsewhere they skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
go vet ./...
go test -race -count=1 -timeout 20m ./... "$@"

#!/usr/bin/env bash
# Runs every test, under the race detector, after setting up the machine.
# Tests that need root, network namespaces or BPF run for real when this
# runs as root; elsewhere they skip and say why.
#
# Every 15 s a line on standard error says what is running, for how long,
# and which test package finished last; go test's own lines (ok, FAIL) go
# to standard output unchanged, and the exit status is go vet's or go
# test's.
set -euo pipefail
cd "$(dirname "$0")/.."

state=$(mktemp)
log=$(mktemp)
echo "setting up the machine" >"$state"

# ticker prints the phase, the time since the start and, during go test,
# the package that finished last.
ticker() {
	local start=$SECONDS
	while sleep 15 >/dev/null 2>&1; do
		local last
		last=$(grep -E '^(ok|FAIL|\?) ' "$log" | tail -n 1 || true)
		echo "test.sh: $((SECONDS - start)) s, $(cat "$state")${last:+; last finished: $last}" >&2
	done
}
ticker &
ticker_pid=$!
trap 'kill "$ticker_pid" 2>/dev/null || true; rm -f "$state" "$log"' EXIT

bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
echo "go vet ./..." >"$state"
go vet ./...
echo "go test -race ./... (packages print ok or FAIL as they finish)" >"$state"
go test -race -count=1 -timeout 20m ./... "$@" | tee "$log"

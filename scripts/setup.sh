#!/usr/bin/env bash
# Installs what building and testing udpstream needs on a fresh Debian
# machine: a C compiler (cgo, the race detector and the C reference tools),
# iproute2 (the `ip` and `tc` commands some root-only tests run), iperf3
# (a test compares udpperf's JSON with iperf3's) and the Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin"
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if ! command -v iperf3 >/dev/null 2>&1; then
	echo "setup: will install iperf3, the reference udpperf's JSON is checked against"
	need+=(iperf3)
fi
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "setup: installing ${need[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		echo "setup: please install: ${need[*]}" >&2
		exit 1
	fi
fi
command -v go >/dev/null 2>&1 || { echo "setup: Go 1.26 is required (go not found)" >&2; exit 1; }
go mod download

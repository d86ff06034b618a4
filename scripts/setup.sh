#!/usr/bin/env bash
# Installs what building and testing udpstream needs on a fresh Debian
# machine: a C compiler (cgo, the race detector and the C reference tools),
# iproute2 (the `ip` and `tc` commands some root-only tests run),
# python3-zmq (pyzmq over libzmq: the peer of the engine/zmq interop tests),
# iperf3 (a test compares udpperf's JSON with iperf3's), sockperf (the
# reference of bench/latency-compare.sh) and the Go modules.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PATH:/usr/local/go/bin"
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
/usr/bin/python3 -c 'import zmq' >/dev/null 2>&1 || need+=(python3-zmq)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
command -v sockperf >/dev/null 2>&1 || need+=(sockperf)
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
echo "setup: fetching the Go modules (the first time takes a minute)"
go mod download

#!/usr/bin/env bash
# Datagram rates on loopback at 1472 bytes, unpaced: the real iperf3
# client against udpperf's server and against iperf3's own server, and
# udpperf's client (UDP GSO) against both. Runs BenchmarkIperf3Interop in
# bench/iperf3 ROUNDS times (default 3), alternating the four pairs inside
# each round, SECONDS per run (default 3), and prints the machine's load
# before and after: figures taken on a loaded machine are lower bounds.
#
#   bash scripts/iperf3-compare.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-3}
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install -y iperf3)" >&2; exit 1; }
echo "load before: $(uptime)"
IPERF3_BENCH_SECONDS=$secs go test -run '^$' -bench 'Iperf3Interop' -benchtime 1x -count "$rounds" ./bench/iperf3 |
	awk '/^BenchmarkIperf3Interop\// {
		name = $1; sub(/^BenchmarkIperf3Interop\//, "", name); sub(/-[0-9]+$/, "", name)
		for (i = 3; i < NF; i++) { if ($(i+1) == "rx_dgram/s") rx[name] = rx[name] " " $i; if ($(i+1) == "tx_dgram/s") tx[name] = tx[name] " " $i }
		if (!(name in seen)) { order[++n] = name; seen[name] = 1 }
	}
	END {
		printf "%-40s %-36s %s\n", "pair (1472 B, -b 0)", "received datagrams/s (each round)", "sent datagrams/s"
		for (i = 1; i <= n; i++) printf "%-40s %-36s %s\n", order[i], rx[order[i]], tx[order[i]]
	}'
echo "load after: $(uptime)"

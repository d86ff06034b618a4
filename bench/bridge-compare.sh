#!/usr/bin/env bash
# Loopback throughput of the Rogue stream bridge (engine/zmq) next to the
# UDP path, in one run on this machine: for 1472- and 8972-byte frames,
#
#   bridge: BenchmarkBridge (a TcpServer sending to a TcpClient in one
#           process, as fast as the client takes them)
#   udp:    udpperf client -> udpperf server, transport mmsg, no rate limit
#
# back to back, RUNS times, the order swapped every run, so that each pair
# shares the machine's condition of the moment. Prints one line per run
# and size, with the bridge/udp ratio of the payload rates.
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 3), PORT
# (default 5311).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-3}
port=${PORT:-5311}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$top" && go test -c -o "$work/zmq.test" ./engine/zmq && go build -o "$work/udpperf" ./cmd/udpperf)

# bridge SIZE: prints "frames/s Gbit/s" of the bridge benchmark.
bridge() {
	(cd "$top/engine/zmq" && "$work/zmq.test" -test.run '^$' -test.bench "^BenchmarkBridge/$1\$" \
		-test.benchtime "${secs}s" -test.benchmem) |
		awk -v size="$1" '/^BenchmarkBridge/ { for (i = 1; i <= NF; i++) if ($(i+1) == "frames/s") f = $i } END { printf "%.0f %.3f\n", f, f * size * 8 / 1e9 }'
}

# udp SIZE: prints the receiver's "datagrams/s Gbit/s" of a udpperf run.
udp() {
	local jumbo=()
	[ "$1" -gt 1472 ] && jumbo=(--jumbo)
	"$work/udpperf" server --port "$port" --bind 127.0.0.1 --one-off "${jumbo[@]}" >/dev/null 2>"$work/server.err" &
	local srv=$!
	for _ in $(seq 50); do grep -q "listening" "$work/server.err" 2>/dev/null && break; sleep 0.1; done
	"$work/udpperf" client --host 127.0.0.1 --port "$port" --size "$1" --time "$secs" --transport mmsg --json 2>/dev/null |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["end"]["sum_received"]; print("%.0f %.3f" % (r["datagrams_per_second"], r["bits_per_second"]/1e9))'
	wait "$srv" || true
}

printf "%-4s %-6s %14s %10s %14s %10s %8s\n" run size "bridge fr/s" "Gbit/s" "udp dgram/s" "Gbit/s" ratio
for run in $(seq "$runs"); do
	for size in 1472 8972; do
		if [ $((run % 2)) -eq 1 ]; then
			b=$(bridge "$size"); u=$(udp "$size")
		else
			u=$(udp "$size"); b=$(bridge "$size")
		fi
		read -r bf bg <<<"$b"
		read -r uf ug <<<"$u"
		if [ "${bf:-0}" = 0 ] || [ "${uf:-0}" = 0 ]; then
			echo "bridge-compare.sh: cannot compare: a side measured nothing at $size B (bridge ${bf:-none} frames/s, udp ${uf:-none} datagrams/s)" >&2
			exit 1
		fi
		printf "%-4s %-6s %14s %10s %14s %10s %8.2f\n" "$run" "$size" "$bf" "$bg" "$uf" "$ug" "$(python3 -c "print($bg / $ug if $ug else 0)")"
	done
done

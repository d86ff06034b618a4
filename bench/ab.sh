#!/usr/bin/env bash
# Two builds of udpperf side by side, to tell whether a change made the
# engine slower: OLD and NEW (default: this tree's udpperf) each receive
# from the same C sender (refsend -> udpperf server) and send into the
# same C receiver (udpperf client --raw -> refrecv), for mmsg and gro at
# 1472 and 8972 bytes, senders on one CPU and receivers on another. The
# runs of a pair are back to back, their order swapped every pair; the
# ratio NEW/OLD is the median of the per-pair ratios, with their range.
# Receiver rows add each server's user CPU per datagram (cpu_user of its
# JSON over the datagrams received).
#
#   bash bench/ab.sh OLD_UDPPERF [NEW_UDPPERF]
#
# An old build is made with, for example:
#   git worktree add /tmp/old REV && (cd /tmp/old && go build -o /tmp/udpperf-old ./cmd/udpperf)
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 5), PORT
# (default 5321).
set -euo pipefail

name=ab.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-5}
port=${PORT:-5321}
old=${1:?usage: bash bench/ab.sh OLD_UDPPERF [NEW_UDPPERF]}
new=${2:-$work/udpperf}

# received FILE: "datagrams user-ns-per-datagram" from a server's JSON.
received() {
	python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum_received"]
n = s["packets"]
print(n, "%.1f" % (s["cpu_user"] * 1e9 / n if n else 0))' "$1"
}

# serve BIN TRANSPORT PAYLOAD BLASTMODE: refsend into BIN's server.
serve() {
	local jumbo=()
	[ "$3" -gt 1472 ] && jumbo=(--jumbo)
	"${rx[@]}" "$1" server --port "$port" --transport "$2" --batch 64 "${jumbo[@]}" \
		--time $((secs + 5)) --idle-exit 500ms --json >"$work/server.json" 2>"$work/server.err" &
	local srv=$!
	pids+=("$srv")
	wait_listening "$work/server.err"
	"${tx[@]}" "$refsend" "$port" "$3" "$secs" "$4" 64 >"$work/sender.json"
	check_counted "$work/sender.json" "refsend $4"
	wait "$srv" || true
	received "$work/server.json"
}

# send BIN TRANSPORT PAYLOAD SINKMODE: BIN's raw client into refrecv.
send() {
	"${rx[@]}" "$refrecv" "$port" $((secs + 5)) "$4" 64 >"$work/sink.json" &
	local sink=$!
	pids+=("$sink")
	wait_bound "$port"
	"${tx[@]}" "$1" client --host 127.0.0.1 --port "$port" --raw --size "$3" --time "$secs" \
		--transport "$2" --batch 64 --interval 1h >/dev/null 2>&1 || true
	wait "$sink" || true
	check_counted "$work/sink.json" "refrecv $4 (sender: $1)"
	field datagrams "$work/sink.json"
}


# pairs FUNC TRANSPORT PAYLOAD MODE: runs old and new alternately, then
# prints the row.
pairs() {
	: >"$work/a" && : >"$work/b"
	for r in $(seq "$runs"); do
		if [ $((r % 2)) -eq 1 ]; then
			"$1" "$old" "$2" "$3" "$4" >>"$work/a"
			"$1" "$new" "$2" "$3" "$4" >>"$work/b"
		else
			"$1" "$new" "$2" "$3" "$4" >>"$work/b"
			"$1" "$old" "$2" "$3" "$4" >>"$work/a"
		fi
	done
	local ratios
	ratios=$(paste -d' ' <(cut -d' ' -f1 "$work/a") <(cut -d' ' -f1 "$work/b") | awk '{ printf "%.3f\n", ($1 > 0 ? $2 / $1 : 0) }')
	printf '%-8s %-5s %7s %12.0f %12.0f %6.2f %11s' "$1" "$2" "$3" \
		"$(cut -d' ' -f1 "$work/a" | median)" "$(cut -d' ' -f1 "$work/b" | median)" \
		"$(echo "$ratios" | median)" "$(echo "$ratios" | sort -n | head -n1)-$(echo "$ratios" | sort -n | tail -n1)"
	if [ "$1" = serve ]; then
		printf '   %8s %8s' "$(cut -d' ' -f2 "$work/a" | median)" "$(cut -d' ' -f2 "$work/b" | median)"
	fi
	echo
}

echo "old: $old" >&2
echo "new: $new" >&2
echo "NEW/OLD, $runs alternating pairs of ${secs}s runs; datagrams counted by the receiver"
printf '%-8s %-5s %7s %12s %12s %6s %11s   %8s %8s\n' side transport payload "old dgrams" "new dgrams" ratio range "old u-ns" "new u-ns"
for t in mmsg gro; do
	blast=mmsg sink=mmsg
	[ "$t" = gro ] && blast=gso sink=gro
	for size in 1472 8972; do
		echo "serve $t $size B" >&2
		pairs serve "$t" "$size" "$blast"
	done
	for size in 1472 8972; do
		echo "send $t $size B" >&2
		pairs send "$t" "$size" "$sink"
	done
done

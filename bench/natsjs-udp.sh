#!/usr/bin/env bash
# The UDP side of bench/natsjs.sh: udpperf client --raw sends SIZE-byte
# PRBS datagrams at RATE datagrams/s for SECONDS (default 5) to udpperf
# server --raw --publish, which hands every datagram to the engine's
# JetStream publisher and a broker started in the same process
# (--nats-embedded, file store in a temporary folder), all on loopback.
# It prints what the client sent, what the server received, the
# server's loss count (missing by sequence, or the kernel's and the
# ring's drops if more) and what the publisher had acknowledged. Exit 0
# when it measured and nothing was lost, 3 when something was lost, 1
# when it cannot measure.
# Usage: bash bench/natsjs-udp.sh SIZE RATE [SECONDS]
# (UDPPERF=path uses a built udpperf; SERVER_FLAGS adds server flags.)
set -euo pipefail
name=natsjs-udp
usage="usage: bash bench/natsjs-udp.sh SIZE RATE [SECONDS]"
size=${1:?$usage}
rate=${2:?$usage}
secs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
work=$(mktemp -d)
srv=
cleanup() {
	[ -z "$srv" ] || kill "$srv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export PATH="$PATH:/usr/local/go/bin"
cannot() {
	echo "$name: cannot measure: $*" >&2
	exit 1
}
case "$size$rate$secs" in *[!0-9]*) cannot "SIZE, RATE and SECONDS are whole numbers ($usage)" ;; esac
udpperf=${UDPPERF:-}
if [ -z "$udpperf" ]; then
	echo "$name: building udpperf (go build)" >&2
	(cd "$top" && go build -o "$work/udpperf" ./cmd/udpperf) || cannot "go build ./cmd/udpperf failed"
	udpperf=$work/udpperf
fi
jumbo=()
[ "$size" -le 1472 ] || jumbo=(--jumbo)
nats=${NATS_PORT:-$((20000 + RANDOM % 20000))}
udp=${UDP_PORT:-$((40000 + RANDOM % 20000))}

# num KEY FILE [SECTION]: the first number under "KEY" (after "SECTION").
num() {
	local from=${3:-}
	if [ -n "$from" ]; then sed -n "/\"$from\": {/,\$p" "$2"; else cat "$2"; fi |
		sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -n1
}

echo "$name: udpperf server --raw --publish nats://127.0.0.1:$nats/udpbench --nats-embedded (UDP port $udp)"
# shellcheck disable=SC2086 # SERVER_FLAGS is a list of flags
"$udpperf" server --raw --port "$udp" --bind 127.0.0.1 --one-off --json "${jumbo[@]}" ${SERVER_FLAGS:-} \
	--publish "nats://127.0.0.1:$nats/udpbench" --nats-embedded "$work/js" >"$work/srv.json" 2>"$work/srv.err" &
srv=$!
for _ in $(seq 300); do
	grep -q "listening" "$work/srv.err" 2>/dev/null && grep -q "publishing" "$work/srv.err" && break
	kill -0 "$srv" 2>/dev/null || { cat "$work/srv.err" >&2; cannot "the server exited before listening"; }
	sleep 0.1
done
grep -q "publishing" "$work/srv.err" || cannot "the server did not start publishing within 30 s"
echo "$name: udpperf client --raw: $size-byte PRBS datagrams at ${rate} datagrams/s for ${secs} s; load: $(uptime | sed 's/.*load/load/')"
"$udpperf" client --raw --host 127.0.0.1 --port "$udp" --time "${secs}s" --rate "${rate}pps" --size "$size" "${jumbo[@]}" \
	--prbs --json >"$work/cl.json" 2>"$work/cl.err" || { cat "$work/cl.err" >&2; cannot "the client failed"; }
for _ in $(seq 300); do
	kill -0 "$srv" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$srv" 2>/dev/null && cannot "the server did not end within 30 s of the client"
wait "$srv" || true
srv=
sent=$(num packets "$work/cl.json" sum_sent)
secs_sent=$(sed -n '/"sum_sent": {/,$p' "$work/cl.json" | sed -n 's/.*"seconds": *\([0-9.]*\).*/\1/p' | head -n1)
got=$(num packets "$work/srv.json" sum_received)
lost=$(num lost_packets "$work/srv.json" sum_received)
kdrops=$(num kernel_drops "$work/srv.json" sum_received)
rdrops=$(num ring_drops "$work/srv.json" sum_received)
prbs=$(num prbs_errors "$work/srv.json" sum_received)
frames=$(num frames "$work/srv.json" publish)
acked=$(num acked "$work/srv.json" publish)
full=$(num dropped_full "$work/srv.json" publish)
given=$(num unacked "$work/srv.json" publish)
if [ -z "$sent" ] || [ "$sent" = 0 ] || [ -z "$got" ] || [ -z "$lost" ] || [ -z "$frames" ] || [ -z "$acked" ]; then
	cat "$work/srv.err" "$work/cl.err" >&2
	cannot "no counts in the client's or the server's report"
fi
# A datagram the kernel or the ring dropped is also missing by sequence:
# the loss is the larger of the two counts, not their sum.
drops=$((${kdrops:-0} + ${rdrops:-0}))
loss=$((lost > drops ? lost : drops))
reached=$(awk -v n="$sent" -v s="${secs_sent:-0}" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
echo "$name: size $size: asked $rate/s, client sent $sent datagrams ($reached/s); server received $got," \
	"UDP loss $loss (missing by sequence $lost; kernel drops ${kdrops:-0}, ring drops ${rdrops:-0}), PRBS errors ${prbs:-0};" \
	"publisher: $frames frames, $acked acknowledged, $((frames - acked)) not (full $full, given up $given)"
echo "$name: (the server counts the session's 2 control datagrams as frames; its datagram counts do not)"
[ "$reached" -ge $((rate * 95 / 100)) ] ||
	echo "$name: the client reached $reached of the $rate datagrams/s asked (the machine's limit, not the server's): the check holds at the rate reached"
if [ "$loss" != 0 ] || [ "$got" != "$sent" ] || [ "$acked" != "$frames" ]; then
	echo "$name: LOSS at $size bytes, $reached datagrams/s"
	exit 3
fi
echo "$name: lossless at $size bytes, $reached datagrams/s"

#!/usr/bin/env bash
# Kills the JetStream broker (SIGKILL) in the middle of a udpperf run and
# restarts it on the same store, ROUNDS times (default 3): udpperf client
# -> udpperf server --publish -> nats-server -js -> udpperf consume. Per
# round it prints what the client sent, what the server received, what
# the publisher had acknowledged and not (dropped while the broker was
# away, given up), and what a reader got afterwards; "ok" when the
# reader got exactly the acknowledged frames, none missing by sequence
# and none out of order. Needs a nats-server binary with JetStream in
# PATH (Debian: apt-get install nats-server, 2.9.10). Loopback only.
set -euo pipefail
name=natsjs-kill
rounds=${ROUNDS:-3}
rate=${RATE:-30kpps}
command -v nats-server >/dev/null || { echo "$name: no nats-server in PATH; nothing to do"; exit 0; }
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
work=$(mktemp -d)
broker=
cleanup() {
	[ -z "$broker" ] || kill "$broker" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export PATH="$PATH:/usr/local/go/bin"
echo "building: udpperf (go build)" >&2
(cd "$top" && go build -o "$work/udpperf" ./cmd/udpperf)
udpperf=$work/udpperf
port=${NATS_PORT:-14322}
udp=${UDP_PORT:-5391}

start_broker() {
	nats-server -js -sd "$work/js" -a 127.0.0.1 -p "$port" >>"$work/broker.log" 2>&1 &
	broker=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "$name: nats-server did not start:" >&2
	cat "$work/broker.log" >&2
	return 1
}
# num KEY FILE [SECTION]: the first number under "KEY" (after "SECTION").
num() {
	local from=${3:-}
	if [ -n "$from" ]; then sed -n "/\"$from\": {/,\$p" "$2"; else cat "$2"; fi |
		sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" | head -n1
}

echo "nats-server $(nats-server --version | sed 's/.*v//'), rate $rate, 1472-byte PRBS datagrams, 4 s a round; load: $(uptime | sed 's/.*load/load/')"
printf "%-5s %8s %8s %8s %10s %8s %8s %8s %8s %8s %8s %s\n" round sent received acked "not acked" "dropped" "given up" resent read missing "out of order" verdict
fail=0
for r in $(seq "$rounds"); do
	start_broker
	"$udpperf" server --port "$udp" --bind 127.0.0.1 --one-off --json --publish "nats://127.0.0.1:$port/kill.r$r" >"$work/srv.json" 2>"$work/srv.err" &
	srv=$!
	sleep 1
	"$udpperf" client --host 127.0.0.1 --port "$udp" --time 4 --rate "$rate" --prbs --size 1472 --json >"$work/cl.json" 2>"$work/cl.err" &
	cl=$!
	sleep 1.5
	kill -9 "$broker"
	wait "$broker" 2>/dev/null || true
	sleep 1
	start_broker
	wait "$cl" || true
	wait "$srv" || true
	"$udpperf" consume "nats://127.0.0.1:$port/kill.r$r" --idle-exit 1s --time 60s --json >"$work/con.json" 2>"$work/con.err" || true
	sent=$(num packets "$work/cl.json" sum_sent)
	got=$(num packets "$work/srv.json" sum_received)
	acked=$(num acked "$work/srv.json" publish)
	frames=$(num frames "$work/srv.json" publish)
	full=$(num dropped_full "$work/srv.json" publish)
	given=$(num unacked "$work/srv.json" publish)
	resent=$(num resent "$work/srv.json" publish)
	read=$(num frames "$work/con.json" jetstream)
	gaps=$(num gaps "$work/con.json" jetstream)
	back=$(num backward "$work/con.json" jetstream)
	verdict=ok
	if [ "$read" != "$acked" ] || [ "$back" != 0 ] || { [ "$given" = 0 ] && [ "$gaps" != 0 ]; }; then
		verdict=FAIL
		fail=1
	fi
	printf "%-5s %8s %8s %8s %10s %8s %8s %8s %8s %8s %8s %s\n" "$r" "$sent" "$got" "$acked" "$((frames - acked))" "$full" "$given" "$resent" "$read" "$gaps" "$back" "$verdict"
	kill "$broker" 2>/dev/null || true
	wait "$broker" 2>/dev/null || true
	broker=
done
echo "(server counts include the session's 2 control datagrams; publisher and reader count frames; resent: messages sent again after the kill)"
exit "$fail"

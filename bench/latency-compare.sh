#!/usr/bin/env bash
# Round trips of small datagrams, one in flight: udpperf against sockperf,
# in one run, on the same CPUs.
#
#   sockperf   sockperf server               <- sockperf ping-pong --full-rtt -m SIZE
#   in-process udpperf latency (client and echo server in one process)
#   host       udpperf server --low-latency  <- udpperf latency --host 127.0.0.1
#   host-np    udpperf server (netpoller)    <- udpperf latency --host 127.0.0.1
#
# udpperf latency runs in its default mode (low latency) unless OURS_FLAGS
# says otherwise. Servers run on the second allowed CPU and clients on the
# first (taskset); the in-process run gets both CPUs and pins its two
# threads the same way. Each pair runs the four back to back, the order
# reversed every other pair. For each side the table gives p50 and p99 of the round
# trip in microseconds, median (lowest-highest) over the pairs, and the
# ratio ours/sockperf as the median of the per-pair ratios with their
# range. sockperf discards its first 400 ms, and so does udpperf latency.
#
# Environment: SECONDS_PER_RUN (default 5), RUNS (default 5), PORT (default
# 5321), SIZE (default 64), TRANSPORT (default mmsg), OURS_FLAGS (extra
# flags for udpperf latency, such as --no-low-latency or --spin 50us).
set -euo pipefail

name=latency-compare.sh
c_tools=no
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${SECONDS_PER_RUN:-5}
runs=${RUNS:-5}
port=${PORT:-5321}
size=${SIZE:-64}
transport=${TRANSPORT:-mmsg}
read -r -a ours_flags <<<"${OURS_FLAGS:-}"

if ! command -v sockperf >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$name: sockperf is missing; install the Debian package sockperf" >&2
		exit 1
	fi
	echo "$name: installing sockperf (the reference round-trip tool)" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sockperf >/dev/null
fi
both=()
if [ "${#allowed_cpus[@]}" -ge 2 ]; then
	both=(taskset -c "${allowed_cpus[0]},${allowed_cpus[1]}")
fi

# stop PID: ends a background server and waits for it.
stop() {
	kill -INT "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# sockperf_run: prints "p50 p99" of one sockperf ping-pong, in
# microseconds (sockperf prints its percentiles in usec).
sockperf_run() {
	"${rx[@]}" sockperf server -i 127.0.0.1 -p "$port" >"$work/sps.out" 2>&1 &
	local srv=$!
	pids+=("$srv")
	sleep 0.3
	"${tx[@]}" sockperf ping-pong -i 127.0.0.1 -p "$port" -m "$size" -t "$secs" --full-rtt >"$work/spc.out" 2>&1 || {
		echo "$name: sockperf ping-pong failed:" >&2
		cat "$work/spc.out" >&2
	}
	stop "$srv"
	awk '/---> percentile 50.000 =/ { p50 = $NF } /---> percentile 99.000 =/ { p99 = $NF }
		END { if (p50 == "" || p99 == "") exit 1; print p50, p99 }' "$work/spc.out" || {
		echo "$name: no percentiles in sockperf's output:" >&2
		cat "$work/spc.out" >&2
		exit 1
	}
}

# latency_json FILE: "p50 p99" of udpperf latency's JSON document.
latency_json() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["end"]["results"][0]
if r.get("error"):
    sys.exit("udpperf latency: " + r["error"])
print(r["p50_us"], r["p99_us"])
PY
}

# inproc_run: prints "p50 p99" of udpperf latency with its own echo server.
inproc_run() {
	"${both[@]}" "$work/udpperf" latency --transport "$transport" --size "$size" --time "$secs" \
		"${ours_flags[@]}" --json >"$work/lat.json" 2>"$work/lat.err" || {
		echo "$name: udpperf latency failed:" >&2
		cat "$work/lat.err" >&2
	}
	latency_json "$work/lat.json"
}

# host_run [SERVER FLAGS]: prints "p50 p99" of udpperf latency --host
# against udpperf server.
host_run() {
	: >"$work/srv.err"
	"${rx[@]}" "$work/udpperf" server --raw --port "$port" --transport "$transport" "$@" \
		--interval 1h >"$work/srv.err" 2>&1 &
	local srv=$!
	pids+=("$srv")
	wait_listening "$work/srv.err"
	"${tx[@]}" "$work/udpperf" latency --host 127.0.0.1 --port "$port" --transport "$transport" \
		--size "$size" --time "$secs" "${ours_flags[@]}" --json >"$work/lat.json" 2>"$work/lat.err" || {
		echo "$name: udpperf latency --host failed:" >&2
		cat "$work/lat.err" "$work/srv.err" >&2
	}
	stop "$srv"
	latency_json "$work/lat.json"
}

echo "$size B round trips, $transport, $runs alternating pairs of ${secs}s runs" >&2
: >"$work/sp" && : >"$work/in" && : >"$work/ho" && : >"$work/hn"
for r in $(seq "$runs"); do
	if [ $((r % 2)) -eq 1 ]; then
		sockperf_run >>"$work/sp"
		inproc_run >>"$work/in"
		host_run --low-latency >>"$work/ho"
		host_run >>"$work/hn"
	else
		host_run >>"$work/hn"
		host_run --low-latency >>"$work/ho"
		inproc_run >>"$work/in"
		sockperf_run >>"$work/sp"
	fi
	echo "pair $r: sockperf $(tail -n1 "$work/sp"), in-process $(tail -n1 "$work/in"), host $(tail -n1 "$work/ho"), host-np $(tail -n1 "$work/hn")" >&2
done

# col N FILE: column N over the pairs, "median (lo-hi)".
col() { cut -d' ' -f"$1" "$2" | spread %.1f; }
# ratio N FILE: per-pair ratios of column N, FILE over sockperf, "median (lo-hi)".
ratio() { paste -d' ' "$work/sp" "$2" | awk -v n="$1" '{ if ($n > 0) printf "%.3f\n", $(2 + n) / $n }' | spread %.2f; }

echo
echo "Round trip, $size B, one in flight, $transport${OURS_FLAGS:+ ($OURS_FLAGS)}: $runs alternating pairs of ${secs}s; us, median (lowest-highest)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) CPUs; clients on CPU ${allowed_cpus[0]:-any}, servers on CPU ${allowed_cpus[1]:-any}"
printf '%-12s %-22s %-22s %-18s %-18s\n' side "p50 us" "p99 us" "p50 ours/sockperf" "p99 ours/sockperf"
printf '%-12s %-22s %-22s %-18s %-18s\n' sockperf "$(col 1 "$work/sp")" "$(col 2 "$work/sp")" - -
printf '%-12s %-22s %-22s %-18s %-18s\n' in-process "$(col 1 "$work/in")" "$(col 2 "$work/in")" "$(ratio 1 "$work/in")" "$(ratio 2 "$work/in")"
printf '%-12s %-22s %-22s %-18s %-18s\n' host "$(col 1 "$work/ho")" "$(col 2 "$work/ho")" "$(ratio 1 "$work/ho")" "$(ratio 2 "$work/ho")"
printf '%-12s %-22s %-22s %-18s %-18s\n' host-np "$(col 1 "$work/hn")" "$(col 2 "$work/hn")" "$(ratio 1 "$work/hn")" "$(ratio 2 "$work/hn")"

#!/usr/bin/env bash
# The PRBS soak: COUNT datagrams of Rogue PRBS frames, udpperf client --raw
# --prbs --transport gso into udpperf server --raw --transport gro --prbs,
# the sender at full speed (RATE max) on the first allowed CPU and the
# server on the second (lib.sh), with a session, so that the server knows
# exactly what was sent. It prints what was sent and received, the rate,
# the PRBS errors and the datagrams lost, and exits 1 when any datagram
# failed the check or was lost, or when fewer than COUNT were sent.
#
# The client sends for a time, not a count: a first run of CALIBRATE
# seconds measures the sender's rate, and the soak then sends for COUNT /
# rate seconds plus MARGIN (a fraction, default 0.3), so that at least
# COUNT datagrams go out if the rate holds.
#
# Environment: COUNT (default 100000000; 1000000 tries it in seconds),
# SIZE (default 1472), RATE (default max), PORT (default 5315), CALIBRATE
# (default 3), MARGIN (default 0.3).
set -euo pipefail

name=prbs-soak.sh
c_tools=no
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
count=${COUNT:-100000000}
size=${SIZE:-1472}
rate=${RATE:-max}
port=${PORT:-5315}
calibrate=${CALIBRATE:-3}
margin=${MARGIN:-0.3}
count=$(awk -v c="$count" 'BEGIN { printf "%d", c }') # accepts 1e8
if [ "$count" -lt 1 ]; then
	echo "$name: COUNT must be at least 1" >&2
	exit 2
fi
jumbo=()
[ "$size" -gt 1472 ] && jumbo=(--jumbo)

# pair SECONDS: one session of the client into the server; leaves the
# server's JSON in $work/server.json and the client's exit status in
# $work/client.rc.
pair() {
	: >"$work/server.err"
	"${rx[@]}" "$work/udpperf" server --raw --port "$port" --transport gro --batch 64 --prbs "${jumbo[@]}" \
		--time "$(awk -v s="$1" 'BEGIN { printf "%d", s + 60 }')" --idle-exit 5s --one-off --json \
		>"$work/server.json" 2>"$work/server.err" &
	local server=$!
	pids+=("$server")
	wait_listening "$work/server.err"
	local rc=0
	"${tx[@]}" "$work/udpperf" client --raw --prbs --host 127.0.0.1 --port "$port" --size "$size" --rate "$rate" \
		--time "$1" --transport gso --batch 64 --interval 10s --json >"$work/client.json" 2>"$work/client.err" || rc=$?
	echo "$rc" >"$work/client.rc"
	wait "$server" || true
}

# summary: "sent received seconds dgram/s prbs_errors lost kernel_drops"
# of the session that just ended.
summary() {
	python3 - "$work/server.json" <<'PY'
import json, sys
end = json.load(open(sys.argv[1]))["end"]
r = end["sum_received"]
s = end.get("sessions") or [{}]
print(s[0].get("sent_packets", 0), r["packets"], "%.3f" % r["seconds"], round(r["datagrams_per_second"]),
      r["prbs_errors"], r["lost_packets"], r["kernel_drops"])
PY
}

echo "$name: calibrating, ${calibrate}s at rate $rate, $size B" >&2
pair "$calibrate"
# The sender's rate: the soak counts datagrams sent.
cal_rate=$(python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_sent"]["datagrams_per_second"]))' "$work/client.json" 2>/dev/null || echo 0)
if [ "${cal_rate:-0}" = 0 ]; then
	cat "$work/client.err" "$work/server.err" >&2
	cannot "the calibration run received nothing"
fi
secs=$(awk -v c="$count" -v r="$cal_rate" -v m="$margin" 'BEGIN { s = c / r * (1 + m); printf "%.1f", (s < 1 ? 1 : s) }')
echo "$name: $cal_rate datagrams/s; soaking $count datagrams: ${secs}s" >&2
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
pair "$secs"
read -r sent received seconds dps errors lost drops < <(summary)

echo
echo "PRBS soak: udpperf client --raw --prbs --transport gso -> udpperf server --raw --transport gro --prbs, $size B, rate $rate"
echo "load: $start_load at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (1, 5, 15 min) on $(nproc) CPUs"
echo
echo "| sent | received | seconds | dgram/s | PRBS errors | lost | kernel drops |"
echo "|---|---|---|---|---|---|---|"
echo "| $sent | $received | $seconds | $dps | $errors | $lost | $drops |"
echo
status=0
if [ "$errors" != 0 ] || [ "$lost" != 0 ]; then
	echo "$name: FAILED: $errors PRBS errors, $lost lost" >&2
	tail -n 2 "$work/server.err" >&2
	status=1
fi
if [ "$sent" -lt "$count" ]; then
	echo "$name: sent $sent, fewer than COUNT=$count (the rate fell below the calibration's); raise MARGIN" >&2
	status=1
fi
if [ "$(cat "$work/client.rc")" != 0 ] && [ "$status" = 0 ]; then
	echo "$name: the client exited with status $(cat "$work/client.rc"):" >&2
	tail -n 5 "$work/client.err" >&2
	status=1
fi
[ "$status" = 0 ] && echo "soak: met ($sent datagrams, 0 PRBS errors, 0 lost)"
exit "$status"

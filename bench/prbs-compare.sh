#!/usr/bin/env bash
# What checking every byte costs a receiver: udpperf server --transport gro
# with and without --prbs against the same sender, udpperf client --raw
# --no-session --prbs --transport gso, which sends Rogue PRBS frames in
# both runs (and opens no session, so the server without --prbs does not
# check them), so that only the check differs.
#
# Sender pinned to the first allowed CPU, server to the second (lib.sh).
# Each round runs both servers back to back, the order swapped every round;
# the ratio is the median of the per-round ratios of received datagrams
# per second (with --prbs / without), its range the lowest and highest. A
# server's CPU is its process's user and system time (wait4's rusage,
# start-up and idle wait included) divided by the datagrams it received.
# The --prbs runs must find no PRBS error; the script fails otherwise.
#
# With OLD set to another udpperf binary (an older build), every round also
# runs OLD's server with --prbs, and the table adds its row and the ratio
# new / old of the --prbs servers.
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 5), PORT
# (default 5313), SIZES (default 1472), OLD (default none), SERVER_FLAGS
# (default none: more flags for every server, such as --batch 16).
set -euo pipefail

name=prbs-compare.sh
c_tools=no
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-5}
port=${PORT:-5313}
sizes=${SIZES:-1472}
old=${OLD:-}
read -r -a server_flags <<<"${SERVER_FLAGS:-}"
if [ -n "$old" ] && [ ! -x "$old" ]; then
	echo "$name: OLD=$old is not an executable udpperf" >&2
	exit 2
fi

# one BIN PAYLOAD [--prbs]: the sender into BIN's server; prints
# "received dgram/s user_ns sys_ns prbs_errors".
one() {
	local bin=$1 payload=$2 jumbo=()
	shift 2
	[ "$payload" -gt 1472 ] && jumbo=(--jumbo)
	: >"$work/server.err"
	"${rx[@]}" "${timed[@]}" "$bin" server --raw --port "$port" --transport gro --batch 64 "${jumbo[@]}" \
		--time $((secs + 10)) --idle-exit 2s --one-off --json "${server_flags[@]}" "$@" >"$work/server.json" 2>"$work/server.err" &
	local server=$!
	pids+=("$server")
	wait_listening "$work/server.err"
	"${tx[@]}" "$work/udpperf" client --raw --no-session --prbs --host 127.0.0.1 --port "$port" --size "$payload" \
		--time "$secs" --transport gso --batch 64 --json >"$work/client.json" 2>"$work/client.err" || {
		echo "$name: udpperf client failed:" >&2
		cat "$work/client.err" >&2
		exit 1
	}
	wait "$server" || true
	local u s
	read -r u s < <(cputime "$work/server.err")
	python3 - "$work/server.json" "$u" "$s" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["end"]["sum_received"]
n, t = r["packets"], r["seconds"]
u, s = float(sys.argv[2]), float(sys.argv[3])
print(n, round(n / t) if t > 0 else 0, "%.1f" % (u * 1e9 / n if n else 0), "%.1f" % (s * 1e9 / n if n else 0), r["prbs_errors"])
PY
}

# col N FILE: column N of every run, "median (lo-hi)".
col() { cut -d' ' -f"$1" "$2" | spread; }
# colm N FILE: col in millions.
colm() { cut -d' ' -f"$1" "$2" | awk '{ printf "%.3f\n", $1 / 1e6 }' | spread %s M; }
# ratios N AFILE BFILE: per-round ratios B/A of column N, one per line.
ratios() { paste -d' ' "$2" "$3" | awk -v n="$1" '{ a = $n; b = $(5 + n); if (a > 0) printf "%.3f\n", b / a }'; }

rows=()
for payload in $sizes; do
	: >"$work/plain" && : >"$work/prbs" && : >"$work/old"
	echo "$payload B: $runs rounds of ${secs}s runs, server gro without and with --prbs" >&2
	for r in $(seq "$runs"); do
		steps=(plain prbs)
		[ -n "$old" ] && steps+=(old)
		n=${#steps[@]}
		for i in $(seq 0 $((n - 1))); do
			case ${steps[$(((i + r) % n))]} in
			plain) one "$work/udpperf" "$payload" >>"$work/plain" ;;
			prbs) one "$work/udpperf" "$payload" --prbs >>"$work/prbs" ;;
			old) one "$old" "$payload" --prbs >>"$work/old" ;;
			esac
		done
	done
	errs=$(awk '{ s += $5 } END { print s + 0 }' "$work/prbs")
	if [ "$errs" != 0 ]; then
		echo "$name: the --prbs server found $errs PRBS errors in $payload B frames" >&2
		exit 1
	fi
	rows+=("| $payload B, without --prbs | $(colm 2 "$work/plain") | | $(col 3 "$work/plain") | $(col 4 "$work/plain") |")
	rows+=("| $payload B, --prbs | $(colm 2 "$work/prbs") | $(ratios 2 "$work/plain" "$work/prbs" | spread) | $(col 3 "$work/prbs") | $(col 4 "$work/prbs") |")
	if [ -n "$old" ]; then
		rows+=("| $payload B, OLD --prbs | $(colm 2 "$work/old") | $(ratios 2 "$work/plain" "$work/old" | spread) | $(col 3 "$work/old") | $(col 4 "$work/old") |")
		rows+=("| $payload B, new / OLD, --prbs | | $(ratios 2 "$work/old" "$work/prbs" | spread) | $(ratios 3 "$work/old" "$work/prbs" | spread) | |")
	fi
	# The line targets.sh reads.
	echo "prbs-ratio $payload $(ratios 2 "$work/plain" "$work/prbs" | tr '\n' ' ')" >>"$work/ratios"
done

echo
echo "PRBS check cost, server --transport gro, sender udpperf client --raw --no-session --prbs --transport gso; $runs rounds of ${secs}s runs, order swapped each round; median (lowest-highest)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) CPUs"
[ -n "$old" ] && echo "OLD: $old"
[ ${#server_flags[@]} -gt 0 ] && echo "udpperf server flags: ${server_flags[*]}"
echo
echo "| server | dgram/s | with / without --prbs, per round | user ns/dgram | sys ns/dgram |"
echo "|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "$r"; done
echo
cat "$work/ratios"

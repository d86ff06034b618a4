#!/usr/bin/env bash
# What a received datagram costs: udpperf's receivers and its own pair side
# by side with the project's plain C tools (tools/csrc), in one run.
#
#   gro  receiver: refsend gso -> refrecv gro   vs  refsend gso -> udpperf server --transport gro
#   mmsg receiver: refsend gso -> refrecv mmsg  vs  refsend gso -> udpperf server --transport mmsg
#   pair:          refsend gso -> refrecv gro   vs  udpperf client --transport gso -> udpperf server --transport gro
#
# each at 1472 and 8972 bytes, senders pinned to the first allowed CPU and
# receivers to the second (taskset). Each comparison runs RUNS rounds back
# to back, the order rotated every round; a ratio is the median of the
# per-round ratios (ours / C), its range the lowest and highest. A receiver's
# CPU is its process's whole user and system time (wait4's rusage, start-up
# and idle wait included, so slightly above the steady state) divided by
# the datagrams it received; for udpperf also cpu_user of its JSON (the
# session only). Loss is sent minus received, of sent.
#
# With OLD set to another udpperf binary (an older build), every round also
# runs it in the same place, and the table adds its rows and the ratios
# new / old: before and after from one run.
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 5), PORT
# (default 5311), SIZES (default "1472 8972"), KINDS (default
# "gro mmsg pair"), OLD (default none), SERVER_FLAGS (default none: more
# flags for every udpperf server of both builds, such as --low-latency).
set -euo pipefail

name=cost.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-5}
port=${PORT:-5311}
sizes=${SIZES:-"1472 8972"}
kinds=${KINDS:-"gro mmsg pair"}
old=${OLD:-}
read -r -a server_flags <<<"${SERVER_FLAGS:-}"
if [ -n "$old" ] && [ ! -x "$old" ]; then
	echo "cost.sh: OLD=$old is not an executable udpperf" >&2
	exit 2
fi

# per_dgram RECEIVED SECONDS SENT USER SYS [JSON_USER]: the line every run
# prints, "received dgram/s user_ns system_ns loss% json_user_ns".
per_dgram() {
	awk -v d="$1" -v t="$2" -v sent="$3" -v u="$4" -v s="$5" -v ju="${6:-0}" \
		'BEGIN { printf "%d %.0f %.2f %.2f %.3f %.2f\n", d, (t > 0 ? d / t : 0), (d > 0 ? u * 1e9 / d : 0), (d > 0 ? s * 1e9 / d : 0), (sent > 0 ? 100 * (sent - d) / sent : 0), (d > 0 ? ju * 1e9 / d : 0) }'
}

# c_run PAYLOAD SINKMODE: refsend gso -> refrecv SINKMODE.
c_run() {
	"${rx[@]}" "${timed[@]}" "$refrecv" "$port" $((secs + 5)) "$2" 64 >"$work/sink.json" 2>"$work/sink.err" &
	local sink=$!
	pids+=("$sink")
	wait_bound "$port"
	"${tx[@]}" "$refsend" "$port" "$1" "$secs" gso 64 >"$work/blast.json"
	wait "$sink" || true
	check_counted "$work/sink.json" "refrecv $2"
	local u s
	read -r u s < <(cputime "$work/sink.err")
	per_dgram "$(field datagrams "$work/sink.json")" "$(field seconds "$work/sink.json")" \
		"$(field datagrams "$work/blast.json")" "$u" "$s"
}

# server_json FILE: "packets seconds cpu_user" of end.sum_received.
server_json() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["end"]["sum_received"]
print(r["packets"], r["seconds"], r["cpu_user"])
PY
}

# start_server BIN PAYLOAD TRANSPORT: BIN's server, timed, in the background.
start_server() {
	local jumbo=()
	[ "$2" -gt 1472 ] && jumbo=(--jumbo)
	: >"$work/server.err"
	# shellcheck disable=SC2046 # raw_server prints zero or one flag
	"${rx[@]}" "${timed[@]}" "$1" server $(raw_server "$1") --port "$port" --transport "$3" --batch 64 "${jumbo[@]}" \
		--time $((secs + 5)) --idle-exit 500ms --one-off --json "${server_flags[@]}" >"$work/server.json" 2>"$work/server.err" &
	server=$!
	pids+=("$server")
	wait_listening "$work/server.err"
}

# server_line SENT: the per_dgram line of the server that just ended.
server_line() {
	local n sec ju u s
	read -r n sec ju < <(server_json "$work/server.json")
	read -r u s < <(cputime "$work/server.err")
	per_dgram "$n" "$sec" "$1" "$u" "$s" "$ju"
}

# ours_recv BIN PAYLOAD TRANSPORT: refsend gso -> BIN's server.
ours_recv() {
	start_server "$1" "$2" "$3"
	"${tx[@]}" "$refsend" "$port" "$2" "$secs" gso 64 >"$work/blast.json"
	check_counted "$work/blast.json" "refsend gso"
	wait "$server" || true
	server_line "$(field datagrams "$work/blast.json")"
}

# ours_pair BIN PAYLOAD: BIN's client gso -> BIN's server gro.
ours_pair() {
	start_server "$1" "$2" gro
	# shellcheck disable=SC2046 # raw_client prints zero or one flag
	"${tx[@]}" "$1" client $(raw_client "$1") --host 127.0.0.1 --port "$port" --size "$2" --time "$secs" \
		--transport gso --batch 64 --interval 1h --json >"$work/client.json" 2>"$work/client.err" || {
		echo "cost.sh: udpperf client failed:" >&2
		cat "$work/client.err" >&2
	}
	wait "$server" || true
	server_line "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_sent"]["packets"])' "$work/client.json")"
}

# col N FILE: column N of every run, "median (lo-hi)".
col() { cut -d' ' -f"$1" "$2" | spread; }
# colm N FILE: col in millions.
colm() { cut -d' ' -f"$1" "$2" | awk '{ printf "%.2f\n", $1 / 1e6 }' | spread %s M; }
# ratio N AFILE BFILE: per-round ratios B/A of column N, "median (lo-hi)"
# over the rounds whose A figure is not 0 (the C receiver's user CPU is
# often below the kernel's accounting resolution), or "n/a" when none is.
ratio() {
	local v
	v=$(paste -d' ' "$2" "$3" | awk -v n="$1" -v w="$(head -n1 "$2" | wc -w)" '{ a = $n; b = $(w + n); if (a > 0) printf "%.3f\n", b / a }')
	if [ -z "$v" ]; then
		printf 'n/a'
		return
	fi
	echo "$v" | spread %.2f
}

# one KIND BIN PAYLOAD: one run of udpperf build BIN for comparison KIND.
one() {
	case $1 in
	pair) ours_pair "$2" "$3" ;;
	*) ours_recv "$2" "$3" "$1" ;;
	esac
}

# round KIND PAYLOAD R: round R, the C run and each build in rotated order.
round() {
	local sink=gro
	[ "$1" = mmsg ] && sink=mmsg
	local steps=(c new)
	[ -n "$old" ] && steps+=(old)
	local n=${#steps[@]}
	for i in $(seq 0 $((n - 1))); do
		case ${steps[$(((i + $3) % n))]} in
		c) c_run "$2" "$sink" >>"$work/c" ;;
		new) one "$1" "$work/udpperf" "$2" >>"$work/u" ;;
		old) one "$1" "$old" "$2" >>"$work/o" ;;
		esac
	done
}

# row LABEL FILE [CFILE]: a table row for one receiver, with its ratios to
# the C receiver's runs in CFILE.
row() {
	if [ $# -eq 2 ]; then
		echo "| $1 | $(colm 2 "$2") | | $(col 3 "$2") | | | $(col 4 "$2") | | $(col 5 "$2") |"
		return
	fi
	echo "| $1 | $(colm 2 "$2") | $(ratio 2 "$3" "$2") | $(col 3 "$2") | $(col 6 "$2") | $(ratio 3 "$3" "$2") | $(col 4 "$2") | $(ratio 4 "$3" "$2") | $(col 5 "$2") |"
}

rows=()
for payload in $sizes; do
	for kind in $kinds; do
		case $kind in
		gro) what="refsend gso -> receiver gro (C: refrecv gro)" ;;
		mmsg) what="refsend gso -> receiver mmsg (C: refrecv mmsg)" ;;
		pair) what="pair, client gso -> server gro (C: refsend gso -> refrecv gro)" ;;
		*)
			echo "cost.sh: unknown kind $kind (gro, mmsg or pair)" >&2
			exit 2
			;;
		esac
		echo "$payload B, $what: $runs rounds of ${secs}s runs" >&2
		: >"$work/c" && : >"$work/u" && : >"$work/o"
		for r in $(seq "$runs"); do
			round "$kind" "$payload" "$r"
		done
		rows+=("| **$payload B, $what** | | | | | | | | |")
		rows+=("$(row C "$work/c")")
		rows+=("$(row "udpperf" "$work/u" "$work/c")")
		if [ -n "$old" ]; then
			rows+=("$(row "udpperf OLD" "$work/o" "$work/c")")
			rows+=("| new / OLD | | $(ratio 2 "$work/o" "$work/u") | | | $(ratio 3 "$work/o" "$work/u") | | $(ratio 4 "$work/o" "$work/u") | |")
		fi
	done
done

echo
echo "Receive cost, $runs rounds of ${secs}s runs, order rotated each round; median (lowest-highest); CPU per received datagram; ratios to the C receiver of the same round"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) CPUs"
[ -n "$old" ] && echo "OLD: $old"
[ ${#server_flags[@]} -gt 0 ] && echo "udpperf server flags: ${server_flags[*]}"
echo
echo "| receiver | dgram/s | ratio dgram/s | user ns | user ns (JSON) | ratio user | sys ns | ratio sys | lost % |"
echo "|---|---|---|---|---|---|---|---|---|"
for r in "${rows[@]}"; do echo "$r"; done

#!/usr/bin/env bash
# Side-by-side comparison of udpperf with the project's C reference tools
# (tools/csrc), in one run on this machine, fed by the same C sender
# (or draining into the same C receiver) for the same time:
#
#   receiver: refsend -> refrecv        vs  refsend -> udpperf server
#   sender:   refsend -> refrecv        vs  udpperf client --raw -> refrecv
#
# for the batched (mmsg) and offloaded (gso/gro) paths at 1472 and 8972
# bytes, senders pinned to one CPU and receivers to another (taskset). Each
# pair runs RUNS times, back to back, the order swapped every run. The
# ratio is the median of the per-pair ratios: the two runs of a pair share
# the machine's condition of the moment, which on a shared machine can
# halve the rate from one run to the next. The bar is a ratio of at least
# 0.90; the table also gives the medians of each side and the range of the
# pair ratios.
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 5), PORT
# (default 5301), BAR (default 0.90).
set -euo pipefail

name=compare.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-5}
port=${PORT:-5301}
bar=${BAR:-0.90}


# server_figures FILE: "datagrams seconds" from udpperf server --json
# (the "packets" and "seconds" of end.sum_received: datagrams received;
# end.sum counts, as iperf3 does, datagrams sent).
server_figures() {
	awk '/^  "end": \{/ { e = 1 }
		e && /^    "sum_received": \{/ { r = 1 }
		r && /"seconds":/ && s == "" { s = $2 }
		r && /"packets":/ && p == "" { p = $2 }
		END { gsub(",", "", s); gsub(",", "", p); print p, s }' "$1"
}


# run_sink MODE SENDER...: refsend or udpperf client into refrecv;
# prints "datagrams pps".
run_sink() {
	local mode=$1
	shift
	"${rx[@]}" "$refrecv" "$port" $((secs + 5)) "$mode" 64 >"$work/sink.json" &
	local sink=$!
	pids+=("$sink")
	wait_bound "$port"
	"${tx[@]}" "$@" >"$work/sender.out" 2>"$work/sender.err" || {
		echo "compare.sh: sender failed: $*" >&2
		cat "$work/sender.err" >&2
	}
	wait "$sink" || true
	check_counted "$work/sink.json" "refrecv $mode (sender: ${1##*/})"
	echo "$(field datagrams "$work/sink.json") $(field pps "$work/sink.json")"
}

# run_server TRANSPORT PAYLOAD BLASTMODE: refsend into udpperf server;
# prints "datagrams pps".
run_server() {
	local transport=$1 payload=$2 blast=$3 jumbo=()
	[ "$payload" -gt 1472 ] && jumbo=(--jumbo)
	"${rx[@]}" "$work/udpperf" server --port "$port" --transport "$transport" --batch 64 "${jumbo[@]}" \
		--time $((secs + 5)) --idle-exit 500ms --json >"$work/server.json" 2>"$work/server.err" &
	local srv=$!
	pids+=("$srv")
	wait_listening "$work/server.err"
	"${tx[@]}" "$refsend" "$port" "$payload" "$secs" "$blast" 64 >"$work/sender.out"
	check_counted "$work/sender.out" "refsend $blast"
	wait "$srv" || true
	read -r n s < <(server_figures "$work/server.json")
	awk -v n="$n" -v s="$s" 'BEGIN { printf "%d %.0f\n", n, (s > 0 ? n / s : 0) }'
}


rows=()
fails=0
compare_row() { # LABEL SENDER RECEIVER PAYLOAD C_FILE UDPPERF_FILE
	local label=$1 sender=$2 receiver=$3 payload=$4 cfile=$5 ufile=$6
	local cd cp ud up ratios ratio lo hi verdict
	cd=$(cut -d' ' -f1 "$cfile" | median)
	cp=$(cut -d' ' -f2 "$cfile" | median)
	ud=$(cut -d' ' -f1 "$ufile" | median)
	up=$(cut -d' ' -f2 "$ufile" | median)
	# Line i of each file is run i of the pair.
	ratios=$(paste -d' ' "$cfile" "$ufile" | awk '{ printf "%.4f\n", ($1 > 0 ? $3 / $1 : 0) }')
	ratio=$(echo "$ratios" | median | awk '{ printf "%.2f", $1 }')
	lo=$(echo "$ratios" | sort -n | head -n1 | awk '{ printf "%.2f", $1 }')
	hi=$(echo "$ratios" | sort -n | tail -n1 | awk '{ printf "%.2f", $1 }')
	if awk -v r="$ratio" -v b="$bar" 'BEGIN { exit !(r >= b) }'; then verdict="ok"; else verdict="BELOW"; fails=$((fails + 1)); fi
	rows+=("$(printf '%-26s %-22s %-14s %7s %12.0f %12.0f %12.0f %12.0f %6s %11s  %s' "$label" "$sender" "$receiver" "$payload" "$cd" "$cp" "$ud" "$up" "$ratio" "$lo-$hi" "$verdict")")
}

for transport in mmsg gro; do
	blast=mmsg
	[ "$transport" = gro ] && blast=gso
	for payload in 1472 8972; do
		echo "receiver: refsend $blast $payload B -> refrecv $transport vs udpperf server $transport ($runs x ${secs}s each)" >&2
		: >"$work/c" && : >"$work/u"
		for r in $(seq "$runs"); do
			if [ $((r % 2)) -eq 1 ]; then
				run_sink "$transport" "$refsend" "$port" "$payload" "$secs" "$blast" 64 >>"$work/c"
				run_server "$transport" "$payload" "$blast" >>"$work/u"
			else
				run_server "$transport" "$payload" "$blast" >>"$work/u"
				run_sink "$transport" "$refsend" "$port" "$payload" "$secs" "$blast" 64 >>"$work/c"
			fi
		done
		compare_row "receiver: udpperf server" "refsend $blast" "$transport" "$payload" "$work/c" "$work/u"
	done
done

for transport in mmsg gro; do
	blast=mmsg sink=mmsg
	[ "$transport" = gro ] && blast=gso sink=gro
	for payload in 1472 8972; do
		echo "sender: refsend $blast vs udpperf client $transport, $payload B -> refrecv $sink ($runs x ${secs}s each)" >&2
		: >"$work/c" && : >"$work/u"
		client=("$work/udpperf" client --host 127.0.0.1 --port "$port" --raw --size "$payload"
			--time "$secs" --transport "$transport" --batch 64 --interval 1h)
		for r in $(seq "$runs"); do
			if [ $((r % 2)) -eq 1 ]; then
				run_sink "$sink" "$refsend" "$port" "$payload" "$secs" "$blast" 64 >>"$work/c"
				run_sink "$sink" "${client[@]}" >>"$work/u"
			else
				run_sink "$sink" "${client[@]}" >>"$work/u"
				run_sink "$sink" "$refsend" "$port" "$payload" "$secs" "$blast" 64 >>"$work/c"
			fi
		done
		compare_row "sender: udpperf client" "refsend/udpperf $blast" "refrecv $sink" "$payload" "$work/c" "$work/u"
	done
done

echo
echo "udpperf vs the C reference tools, $runs pairs of ${secs}s runs, datagrams counted by the receiver"
echo "(medians of each side; ratio = median of the per-pair ratios udpperf/C, range = lowest-highest pair ratio)"
printf '%-26s %-22s %-14s %7s %12s %12s %12s %12s %6s %11s  %s\n' "comparison" "sender" "receiver" "payload" "C dgrams" "C dgram/s" "udpperf dgr" "udpperf d/s" "ratio" "range" "(bar $bar)"
for r in "${rows[@]}"; do echo "$r"; done
if [ "$fails" -gt 0 ]; then
	echo "$fails comparison(s) below the bar of $bar"
	exit 1
fi
echo "all comparisons at or above the bar of $bar"

#!/usr/bin/env bash
# What a received datagram costs: udpperf's GRO receiver and its own pair
# side by side with the plain C tools of ../shared/tools, in one run.
#
#   (a) receiver: udpblast gso -> udpsink gro      vs  udpblast gso -> udpperf server --transport gro
#       rate, and user and system CPU per received datagram of each receiver
#   (b) pair:     udpblast gso -> udpsink gro      vs  udpperf client --transport gso -> udpperf server --transport gro
#       rate received, and loss (sent minus received, of sent)
#
# at 1472 and 8972 bytes, senders pinned to the first allowed CPU and
# receivers to the second (taskset). Each comparison runs RUNS pairs back
# to back, the order swapped every pair; a ratio is the median of the
# per-pair ratios (ours / C), its range the lowest and highest pair ratio.
# CPU is the receiving process's whole user and system time (wait4's rusage,
# start-up and idle wait included, so slightly above the steady state), and
# for udpperf also cpu_user of its JSON (the session only), divided by the
# datagrams it received.
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 5), PORT
# (default 5311), SIZES (default "1472 8972").
set -euo pipefail

name=cost.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-5}
port=${PORT:-5311}
sizes=${SIZES:-"1472 8972"}
# timed CMD...: runs CMD and writes its user and system CPU seconds, to the
# microsecond, as "TIME user system" on stderr (/usr/bin/time rounds to
# 10 ms, more than the C receiver spends in user space in a run).
timed=(python3 -c 'import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
print("TIME %.6f %.6f" % (ru.ru_utime, ru.ru_stime), file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))')

# cputime FILE: "user system" seconds from /usr/bin/time's line.
cputime() { sed -n 's/^TIME \([0-9.]*\) \([0-9.]*\)$/\1 \2/p' "$1" | tail -n1; }

wait_listening() {
	for _ in $(seq 100); do
		grep -q "listening on UDP port" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "cost.sh: udpperf server did not start:" >&2
	cat "$1" >&2
	return 1
}

# c_run PAYLOAD: udpblast gso -> udpsink gro. Prints
# "received dgram/s user_ns system_ns loss%".
c_run() {
	local payload=$1
	"${rx[@]}" "${timed[@]}" "$work/udpsink" "$port" $((secs + 5)) gro 64 >"$work/sink.json" 2>"$work/sink.err" &
	local sink=$!
	pids+=("$sink")
	sleep 0.3
	"${tx[@]}" "$work/udpblast" "$port" "$payload" "$secs" gso 64 >"$work/blast.json"
	wait "$sink"
	read -r u s < <(cputime "$work/sink.err")
	awk -v d="$(field datagrams "$work/sink.json")" -v p="$(field pps "$work/sink.json")" \
		-v sent="$(field datagrams "$work/blast.json")" -v u="$u" -v s="$s" \
		'BEGIN { printf "%d %.0f %.2f %.2f %.3f\n", d, p, (d > 0 ? u * 1e9 / d : 0), (d > 0 ? s * 1e9 / d : 0), (sent > 0 ? 100 * (sent - d) / sent : 0) }'
}

# server_json FILE: "packets seconds cpu_user" of end.sum_received.
server_json() {
	python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["end"]["sum_received"]
print(r["packets"], r["seconds"], r["cpu_user"])
PY
}

# start_server PAYLOAD: udpperf server --transport gro, timed, in the background.
start_server() {
	local jumbo=()
	[ "$1" -gt 1472 ] && jumbo=(--jumbo)
	: >"$work/server.err"
	"${rx[@]}" "${timed[@]}" "$work/udpperf" server --port "$port" --transport gro --batch 64 "${jumbo[@]}" \
		--time $((secs + 5)) --idle-exit 500ms --one-off --json >"$work/server.json" 2>"$work/server.err" &
	server=$!
	pids+=("$server")
	wait_listening "$work/server.err"
}

# ours_blast PAYLOAD: udpblast gso -> udpperf server. Prints
# "received dgram/s user_ns system_ns loss% json_user_ns".
ours_blast() {
	local payload=$1
	start_server "$payload"
	"${tx[@]}" "$work/udpblast" "$port" "$payload" "$secs" gso 64 >"$work/blast.json"
	wait "$server" || true
	read -r n sec ju < <(server_json "$work/server.json")
	read -r u s < <(cputime "$work/server.err")
	awk -v d="$n" -v t="$sec" -v sent="$(field datagrams "$work/blast.json")" -v u="$u" -v s="$s" -v ju="$ju" \
		'BEGIN { printf "%d %.0f %.2f %.2f %.3f %.2f\n", d, (t > 0 ? d / t : 0), (d > 0 ? u * 1e9 / d : 0), (d > 0 ? s * 1e9 / d : 0), (sent > 0 ? 100 * (sent - d) / sent : 0), (d > 0 ? ju * 1e9 / d : 0) }'
}

# ours_pair PAYLOAD: udpperf client gso -> udpperf server gro. Prints
# "received dgram/s user_ns system_ns loss% json_user_ns".
ours_pair() {
	local payload=$1
	start_server "$payload"
	"${tx[@]}" "$work/udpperf" client --host 127.0.0.1 --port "$port" --size "$payload" --time "$secs" \
		--transport gso --batch 64 --interval 1h --json >"$work/client.json" 2>"$work/client.err" || {
		echo "cost.sh: udpperf client failed:" >&2
		cat "$work/client.err" >&2
	}
	wait "$server" || true
	read -r n sec ju < <(server_json "$work/server.json")
	read -r u s < <(cputime "$work/server.err")
	local sent
	sent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_sent"]["packets"])' "$work/client.json")
	awk -v d="$n" -v t="$sec" -v sent="$sent" -v u="$u" -v s="$s" -v ju="$ju" \
		'BEGIN { printf "%d %.0f %.2f %.2f %.3f %.2f\n", d, (t > 0 ? d / t : 0), (d > 0 ? u * 1e9 / d : 0), (d > 0 ? s * 1e9 / d : 0), (sent > 0 ? 100 * (sent - d) / sent : 0), (d > 0 ? ju * 1e9 / d : 0) }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
# col N FILE: column N of every run, "median (lo-hi)".
col() {
	local v
	v=$(cut -d' ' -f"$1" "$2")
	printf '%s (%s-%s)' "$(echo "$v" | median)" "$(echo "$v" | sort -g | head -n1)" "$(echo "$v" | sort -g | tail -n1)"
}
# ratio N CFILE UFILE: per-pair ratios of column N, "median (lo-hi)" over
# the pairs whose C figure is not 0 (the C receiver's user CPU is often
# below the kernel's accounting resolution), or "n/a" when none is.
ratio() {
	local v
	v=$(paste -d' ' "$2" "$3" | awk -v n="$1" -v w="$(head -n1 "$2" | wc -w)" '{ c = $n; u = $(w + n); if (c > 0) printf "%.3f\n", u / c }')
	if [ -z "$v" ]; then
		printf 'n/a'
		return
	fi
	printf '%.2f (%.2f-%.2f)' "$(echo "$v" | median)" "$(echo "$v" | sort -g | head -n1)" "$(echo "$v" | sort -g | tail -n1)"
}

rows=()
for payload in $sizes; do
	for kind in blast pair; do
		what="udpblast gso -> udpperf server gro"
		[ "$kind" = pair ] && what="udpperf client gso -> udpperf server gro"
		echo "$payload B: udpblast gso -> udpsink gro vs $what ($runs x ${secs}s each)" >&2
		: >"$work/c" && : >"$work/u"
		for r in $(seq "$runs"); do
			if [ $((r % 2)) -eq 1 ]; then
				c_run "$payload" >>"$work/c"
				"ours_$kind" "$payload" >>"$work/u"
			else
				"ours_$kind" "$payload" >>"$work/u"
				c_run "$payload" >>"$work/c"
			fi
		done
		rows+=("$payload B, $what")
		rows+=("  C   dgram/s $(col 2 "$work/c")  user ns/dgram $(col 3 "$work/c")  sys ns/dgram $(col 4 "$work/c")  lost % $(col 5 "$work/c")")
		rows+=("  ours dgram/s $(col 2 "$work/u")  user ns/dgram $(col 3 "$work/u") (json $(col 6 "$work/u"))  sys ns/dgram $(col 4 "$work/u")  lost % $(col 5 "$work/u")")
		rows+=("  ratio ours/C: dgram/s $(ratio 2 "$work/c" "$work/u")  user CPU $(ratio 3 "$work/c" "$work/u")  sys CPU $(ratio 4 "$work/c" "$work/u")")
	done
done

echo
echo "GRO receive cost, $runs alternating pairs of ${secs}s runs; median (lowest-highest); CPU per received datagram"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) on $(nproc) CPUs"
for r in "${rows[@]}"; do echo "$r"; done

#!/usr/bin/env bash
# udpperf -P 2 against -P 1 over loopback, for mmsg and gro at 1472 and
# 8972 bytes, unpaced. Each case runs RUNS pairs of runs back to back, the
# order swapped every pair (-P 1 first, then -P 2 first, ...), because on a
# shared machine the rate changes from one moment to the next; the ratio
# is the median of the per-pair ratios of received datagrams/s.
#
# A run is `udpperf server -P n -1 -J` and `udpperf client -P n -A CPUS -J`
# for SECONDS_PER_RUN seconds: the n senders pinned to the first n allowed
# CPUs (reused when there are fewer), the receivers unpinned.
#
# Environment: SECONDS_PER_RUN (default 2), RUNS (default 3), PORT
# (default 5401).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))
export PATH="$PATH:/usr/local/go/bin"
secs=${SECONDS_PER_RUN:-2}
runs=${RUNS:-3}
port=${PORT:-5401}

work=$(mktemp -d)
srv=""
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building udpperf (the first build fetches modules, about a minute)" >&2
(cd "$top" && go build -o "$work/udpperf" ./cmd/udpperf)
ncpu=$(nproc)
cpus_for() { # the -A list of n streams
	local n=$1 l="" i
	for ((i = 0; i < n; i++)); do l+="${l:+,}$((i % ncpu))"; done
	echo "$l"
}

# one_run TRANSPORT SIZE N: prints "received_dgram_per_s sent_dgram_per_s lost_percent"
one_run() {
	local t=$1 size=$2 n=$3 jumbo=()
	[ "$size" -gt 1472 ] && jumbo=(--jumbo)
	"$work/udpperf" server -P "$n" -p "$port" -B 127.0.0.1 -1 --transport "$t" "${jumbo[@]}" -J >"$work/srv.json" 2>"$work/srv.err" &
	srv=$!
	sleep 0.3
	"$work/udpperf" client -c 127.0.0.1 -p "$port" -P "$n" -A "$(cpus_for "$n")" -t "$secs" -l "$size" \
		--transport "$t" -J >"$work/cli.json" 2>"$work/cli.err" || { cat "$work/cli.err" >&2; }
	wait "$srv" || true
	srv=""
	python3 - "$work/cli.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["end"]
r = e["sum_received"]
print(f'{r["datagrams_per_second"]:.0f} {e["sum_sent"]["datagrams_per_second"]:.0f} {r["lost_percent"]:.2f}')
PY
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "| transport | payload B | -P 1 received dgram/s (median) | -P 2 received dgram/s (median) | ratio -P 2 / -P 1 (median, range) | loss % -P 1 / -P 2 (median) |"
echo "|---|---:|---:|---:|---|---|"
for t in mmsg gro; do
	for size in 1472 8972; do
		: >"$work/p1"
		: >"$work/p2"
		: >"$work/ratio"
		for ((i = 0; i < runs; i++)); do
			if ((i % 2 == 0)); then order="1 2"; else order="2 1"; fi
			for n in $order; do
				one_run "$t" "$size" "$n" >>"$work/p$n"
				echo "  $t $size B -P $n: $(tail -1 "$work/p$n")" >&2
			done
			a=$(tail -1 "$work/p1" | cut -d' ' -f1)
			b=$(tail -1 "$work/p2" | cut -d' ' -f1)
			if [ "${a:-0}" = 0 ] || [ "${b:-0}" = 0 ]; then
				echo "parallel-compare.sh: cannot compare: a run received nothing ($t, $size B: -P 1 ${a:-none}, -P 2 ${b:-none} datagrams/s)" >&2
				exit 1
			fi
			awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", (a > 0) ? b / a : 0 }' >>"$work/ratio"
		done
		m1=$(cut -d' ' -f1 "$work/p1" | median)
		m2=$(cut -d' ' -f1 "$work/p2" | median)
		l1=$(cut -d' ' -f3 "$work/p1" | median)
		l2=$(cut -d' ' -f3 "$work/p2" | median)
		rm_=$(median <"$work/ratio")
		lo=$(sort -g "$work/ratio" | head -1)
		hi=$(sort -g "$work/ratio" | tail -1)
		printf '| %s | %d | %.0f | %.0f | %.2f (%.2f-%.2f) | %s / %s |\n' "$t" "$size" "$m1" "$m2" "$rm_" "$lo" "$hi" "$l1" "$l2"
	done
done

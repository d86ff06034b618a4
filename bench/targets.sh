#!/usr/bin/env bash
# The per-datagram cost targets in one run: receive cost and our own pair
# against the C tools (cost.sh), round trips against sockperf
# (latency-compare.sh), the pool on one and two CPUs and the rings against
# the channel (go test -bench), each with its figures and ranges, then one
# table that says which target is met.
#
#   1  gro and mmsg receivers, 1472 and 8972 B: rate >= 1.0x the C
#      receiver and user CPU <= 20 ns per datagram at 1472 B, <= 40 ns at
#      8972 B (cpu_user/packets)
#   2  our pair (client gso -> server gro): lost <= 0.5%, rate >= 0.9x the
#      C pair
#   3  udpperf latency, in-process and --host: p50 <= 1.05x and p99 <= 1.2x
#      sockperf
#   4  PoolParallel: -cpu 2 ns/op <= 1.5x -cpu 1
#   5  Pipe: SPSC single item at most 0.75x the channel's cost; SPSC
#      batch-32 at least 10x cheaper than the channel
#   6  PRBS fill and check speed (engine/prbs), see below
#   7  udpperf server --transport gro --prbs keeps >= 0.9x the datagrams/s
#      of the same server without --prbs, the same PRBS sender in both
#      (prbs-compare.sh)
#   soak  with SOAK=1 only (minutes): prbs-soak.sh, 10^8 PRBS datagrams
#      (COUNT) through client gso -> server gro --prbs, 0 errors, 0 lost
#
# Every figure is a median over RUNS rounds or pairs run back to back, the
# two sides alternating. The go benchmarks run their test binary RUNS
# times; each run measures both sides of a comparison, one after the
# other, which makes one pair.
#
# Environment: RUNS (default 5), passed on to both scripts with the rest of
# their environment (SECONDS_PER_RUN, SERVER_FLAGS, OLD, ...).
set -euo pipefail

name=targets.sh
c_tools=no
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
export RUNS=$runs

echo "targets 1-2: bench/cost.sh" >&2
bash "$here/cost.sh" | tee "$work/cost.md"
echo "target 3: bench/latency-compare.sh" >&2
bash "$here/latency-compare.sh" | tee "$work/latency.txt"

echo "targets 4-5: building the engine and ring test binaries" >&2
(cd "$top" && go test -c -o "$work/engine.test" ./engine/ && go test -c -o "$work/ring.test" ./ring/)
: >"$work/pool" && : >"$work/pipe"
for r in $(seq "$runs"); do
	echo "targets 4-5: benchmark pair $r of $runs" >&2
	"$work/engine.test" -test.run X -test.bench PoolParallel -test.cpu 1,2 -test.benchmem >>"$work/pool"
	"$work/ring.test" -test.run X -test.bench 'Pipe/(chan|SPSC)' -test.benchmem >>"$work/pipe"
done

# Benchmark names, with or without the GOMAXPROCS suffix.
chan='Pipe/chan(-[0-9]+)?$'
spsc='Pipe/SPSC(-[0-9]+)?$'
batch32='Pipe/SPSC-batch32(-[0-9]+)?$'

# bench_col FILE PATTERN: ns/op of the benchmark lines matching PATTERN.
bench_col() { awk -v p="$2" '$1 ~ p { print $3 }' "$1"; }
# allocs FILE: the largest allocs/op of FILE's benchmark lines.
allocs() { awk '/allocs\/op/ { if ($(NF - 1) > m) m = $(NF - 1) } END { print m + 0 }' "$1"; }
# pair_ratio FILE A B: per-pair ratios A/B of two benchmarks' ns/op.
pair_ratio() { paste -d' ' <(bench_col "$1" "$2") <(bench_col "$1" "$3") | awk '$2 > 0 { printf "%.3f\n", $1 / $2 }'; }

# cost_rows: "size kind ratio user lost" for every udpperf row of cost.sh's
# table, medians only.
cost_rows() {
	awk -F'|' '
		/^\| \*\*/ { split($2, h, " "); size = h[1]; gsub(/\*/, "", size); kind = ($0 ~ /pair/) ? "pair" : ($0 ~ /receiver gro/) ? "gro" : "mmsg" }
		$2 == " udpperf " { split($4, r, " "); split($6, u, " "); split($10, l, " "); print size, kind, r[1], u[1], l[1] }
	' "$work/cost.md"
}

# verdict OK: "met" or "NOT met".
verdict() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }

echo
echo "Targets, $runs rounds or pairs each; load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "| target | measure | figure | bar | verdict |"
echo "|---|---|---|---|---|"
while read -r size kind ratio user lost; do
	if [ "$kind" = pair ]; then
		ok=$(awk -v r="$ratio" -v l="$lost" 'BEGIN { print (r >= 0.9 && l <= 0.5) ? 1 : 0 }')
		echo "| 2 | pair $size B: rate vs C pair, lost % | $ratio, $lost% | >= 0.9, <= 0.5% | $(verdict "$ok") |"
		continue
	fi
	bar=20
	[ "$size" -gt 1472 ] && bar=40
	ok=$(awk -v r="$ratio" -v u="$user" -v b="$bar" 'BEGIN { print (r >= 1.0 && u <= b) ? 1 : 0 }')
	echo "| 1 | $kind $size B: rate vs C, user ns/dgram | $ratio, $user ns | >= 1.0, <= $bar ns | $(verdict "$ok") |"
done < <(cost_rows)
for side in in-process host host-np; do
	read -r p50 p99 < <(awk -v s="$side" '$1 == s { print $6, $8 }' "$work/latency.txt")
	ok=$(awk -v a="$p50" -v b="$p99" 'BEGIN { print (a <= 1.05 && b <= 1.2) ? 1 : 0 }')
	echo "| 3 | round trip, $side: p50, p99 vs sockperf | $p50, $p99 | <= 1.05, <= 1.2 | $(verdict "$ok") |"
done
pool=$(awk '$1 ~ /PoolParallel-2$/ { two[++n] = $3 } $1 ~ /PoolParallel$/ { one[++m] = $3 } END { for (i = 1; i <= n && i <= m; i++) printf "%.3f\n", two[i] / one[i] }' "$work/pool")
echo "| 4 | PoolParallel -cpu 2 / -cpu 1 | $(echo "$pool" | spread) | <= 1.5 | $(verdict "$(echo "$pool" | median | awk '{ print ($1 <= 1.5) }')") |"
single=$(pair_ratio "$work/pipe" "$spsc" "$chan")
echo "| 5 | Pipe SPSC single / chan | $(echo "$single" | spread) | <= 0.75 | $(verdict "$(echo "$single" | median | awk '{ print ($1 <= 0.75) }')") |"
batch=$(pair_ratio "$work/pipe" "$chan" "$batch32")
echo "| 5 | Pipe chan / SPSC batch-32 | $(echo "$batch" | spread) | >= 10 | $(verdict "$(echo "$batch" | median | awk '{ print ($1 >= 10) }')") |"
echo
echo "ns/op: PoolParallel -cpu 1 $(bench_col "$work/pool" 'PoolParallel$' | spread), -cpu 2 $(bench_col "$work/pool" 'PoolParallel-2$' | spread); Pipe chan $(bench_col "$work/pipe" "$chan" | spread), SPSC $(bench_col "$work/pipe" "$spsc" | spread), SPSC batch-32 $(bench_col "$work/pipe" "$batch32" | spread)"
echo "allocs/op, largest: PoolParallel $(allocs "$work/pool"), Pipe $(allocs "$work/pipe")"

# 6  PRBS (engine/prbs, one core, frames in cache): Verify >= 25 GB/s and
#    Fill (generation) >= 15 GB/s for 32-bit words at 1472 and 8972 B;
#    both >= 10 GB/s for 64- and 512-bit words at 1472 and 8960 B.
echo "target 6: engine/prbs benchmarks, $runs runs" >&2
(cd "$top" && go test -c -o "$work/prbs.test" ./engine/prbs/)
: >"$work/prbs"
for r in $(seq "$runs"); do
	"$work/prbs.test" -test.run X -test.bench '^Benchmark(Verify|Fill)$' -test.benchmem >>"$work/prbs"
done
# gbs NAME: the GB/s column of benchmark NAME, one line per run.
gbs() { awk -v p="^Benchmark$1(-[0-9]+)?\$" '$1 ~ p { for (i = 2; i < NF; i++) if ($(i + 1) == "GB/s") print $i }' "$work/prbs"; }
echo
echo "| target | measure | GB/s | bar | verdict |"
echo "|---|---|---|---|---|"
for row in Verify/w32/1472B:25 Verify/w32/8972B:25 Fill/w32/1472B:15 Fill/w32/8972B:15 \
	Verify/w64/1472B:10 Verify/w64/8960B:10 Verify/w512/1472B:10 Verify/w512/8960B:10 \
	Fill/w64/1472B:10 Fill/w64/8960B:10 Fill/w512/1472B:10 Fill/w512/8960B:10; do
	v=$(gbs "${row%:*}")
	echo "| 6 | PRBS ${row%:*} | $(echo "$v" | spread) | >= ${row#*:} | $(verdict "$(echo "$v" | median | awk -v b="${row#*:}" '{ print ($1 >= b) }')") |"
done
echo "allocs/op, largest: PRBS $(allocs "$work/prbs")"

# 7  udpperf server --prbs against the same server without it, the same
#    PRBS sender (prbs-compare.sh, RUNS rounds, order swapped each round).
echo "target 7: bench/prbs-compare.sh" >&2
bash "$here/prbs-compare.sh" | tee "$work/prbs-compare.txt"
echo
echo "| target | measure | figure | bar | verdict |"
echo "|---|---|---|---|---|"
while read -r _ size ratios; do
	v=$(echo "$ratios" | tr ' ' '\n' | grep .)
	echo "| 7 | server gro $size B: dgram/s with / without --prbs | $(echo "$v" | spread) | >= 0.9 | $(verdict "$(echo "$v" | median | awk '{ print ($1 >= 0.9) }')") |"
done < <(grep '^prbs-ratio ' "$work/prbs-compare.txt")

# The soak takes minutes (10^8 datagrams at a few million a second): only
# with SOAK=1. Its COUNT and other settings pass through the environment.
if [ "${SOAK:-0}" = 1 ]; then
	echo "soak: bench/prbs-soak.sh" >&2
	soak=0
	bash "$here/prbs-soak.sh" | tee "$work/soak.txt" || soak=$?
	# The soak's row: sent, received, seconds, dgram/s, errors, lost, drops.
	read -r sent errors lost < <(awk -F'|' '$2 ~ /^ [0-9]+ $/ { print $2, $6, $7 }' "$work/soak.txt")
	echo
	echo "| target | measure | figure | bar | verdict |"
	echo "|---|---|---|---|---|"
	echo "| soak | PRBS datagrams, client gso -> server gro --prbs: sent, errors, lost | ${sent:-none}, ${errors:-?}, ${lost:-?} | >= ${COUNT:-100000000}, 0, 0 | $(verdict "$([ "$soak" = 0 ] && echo 1 || echo 0)") |"
fi

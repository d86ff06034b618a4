#!/usr/bin/env bash
# Frames into JetStream, side by side in one run on loopback: the
# engine's Publisher (frames batched into 64 KiB messages) against the
# client library's own async publisher sending messages of the same size
# (client64k; client64kid with a message id each, as the Publisher sends
# them), on an in-process server with a file store in $TMPDIR. The modes
# run alternately, ROUNDS times (default 5), for 1472- and 8972-byte
# frames (BenchmarkJetStream of engine/natsjs, about 300 MB a run, every
# run waits for all acks). It prints each run as it goes, then the median
# (lowest-highest) of frames/s, GB/s of payload and the process's CPU
# time per frame (server included), and the median (range) of the
# per-round ratios of the engine's GB/s over client64k's and
# client64kid's. Then the UDP side (bench/natsjs-udp.sh): udpperf client
# -> udpperf server --publish at the engine's median frames/s, with the
# server's UDP loss count (0 wanted). CLIENT1=1 adds mode client (one
# message per frame); UDP=0 skips the UDP side. Exit 1 when a run gives
# no figure, 3 when the UDP side lost datagrams.
# Usage: bash bench/natsjs.sh
set -euo pipefail
name=natsjs
rounds=${ROUNDS:-5}
modes="engine client64k client64kid"
[ "${CLIENT1:-0}" = 0 ] || modes="$modes client"
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
export PATH="$PATH:/usr/local/go/bin"
cannot() {
	echo "$name: cannot measure: $*" >&2
	exit 1
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
spread() {
	local v f=${1:-%s}
	v=$(cat)
	# shellcheck disable=SC2059 # the format is ours
	printf "$f ($f-$f)" "$(echo "$v" | median)" "$(echo "$v" | sort -g | head -n1)" "$(echo "$v" | sort -g | tail -n1)"
}
metric() { sed -n "s|.*[[:space:]]\([0-9.e+]*\) $1.*|\1|p" | head -n1; }

echo "$name: building the natsjs test binary (go test -c ./engine/natsjs)" >&2
(cd "$top" && go test -c -o "$work/natsjs.test" ./engine/natsjs) || cannot "go test -c failed"
echo "$name: $rounds rounds of modes $modes; load before: $(uptime | sed 's/.*load/load/')"
for size in 1472 8972; do
	frames=$((300000000 / size)) # about 300 MB a run
	for r in $(seq "$rounds"); do
		for mode in $modes; do
			out=$("$work/natsjs.test" -test.run '^$' -test.bench "^BenchmarkJetStream\$/^size=$size\$/^mode=$mode\$" \
				-test.benchtime "${frames}x" 2>&1 | grep '^BenchmarkJetStream' || true)
			gbs=$(echo "$out" | metric 'GB/s')
			[ -n "$gbs" ] || cannot "size $size mode $mode round $r gave no figure: ${out:-no benchmark line}"
			echo "$out" | metric 'frames/s' >>"$work/$size-$mode.fps"
			echo "$gbs" >>"$work/$size-$mode.gbs"
			echo "$out" | metric 'cpu-ns/frame' >>"$work/$size-$mode.cpu"
			echo "size $size round $r $mode: $(tail -n1 "$work/$size-$mode.fps") frames/s, $gbs GB/s, $(tail -n1 "$work/$size-$mode.cpu") CPU ns/frame"
		done
		e=$(tail -n1 "$work/$size-engine.gbs")
		for ref in client64k client64kid; do
			c=$(tail -n1 "$work/$size-$ref.gbs")
			awk -v e="$e" -v c="$c" 'BEGIN { printf "%.3f\n", e / c }' >>"$work/$size-$ref.ratio"
		done
	done
done
echo "$name: load after: $(uptime | sed 's/.*load/load/')"
printf "%-6s %-12s %-30s %-28s %-26s\n" size mode "frames/s median (range)" "GB/s median (range)" "CPU ns/frame (range)"
for size in 1472 8972; do
	for mode in $modes; do
		printf "%-6s %-12s %-30s %-28s %-26s\n" "$size" "$mode" "$(spread %.0f <"$work/$size-$mode.fps")" \
			"$(spread %.3f <"$work/$size-$mode.gbs")" "$(spread %.0f <"$work/$size-$mode.cpu")"
	done
done
for size in 1472 8972; do
	echo "$size B: engine/client64k GB/s per round $(spread %.2f <"$work/$size-client64k.ratio")," \
		"engine/client64kid $(spread %.2f <"$work/$size-client64kid.ratio")"
done
[ "${UDP:-1}" != 0 ] || exit 0
echo "$name: building udpperf for the UDP side (go build ./cmd/udpperf)" >&2
(cd "$top" && go build -o "$work/udpperf" ./cmd/udpperf) || cannot "go build ./cmd/udpperf failed"
status=0
for size in 1472 8972; do
	rate=$(median <"$work/$size-engine.fps" | awk '{ printf "%.0f", $1 }')
	echo "$name: UDP side at the engine's median rate for $size B, $rate frames/s"
	UDPPERF=$work/udpperf bash "$here/natsjs-udp.sh" "$size" "$rate" "${UDP_SECONDS:-5}" || status=$?
	[ "$status" -le 0 ] || [ "$status" = 3 ] || exit "$status"
done
exit "$status"

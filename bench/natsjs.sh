#!/usr/bin/env bash
# Frames into JetStream: the engine's Publisher (frames batched into
# 64 KiB messages) beside the client library's own async publisher
# sending messages of the same size (client64k; client64kid with a
# message id each, as the Publisher sends them) and one message per
# frame (client), against an in-process server on loopback with a file
# store in $TMPDIR. The modes run alternately, ROUNDS times (default 5),
# for 1472- and 8972-byte frames; it prints the median (lowest-highest)
# of frames/s and GB/s of payload, and the engine's GB/s over client64k's
# and client64kid's per round. Every run waits for all acks. Usage: bash bench/natsjs.sh
set -euo pipefail
rounds=${ROUNDS:-5}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$PATH:/usr/local/go/bin"

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
spread() {
	local v f=${1:-%s}
	v=$(cat)
	# shellcheck disable=SC2059 # the format is ours
	printf "$f ($f-$f)" "$(echo "$v" | median)" "$(echo "$v" | sort -g | head -n1)" "$(echo "$v" | sort -g | tail -n1)"
}
metric() { sed -n "s|.*[[:space:]]\([0-9.e+]*\) $1.*|\1|p" | head -n1; }

echo "building the natsjs test binary" >&2
(cd "$top" && go test -c -o "$work/natsjs.test" ./engine/natsjs)
echo "load before: $(uptime)"
for size in 1472 8972; do
	frames=$((300000000 / size)) # about 300 MB a run
	for r in $(seq "$rounds"); do
		for mode in engine client64k client64kid client; do
			out=$("$work/natsjs.test" -test.run '^$' -test.bench "^BenchmarkJetStream\$/^size=$size\$/^mode=$mode\$" \
				-test.benchtime "${frames}x" 2>/dev/null | grep '^BenchmarkJetStream' || true)
			[ -n "$out" ] || { echo "size $size mode $mode round $r: no result" >&2; continue; }
			echo "$out" | metric 'frames/s' >>"$work/$size-$mode.fps"
			echo "$out" | metric 'GB/s' >>"$work/$size-$mode.gbs"
		done
		e=$(tail -n1 "$work/$size-engine.gbs")
		for ref in client64k client64kid; do
			c=$(tail -n1 "$work/$size-$ref.gbs")
			awk -v e="$e" -v c="$c" 'BEGIN { printf "%.3f\n", e / c }' >>"$work/$size-$ref.ratio"
		done
	done
done
echo "load after: $(uptime)"
printf "%-6s %-10s %-34s %-28s\n" size mode "frames/s median (range)" "GB/s median (range)"
for size in 1472 8972; do
	for mode in engine client64k client64kid client; do
		printf "%-6s %-10s %-34s %-28s\n" "$size" "$mode" "$(spread %.0f <"$work/$size-$mode.fps")" "$(spread %.3f <"$work/$size-$mode.gbs")"
	done
	echo "$size engine/client64k GB/s per round: $(spread %.2f <"$work/$size-client64k.ratio"); engine/client64kid: $(spread %.2f <"$work/$size-client64kid.ratio")"
done

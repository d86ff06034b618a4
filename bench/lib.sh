# Shared by the comparison scripts of bench/ (sourced, not run): finds the
# C reference tools beside the repository, makes a work folder that is
# removed on exit with every process listed in pids, builds udpsink,
# udpblast and udpperf into it, and sets tx and rx to the taskset prefixes
# that pin senders to the first allowed CPU and receivers to the second.
# The caller sets name (for messages) before sourcing it, and c_tools=no
# when it does not compare against the C tools (then they are neither
# needed nor built).

here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))
tools="$top/../shared/tools"
c_tools=${c_tools:-yes}
if [ "$c_tools" = yes ] && { [ ! -f "$tools/udpsink.c" ] || [ ! -f "$tools/udpblast.c" ]; }; then
	echo "$name: the C reference tools are not at $tools (expected udpsink.c and udpblast.c next to the repository); nothing to compare"
	exit 0
fi
export PATH="$PATH:/usr/local/go/bin"

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$c_tools" = yes ]; then
	echo "building: udpsink, udpblast (gcc -O2), udpperf (go build)" >&2
	gcc -O2 -o "$work/udpsink" "$tools/udpsink.c"
	gcc -O2 -o "$work/udpblast" "$tools/udpblast.c"
else
	echo "building: udpperf (go build)" >&2
fi
(cd "$top" && go build -o "$work/udpperf" ./cmd/udpperf)

# Expand the allowed CPU list (such as "0-1,4") into "0 1 4".
cpus=$(taskset -pc $$ | sed 's/.*: //')
allowed=$(echo "$cpus" | awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-"); if (n == 2) { for (c = r[1]; c <= r[2]; c++) printf "%d ", c } else printf "%d ", r[1] } }')
read -r -a allowed_cpus <<<"$allowed"
if [ "${#allowed_cpus[@]}" -ge 2 ]; then
	tx=(taskset -c "${allowed_cpus[0]}")
	rx=(taskset -c "${allowed_cpus[1]}")
	echo "pinning: senders on CPU ${allowed_cpus[0]}, receivers on CPU ${allowed_cpus[1]} (allowed: $cpus)" >&2
else
	tx=()
	rx=()
	echo "pinning: only one CPU, not pinned" >&2
fi

# field NAME FILE: a number from a C tool's one-line JSON.
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$2" | head -n1; }

# median: the median of the numbers on standard input, one per line.
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# spread [FORMAT [UNIT]]: "median (lowest-highest)" of the numbers on
# standard input, each printed with the printf FORMAT (default %s), UNIT
# after the median.
spread() {
	local v f=${1:-%s}
	v=$(cat)
	# shellcheck disable=SC2059 # the format is the caller's
	printf "$f${2:-} ($f-$f)" "$(echo "$v" | median)" "$(echo "$v" | sort -g | head -n1)" "$(echo "$v" | sort -g | tail -n1)"
}

# raw_server BIN, raw_client BIN: the flags that give BIN's server and
# client the plain-datagram mode with udpperf's session (builds since
# iperf3's protocol became the default take --raw; older ones need none),
# and raw_sender BIN those of a data-only client (--raw then, before:
# --raw alone meant data only).
raw_server() { "$1" server --raw --help >/dev/null 2>&1 && echo --raw; return 0; }
raw_client() { "$1" client --raw --no-session --help >/dev/null 2>&1 && echo --raw; return 0; }
raw_sender() {
	if "$1" client --raw --no-session --help >/dev/null 2>&1; then echo --raw --no-session; else echo --raw; fi
}

# wait_listening FILE: waits (up to 5 s) until the udpperf server logging
# to FILE says it listens; otherwise shows that log and fails.
wait_listening() {
	for _ in $(seq 100); do
		grep -q "listening on UDP port" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "$name: udpperf server did not start:" >&2
	cat "$1" >&2
	return 1
}

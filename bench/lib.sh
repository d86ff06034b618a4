# Shared by the comparison scripts of bench/ (sourced, not run): builds
# the project's C reference tools (tools/csrc: refsend, refrecv) into out/
# with the system C compiler when their sources are newer, makes a work
# folder that is removed on exit with every process listed in pids, builds
# udpperf into it, and sets tx and rx to the taskset prefixes that pin
# senders to the first allowed CPU and receivers to the second. The caller
# sets name (for messages) before sourcing it, and c_tools=no when it does
# not compare against the C tools (then they are neither needed nor built).
# A script that cannot compare says why and exits with status 1 (cannot).

here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))
c_tools=${c_tools:-yes}
export PATH="$PATH:/usr/local/go/bin"

# cannot REASON...: the script cannot compare; says why and exits 1.
cannot() {
	echo "$name: cannot compare: $*" >&2
	exit 1
}

# build_c_tools: out/refsend and out/refrecv from tools/csrc, rebuilt when
# a source is newer; sets refsend and refrecv to their paths.
build_c_tools() {
	local cc=${CC:-cc} src="$top/tools/csrc" t
	command -v "$cc" >/dev/null 2>&1 ||
		cannot "no C compiler ($cc) to build the reference tools of tools/csrc; install gcc or set CC"
	mkdir -p "$top/out"
	for t in refsend refrecv; do
		if [ ! -x "$top/out/$t" ] || [ "$src/$t.c" -nt "$top/out/$t" ] || [ "$src/common.h" -nt "$top/out/$t" ]; then
			echo "building: $t ($cc -O2) into out/" >&2
			"$cc" -O2 -Wall -Wextra -o "$top/out/$t" "$src/$t.c" || cannot "building $t from tools/csrc/$t.c failed"
		fi
	done
	refsend="$top/out/refsend"
	refrecv="$top/out/refrecv"
}

# check_counted FILE WHAT: a reference tool's JSON line in FILE must count
# at least one datagram; otherwise the run measured nothing and the script
# cannot compare.
check_counted() {
	local n
	n=$(field datagrams "$1")
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		echo "$name: $2 counted no datagrams; its output:" >&2
		cat "$1" >&2
		cannot "$2 counted no datagrams"
	fi
}

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$c_tools" = yes ]; then
	build_c_tools
fi
echo "building: udpperf (go build)" >&2
(cd "$top" && go build -o "$work/udpperf" ./cmd/udpperf) || cannot "udpperf does not build"

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

# wait_bound PORT: waits (up to 5 s) until a UDP socket on this host is
# bound to PORT (a receiver is up: /proc/net/udp and udp6 list it);
# otherwise the script cannot compare.
wait_bound() {
	local hex
	hex=$(printf '%04X' "$1")
	for _ in $(seq 100); do
		grep -qE "^ *[0-9]+: [0-9A-F]+:$hex " /proc/net/udp /proc/net/udp6 2>/dev/null && return 0
		sleep 0.05
	done
	cannot "no receiver bound to UDP port $1 within 5 s"
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

# cputime FILE: "user system" seconds from the TIME line.
cputime() { sed -n 's/^TIME \([0-9.]*\) \([0-9.]*\)$/\1 \2/p' "$1" | tail -n1; }

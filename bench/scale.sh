#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/scale.sh [-f FILL] [-n N] [-c C] [-k ROUNDS] [-r RSS_ROUNDS]: scepd with
# a full store against scepd with an empty one, and its memory over time.
#  1. two state folders (scepctl init); bench/storefill puts FILL issued
#     enrollments (FILL request rows and FILL certificate rows, default 10^6)
#     into the second one's store through the store API;
#  2. ROUNDS times (default 2), in turn: scepd on the empty store and scepd on
#     the full one, each with N enrollments (default 2000) from
#     bench/scepbench over C connections (default 8); prints both rates, their
#     ratio and scepd's CPU time per enrollment;
#  3. with -r: one scepd (on the full store) gets RSS_ROUNDS rounds of N
#     enrollments over one process lifetime; VmRSS after each round (the
#     RSS curve: it should stay flat).
# Needs `make bench`. Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
FILL=1000000 N=2000 C=8 ROUNDS=2 RSS=0
while getopts f:n:c:k:r: o; do
	case $o in
	f) FILL=$OPTARG ;; n) N=$OPTARG ;; c) C=$OPTARG ;; k) ROUNDS=$OPTARG ;; r) RSS=$OPTARG ;;
	*) echo "usage: $0 [-f FILL] [-n N] [-c C] [-k ROUNDS] [-r RSS_ROUNDS]" >&2; exit 2 ;;
	esac
done
[ -x bench/scepbench ] && [ -x bench/storefill ] || { echo "$0: run make bench first" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scepd-scale.XXXXXX")
pid=
. bench/lib.sh
trap 'stop; rm -rf "$tmp"' EXIT

# start DIR: scepd on DIR's configuration; sets pid and url
start() {
	"${SCEPD:-./scepd}" -f "$1/scepd.conf" 2>>"$1.log" & pid=$!
	wait_up "$url" || { echo "$0: scepd on $1 did not start" >&2; exit 1; }
}

for s in empty full; do
	port=$(free_port)
	lab_init "$tmp/$s" "$port"
	echo "$port" >"$tmp/$s.port"
done
bench/storefill -d "$tmp/full/scepd.db" -n "$FILL" -b 10000
echo "# store: $(du -sh "$tmp/full/scepd.db" | cut -f1); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

printf '%-6s %-6s %10s %8s %10s\n' round store 'enroll/s' 'p99 ms' 'cpu ms/enr'
for r in $(seq "$ROUNDS"); do
	for s in empty full; do
		url="http://127.0.0.1:$(cat "$tmp/$s.port")/certsrv/mscep/mscep.dll"
		start "$tmp/$s"
		bench/scepbench -u "$url" -n "$N" -w 50 -c "$C" -p bench -P "$pid" >"$tmp/$s.$r.out" \
		    2>&1 || true
		stop
		printf '%-6s %-6s %10s %8s %10s\n' "$r" "$s" "$(field rate "$tmp/$s.$r.out")" \
		    "$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' "$tmp/$s.$r.out")" \
		    "$(field 'server cpu' "$tmp/$s.$r.out")"
		grep '^failures' "$tmp/$s.$r.out" | sed 's/^/#   /' || true
	done
done
mean() { awk '/^rate/ { s += $2; n++ } END { print (n ? s / n : 0) }' "$@"; }
awk -v e="$(mean "$tmp"/empty.*.out)" -v f="$(mean "$tmp"/full.*.out)" -v n="$FILL" \
    'BEGIN { if (e > 0) printf "mean rate: empty store %.1f/s, %d rows %.1f/s, ratio %.2f\n", e, n, f, f / e }'

if [ "$RSS" -gt 0 ]; then
	url="http://127.0.0.1:$(cat "$tmp/full.port")/certsrv/mscep/mscep.dll"
	start "$tmp/full"
	echo "# RSS of one scepd over $RSS rounds of $N enrollments ($C connections)"
	printf '%-8s %12s %10s\n' round enrollments 'VmRSS kB'
	printf '%-8s %12s %10s\n' 0 0 "$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")"
	for r in $(seq "$RSS"); do
		bench/scepbench -u "$url" -n "$N" -c "$C" -p bench >"$tmp/rss.out" 2>&1 || true
		grep '^failures' "$tmp/rss.out" | sed 's/^/#   /' || true
		printf '%-8s %12s %10s\n' "$r" $((r * N)) "$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")"
	done
	stop
fi

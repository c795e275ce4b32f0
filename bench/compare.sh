#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/compare.sh [-n N] [-m M] [-w W] [-g] [CONNECTIONS...]: scepd against
# micromdm's scepserver (Debian package scep) on this machine, same load.
# For each number of connections (default: 1 8 32 64), in turn:
#   1. a fresh scepd (scepctl init: RSA-2048 CA and RA, static challenge) on a
#      free loopback port, N enrollments by bench/scepbench (M client keys, W
#      untimed warm-up ones), the server's CPU time per enrollment from
#      /proc/PID/stat over the timed phase;
#   2. a fresh scepserver (RSA-2048 CA, same challenge), the same load;
# then prints both rates and their ratio, and the 3-operation floor (three
# RSA-2048 private-key operations) from `openssl speed rsa2048`.
# Needs `make bench`. Not part of `make check`; timings depend on the load of
# the machine, so run it on an otherwise idle one.
set -eu
cd "$(dirname "$0")/.."
N=2000 M=8 W=100 GET=
while getopts n:m:w:g o; do
	case $o in
	n) N=$OPTARG ;; m) M=$OPTARG ;; w) W=$OPTARG ;; g) GET=-g ;;
	*) echo "usage: $0 [-n N] [-m M] [-w W] [-g] [CONNECTIONS...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
CONNS=("$@")
[ $# -eq 0 ] && CONNS=(1 8 32 64)
[ -x bench/scepbench ] || { echo "$0: run make bench first" >&2; exit 2; }
SCEPSERVER=${SCEPSERVER-$(command -v scepserver || true)}
SCEPD=${SCEPD:-./scepd}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scepd-bench.XXXXXX")
pid=
. bench/lib.sh
trap 'stop; rm -rf "$tmp"' EXIT

# run_scepd C OUT, run_micromdm C OUT: one server, one load.
run_scepd() {
	local port dir=$tmp/scepd-$1
	port=$(free_port)
	lab_init "$dir" "$port"
	"$SCEPD" -f "$dir/scepd.conf" 2>"$dir.log" & pid=$!
	wait_up "http://127.0.0.1:$port/certsrv/mscep/mscep.dll" || { stop; return 0; }
	bench/scepbench -u "http://127.0.0.1:$port/certsrv/mscep/mscep.dll" -n "$N" -m "$M" \
	    -w "$W" -c "$1" -p bench -P "$pid" $GET >"$2" 2>"$2.err" || true
	stop
	# What scepd said about failures (its log goes with $tmp).
	grep -v 'outcome=SUCCESS' "$dir.log" | grep -i -m 3 'store\|error\|fail' >>"$2.err" || true
}
run_micromdm() {
	local port dir=$tmp/mdm-$1
	port=$(free_port)
	mkdir -p "$dir"
	(cd "$dir" && "$SCEPSERVER" ca -init -depot depot -keySize 2048 >/dev/null 2>&1)
	(cd "$dir" && exec "$SCEPSERVER" -depot depot -port "$port" -challenge bench \
	    >"$dir.log" 2>&1) & pid=$!
	wait_up "http://127.0.0.1:$port/scep" || { stop; return 0; }
	# scepserver envelopes its CertReps with single DES (-D accepts that).
	bench/scepbench -u "http://127.0.0.1:$port/scep" -n "$N" -m "$M" -w "$W" -c "$1" \
	    -D -p bench -P "$pid" $GET >"$2" 2>"$2.err" || true
	stop
}

echo "# $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); N=$N M=$M W=$W ${GET:+GET}"
printf '%-6s %-9s %10s %8s %8s %8s %8s %10s\n' conns server 'enroll/s' 'p50 ms' 'p90 ms' \
    'p99 ms' failed 'cpu ms/enr'
for c in "${CONNS[@]}"; do
	run_scepd "$c" "$tmp/scepd-$c.out"
	if [ -n "$SCEPSERVER" ]; then run_micromdm "$c" "$tmp/mdm-$c.out"; fi
	for s in scepd mdm; do
		f=$tmp/$s-$c.out
		[ -s "$f" ] || continue
		read -r p50 p90 p99 < <(sed -n 's/^latency *p50 \([0-9.]*\) ms *p90 \([0-9.]*\) ms *p99 \([0-9.]*\).*/\1 \2 \3/p' "$f")
		printf '%-6s %-9s %10s %8s %8s %8s %8s %10s\n' "$c" \
		    "$([ $s = mdm ] && echo micromdm || echo scepd)" "$(field rate "$f")" \
		    "$p50" "$p90" "$p99" "$(sed -n 's/^enrollments .* \([0-9]*\) failed/\1/p' "$f")" \
		    "$(field 'server cpu' "$f")"
		grep '^failures' "$f" | sed "s/^/#   $s: /" || true
		head -n 5 "$f.err" | sed "s/^/#   $s: /"
	done
	if [ -s "$tmp/mdm-$c.out" ]; then
		awk -v a="$(field rate "$tmp/scepd-$c.out")" -v b="$(field rate "$tmp/mdm-$c.out")" \
		    -v c="$c" 'BEGIN { if (b > 0) printf "%-6s ratio     scepd/micromdm = %.2f\n", c, a / b }'
	fi
done
# openssl speed prints "rsa 2048 bits 0.000250s 0.000007s 4000.0 140000.0": sign s/op first.
sign=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $4; exit }')
[ -n "$sign" ] && awk -v s="$sign" 'BEGIN { printf "floor: openssl speed rsa2048 sign %.3f ms/op, 3 operations = %.3f ms per enrollment\n", s * 1000, 3 * s * 1000 }'

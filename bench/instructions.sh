#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/instructions.sh [N]: the instructions an enrollment costs in scepd, counted
# by valgrind's callgrind (Debian package valgrind), for comparing two builds on
# a machine whose timings are noisy. A fresh scepd (signer.process = false: the
# private-key operations in scepd itself) runs under callgrind; 20 untimed
# enrollments warm it up, its counters are zeroed, then scepbench sends N
# (default 200) over 2 connections. Prints the user-space instructions per
# enrollment: in all, inside the RSA private-key operations (RSA_private_encrypt
# and RSA_private_decrypt: the three of the floor) and the rest. The kernel's
# work (system calls, fsync, scheduling) is not counted. Repeated runs agree
# within about 0.3 %. Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-200}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (apt install valgrind)" >&2; exit 2; }
lab_setup
sed -i -E 's/^([[:space:]]*)process = [a-z]+;/\1process = false;/' "$tmp/d/scepd.conf"
valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" \
    ./scepd -f "$tmp/d/scepd.conf" 2>"$tmp/log" & pid=$!
wait_up "$url" || { cat "$tmp/log" >&2; exit 1; }
bench/scepbench -u "$url" -n 20 -m 4 -w 0 -c 2 -p bench >/dev/null
callgrind_control -z "$pid" >/dev/null 2>&1
bench/scepbench -u "$url" -n "$N" -m 4 -w 0 -c 2 -p bench >"$tmp/bench" ||
	{ cat "$tmp/bench" >&2; exit 1; }
stop
callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$tmp/callgrind.out" 2>/dev/null |
    awk -v n="$N" '
	function num(s) { gsub(",", "", s); return s + 0 }
	/PROGRAM TOTALS/ { all = num($1) }
	/^ *[0-9,]+ \([ 0-9.]+%\)  [^ ]*:RSA_private_(en|de)crypt / { rsa += num($1) }
	END {
		if (all == 0) { print "instructions.sh: no callgrind totals" > "/dev/stderr"; exit 1 }
		printf "instructions per enrollment (%d enrollments, user space): %.2fM\n", n, all / n / 1e6
		printf "  in the RSA private-key operations: %.2fM (%.1f %%)\n", rsa / n / 1e6, 100 * rsa / all
		printf "  the rest: %.2fM (%.1f %%)\n", (all - rsa) / n / 1e6, 100 * (all - rsa) / all
	}'

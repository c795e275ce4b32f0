#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/pg.sh [N] [C]: enrollments per second of scepd on each store, in one run
# (issue 14):
#   1. one node on SQLite;
#   2. one node on PostgreSQL (a server made with initdb in a temporary folder,
#      unix socket, default settings: fsync on, as SQLite's synchronous=FULL);
#   3. two nodes on that one PostgreSQL, the requests alternating between them.
# Each scenario sends N distinct PKCSReqs (made beforehand by
# tests/integration/scep_send, no challenge password: EnforcePassword = false)
# C at a time with one curl, and divides N by the wall-clock time. The server
# side does the whole enrollment: decrypt, check, issue (RSA 2048 CA), commit,
# sign and encrypt the CertRep. Needs `make build-tests` (for scep_send) and
# PostgreSQL's server programs. Not part of `make check`.
set -u
cd "$(dirname "$0")/.."
N=${1:-300}
C=${2:-8}
. tests/integration/lib.sh
. tests/integration/lib_lifecycle.sh
. tests/integration/lib_pg.sh
[ -x "$SCEP_SEND" ] || { echo "bench/pg.sh: run make build-tests first (scep_send)" >&2; exit 1; }
pg_find || { echo "bench/pg.sh: $PG_MISSING" >&2; exit 1; }
T=$TEST_TMP

# node NAME [URI]: a scepd in $T/NAME (SQLite, or the database URI), started
node() {
	init_scepd "$T/$1" >/dev/null || return 1
	set_conf "$T/$1" EnforcePassword false >/dev/null || return 1
	conf_set_in "$T/$1" http per_ip_connections 0 >/dev/null || return 1
	[ -n "${2:-}" ] && { pg_use "$T/$1" "$2" || return 1; rm -f "$T/$1/scepd.db"; }
	run_scepd "$T/$1" >/dev/null
}

# twin NAME FROM: a second node sharing FROM's keys and configuration, started
twin() {
	local port
	cp -a "$T/$2" "$T/$1"
	port=$(cat "$T/$2/.test-port")
	new=$(free_port)
	sed -i "s|$T/$2\"|$T/$1\"|; s|127.0.0.1:$port|127.0.0.1:$new|" "$T/$1/scepd.conf"
	echo "$new" >"$T/$1/.test-port"
	run_scepd "$T/$1" >/dev/null
}

# build NAME DIR: N PKCSReqs for the node in DIR
build() {
	local i
	mkdir -p "$T/req-$1"
	self_signed "$T/req-$1/s.key" "$T/req-$1/s.crt" "bench-$1"
	for i in $(seq "$N"); do
		new_csr "$T/req-$1/s.key" "$T/req-$1/c.pem" "/CN=bench-$1-$i" &&
		"$SCEP_SEND" --type pkcsreq --signer-cert "$T/req-$1/s.crt" \
		    --signer-key "$T/req-$1/s.key" --recipient "$2/ra-enc.crt" \
		    --csr "$T/req-$1/c.pem" --txid "bench-$1-$i" --out "$T/req-$1/$i.der" \
		    >/dev/null 2>&1 || return 1
	done
}

# run NAME URL...: send NAME's requests over the URLs in turn, C at a time;
# prints "enrollments/s successes"
run() {
	local name=$1 i args=() t0 t1 ok=0; shift
	local urls=("$@")
	for i in $(seq "$N"); do
		[ "$i" -gt 1 ] && args+=(--next)
		args+=(-s -X POST -H 'Content-Type: application/x-pki-message'
		    --data-binary "@$T/req-$name/$i.der" -o "$T/req-$name/$i.rep"
		    "${urls[$((i % ${#urls[@]}))]}?operation=PKIOperation")
	done
	t0=$(date +%s%N)
	curl -s -Z --parallel-max "$C" --max-time 600 "${args[@]}" 2>/dev/null
	t1=$(date +%s%N)
	for i in $(seq "$N"); do
		[ "$(status_of "$T/req-$name/$i.rep")" = 0/ ] && ok=$((ok + 1))
	done
	awk -v n="$N" -v ns=$((t1 - t0)) -v ok="$ok" \
	    'BEGIN { printf "%8.1f enrollments/s  (%d of %d SUCCESS, %.2f s)\n", n / (ns / 1e9), ok, n, ns / 1e9 }'
}

pg_start "$T/pg" >/dev/null || { echo "bench/pg.sh: PostgreSQL did not start" >&2; exit 1; }
node lite || exit 1
URL_LITE=$SCEPD_URL
node pg1 "$PG_URI" || exit 1
URL_PG1=$SCEPD_URL
twin pg2 pg1 || exit 1
URL_PG2=$SCEPD_URL
build lite "$T/lite" && build pg1 "$T/pg1" && build pg2 "$T/pg1" || exit 1

echo "bench/pg.sh: $N enrollments per scenario, $C at a time, $(nproc) cores"
printf '%-34s' "one node, SQLite:"; run lite "$URL_LITE"
printf '%-34s' "one node, PostgreSQL:"; run pg1 "$URL_PG1"
printf '%-34s' "two nodes, one PostgreSQL:"; run pg2 "$URL_PG1" "$URL_PG2"

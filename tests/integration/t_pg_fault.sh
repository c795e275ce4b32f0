#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_pg_fault.sh: faults under load with scepd nodes on one real PostgreSQL
# (issue 14; lib_pg.sh starts the server, skipped when it is missing). Load is
# M distinct PKCSReqs (scep_send, EnforcePassword off) sent 8 at a time:
#   - kill -9 of node B while it serves them: every SUCCESS a client received
#     names a certificate that is in the database exactly once, issued for that
#     request; sent again to node A, every request gets SUCCESS, and those
#     answered before get the same certificate;
#   - PostgreSQL stopped (fast) while node A serves them: every reply is a
#     signed CertRep, SUCCESS or FAILURE, node A keeps running, /healthz says
#     503; PostgreSQL started again: node A serves by itself, and the requests
#     that failed succeed when sent again, every certificate in the database once.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
. "$(dirname "$0")/lib_pg.sh"
need_binaries
need_scep_send
T=$TEST_TMP
M=60

if ! pg_find; then
	skip "$PG_MISSING"
	done_testing
	exit 0
fi
if pg_start "$T/pg"; then pass "PostgreSQL starts in the test folder"
else bail "PostgreSQL starts in the test folder"; fi

init_scepd "$T/a" || bail "scepctl init"
check "node A: database = the PostgreSQL URI" pg_use "$T/a" "$PG_URI"
check "node A: EnforcePassword = false" set_conf "$T/a" EnforcePassword false
rm -f "$T/a/scepd.db"
PORT_A=$(cat "$T/a/.test-port")
cp -a "$T/a" "$T/b"
port=$(free_port)
sed -i "s|$T/a\"|$T/b\"|; s|127.0.0.1:$PORT_A|127.0.0.1:$port|" "$T/b/scepd.conf"
echo "$port" >"$T/b/.test-port"
rm -f "$T/b/scepd.log" "$T/b/access.log"
run_scepd "$T/a" || bail "node A starts"
PID_A=$SCEPD_PID URL_A=$SCEPD_URL
run_scepd "$T/b" || bail "node B starts"
PID_B=$SCEPD_PID URL_B=$SCEPD_URL
scepd_env "$T/a"

self_signed "$T/signer.key" "$T/signer.crt" fault-signer

# build NAME: M PKCSReqs $T/NAME/req-I.der (CN=NAME-I, transactionID NAME-tx-I)
build() {
	local i
	mkdir -p "$T/$1"
	for i in $(seq "$M"); do
		new_csr "$T/signer.key" "$T/$1/csr-$i.pem" "/CN=$1-$i" || return 1
		"$SCEP_SEND" --type pkcsreq --signer-cert "$T/signer.crt" --signer-key "$T/signer.key" \
		    --recipient "$T/a/ra-enc.crt" --csr "$T/$1/csr-$i.pem" --txid "$1-tx-$i" \
		    --out "$T/$1/req-$i.der" >/dev/null 2>>"$T/$1/scep_send.err" || return 1
	done
}

# send NAME URL TAG [FIRST LAST]: NAME's requests (all, or FIRST to LAST) to URL,
# 8 at a time; replies rep-TAG-I.der
send() {
	local i args=()
	for i in $(seq "${4:-1}" "${5:-$M}"); do
		[ "${#args[@]}" -gt 0 ] && args+=(--next)
		args+=(-s -X POST -H 'Content-Type: application/x-pki-message'
		    --data-binary "@$T/$1/req-$i.der" -o "$T/$1/rep-$3-$i.der"
		    "$2?operation=PKIOperation")
	done
	curl -s -Z --parallel-max 8 --max-time 120 "${args[@]}" 2>>"$T/$1/curl.err"
}

# serial_of REPLY: the serial of the certificate a SUCCESS CertRep carries
serial_of() {
	reply_open "$1" "$T/signer.key" "$1.p7" && p7_first_cert "$1.p7" "$1.pem" &&
	openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2
}

# count STATUS NAME TAG: replies of NAME/TAG with "pkiStatus/failInfo" STATUS (a prefix)
count() {
	local i n=0
	for i in $(seq "$M"); do
		case $(status_of "$T/$2/rep-$3-$i.der" 2>/dev/null) in
		"$1"*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}

# successes_stored NAME TAG: every SUCCESS of NAME/TAG is in the database exactly
# once, issued for its transactionID; prints what is wrong
successes_stored() {
	local i s bad=0
	for i in $(seq "$M"); do
		[ "$(status_of "$T/$1/rep-$2-$i.der" 2>/dev/null)" = 0/ ] || continue
		s=$(serial_of "$T/$1/rep-$2-$i.der") || { echo "reply $i unreadable"; bad=1; continue; }
		if [ "$(pg_sql "SELECT count(*) FROM certificates WHERE serial = '$s'")" != 1 ] ||
		    [ "$(pg_sql "SELECT count(*) FROM requests WHERE outcome = 'issued' AND cert_serial = '$s' AND transaction_id = '$1-tx-$i'")" != 1 ]; then
			echo "request $i: certificate $s not stored once"; bad=1
		fi
	done
	return $bad
}

# same_as_before NAME TAG1 TAG2: requests with SUCCESS in TAG1 got the same certificate in TAG2
same_as_before() {
	local i bad=0
	for i in $(seq "$M"); do
		[ "$(status_of "$T/$1/rep-$2-$i.der" 2>/dev/null)" = 0/ ] || continue
		[ "$(serial_of "$T/$1/rep-$2-$i.der")" = "$(serial_of "$T/$1/rep-$3-$i.der")" ] ||
			{ echo "request $i: another certificate"; bad=1; }
	done
	return $bad
}

# --- kill -9 of node B under load
check "$M requests built (kill)" build kill
send kill "$URL_B" 1 &
load=$!
track_pid "$load"
# kill B once it has issued a few
issued_some() { [ "$(pg_sql "SELECT count(*) FROM certificates WHERE subject LIKE '%CN=kill-%'")" -ge 5 ]; }
check "node B issues under load" wait_until 120 issued_some
kill -9 "$PID_B"
wait "$PID_B" 2>/dev/null
wait "$load" 2>/dev/null
ok=$(count 0/ kill 1)
diag "before kill -9: $ok SUCCESS of $M"
check "every SUCCESS a client got from node B is in the database once" successes_stored kill 1
orphans=$(pg_sql "SELECT count(*) FROM certificates c WHERE subject LIKE '%CN=kill-%' AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.cert_serial = c.serial)")
is "$orphans" 0 "no certificate without its request (nothing half-written)"
send kill "$URL_A" 2
is "$(count 0/ kill 2)" "$M" "all $M requests sent again to node A: SUCCESS"
check "those answered before get the same certificate" same_as_before kill 1 2
is "$(pg_sql "SELECT count(*) FROM certificates WHERE subject LIKE '%CN=kill-%'")" "$M" \
	"$M certificates in the database, one per request"

# --- PostgreSQL stopped under load: the first half is in flight when it stops
# (a fast node may answer all of it first), the second half is sent after
half=$((M / 2))
check "$M requests built (down)" build down
send down "$URL_A" 1 1 "$half" &
load=$!
track_pid "$load"
issued_down() { [ "$(pg_sql "SELECT count(*) FROM certificates WHERE subject LIKE '%CN=down-%'")" -ge 5 ]; }
check "node A issues under load" wait_until 120 issued_down
check "PostgreSQL stops under load" pg_halt "$T/pg"
wait "$load" 2>/dev/null
send down "$URL_A" 1 $((half + 1)) "$M"
ok=$(count 0/ down 1)
failed=$(count 2/ down 1)
diag "with PostgreSQL stopped under load: $ok SUCCESS, $failed FAILURE of $M"
is "$((ok + failed))" "$M" "every request got a signed SUCCESS or FAILURE"
check "requests after the stop get FAILURE (all $((M - half)) sent after it, at least)" \
	test "$failed" -ge $((M - half))
check "node A still runs" kill -0 "$PID_A"
is "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$SCEPD_BASE/healthz")" 503 \
	"/healthz: 503 while PostgreSQL is down"
check "PostgreSQL starts again" pg_resume "$T/pg"
ready() { [ "$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$SCEPD_BASE/healthz")" = 200 ]; }
check "node A is ready again by itself" wait_until 60 ready
check "every SUCCESS a client got is in the database once" successes_stored down 1
send down "$URL_A" 2
is "$(count 0/ down 2)" "$M" "all $M requests sent again: SUCCESS"
check "those answered before get the same certificate" same_as_before down 1 2
is "$(pg_sql "SELECT count(*) FROM certificates WHERE subject LIKE '%CN=down-%'")" "$M" \
	"$M certificates in the database, one per request"

SCEPD_PID=$PID_A
stop_scepd
done_testing

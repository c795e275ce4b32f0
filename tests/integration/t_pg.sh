#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_pg.sh: three scepd nodes sharing one real PostgreSQL server (issue 14). The
# server is made with initdb and started with pg_ctl in the test's folder (as
# nobody when run as root), on a free port, listening on a unix socket only;
# skipped with the reason when PostgreSQL is not installed. Nodes A, B and C
# share the CA and RA keys and the configuration, each on its own port:
#   - the schema is made once (sql/pg), a node and scepctl open it again;
#   - strongSwan `pki --scep` and scepclient enroll through each node with
#     one-time passwords made by scepctl (any node's configuration);
#   - one password, 50 PKCSReqs sent at once spread over the three nodes:
#     exactly one SUCCESS, one certificate in the database;
#   - a request answered by A and sent again to B gets the same certificate;
#   - a request waiting for approval on A is approved with scepctl on B and
#     collected through C;
#   - a certificate revoked through A's scepctl is in the CRL C serves;
#   - PostgreSQL stopped: FAILURE replies (no crash), /healthz 503; started
#     again: the nodes enroll again by themselves; restarted while the nodes
#     are idle: the first request through each node is issued;
#   - a URI with a password is refused (it belongs in a passfile);
#   - scepd -t warns when the database's CA is not the node's;
#   - scepctl store migrate --to postgresql copies a SQLite store (counts on
#     both sides; a request sent again and a spare one-time password work on
#     the copy; a second copy into it is refused).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
. "$(dirname "$0")/lib_pg.sh"
need_binaries
need_scep_send
T=$TEST_TMP
N=50

if ! pg_find; then
	skip "$PG_MISSING"
	done_testing
	exit 0
fi
if pg_start "$T/pg"; then pass "PostgreSQL starts (initdb, pg_ctl) in the test folder"; else fail "PostgreSQL starts (initdb, pg_ctl) in the test folder"; fi
[ -n "${PG_URI:-}" ] || bail "no PostgreSQL server"

# --- three nodes: A made by scepctl init, B and C copies with their own port
init_scepd "$T/a" || bail "scepctl init"
check "node A: database = the PostgreSQL URI" pg_use "$T/a" "$PG_URI"
check "node A: allow_des for scepclient" set_conf "$T/a" allow_des true
check "node A: per_ip_connections raised for the race" conf_set_in "$T/a" http per_ip_connections $((N + 10))
rm -f "$T/a/scepd.db"
PORT_A=$(cat "$T/a/.test-port")
for n in b c; do
	cp -a "$T/a" "$T/$n"
	port=$(free_port)
	sed -i "s|$T/a\"|$T/$n\"|; s|127.0.0.1:$PORT_A|127.0.0.1:$port|" "$T/$n/scepd.conf"
	echo "$port" >"$T/$n/.test-port"
	rm -f "$T/$n/scepd.log" "$T/$n/access.log"
done

declare -A PID URL
for n in a b c; do
	run_scepd "$T/$n" || bail "node $n starts on PostgreSQL"
	PID[$n]=$SCEPD_PID
	URL[$n]=$SCEPD_URL
	pass "node $n starts on PostgreSQL (port $SCEPD_PORT)"
done
is "$(pg_sql 'SELECT version FROM scepd_schema ORDER BY version' | tr '\n' ' ')" "6 7 8 " \
	"the schema was made once, at version 8 (sql/pg/006_initial.sql, 007_lab_rules.sql, 008_recordings.sql)"
check "scepctl (node B's configuration) opens the database" "$SCEPCTL_BIN" -f "$T/b/scepd.conf" cert list
scepd_env "$T/a"
sqlite_left=$(ls "$T"/a/scepd.db "$T"/b/scepd.db "$T"/c/scepd.db 2>/dev/null | wc -l)
is "$sqlite_left" 0 "no node made a SQLite file"

# otp NODE: a one-time password made by scepctl with NODE's configuration
otp() { "$SCEPCTL_BIN" -f "$T/$1/scepd.conf" challenge new 2>>"$T/scepctl.err" | tr -d '[:space:]'; }
# certs CN-PREFIX: certificates in the database whose subject has CN=PREFIX
certs() { pg_sql "SELECT count(*) FROM certificates WHERE subject LIKE '%CN=$1%'"; }

# --- real clients through each node
if have_cmd pki; then
	for n in a b c; do
		mint=$([ "$n" = a ] && echo c || echo a)
		pw=$(otp "$mint")
		new_rsa_key "$T/pki-$n.key"
		timeout 60 pki --scep --url "${URL[$n]}" --in "$T/pki-$n.key" \
		    --dn "C=CH, O=strongSwan, CN=pg-pki-$n" --password "$pw" \
		    --cacert-enc "$T/a/ra-enc.crt" --cacert-sig "$T/a/ra-sign.crt" \
		    --cacert "$T/a/ca.crt" --maxpolltime 5 --interval 1 --outform pem \
		    >"$T/pki-$n.crt" 2>"$T/pki-$n.err"
		rc=$?
		is "$rc" 0 "pki --scep enrolls through node $n with a password made on node $mint"
		is "$(certs "pg-pki-$n")" 1 "its certificate is in the shared database"
		timeout 60 pki --scep --url "${URL[$n]}" --in "$T/pki-$n.key" \
		    --dn "C=CH, O=strongSwan, CN=pg-pki-$n-again" --password "$pw" \
		    --cacert-enc "$T/a/ra-enc.crt" --cacert-sig "$T/a/ra-sign.crt" \
		    --cacert "$T/a/ca.crt" --maxpolltime 5 --interval 1 --outform pem \
		    >/dev/null 2>&1
		isnt "$?" 0 "the same password is refused the second time (node $n)"
	done
else
	skip "strongSwan pki not installed (Debian package strongswan-pki)"
fi
if have_cmd scepclient; then
	for n in a b c; do
		pw=$(otp b)
		mkdir -p "$T/sc-$n"
		timeout 60 scepclient -server-url "${URL[$n]}" -challenge "$pw" \
		    -private-key "$T/sc-$n/client.key" -certificate "$T/sc-$n/client.crt" \
		    -cn "pg-sc-$n" >"$T/sc-$n/out" 2>&1
		rc=$?
		is "$rc" 0 "scepclient enrolls through node $n"
		is "$(certs "pg-sc-$n")" 1 "scepclient's certificate (node $n) is in the database"
	done
else
	skip "scepclient not installed (Debian package scep)"
fi

# --- one password, N requests at once over three nodes
pw=$(otp a)
mkdir -p "$T/race"
self_signed "$T/race/signer.key" "$T/race/signer.crt" race-signer
built=0
for i in $(seq "$N"); do
	new_csr_pw "$T/race/signer.key" "$T/race/csr-$i.pem" "pg-race-$i" "$pw" &&
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/race/signer.crt" \
	    --signer-key "$T/race/signer.key" --recipient "$T/a/ra-enc.crt" \
	    --csr "$T/race/csr-$i.pem" --txid "pg-race-tx-$i" --out "$T/race/req-$i.der" \
	    >/dev/null 2>>"$T/race/scep_send.err" && built=$((built + 1))
done
is "$built" "$N" "$N PKCSReqs with one password built (scep_send)"
args=()
nodes=(a b c)
for i in $(seq "$N"); do
	[ "$i" -gt 1 ] && args+=(--next)
	args+=(-s -X POST -H 'Content-Type: application/x-pki-message'
	    --data-binary "@$T/race/req-$i.der" -o "$T/race/rep-$i.der"
	    "${URL[${nodes[$((i % 3))]}]}?operation=PKIOperation")
done
curl -s -Z --parallel-immediate --parallel-max "$N" --max-time 180 "${args[@]}" 2>"$T/race/curl.err"
ok=0 bad=0
for i in $(seq "$N"); do
	case $(status_of "$T/race/rep-$i.der") in
	0/) ok=$((ok + 1)) ;;
	2/2) bad=$((bad + 1)) ;;
	esac
done
is "$ok" 1 "$N requests racing on three nodes with one password: exactly one SUCCESS"
is "$bad" $((N - 1)) "the other $((N - 1)) get FAILURE badRequest"
is "$(certs pg-race-)" 1 "one certificate for the password in the database"

# --- a request answered by A, sent again to B: the same certificate
self_signed "$T/re.key" "$T/re.crt" pg-resend
new_csr_pw "$T/re.key" "$T/re.csr" pg-resend "$(otp a)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/re.crt" --signer-key "$T/re.key" \
    --recipient "$T/a/ra-enc.crt" --csr "$T/re.csr" --out "$T/re.der" >/dev/null 2>>"$T/scep_send.err"
post_pki "$T/re.der" "$T/re-a.rep" "${URL[a]}" >/dev/null
is "$(status_of "$T/re-a.rep")" 0/ "node A issues a certificate"
post_pki "$T/re.der" "$T/re-b.rep" "${URL[b]}" >/dev/null
is "$(status_of "$T/re-b.rep")" 0/ "the same request sent to node B: SUCCESS"
reply_open "$T/re-a.rep" "$T/re.key" "$T/re-a.p7" && p7_first_cert "$T/re-a.p7" "$T/re-a.pem"
reply_open "$T/re-b.rep" "$T/re.key" "$T/re-b.p7" && p7_first_cert "$T/re-b.p7" "$T/re-b.pem"
check "node B answers with the certificate node A issued" same_cert "$T/re-a.pem" "$T/re-b.pem"
is "$(certs pg-resend)" 1 "one certificate for it in the database"

# --- revocation on one node, in the CRL every node serves
serial=$(openssl x509 -in "$T/re-a.pem" -noout -serial | cut -d= -f2)
check "scepctl on node A revokes $serial" "$SCEPCTL_BIN" -f "$T/a/scepd.conf" cert revoke "$serial"
crl_has() {
	curl -s --max-time 10 -o "$T/crl-$1.der" "http://127.0.0.1:$(cat "$T/$1/.test-port")/crl/ca.crl" &&
	openssl crl -inform DER -in "$T/crl-$1.der" -noout -text 2>/dev/null | grep -qi "Serial Number: *$serial"
}
for n in b c; do
	check "node $n's CRL lists the revoked certificate" wait_until 60 crl_has "$n"
done

# --- PostgreSQL stopped: FAILURE and not ready; started: serving again
healthz() { curl -s -o /dev/null --max-time 10 -w '%{http_code}' "http://127.0.0.1:$(cat "$T/$1/.test-port")/healthz"; }
is "$(healthz a)" 200 "/healthz: 200 while the database is up"
self_signed "$T/down.key" "$T/down.crt" pg-down
new_csr_pw "$T/down.key" "$T/down.csr" pg-down "$(otp a)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/down.crt" --signer-key "$T/down.key" \
    --recipient "$T/a/ra-enc.crt" --csr "$T/down.csr" --out "$T/down.der" >/dev/null 2>>"$T/scep_send.err"
check "PostgreSQL stops" pg_halt "$T/pg"
code=$(post_pki "$T/down.der" "$T/down-a.rep" "${URL[a]}" | cut -d' ' -f1)
st=$(status_of "$T/down-a.rep")
if [ "$code" = 200 ] && [ "${st%%/*}" = 2 ]; then
	pass "with the database down, a PKCSReq gets a signed FAILURE ($st)"
else
	fail "with the database down, a PKCSReq gets a signed FAILURE" "HTTP $code, status $st"
fi
is "$(healthz b)" 503 "/healthz: 503 while the database is down"
for n in a b c; do
	check "node $n still runs" kill -0 "${PID[$n]}"
done
check "PostgreSQL starts again" pg_resume "$T/pg"
sleep_until_ready() { [ "$(healthz "$1")" = 200 ]; }
for n in a b c; do
	check "node $n is ready again by itself (/healthz 200)" wait_until 60 sleep_until_ready "$n"
done
new_csr_pw "$T/down.key" "$T/down2.csr" pg-down "$(otp a)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/down.crt" --signer-key "$T/down.key" \
    --recipient "$T/a/ra-enc.crt" --csr "$T/down2.csr" --out "$T/down2.der" >/dev/null 2>>"$T/scep_send.err"
post_pki "$T/down2.der" "$T/down2.rep" "${URL[b]}" >/dev/null
is "$(status_of "$T/down2.rep")" 0/ "with the database back, a new request is issued (no node restarted)"

# --- PostgreSQL restarted while the nodes are idle: the next request is served
# (a pooled connection found dead is made again, not turned into a FAILURE)
for n in a b c; do
	self_signed "$T/idle-$n.key" "$T/idle-$n.crt" "pg-idle-$n"
	new_csr_pw "$T/idle-$n.key" "$T/idle-$n.csr" "pg-idle-$n" "$(otp a)"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/idle-$n.crt" --signer-key "$T/idle-$n.key" \
	    --recipient "$T/a/ra-enc.crt" --csr "$T/idle-$n.csr" --out "$T/idle-$n.der" \
	    >/dev/null 2>>"$T/scep_send.err"
done
pg_halt "$T/pg" && pg_resume "$T/pg"
pass "PostgreSQL restarted while the nodes are idle"
for n in a b c; do
	post_pki "$T/idle-$n.der" "$T/idle-$n.rep" "${URL[$n]}" >/dev/null
	is "$(status_of "$T/idle-$n.rep")" 0/ "node $n: the first request after the restart is issued"
done

# --- approval: pending on A, approved with scepctl on B, collected through C
for n in a b c; do
	check "node $n: certificate.approval = true" set_conf "$T/$n" approval true
done
for n in a b c; do
	stop_pid "${PID[$n]}"
	run_scepd "$T/$n" || bail "node $n restarts with approval"
	PID[$n]=$SCEPD_PID
done
self_signed "$T/ap.key" "$T/ap.crt" pg-approve
new_csr_pw "$T/ap.key" "$T/ap.csr" pg-approve "$(otp a)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/ap.crt" --signer-key "$T/ap.key" \
    --recipient "$T/a/ra-enc.crt" --csr "$T/ap.csr" --out "$T/ap.der" >/dev/null 2>>"$T/scep_send.err"
post_pki "$T/ap.der" "$T/ap-a.rep" "${URL[a]}" >/dev/null
is "$(status_of "$T/ap-a.rep")" 3/ "node A: the request waits for approval (PENDING)"
id=$("$SCEPCTL_BIN" -f "$T/b/scepd.conf" request list 2>/dev/null | awk '/pg-approve/ { print $1; exit }')
like "$id" '^[0-9]+$' "scepctl on node B lists the request waiting on A"
check "scepctl on node B approves it" "$SCEPCTL_BIN" -f "$T/b/scepd.conf" request approve "$id"
post_pki "$T/ap.der" "$T/ap-c.rep" "${URL[c]}" >/dev/null
is "$(status_of "$T/ap-c.rep")" 0/ "the device collects it through node C (SUCCESS)"
is "$(certs pg-approve)" 1 "one certificate for it in the database"

# --- a password in the URI is refused
cp -a "$T/a" "$T/pw"
pg_use "$T/pw" "postgresql://scepd:secret@localhost/scepd"
out=$("$SCEPCTL_BIN" -f "$T/pw/scepd.conf" cert list 2>&1)
like "$out" 'carries a password' "a database URI with a password is refused"
unlike "$out" 'secret' "the refusal does not repeat the password"

# --- scepd -t: warns when the database's CA is not the node's
out=$("$SCEPD_BIN" -t -f "$T/a/scepd.conf" 2>&1)
rc=$?
is "$rc" 0 "scepd -t passes on node A"
unlike "$out" 'warning' "scepd -t: no warning when the node has the database's CA"
init_scepd "$T/other" || bail "scepctl init (another CA)"
pg_use "$T/other" "$PG_URI"
out=$("$SCEPD_BIN" -t -f "$T/other/scepd.conf" 2>&1)
rc=$?
is "$rc" 0 "scepd -t still passes on a node with another CA"
like "$out" "warning: the database's newest certificate was issued by CA key [0-9A-F]{40}, but this node's CA" \
	"scepd -t warns that the database's CA differs from the node's"

# --- scepctl store migrate: a SQLite store copied into PostgreSQL
init_scepd "$T/lite" || bail "scepctl init (SQLite)"
run_scepd "$T/lite" || bail "the SQLite node starts"
LITE_PID=$SCEPD_PID
self_signed "$T/mig.key" "$T/mig.crt" pg-migrated
new_csr_pw "$T/mig.key" "$T/mig.csr" pg-migrated "$(new_otp)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/mig.crt" --signer-key "$T/mig.key" \
    --recipient "$T/lite/ra-enc.crt" --csr "$T/mig.csr" --out "$T/mig.der" >/dev/null 2>>"$T/scep_send.err"
post_pki "$T/mig.der" "$T/mig-1.rep" >/dev/null
is "$(status_of "$T/mig-1.rep")" 0/ "the SQLite node issues a certificate"
spare=$(new_otp)
new_otp >/dev/null
printf 'Secret-pw-1\n' | scepctl_cmd user add alice >/dev/null 2>&1
scepctl_cmd crl --out "$T/lite.crl" >/dev/null 2>&1
SCEPD_PID=$LITE_PID SCEPD_LOG=$T/lite/scepd.log
stop_scepd
URI2=$(pg_createdb scepd_migrated) || bail "a second database"
out=$("$SCEPCTL_BIN" -f "$T/lite/scepd.conf" store migrate --to postgresql "$URI2" 2>&1)
rc=$?
is "$rc" 0 "scepctl store migrate --to postgresql succeeds"
like "$out" 'every count matches' "it says the counts match"
for t in certificates requests challenges admin_users crls; do
	want=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT count(*) FROM " + sys.argv[2]).fetchone()[0])' "$T/lite/scepd.db" "$t")
	got=$(_pg_as "$PG_BIN/psql" -qAtX -h "$PG_DIR" -p "$PG_PORT" -U scepd -d scepd_migrated -c "SELECT count(*) FROM $t")
	if [ "$want" -gt 0 ] && [ "$want" = "$got" ]; then pass "store migrate: $t, $got rows on both sides"
	else fail "store migrate: $t, the same rows on both sides" "SQLite $want, PostgreSQL $got"; fi
done
out=$("$SCEPCTL_BIN" -f "$T/lite/scepd.conf" store migrate --to postgresql "$URI2" 2>&1)
isnt "$?" 0 "a second migrate into the same database is refused"
like "$out" 'not empty' "because the database is not empty"
pg_use "$T/lite" "$URI2"
run_scepd "$T/lite" || bail "the node starts on the migrated database"
LITE_PID=$SCEPD_PID
post_pki "$T/mig.der" "$T/mig-2.rep" >/dev/null
reply_open "$T/mig-1.rep" "$T/mig.key" "$T/mig-1.p7" && p7_first_cert "$T/mig-1.p7" "$T/mig-1.pem"
reply_open "$T/mig-2.rep" "$T/mig.key" "$T/mig-2.p7" && p7_first_cert "$T/mig-2.p7" "$T/mig-2.pem"
check "after the migration, the request sent again gets the same certificate" same_cert "$T/mig-1.pem" "$T/mig-2.pem"
self_signed "$T/mig2.key" "$T/mig2.crt" pg-migrated-2
new_csr_pw "$T/mig2.key" "$T/mig2.csr" pg-migrated-2 "$spare"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/mig2.crt" --signer-key "$T/mig2.key" \
    --recipient "$T/lite/ra-enc.crt" --csr "$T/mig2.csr" --out "$T/mig2.der" >/dev/null 2>>"$T/scep_send.err"
post_pki "$T/mig2.der" "$T/mig2.rep" >/dev/null
is "$(status_of "$T/mig2.rep")" 0/ "a one-time password made before the migration works after it"
like "$(scepctl_cmd user list 2>&1)" 'alice' "the account was copied"
SCEPD_PID=$LITE_PID SCEPD_LOG=$T/lite/scepd.log
stop_scepd

for n in a b c; do
	SCEPD_PID=${PID[$n]}; SCEPD_LOG=$T/$n/scepd.log
	stop_scepd
done
done_testing

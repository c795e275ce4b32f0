#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_reload.sh: SIGHUP and SIGTERM with the real daemon and a real client.
#  1. Reload under load: two strongSwan `pki --scep` loops enroll (static
#     password from `scepctl init --challenge`) and a curl loop fetches
#     GetCACaps/GetCACert over keep-alive connections while scepd gets 8
#     SIGHUPs alternating two configurations that differ in the certificate
#     template and in http.max_connections (so every reload also replaces the
#     listener on its socket). Zero failed requests; the numbers are printed.
#  2. The new configuration takes effect (validity of the next certificate).
#  3. A broken configuration, a missing key and an address in use are each
#     refused on reload with the reason logged (event 1002, file:line for
#     configuration errors) while the old configuration keeps serving.
#  4. A new listen address on reload: served at once, the old one closed.
#  5. `scepctl ra renew` + reload: GetCACert hands out the new RA
#     certificates; a client still using the old ones enrolls and its CertRep
#     is signed by the old RA; a client using the new ones enrolls too.
#  6. SIGTERM drain: a request in flight finishes (200) after SIGTERM, new
#     connections are refused meanwhile, exit 0; one that never finishes is
#     cut after http.drain_timeout and scepd still exits 0.
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries
if ! have_cmd pki; then
	skip "pki (strongswan-pki) not installed: the reload tests need a real client"
	done_testing; exit 0
fi

D=$(new_dir lab)
T=$TEST_TMP
init_scepd "$D" --challenge s3cret || bail "scepctl init"
cp "$D/scepd.conf" "$D/a.conf"
cp "$D/scepd.conf" "$D/b.conf"
python3 "$HELPERS/conf_set.py" "$D/b.conf" certificate validity_days 366 &&
	python3 "$HELPERS/conf_set.py" "$D/b.conf" http max_connections 511 || bail "variant b"
NKEYS=40
new_keys "$T/keys" $NKEYS
[ -s "$T/keys/k$NKEYS.pem" ] || bail "$NKEYS RSA keys generated"
start_notified "$D" || bail "scepd starts"

# --- 1. reload under load
worker() {
	local id=$1 n=0 i rc
	while [ ! -e "$T/stop" ]; do
		for i in $(seq "$id" 2 $NKEYS); do
			[ -e "$T/stop" ] && break
			enroll "$SCEPD_URL" "$T/keys/k$i.pem" "load-$i" s3cret "$D" "$T/w$id-$n.pem"
			rc=$?
			echo "$rc k$i $T/w$id-$n.pem" >>"$T/results-$id"
			n=$((n + 1))
		done
	done
}
fetcher() {
	local urls=() i
	for i in 1 2 3 4 5; do
		urls+=(-o /dev/null "$SCEPD_URL?operation=GetCACaps" -o /dev/null "$SCEPD_URL?operation=GetCACert")
	done
	while [ ! -e "$T/stop" ]; do
		curl -s --max-time 20 -w '%{http_code} %{num_connects}\n' "${urls[@]}" \
			>>"$T/codes" 2>/dev/null
	done
}
# the loops are tracked, so that a script ending early (bail) stops them too
worker 1 & wp1=$!; track_pid $wp1
worker 2 & wp2=$!; track_pid $wp2
fetcher & fp=$!; track_pid $fp
# enrolled, fetched: how many enrollments and fetches have finished so far
enrolled() { cat "$T"/results-* 2>/dev/null | wc -l; }
fetched() { cat "$T/codes" 2>/dev/null | wc -l; }
# more_than COUNTER N: the counter is above N
more_than() { [ "$("$1")" -gt "$2" ]; }
# the load runs before the first reload, and each generation of the
# configuration serves at least one more enrollment and fetch before the next
wait_until 60 more_than fetched 0 || diag "no fetch finished before the reloads"
wait_until 60 more_than enrolled 0 || diag "no enrollment finished before the reloads"
mark=$(log_mark)
for r in 1 2 3 4 5 6 7 8; do
	if [ $((r % 2)) = 1 ]; then cp "$D/b.conf" "$D/scepd.conf"; else cp "$D/a.conf" "$D/scepd.conf"; fi
	done_before=$(enrolled) fetched_before=$(fetched)
	notify_mark
	kill -HUP "$SCEPD_PID"
	# a reload that does not come back, or no traffic after it, ends the loop
	# (the counts below then fail) instead of waiting for every later reload
	wait_notify '^READY=1' 20 || { fail "reload $r: READY=1"; break; }
	wait_until 30 more_than enrolled "$done_before" ||
		{ diag "reload $r: no enrollment finished within 30 s"; break; }
	wait_until 30 more_than fetched "$fetched_before" ||
		{ diag "reload $r: no fetch finished within 30 s"; break; }
done
# enough traffic for the counts below (not a fixed time: the machine may be loaded)
wait_until 60 more_than enrolled 19 || diag "fewer than 20 enrollments after 60 s more"
wait_until 60 more_than fetched 49 || diag "fewer than 50 fetches after 60 s more"
touch "$T/stop"
wait $wp1 $wp2 $fp
total=$(cat "$T"/results-* | wc -l)
failed=$(awk '$1 != 0' "$T"/results-* | wc -l)
fetches=$(wc -l <"$T/codes")
fetch_bad=$(awk '$1 != 200' "$T/codes" | wc -l)
reused=$(awk '$2 == 0' "$T/codes" | wc -l)
reloads=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -c 'event=1001')
replaced=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -c 'replaced; finishing its requests')
access_total=$(grep -vc '^#' "$D/access.log")
access_bad=$(grep -v '^#' "$D/access.log" | awk '$12 != 200' | wc -l)
diag "reload under load: $reloads reloads ($replaced listener replacements), $total enrollments" \
	"with pki --scep ($failed failed), $fetches GetCACaps/GetCACert transfers by curl" \
	"($reused on a reused keep-alive connection; $fetch_bad not 200); access log:" \
	"$access_total requests, $access_bad not 200"
is "$reloads" 8 "8 reloads done under load (event 1001 each)"
is "$replaced" 8 "each reload replaced the listener (http.max_connections changed)"
[ "$total" -ge 20 ] && pass "at least 20 enrollments during the reloads ($total)" ||
	fail "at least 20 enrollments during the reloads" "only $total"
is "$failed" 0 "no enrollment failed during the reloads"
[ "$fetches" -ge 50 ] && pass "at least 50 keep-alive fetches during the reloads ($fetches)" ||
	fail "at least 50 keep-alive fetches during the reloads" "only $fetches"
is "$fetch_bad" 0 "every GetCACaps/GetCACert during the reloads answered 200"
is "$access_bad" 0 "the access log shows no status other than 200"
bad_certs=0
while read -r rc key cert; do
	issued_by_ca "$cert" "$D/ca.crt" || bad_certs=$((bad_certs + 1))
done <<<"$(cat "$T"/results-*)"
is "$bad_certs" 0 "every certificate returned during the reloads verifies against the CA"
unlike "$(tail -n +"$((mark + 1))" "$SCEPD_LOG")" 'outcome=FAILURE|status=5[0-9][0-9]|event=1002' \
	"the event log shows no failure during the reloads"

# --- 2. the new configuration takes effect
new_keys "$T/fresh" 2
cp "$D/b.conf" "$D/scepd.conf"; notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
enroll "$SCEPD_URL" "$T/fresh/k1.pem" fresh-b s3cret "$D" "$T/fresh-b.pem"
days=$(( ($(date -d "$(openssl x509 -in "$T/fresh-b.pem" -noout -enddate | cut -d= -f2)" +%s) - \
	$(date -d "$(openssl x509 -in "$T/fresh-b.pem" -noout -startdate | cut -d= -f2)" +%s)) / 86400 ))
is "$days" 366 "after reloading validity_days = 366 the next certificate is valid 366 days"
cp "$D/a.conf" "$D/scepd.conf"; notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10

# --- 3. refused reloads
refused() {   # refused DESC ERE-for-the-reason
	local desc=$1 re=$2 m
	m=$(log_mark); notify_mark
	kill -HUP "$SCEPD_PID"
	wait_notify '^READY=1' 10 || fail "$desc: READY=1 after the refused reload"
	check_log "$m" "reload refused: .*event=1002" "$desc: reload refused (event 1002)"
	check_log "$m" "$re" "$desc: the reason is logged"
	like "$(notify_messages | tail -n 1)" '^READY=1\|STATUS=reload refused' "$desc: STATUS says the reload was refused"
	is "$(http_code "$SCEPD_URL?operation=GetCACaps")" 200 "$desc: the old configuration keeps serving"
}
conf_set "$D" http threads 100000
printf '\nbogus = 1;\n' >>"$D/scepd.conf"
m0=$(log_mark)
refused "broken configuration" 'scepd\.conf:[0-9]+: http\.threads: 100000 is out of range'
check_log "$m0" "scepd\.conf:[0-9]+: unknown setting 'bogus'.*event=1002" "broken configuration: every error logged with file:line"
cp "$D/a.conf" "$D/scepd.conf"
python3 "$HELPERS/conf_set.py" "$D/scepd.conf" ca key '"missing.key"'
refused "missing CA key" 'missing\.key'
cp "$D/a.conf" "$D/scepd.conf"
busy=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$busy" &
bp=$!; track_pid $bp
# listening_on PORT: something accepts connections on 127.0.0.1:PORT
listening_on() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_until 30 listening_on "$busy" || diag "the port holder on $busy did not start"
python3 "$HELPERS/conf_set.py" "$D/scepd.conf" http listen "[ \"127.0.0.1:$(cat "$D/.test-port")\", \"127.0.0.1:$busy\" ]"
refused "address in use" "cannot listen on 127\.0\.0\.1:$busy: Address already in use"
stop_pid $bp
enroll "$SCEPD_URL" "$T/fresh/k2.pem" after-refusals s3cret "$D" "$T/after-refusals.pem"
is "$?" 0 "enrollment works after three refused reloads"
metrics=$(curl -s "$SCEPD_BASE/metrics")
like "$metrics" 'scepd_config_reloads_total\{result="failure"\} 3' "metrics: 3 failed reloads counted"

# --- 4. a new listen address on reload
np=$(free_port)
cp "$D/a.conf" "$D/scepd.conf"
python3 "$HELPERS/conf_set.py" "$D/scepd.conf" http listen "[ \"127.0.0.1:$np\" ]"
notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
is "$(http_code "http://127.0.0.1:$np$NDES_PATH?operation=GetCACaps")" 200 "new listen address served after reload"
# the old listener closes once its last connection is done
wait_until 30 eval '! listening_on "$(cat "$D/.test-port")"'
is "$(http_code "$SCEPD_URL?operation=GetCACaps")" 000 "the old address no longer accepts connections"
like "$(notify_messages | tail -n 1)" "STATUS=serving on http://127\.0\.0\.1:$np" "STATUS names the new listener"
cp "$D/a.conf" "$D/scepd.conf"; notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10

# --- 5. RA renewal with overlap
mkdir -p "$T/oldra"
cp "$D/ra-sign.crt" "$D/ra-enc.crt" "$D/ca.crt" "$T/oldra/"
out=$("$SCEPCTL_BIN" -f "$D/scepd.conf" ra renew --days 400 2>&1); rc=$?
is "$rc" 0 "scepctl ra renew succeeds"
check "ra renew keeps the previous certificates as *.prev" cmp -s "$D/ra-sign.crt.prev" "$T/oldra/ra-sign.crt"
check "ra renew: the new RA signing certificate is issued by the CA" issued_by_ca "$D/ra-sign.crt" "$D/ca.crt"
like "$(openssl x509 -in "$D/ra-enc.crt" -noout -ext keyUsage,extendedKeyUsage 2>/dev/null | tr -d '\n ')" \
	'KeyUsage:criticalKeyEncipherment.*1\.3\.6\.1\.4\.1\.311\.20\.2\.1' "ra renew: encryption certificate keyEncipherment + EKU"
is "$(stat -c %a "$D/ra-enc.key")" 600 "ra renew: the new key is mode 0600"
out=$("$SCEPCTL_BIN" -f "$D/scepd.conf" ra renew 2>&1); rc=$?
is "$rc" 1 "a second renewal while *.prev exists is refused"
like "$out" 'ra-sign\.crt\.prev exists' "the refusal names the kept previous generation"
m=$(log_mark); notify_mark
kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
check_log "$m" 'previous RA generation .* loaded' "reload: the previous RA generation is loaded"
mkdir -p "$T/scepca"
timeout 30 pki --scepca --url "$SCEPD_URL" --caout "$T/scepca/ca.pem" --raout "$T/scepca/ra.pem" \
	--outform pem >"$T/scepca/out" 2>&1
got=$(for f in "$T/scepca"/ra*.pem; do openssl x509 -in "$f" -noout -fingerprint -sha256; done | sort)
want=$(for f in "$D/ra-sign.crt" "$D/ra-enc.crt"; do openssl x509 -in "$f" -noout -fingerprint -sha256; done | sort)
is "$got" "$want" "GetCACert hands out the new RA certificates only"
new_keys "$T/overlap" 2
m=$(log_mark)
enroll "$SCEPD_URL" "$T/overlap/k1.pem" old-ra-client s3cret "$T/oldra" "$T/old-ra-client.pem"
is "$?" 0 "a client still holding the old RA certificates enrolls"
check_log "$m" 'subject="CN=old-ra-client".*encrypted to the previous RA' "log: answered by the previous RA generation"
enroll "$SCEPD_URL" "$T/overlap/k2.pem" new-ra-client s3cret "$D" "$T/new-ra-client.pem"
is "$?" 0 "a client with the new RA certificates enrolls"
rm -f "$D"/*.prev
m=$(log_mark); notify_mark
kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
new_keys "$T/after" 1
enroll "$SCEPD_URL" "$T/after/k1.pem" old-ra-late s3cret "$T/oldra" "$T/old-ra-late.pem"
rc=$?
[ "$rc" != 0 ] && pass "after the *.prev files are removed (and a reload) the old RA is no longer answered" ||
	fail "old RA refused once *.prev is removed" "pki exit $rc"
check_log "$m" 'failInfo=badRequest.*not addressed to any certificate' "log: the old RA envelope is refused with a reason"

# --- 6. SIGTERM drain
conf_set "$D" http drain_timeout 3
notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
port=$(cat "$D/.test-port")
python3 "$HELPERS/slow_request.py" "$port" "$NDES_PATH?operation=GetCACert" "$T/go1" "$T/slow1" &
s1=$!; track_pid $s1
wait_until 30 test -s "$T/slow1" || diag "the slow client did not connect"
m=$(log_mark)
kill -TERM "$SCEPD_PID"
check_log "$m" 'SIGTERM: stopping; no new connections, 1 requests in flight' "SIGTERM with 1 request in flight: logged"
check "scepd waits for the request in flight" kill -0 "$SCEPD_PID"
is "$(http_code "$SCEPD_URL?operation=GetCACaps" --max-time 2)" 000 "during the drain new connections are refused"
touch "$T/go1"
wait $s1
is "$(cat "$T/slow1")" "HTTP/1.1 200 OK" "the request in flight is answered (200) after SIGTERM"
stop_pid "$SCEPD_PID" TERM
is "$STOPPED_RC" 0 "exit status 0 after the drain"
like "$(tail -n 2 "$D/access.log")" 'GET /certsrv/mscep/mscep.dll operation=GetCACert .* slow\+client - 200 ' \
	"access log: the drained request logged with 200"

start_notified "$D" || bail "scepd restarts"
python3 "$HELPERS/slow_request.py" "$port" "$NDES_PATH?operation=GetCACert" "$T/never" "$T/slow2" &
s2=$!; track_pid $s2
wait_until 30 test -s "$T/slow2" || diag "the slow client did not connect"
m=$(log_mark)
t0=$(date +%s)
kill -TERM "$SCEPD_PID"
wait "$SCEPD_PID"; rc=$?
t1=$(date +%s)
is "$rc" 0 "a request that never finishes: exit status 0 still"
[ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 8 ] && pass "it waited http.drain_timeout (3 s) for it ($((t1 - t0)) s)" ||
	fail "waited about http.drain_timeout (3 s)" "took $((t1 - t0)) s"
check_log "$m" '1 requests still in flight after 3 s: closing them' "log: the cut request is reported"
touch "$T/never"

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_metrics.sh: /metrics and /healthz.
#  - /metrics is valid Prometheus text format (checked by a strict parser:
#    TYPE before samples, names, escaping, cumulative histogram buckets) and
#    has every family the issue names: requests by operation and outcome,
#    CertRep failures by failInfo, the enrollment latency histogram, one-time
#    passwords cached, days until the CA and each RA certificate expire.
#  - Counters move: GetCACaps, a pki --scep enrollment, a wrong password
#    (failure, badRequest), an unknown operation (error); the histogram counts
#    the PKIOperations; the group commits (scepd_store_commits_total and
#    the enrollments they held) count the one enrollment; the cached one-time passwords follow
#    `scepctl challenge new`; expiry days match the certificates' notAfter.
#  - /healthz answers 200 "ok", and 503 with the reason while another
#    process holds the store's write lock.
#  - Only monitor.allow may read them: 127.0.0.2 gets 403 with the default
#    list, a reload that allows 127.0.0.2/32 lets it in, an empty list
#    shuts both out; SCEP itself stays open to everyone.
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries

D=$(new_dir lab)
T=$TEST_TMP
init_scepd "$D" || bail "scepctl init (one-time passwords)"
start_notified "$D" || bail "scepd starts"

scrape() {   # scrape NAME: /metrics into $T/NAME.txt, parsed into $T/NAME.samples
	curl -s -o "$T/$1.txt" "$SCEPD_BASE/metrics" &&
		python3 "$HELPERS/prom_check.py" "$T/$1.txt" >"$T/$1.samples"
}
val() {      # val NAME SERIES: the value of one series (exact text before the value)
	awk -v s="$2" '{ v = $NF; $NF = ""; sub(/ $/, ""); if ($0 == s) { print v; found = 1 } }
		END { if (!found) print "absent" }' "$T/$1.samples"
}

if out=$(scrape m0 2>&1); then pass "/metrics parses as Prometheus text format"
else fail "/metrics parses as Prometheus text format" "$out"; fi
like "$(head -c 200 "$T/m0.txt")" '^# HELP scepd_requests_total' "/metrics starts with HELP/TYPE"
like "$(curl -s -D - -o /dev/null "$SCEPD_BASE/metrics" | tr -d '\r')" 'Content-Type: text/plain; version=0.0.4' \
	"/metrics Content-Type is the exposition format's"
for fam in 'scepd_requests_total{operation="PKIOperation",outcome="success"}' \
	'scepd_certrep_failures_total{failinfo="badRequest"}' \
	'scepd_enrollment_duration_seconds_count' 'scepd_enrollment_duration_seconds_bucket{le="+Inf"}' \
	'scepd_challenge_passwords_cached' 'scepd_config_reloads_total{result="success"}' \
	'scepd_store_commits_total' 'scepd_store_committed_enrollments_total'; do
	is "$(val m0 "$fam")" 0 "$fam starts at 0"
done
ca_serial=$(openssl x509 -in "$D/ca.crt" -noout -serial | cut -d= -f2)
days() {   # days CERT: days from now to its notAfter, 3 decimals
	python3 -c 'import sys, time; print("%.1f" % ((int(sys.argv[1]) - time.time()) / 86400))' \
		"$(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s)"
}
for role in ca:ca.crt ra-sign:ra-sign.crt ra-enc:ra-enc.crt; do
	r=${role%%:*} f=$D/${role#*:}
	got=$(grep "^scepd_certificate_expiry_days{role=\"$r\"," "$T/m0.samples" | awk '{ printf "%.1f", $NF }')
	is "$got" "$(days "$f")" "expiry days of the $r certificate match its notAfter"
done
like "$(cat "$T/m0.samples")" "scepd_certificate_expiry_days\\{role=\"ca\",serial=\"$ca_serial\",subject=\"/CN=scepd Lab CA/O=scepd\"\\}" \
	"the CA series carries its serial and subject"

# --- counters move
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACaps"
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACaps"
curl -s -o /dev/null "$SCEPD_URL?operation=Bogus"
"$SCEPCTL_BIN" -f "$D/scepd.conf" challenge new >"$T/otp1" 2>&1
"$SCEPCTL_BIN" -f "$D/scepd.conf" challenge new >"$T/otp2" 2>&1
n_pki=0
if have_cmd pki; then
	new_keys "$T/keys" 2
	enroll "$SCEPD_URL" "$T/keys/k1.pem" metrics-ok "$(cat "$T/otp1")" "$D" "$T/ok.pem" || fail "pki --scep enrolls"
	enroll "$SCEPD_URL" "$T/keys/k2.pem" metrics-bad WRONGPASSWORD00 "$D" "$T/bad.pem"
	n_pki=2
fi
scrape m1 || fail "/metrics still parses"
is "$(val m1 'scepd_requests_total{operation="GetCACaps",outcome="success"}')" $((2 + n_pki)) \
	"GetCACaps success counted (curl twice, pki once per enrollment)"
is "$(val m1 'scepd_requests_total{operation="other",outcome="error"}')" 1 "unknown operation counted as other/error"
if have_cmd pki; then
	is "$(val m1 'scepd_requests_total{operation="PKIOperation",outcome="success"}')" 1 "enrollment counted as PKIOperation/success"
	is "$(val m1 'scepd_requests_total{operation="PKIOperation",outcome="failure"}')" 1 "wrong password counted as PKIOperation/failure"
	is "$(val m1 'scepd_certrep_failures_total{failinfo="badRequest"}')" 1 "the failure counted under failInfo badRequest"
	is "$(val m1 'scepd_enrollment_duration_seconds_count')" 2 "latency histogram counts both PKIOperations"
	is "$(val m1 'scepd_store_commits_total')" 1 "one group commit, for the enrollment"
	is "$(val m1 'scepd_store_committed_enrollments_total')" 1 "  holding it (the refused one wrote none)"
	like "$(val m1 'scepd_enrollment_duration_seconds_sum')" '^0\.[0-9]+|^[1-9]' "latency histogram has a sum"
	is "$(val m1 'scepd_challenge_passwords_cached')" 1 "one-time passwords cached: 2 made, 1 used"
else
	for i in 1 2 3 4 5 6; do skip "pki (strongswan-pki) not installed"; done
fi
metrics_a=$(cat "$T/m1.samples")

# --- /healthz
is "$(curl -s "$SCEPD_BASE/healthz")" "ok" "/healthz: ok"
is "$(http_code "$SCEPD_BASE/healthz")" 200 "/healthz: 200"
is "$(http_code "$SCEPD_BASE/healthz" -X POST)" 405 "/healthz by POST: 405"
if have_cmd sqlite3; then
	# another process holds SQLite's write lock (longer than the 5 s busy timeout)
	printf 'BEGIN IMMEDIATE;\n.shell sleep 9\nROLLBACK;\n' |
		sqlite3 "$D/scepd.db" >/dev/null 2>&1 &
	lp=$!; track_pid $lp
	# store_locked: another writer cannot take the lock now (sqlite3's busy timeout is 0)
	store_locked() { ! sqlite3 "$D/scepd.db" 'BEGIN IMMEDIATE; ROLLBACK;' >/dev/null 2>&1; }
	wait_until 5 store_locked || diag "the sqlite3 lock holder did not take the lock within 5 s"
	out=$(curl -s --max-time 15 -w '\n%{http_code}' "$SCEPD_BASE/healthz")
	code=$(printf '%s\n' "$out" | tail -n 1); body=$(printf '%s\n' "$out" | head -n 1)
	wait $lp
else
	code=503 body="unhealthy: (sqlite3 not installed: not checked)"
fi
is "$code" 503 "/healthz: 503 while the store is locked by another process"
like "$body" '^unhealthy: .*locked' "/healthz: the reason is given"
is "$(curl -s "$SCEPD_BASE/healthz")" "ok" "/healthz: ok again once the store is back"

# --- monitor.allow
is "$(http_code "$SCEPD_BASE/metrics" --interface 127.0.0.2)" 403 "/metrics from 127.0.0.2 (not in monitor.allow): 403"
is "$(http_code "$SCEPD_BASE/healthz" --interface 127.0.0.2)" 403 "/healthz from 127.0.0.2: 403"
is "$(http_code "$SCEPD_URL?operation=GetCACaps" --interface 127.0.0.2)" 200 "SCEP from 127.0.0.2 is still served"
conf_set "$D" monitor allow '[ "127.0.0.1", "127.0.0.2/32" ]'
notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
is "$(http_code "$SCEPD_BASE/metrics" --interface 127.0.0.2)" 200 "after a reload allowing 127.0.0.2/32: 200"
scrape m2 || fail "/metrics parses after the reload"
is "$(val m2 'scepd_config_reloads_total{result="success"}')" 1 "the reload is counted"
is "$(val m2 'scepd_config_generation')" 2 "configuration generation 2"
is "$(val m2 'scepd_requests_total{operation="GetCACaps",outcome="success"}')" \
	"$(printf '%s\n' "$metrics_a" | awk '$1 == "scepd_requests_total{operation=\"GetCACaps\",outcome=\"success\"}" { print $2 + 1 }')" \
	"counters survive the reload (one GetCACaps more)"
conf_set "$D" monitor allow '[ ]'
notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
is "$(http_code "$SCEPD_BASE/metrics")" 403 "monitor.allow = [ ]: /metrics refused to everyone"
is "$(http_code "$SCEPD_BASE/healthz")" 403 "monitor.allow = [ ]: /healthz refused to everyone"
stop_pid "$SCEPD_PID" TERM

done_testing

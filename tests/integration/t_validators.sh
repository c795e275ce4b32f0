#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_validators.sh: challenge validators end to end. One scepd on 127.0.0.1 with
# profiles under validators: "hook" (type webhook, to helpers/webhook_receiver.py,
# a strict stand-in for a step-ca SCEPCHALLENGE webhook server, with a notifying
# webhook), "badsecret" (the same receiver, another secret), "down" (a port
# nobody listens on) and "prog" (type exec, a shell script). Real clients
# (strongSwan pki --scep, micromdm scepclient) enroll: allowed -> certificate
# (and the notifying webhook gets it, serial matching); denied, HTTP 500 (asked
# twice), slower than the timeout, not JSON, bad signature secret, receiver
# down, exec exit 1 -> CertRep FAILURE badRequest, no certificate in the store,
# and an event line with the validator's name, outcome, reason and latency.
# Also the metrics per validator, and the NDES path keeps its password rules.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

if ! have_cmd pki && ! have_cmd scepclient; then
	skip "neither pki (strongswan-pki) nor scepclient (scep) is installed"
	done_testing
	exit 0
fi

RECV=$SCEPD_TOP/tests/integration/helpers/webhook_receiver.py
SECRET=$(openssl rand -base64 32)
OTHER_SECRET=$(openssl rand -base64 32)
HOOK_ID=scepd-it-hook

D=$(new_dir scepd)
init_scepd "$D" || bail "scepctl init"
check "allow_des set to true (scepclient sends single DES)" set_conf "$D" allow_des true

# --- the webhook stand-in
W=$TEST_TMP/webhook; mkdir -p "$W"
WPORT=$(free_port) || bail "a free port for the webhook receiver"
DOWN_PORT=$(free_port) || bail "a free port nobody listens on"
cat >"$W/rules.json" <<'EOF'
{ "pki-good": "allow", "sc-good": "allow", "pki-deny": "deny", "pki-500": "500",
  "pki-slow": "sleep:6", "pki-garbage": "garbage", "bad-secret": "allow" }
EOF
python3 "$RECV" --port "$WPORT" --secret "$SECRET" --id "$HOOK_ID" \
	--rules "$W/rules.json" --log "$W/calls.jsonl" 2>"$W/receiver.err" &
track_pid $!
up=0
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WPORT/ready")" = 400 ] &&
		{ up=1; break; }
	sleep 0.1
done
[ $up = 1 ] || bail "the webhook receiver answers"
# calls PATH VERDICT: how many requests the receiver recorded so
calls() {
	python3 - "$W/calls.jsonl" "$1" "$2" "${3:-}" <<'EOF'
import json, sys
path, want_path, verdict, challenge = sys.argv[1:5]
n = 0
try:
    for line in open(path):
        c = json.loads(line)
        if c["path"] == want_path and c["verdict"] == verdict and (
                not challenge or (c["body"] or {}).get("scepChallenge") == challenge):
            n += 1
except OSError:
    pass
print(n)
EOF
}

# --- the same receiver over HTTPS, requiring a client certificate: a test CA
# issues its server certificate (IP 127.0.0.1) and scepd's client certificate
mk_cert() { # NAME SUBJECT EXT: NAME.key and NAME.crt issued by tls-ca
	openssl req -new -newkey rsa:2048 -nodes -keyout "$W/$1.key" -subj "$2" \
		-out "$W/$1.csr" 2>/dev/null &&
	openssl x509 -req -in "$W/$1.csr" -CA "$W/tls-ca.crt" -CAkey "$W/tls-ca.key" \
		-CAcreateserial -days 2 -extfile <(printf '%s\n' "$3") -out "$W/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/tls-ca.key" -out "$W/tls-ca.crt" \
	-subj "/CN=webhook test CA" -days 2 2>/dev/null &&
	mk_cert server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1" &&
	mk_cert client "/CN=scepd" "extendedKeyUsage=clientAuth" ||
	bail "test TLS certificates made with openssl"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/other-ca.key" -out "$W/other-ca.crt" \
	-subj "/CN=another CA" -days 2 2>/dev/null || bail "a second test CA"
chmod 600 "$W"/*.key
TPORT=$(free_port) || bail "a free port for the HTTPS receiver"
python3 "$RECV" --port "$TPORT" --secret "$SECRET" --id "$HOOK_ID" \
	--rules "$W/rules.json" --log "$W/calls.jsonl" --tls-cert "$W/server.crt" \
	--tls-key "$W/server.key" --client-ca "$W/tls-ca.crt" 2>"$W/receiver-tls.err" &
track_pid $!
up=0
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$W/tls-ca.crt" --cert "$W/client.crt" \
		--key "$W/client.key" "https://127.0.0.1:$TPORT/ready")" = 400 ] && { up=1; break; }
	sleep 0.1
done
[ $up = 1 ] || bail "the HTTPS webhook receiver answers"

# --- the exec validator's program: allows the challenge "exec-good" only
cat >"$D/check-device" <<'EOF'
#!/bin/sh
in=$(cat)
case "$in" in
*'"scepChallenge":"exec-good"'*) exit 0 ;;
esac
echo "device not in the inventory (exec said no)" >&2
exit 1
EOF
chmod 755 "$D/check-device"
# a CA backend that refuses everything: issuance fails after the validator allowed
printf '#!/bin/sh\ncat >/dev/null\necho "the CA says no" >&2\nexit 1\n' >"$D/refuse-all"
chmod 755 "$D/refuse-all"

printf '%s\n' "$SECRET" >"$D/hook.secret"; chmod 600 "$D/hook.secret"
printf '%s\n' "$OTHER_SECRET" >"$D/other.secret"; chmod 600 "$D/other.secret"
cat >>"$D/scepd.conf" <<EOF
validators = (
	{ name = "hook"; type = "webhook"; url = "http://127.0.0.1:$WPORT/challenge";
	  id = "$HOOK_ID"; secret_file = "hook.secret";
	  notify_url = "http://127.0.0.1:$WPORT/notify"; timeout = 2; },
	{ name = "badsecret"; type = "webhook"; url = "http://127.0.0.1:$WPORT/challenge";
	  id = "$HOOK_ID"; secret_file = "other.secret"; timeout = 2; },
	{ name = "down"; type = "webhook"; url = "http://127.0.0.1:$DOWN_PORT/challenge";
	  secret_file = "hook.secret"; timeout = 2; },
	{ name = "prog"; type = "exec"; program = "check-device"; timeout = 5; },
	{ name = "tls"; type = "webhook"; url = "https://127.0.0.1:$TPORT/challenge";
	  id = "$HOOK_ID"; secret_file = "hook.secret"; ca_file = "$W/tls-ca.crt";
	  client_certificate = "$W/client.crt"; client_key = "$W/client.key"; timeout = 5; },
	{ name = "tlsnocert"; type = "webhook"; url = "https://127.0.0.1:$TPORT/challenge";
	  id = "$HOOK_ID"; secret_file = "hook.secret"; ca_file = "$W/tls-ca.crt"; timeout = 5; },
	{ name = "tlsotherca"; type = "webhook"; url = "https://127.0.0.1:$TPORT/challenge";
	  id = "$HOOK_ID"; secret_file = "hook.secret"; ca_file = "$W/other-ca.crt";
	  client_certificate = "$W/client.crt"; client_key = "$W/client.key"; timeout = 5; }
);
profiles = (
	{ name = "hook"; validator = "hook"; },
	{ name = "badsecret"; validator = "badsecret"; },
	{ name = "down"; validator = "down"; },
	{ name = "prog"; validator = "prog"; },
	{ name = "cafails"; validator = "hook"; backend = "refuser"; },
	{ name = "tls"; validator = "tls"; },
	{ name = "tlsnocert"; validator = "tlsnocert"; },
	{ name = "tlsotherca"; validator = "tlsotherca"; }
);
backends = ( { name = "refuser"; type = "exec"; program = "refuse-all"; } );
EOF
check "scepd -t accepts the validators" "$SCEPD_BIN" -t -f "$D/scepd.conf"
run_scepd "$D" || bail "scepd starts with validators"
pass "scepd starts with validators"

certs_with() { scepctl_cmd cert list 2>/dev/null | grep -c -- "$1"; }

# pki_enroll NAME PASSWORD PROFILE: sets EK, EC, EOUT; returns pki's status
pki_enroll() {
	local name=$1 pw=$2 prof=$3 dir url
	dir=$(new_dir "$name"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/pki.out
	new_rsa_key "$EK" || return 99
	url=$SCEPD_BASE/scep/$prof
	[ "$prof" = NDES ] && url=$SCEPD_URL
	timeout 60 pki --scep --url "$url" --in "$EK" \
		--dn "C=CH, O=scepd validators, CN=$name" --san "$name.example.org" \
		--password "$pw" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --maxpolltime 5 --interval 1 --outform pem \
		>"$EC" 2>"$EOUT"
}

# sc_enroll NAME PASSWORD PROFILE: scepclient; sets EK, EC, EOUT
sc_enroll() { scepclient_in_dir "$1" "$SCEPD_BASE/scep/$3" "$2" "$1"; }

# refused DESC NAME PASSWORD PROFILE OUTCOME REASON-ERE: a pki enrollment is
# answered FAILURE badRequest, no certificate is issued or stored, and the
# event log says which validator, the outcome, the latency and the reason
refused() {
	local desc=$1 name=$2 pw=$3 prof=$4 outcome=$5 re=$6 mark rc line
	mark=$(log_mark)
	pki_enroll "$name" "$pw" "$prof"
	rc=$?
	isnt "$rc" 0 "$desc: pki fails"
	check "$desc: no certificate written" test ! -s "$EC"
	is "$(certs_with "CN=$name")" 0 "$desc: no certificate for CN=$name in the store"
	line=$(log_wait "$mark" "validator=$prof type=[a-z]+ outcome=$outcome latency_ms=[0-9]+ reason=" 10)
	like "$line" "reason=\".*$re" "$desc: event line with validator, outcome, latency and reason"
	line=$(log_wait "$mark" 'op=PKIOperation.*outcome="?FAILURE' 10)
	like "$line" 'failInfo="?badRequest' "$desc: CertRep FAILURE badRequest"
	like "$line" "validator $prof" "$desc: the FAILURE reason names the validator"
}

if have_cmd pki; then
	# --- allowed: a certificate, and the notifying webhook gets it
	mark=$(log_mark)
	pki_enroll pki-good pki-good hook
	rc=$?
	if [ $rc = 0 ]; then pass "webhook allows: pki enrolls"
	else fail "webhook allows: pki enrolls" "exit $rc" "$(grep -vi -e tpm -e plugin "$EOUT" | tail -4)"; fi
	check "webhook allows: the certificate is ours, for the client key" verify_issued "$EC" "$EK"
	check "webhook allows: the certificate is in the store" in_cert_list "$EC"
	is "$(calls /challenge allow pki-good)" 1 "the receiver checked and allowed one signed request"
	line=$(log_wait "$mark" 'validator=hook type=webhook outcome=allow latency_ms=[0-9]+' 10)
	like "$line" 'outcome=allow' "event line for the allowed request"
	serial_dec=$(python3 -c "print(int('$(cert_serial "$EC")', 16))")
	got=0
	for _ in $(seq 100); do
		got=$(python3 - "$W/calls.jsonl" "$serial_dec" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    c = json.loads(line)
    if c["path"] == "/notify" and c["verdict"] == "notified" and \
            c["body"].get("x509Certificate", {}).get("serialNumber") == sys.argv[2]:
        n += 1
print(n)
EOF
)
		[ "$got" = 1 ] && break
		sleep 0.1
	done
	is "$got" 1 "the notifying webhook got the issued certificate (serial matches)"

	# --- refusals
	refused "webhook denies" pki-deny pki-deny hook deny 'allow: false: denied: unknown device'
	refused "webhook answers 500" pki-500 pki-500 hook error 'answered HTTP 500'
	is "$(calls /challenge 500 pki-500)" 2 "a 500 is asked once more, as step-ca does"
	refused "webhook slower than its timeout" pki-slow pki-slow hook error 'Timeout|timed out'
	refused "webhook answers something not JSON" pki-garbage pki-garbage hook error 'not a JSON object'
	refused "webhook secret differs from the receiver's" bad-secret bad-secret badsecret error \
		'answered HTTP 400'
	is "$(calls /challenge 400)" 1 "the receiver refused the wrongly signed request (400: not asked again)"
	refused "webhook receiver down" pki-down pki-down down error "127.0.0.1:$DOWN_PORT"
	is "$(calls /challenge allow bad-secret)" 0 "the receiver never allowed the wrongly signed request"
	is "$(calls /notify notified)" 1 "no notification for refused requests"
	is "$(calls /notify 400)" 0 "every notification was well-formed and signed"

	# --- allowed, then the CA refuses: FAILURE, and the notifying webhook is told
	mark=$(log_mark)
	pki_enroll pki-cafails pki-good cafails
	isnt "$?" 0 "allowed but the CA refuses: pki fails"
	is "$(certs_with CN=pki-cafails)" 0 "allowed but the CA refuses: nothing stored"
	got=0
	for _ in $(seq 100); do
		got=$(python3 - "$W/calls.jsonl" <<'EOF2'
import json, sys
n = 0
for line in open(sys.argv[1]):
    c = json.loads(line)
    b = c["body"] or {}
    if c["path"] == "/notify" and c["verdict"] == "notified" and \
            b.get("scepErrorCode") == 2 and "the CA says no" in b.get("scepErrorDescription", "") \
            and b["x509CertificateRequest"]["subject"].get("commonName") == "pki-cafails":
        n += 1
print(n)
EOF2
)
		[ "$got" = 1 ] && break
		sleep 0.1
	done
	is "$got" 1 "the notifying webhook is told of the failure (badRequest, the CA's reason)"

	# --- https: the CA bundle verifies the server, the client certificate is sent
	pki_enroll pki-tls pki-good tls
	rc=$?
	if [ $rc = 0 ]; then pass "webhook over https with a client certificate allows: pki enrolls"
	else fail "webhook over https with a client certificate allows: pki enrolls" "exit $rc" \
		"$(grep -vi -e tpm -e plugin "$EOUT" | tail -4)"; fi
	check "https: the certificate verifies" verify_issued "$EC" "$EK"
	refused "https without the client certificate the server requires" pki-tlsnocert pki-good \
		tlsnocert error "127.0.0.1:$TPORT"
	refused "https to a server ca_file does not vouch for" pki-tlsotherca pki-good \
		tlsotherca error "127.0.0.1:$TPORT/challenge: SSL certificate problem"

	# --- exec
	mark=$(log_mark)
	pki_enroll pki-exec exec-good prog
	rc=$?
	if [ $rc = 0 ]; then pass "exec allows: pki enrolls"
	else fail "exec allows: pki enrolls" "exit $rc" "$(grep -vi -e tpm -e plugin "$EOUT" | tail -4)"; fi
	check "exec allows: the certificate is ours" verify_issued "$EC" "$EK"
	refused "exec refuses" pki-exec-bad exec-bad prog deny \
		'exit status 1\): device not in the inventory \(exec said no\)'
else
	skip "pki (strongswan-pki) not installed: webhook and exec cases with pki"
fi

if have_cmd scepclient; then
	sc_enroll sc-good sc-good hook
	rc=$?
	if [ $rc = 0 ]; then pass "webhook allows: scepclient enrolls"
	else fail "webhook allows: scepclient enrolls" "exit $rc" "$(tail -4 "$EOUT")"; fi
	check "scepclient: the certificate verifies" verify_issued "$EC" "$EK"
	sc_enroll sc-deny sc-deny hook
	isnt "$?" 0 "webhook denies: scepclient fails"
	check "webhook denies: scepclient gets no certificate" test ! -s "$EC"
	is "$(certs_with CN=sc-deny)" 0 "webhook denies: nothing stored for scepclient"
	sc_enroll sc-exec exec-good prog
	rc=$?
	if [ $rc = 0 ]; then pass "exec allows: scepclient enrolls"
	else fail "exec allows: scepclient enrolls" "exit $rc" "$(tail -4 "$EOUT")"; fi
else
	skip "scepclient (scep) not installed"
fi

# --- the NDES path has no validator: the password rules, as before
if have_cmd pki; then
	pki_enroll ndes-otp "$(new_otp)" NDES
	is "$?" 0 "NDES path without a validator: a one-time password enrolls"
	pki_enroll ndes-wrong exec-good NDES
	isnt "$?" 0 "NDES path without a validator: a validator's challenge is no password there"
fi

# --- reload: validators are built again, the secret file read again
if have_cmd pki; then
	printf '%s\n' "$OTHER_SECRET" >"$D/hook.secret"
	mark=$(log_mark)
	kill -HUP "$SCEPD_PID"
	check_log "$mark" 'event=1001' "reload with a rotated webhook secret (event 1001)"
	refused "after a reload, a secret the receiver does not know" pki-rotated pki-good hook \
		error 'answered HTTP 400'
	printf '%s\n' "$SECRET" >"$D/hook.secret"
	mark=$(log_mark)
	kill -HUP "$SCEPD_PID"
	check_log "$mark" 'event=1001' "reload with the receiver's secret again (event 1001)"
	pki_enroll pki-back pki-good hook
	is "$?" 0 "after reloading the right secret, the webhook allows again"
	printf 'not base64!\n' >"$D/hook.secret"
	mark=$(log_mark)
	kill -HUP "$SCEPD_PID"
	check_log "$mark" 'event=1002.*(hook.secret|base64)|(hook.secret|base64).*event=1002' \
		"a reload with an unusable secret file is refused, with the reason (event 1002)"
	pki_enroll pki-kept pki-good hook
	is "$?" 0 "the refused reload leaves the working validators serving"
	printf '%s\n' "$SECRET" >"$D/hook.secret"
fi

# --- metrics per validator and outcome
m=$(curl -s "$SCEPD_BASE/metrics")
like "$m" 'scepd_validator_requests_total\{validator="hook",outcome="allow"\} [1-9]' \
	"metrics: allowed checks of hook"
like "$m" 'scepd_validator_requests_total\{validator="down",outcome="error"\} [1-9]' \
	"metrics: failed checks of down"
like "$m" 'scepd_validator_duration_seconds_count\{validator="hook"\} [1-9]' \
	"metrics: the latency of hook"
check_serving "after every validator case"
stop_scepd

# --- a validator on the NDES paths, and refused challenges limited per address
# (challenge.max_failures = 2): the third request is refused without asking
if have_cmd pki; then
	D2=$(new_dir limited)
	init_scepd "$D2" || bail "scepctl init (limited)"
	cat >"$D2/count-and-check" <<EOF
#!/bin/sh
echo run >>"$D2/runs"
in=\$(cat)
case "\$in" in *'"scepChallenge":"exec-good"'*) exit 0 ;; esac
echo "unknown device" >&2
exit 1
EOF
	chmod 755 "$D2/count-and-check"
	check "challenge.max_failures set to 2" set_conf "$D2" max_failures 2
	check "challenge.validator set on the NDES paths" set_conf "$D2" validator '"prog"'
	printf 'validators = ( { name = "prog"; type = "exec"; program = "count-and-check"; } );\n' \
		>>"$D2/scepd.conf"
	D_SAVED=$D; D=$D2
	run_scepd "$D2" || bail "scepd starts with a validator on the NDES paths"
	pki_enroll ndes-val exec-good NDES
	is "$?" 0 "validator on the NDES paths allows: pki enrolls"
	pki_enroll ndes-val-bad1 exec-bad NDES
	isnt "$?" 0 "first refused challenge"
	pki_enroll ndes-val-bad2 exec-bad NDES
	isnt "$?" 0 "second refused challenge"
	mark=$(log_mark)
	pki_enroll ndes-val-blocked exec-good NDES
	isnt "$?" 0 "after challenge.max_failures refusals the address is refused, even a good challenge"
	check_log "$mark" 'outcome="?FAILURE.*too many refused challenges from this address' \
		"log: refused for too many refused challenges"
	is "$(wc -l <"$D2/runs")" 3 "the validator was not asked for the blocked request"
	is "$(certs_with CN=ndes-val-blocked)" 0 "nothing stored for the blocked request"
	stop_scepd
	D=$D_SAVED
fi
done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_intune.sh: Intune challenge validation end to end. scepd (validators type
# intune, challenge.validator) talks to the Intune stand-in
# (helpers/intune_standin.py: Entra ID token endpoint, Graph discovery,
# ScepRequestValidationFEService), and real clients (strongSwan pki --scep,
# scepclient, the certmonger daemon) enroll with challenges the stand-in
# minted. A good challenge gives a certificate and a successNotification whose
# thumbprint is the delivered certificate's SHA-1; each failing check gives
# FAILURE, no certificate, and Intune's code in the log and in the stored
# request; tokens that expire during the run are fetched again; a failed
# successNotification withholds the certificate; Intune answering 500
# refuses; a CA refusal after validation sends failureNotification.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

if ! python3 -c 'import cryptography' >/dev/null 2>&1; then
	skip "python3-cryptography not installed (the Intune stand-in needs it)"
	done_testing
	exit 0
fi

TENANT=contoso.onmicrosoft.com
CLIENT=11111111-2222-3333-4444-555555555555
T=$TEST_TMP
HELPERS=$(dirname "$0")/helpers

# --- the stand-in: tokens live 6 s, so the run outlives several of them
printf 'it-Secret~value\n' >"$T/secret"
chmod 600 "$T/secret"
python3 "$HELPERS/intune_standin.py" --tenant "$TENANT" --client-id "$CLIENT" \
	--client-secret-file "$T/secret" --expires-in 6 >"$T/standin.port" 2>"$T/standin.err" &
track_pid $!
for _ in $(seq 300); do
	[ -s "$T/standin.port" ] && break
	sleep 0.1
done
SP=$(head -n 1 "$T/standin.port")
[ -n "$SP" ] || bail "the Intune stand-in starts: $(head -5 "$T/standin.err")"
SB=http://127.0.0.1:$SP
pass "the Intune stand-in listens on $SB"

standin() { curl -s --max-time 30 "$SB$1"; }
# calls_field CALL FIELD: FIELD (a dotted path) of every logged CALL, one per line
calls_field() {
	standin /_test/calls | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["call"] != sys.argv[1]:
        continue
    v = c
    for k in sys.argv[2].split("."):
        v = v.get(k) if isinstance(v, dict) else None
    print(v)' "$1" "$2"
}
calls_count() { calls_field "$1" call | wc -l; }

# --- scepd with an intune validator deciding on every request
D=$(new_dir intune)
init_scepd "$D" || bail "scepctl init"
check "allow_des set to true for scepclient" set_conf "$D" allow_des true
check "challenge.validator set" set_conf "$D" validator '"intune"'
cat >>"$D/scepd.conf" <<EOF
validators = ( {
	name = "intune";
	type = "intune";
	tenant = "$TENANT";
	client_id = "$CLIENT";
	client_secret_file = "$T/secret";
	authority_url = "$SB/";
	graph_url = "$SB/";
	timeout = 20;
} );
EOF
# profile "refusing": validated by Intune, then refused by its CA backend (a program)
printf '#!/bin/sh\ncat >/dev/null\necho "the CA policy refuses it" >&2\nexit 1\n' >"$T/refuse.sh"
chmod 755 "$T/refuse.sh"
cat >>"$D/scepd.conf" <<EOF
backends = ( { name = "refuse"; type = "exec"; program = "$T/refuse.sh"; timeout = 10; } );
profiles = ( { name = "refusing"; backend = "refuse"; } );
EOF
check "scepd -t accepts the intune validator" "$SCEPD_BIN" -t -f "$D/scepd.conf"
run_scepd "$D" || bail "scepd starts with the intune validator"
pass "scepd starts with the intune validator"

# --- NDES with the Intune connector (ndes.md 2.4, 3.6): Intune decides the
# challenges, so there is no password page, and a plain GET of mscep.dll is the
# 403 Microsoft's Validate-NDESConfiguration.ps1 calls healthy
printf 'it-admin-pw\n' | scepctl_cmd user add it-admin >/dev/null 2>&1 || bail "scepctl user add it-admin"
r=$(curl -s -o "$T/plain" -w '%{http_code} %{content_type}' "$SCEPD_URL")
is "$r" "403 text/html" "Intune mode: a plain GET of /certsrv/mscep/mscep.dll is 403"
r=$(curl -s -o /dev/null -w '%{http_code}' "$SCEPD_URL?operation=GetCACaps&message=test")
is "$r" 200 "Intune mode: GetCACaps still answers 200"
r=$(curl -s -o "$T/adm" -w '%{http_code}' --ntlm -u it-admin:it-admin-pw "$SCEPD_BASE/certsrv/mscep_admin/")
is "$r" 404 "Intune mode: the challenge page /certsrv/mscep_admin/ is absent (404), even signed in"
unlike "$(tr -d '\0' <"$T/adm")" 'challenge password is' "  and hands out no password"

pkiout() { grep -vi -e tpm -e 'plugin' "$1" | tail -n 5 | cut -c1-300; }
sha1_of() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }

# pki_enroll NAME CHALLENGE [pki options]: sets EK EC EOUT; pki's status
pki_enroll() {
	local name=$1 pw=$2 dir; shift 2
	dir=$(new_dir "$name"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/pki.out
	[ -s "$EK" ] || new_rsa_key "$EK" || return 99
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$EK" --dn "CN=it-$name" \
		--san "it-$name.example.org" ${pw:+--password "$pw"} \
		--cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" --cacert "$D/ca.crt" \
		--maxpolltime 5 --interval 1 --outform pem "$@" >"$EC" 2>"$EOUT"
}
good_q() { echo "subject=CN%3Dit-$1&sans=dns:it-$1.example.org&minkey=2048"; }

# --- a good challenge
mark=$(log_mark)
ch=$(standin "/_test/mint?$(good_q good)")
like "$ch" '^[A-Za-z0-9+/]{200,}=*$' "the stand-in mints a base64 challenge (${#ch} characters)"
pki_enroll good "$ch"
rc=$?
if [ $rc = 0 ]; then pass "pki --scep enrolls with a good Intune challenge"
else fail "pki --scep enrolls with a good Intune challenge" "exit status $rc" "$(pkiout "$EOUT")"; fi
check "the certificate is issued by our CA for the client key" verify_issued "$EC" "$EK"
is "$(calls_field successNotification body.notification.certificateThumbprint | tail -n 1)" \
	"$(sha1_of "$EC")" "successNotification's thumbprint is the delivered certificate's SHA-1"
is "$(calls_field successNotification body.notification.certificateSerialNumber | tail -n 1)" \
	"$(openssl x509 -in "$EC" -noout -serial | sed 's/.*=//')" \
	"successNotification's serial is the certificate's"
txid=$(calls_field validateRequest body.request.transactionId | tail -n 1)
is "$(calls_field successNotification body.notification.transactionId | tail -n 1)" "$txid" \
	"the notification carries the validated transactionID"
like "$txid" '^[0-9A-Fa-f]{16,}$' "validateRequest carries pki's transactionID"
is "$(calls_field validateRequest api-version | tail -n 1)" 2018-02-20 "api-version 2018-02-20"
check_log "$mark" 'validator=intune type=intune outcome=allow.*Intune code Success' \
	"log: the validator allowed (Intune code Success)"
check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS' "log: outcome=SUCCESS"
is "$(calls_count failureNotification)" 0 "no failureNotification for a success"

GOOD_KEY=$EK GOOD_CRT=$EC

# --- a challenge far longer than PKCS#9's 255 characters (intune.md §5: accept >= 8 KiB)
ch=$(standin "/_test/mint?$(good_q long)&pad=8192")
pki_enroll long "$ch"
rc=$?
if [ $rc = 0 ]; then pass "pki --scep enrolls with a ${#ch}-character Intune challenge"
else fail "pki --scep enrolls with a ${#ch}-character Intune challenge" "exit status $rc" "$(pkiout "$EOUT")"; fi
check "the long challenge's certificate is issued for the client key" verify_issued "$EC" "$EK"

# --- renewals signed by the certificate just issued (validators.renewals)
# pki_renew NAME OLDCERT OLDKEY CHALLENGE: RenewalReq; sets EK EC EOUT
pki_renew() {
	local name=$1 oc=$2 ok=$3 pw=$4 dir
	dir=$(new_dir "renew-$name"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/pki.out
	new_rsa_key "$EK" || return 99
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$EK" --dn "CN=it-good" \
		--san "it-good.example.org" ${pw:+--password "$pw"} --cert "$oc" --key "$ok" \
		--cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" --cacert "$D/ca.crt" \
		--maxpolltime 5 --interval 1 --outform pem >"$EC" 2>"$EOUT"
}
mark=$(log_mark)
pki_renew nochallenge "$GOOD_CRT" "$GOOD_KEY" ""
isnt "$?" 0 "renewals = validate: a RenewalReq without a challenge fails"
check "renewal without a challenge: no certificate" test ! -s "$EC"
check_log "$mark" 'type=RenewalReq.*FAILURE.*Intune code ChallengePasswordMissing' \
	"log: the renewal was asked about (ChallengePasswordMissing)"
n_val=$(calls_count validateRequest)
pki_renew validated "$GOOD_CRT" "$GOOD_KEY" "$(standin "/_test/mint?$(good_q good)")"
rc=$?
if [ $rc = 0 ]; then pass "renewals = validate: a RenewalReq with a good challenge is issued"
else fail "renewals = validate: a RenewalReq with a good challenge is issued" "exit status $rc" "$(pkiout "$EOUT")"; fi
is "$(calls_count validateRequest)" $((n_val + 1)) "the renewal was validated by Intune"
RENEWED_KEY=$EK RENEWED_CRT=$EC

# --- each failing check: FAILURE, no certificate, Intune's code in the log
# refused NAME CODE CHALLENGE [pki options]
refused() {
	local name=$1 code=$2 pw=$3 rc line n_ok; shift 3
	mark=$(log_mark)
	n_ok=$(calls_count successNotification)
	pki_enroll "$name" "$pw" "$@"
	rc=$?
	isnt "$rc" 0 "$code: pki --scep fails"
	check "$code: no certificate" test ! -s "$EC"
	line=$(log_wait "$mark" 'outcome="?FAILURE')
	like "$line" "failInfo=\"?badRequest" "$code: FAILURE with failInfo badRequest"
	like "$line" "Intune code $code" "$code: the log names Intune's code"
	is "$(calls_count successNotification)" "$n_ok" "$code: no successNotification"
	txid=$(printf '%s\n' "$line" | sed -n 's/.* txid=\([0-9A-Fa-f]*\) .*/\1/p')
	like "$(scepctl_cmd request history "$txid" 2>&1)" \
	    "PKCSReq +failure +badRequest .*Intune code $code" \
	    "$code: scepctl request history shows the refusal with Intune's code"
}
refused subject SubjectNameMismatch "$(standin "/_test/mint?$(good_q other)&sans=dns:it-subject.example.org")"
refused san SubjectAltNameMismatch "$(standin "/_test/mint?subject=CN%3Dit-san&sans=dns:elsewhere.example.org")"
refused expired ChallengeExpired "$(standin "/_test/mint?$(good_q expired)&created=-3601")"
refused future ChallengeInvalidTimestamp "$(standin "/_test/mint?$(good_q future)&created=3600")"
refused tampered SignatureValidationFailed "$(standin "/_test/mint?$(good_q tampered)&tamper=1")"
refused tenant BadTenantIdInChallenge "$(standin "/_test/mint?$(good_q tenant)&tenant=fabrikam.onmicrosoft.com")"
refused keysize KeyLengthMismatch "$(standin "/_test/mint?$(good_q keysize)&minkey=4096")"
refused nochallenge ChallengePasswordMissing ""
standin "/_test/config?targeted=0" >/dev/null
refused untargeted ScepProfileNoLongerTargetedToTheClient "$(standin "/_test/mint?$(good_q untargeted)")"
standin "/_test/config?targeted=1" >/dev/null
# The store keeps each failure's reason.
if have_cmd sqlite3; then
	is "$(sqlite3 "$D/scepd.db" "SELECT count(*) FROM requests WHERE outcome = 'failure' AND reason LIKE '%Intune code %'")" \
		10 "the store records the 10 refusals (one renewal, 9 checks) with Intune's code"
else
	skip "sqlite3 not installed: the stored reasons are not checked"
fi
is "$(calls_count failureNotification)" 0 "no failureNotification for refused requests"

# --- Intune down: refused, never issued
standin "/_test/fault?name=500&call=validateRequest&count=1" >/dev/null
mark=$(log_mark)
pki_enroll down "$(standin "/_test/mint?$(good_q down)")"
isnt "$?" 0 "validateRequest answering HTTP 500: pki --scep fails"
check "HTTP 500: no certificate" test ! -s "$EC"
check_log "$mark" 'validator=intune.*outcome=error' "log: HTTP 500 is a validator error"

# --- a failed successNotification withholds the certificate (intune.md §4)
standin "/_test/fault?name=500&call=successNotification&count=1" >/dev/null
mark=$(log_mark)
pki_enroll withheld "$(standin "/_test/mint?$(good_q withheld)")"
isnt "$?" 0 "successNotification answering 500: pki --scep fails"
check "successNotification failed: no certificate delivered" test ! -s "$EC"
check_log "$mark" 'not delivered' "log: the certificate is recorded but not delivered"
# The device tries again with the same key, so the same transactionID: a
# certificate it then gets must be one Intune was told of (intune.md §4).
n_ok=$(calls_count successNotification)
pki_enroll withheld "$(standin "/_test/mint?$(good_q withheld)")"
if [ -s "$EC" ]; then
	is "$(calls_field successNotification body.notification.certificateThumbprint | tail -n 1)" \
		"$(sha1_of "$EC")" "a retry that gets a certificate: Intune was told of that certificate"
	is "$(calls_field successNotification code | tail -n 1)" Success \
		"... and accepted the successNotification"
else
	pass "a retry after a withheld certificate gets none"
fi

# --- validated, then the CA refuses: failureNotification with the HRESULT
mark=$(log_mark)
n_fail=$(calls_count failureNotification)
SCEPD_URL_SAVED=$SCEPD_URL
SCEPD_URL=$SCEPD_BASE/scep/refusing
pki_enroll careful "$(standin "/_test/mint?$(good_q careful)")"
rc=$?
SCEPD_URL=$SCEPD_URL_SAVED
isnt "$rc" 0 "validated but refused by the CA backend: pki --scep fails"
check "validated but refused: no certificate" test ! -s "$EC"
is "$(calls_count failureNotification)" $((n_fail + 1)) "one failureNotification"
like "$(calls_field failureNotification body.notification.hResult | tail -n 1)" '^-?[0-9]+$' \
	"failureNotification's hResult is an integer"
like "$(calls_field failureNotification body.notification.errorDescription | tail -n 1)" \
	'refuses it' "failureNotification's errorDescription gives the CA's reason"
is "$(calls_field failureNotification code | tail -n 1)" Success "Intune accepted the failureNotification"

# --- scepclient (micromdm): subject C=US, O=scep-client, OU=MDM, CN=...
if have_cmd scepclient; then
	sc_enroll() {
		local dir
		dir=$(new_dir "$1"); mkdir -p "$dir"
		EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/scepclient.out
		timeout 60 scepclient -server-url "$SCEPD_URL" -challenge "$2" \
			-private-key "$EK" -certificate "$EC" -cn "it-$1" -debug >"$EOUT" 2>&1
	}
	sc_q() { echo "subject=CN%3Dit-$1%2COU%3DMDM%2CO%3Dscep-client%2CC%3DUS&minkey=2048"; }
	sc_enroll scgood "$(standin "/_test/mint?$(sc_q scgood)")"
	rc=$?
	if [ $rc = 0 ]; then pass "scepclient enrolls with a good Intune challenge"
	else fail "scepclient enrolls with a good Intune challenge" "exit status $rc" "$(tail -n 4 "$EOUT")"; fi
	check "scepclient: the certificate is issued for its key" verify_issued "$EC" "$EK"
	is "$(calls_field successNotification body.notification.certificateThumbprint | tail -n 1)" \
		"$(sha1_of "$EC")" "scepclient: the notification's thumbprint is the delivered certificate's"
	mark=$(log_mark)
	sc_enroll scbad "$(standin "/_test/mint?$(sc_q someone-else)")"
	isnt "$?" 0 "scepclient with another device's challenge fails"
	check "scepclient: no certificate for another device's challenge" test ! -s "$EC"
	check_log "$mark" 'Intune code SubjectNameMismatch' "scepclient: the log names SubjectNameMismatch"
else
	skip "scepclient not installed (Debian package scep)"
fi

# --- certmonger (a private daemon, as in t_certmonger.sh)
if have_cmd certmonger && have_cmd getcert; then
	S=$T/certmonger
	mkdir -p "$S/requests" "$S/cas" "$S/tmp" "$S/local" "$S/config" "$S/work"
	CM_SOCK=$S/sock
	(
		export CERTMONGER_REQUESTS_DIR=$S/requests CERTMONGER_CAS_DIR=$S/cas \
			CERTMONGER_TMPDIR=$S/tmp CERTMONGER_LOCAL_CA_DIR=$S/local \
			CERTMONGER_CONFIG_DIR=$S/config CERTMONGER_SYSTEM_LOCK_FILE=$S/lock
		exec certmonger -n -L -P "$CM_SOCK" -d 3
	) >"$S/certmonger.log" 2>&1 &
	CM_PID=$!
	track_pid "$CM_PID"
	export CERTMONGER_PVT_ADDRESS=unix:path=$CM_SOCK
	for _ in $(seq 100); do
		[ -S "$CM_SOCK" ] && getcert list-cas >/dev/null 2>&1 && break
		kill -0 "$CM_PID" 2>/dev/null || break
		sleep 0.1
	done
	cm_status() { getcert list -i "$1" 2>/dev/null | sed -n 's/^[[:space:]]*status: //p' | head -n 1; }
	cm_wait() {
		local st final='^(CA_REJECTED|CA_UNREACHABLE|NEED_GUIDANCE|MONITORING)$'
		for _ in $(seq $(($3 * 4))); do
			st=$(cm_status "$1")
			printf '%s' "$st" | grep -Eq -- "$2" && return 0
			printf '%s' "$st" | grep -Eq -- "$final" && break
			sleep 0.25
		done
		diag "request $1 is in status '$st' (waited for /$2/, at most $3 s)"
		getcert list -i "$1" 2>&1 | sed -n '/ca-error/p;/status/p' | sed 's/^/#   /'
		return 1
	}
	getcert add-scep-ca -c it-intune -u "$SCEPD_URL" >"$S/add-scep-ca.out" 2>&1
	is "$?" 0 "getcert add-scep-ca"
	getcert request -c it-intune -k "$S/work/g.key" -f "$S/work/g.crt" -N CN=it-cm \
		-D it-cm.example.org -L "$(standin "/_test/mint?$(good_q cm)")" -I it-good \
		>"$S/req-good.out" 2>&1
	is "$?" 0 "getcert request with an Intune challenge is accepted"
	check "certmonger reaches MONITORING within 60 s" cm_wait it-good '^MONITORING$' 60
	check "certmonger's certificate is issued by our CA for its key" \
		verify_issued "$S/work/g.crt" "$S/work/g.key"
	is "$(calls_field successNotification body.notification.certificateThumbprint | tail -n 1)" \
		"$(sha1_of "$S/work/g.crt" 2>/dev/null)" \
		"certmonger: the notification's thumbprint is the delivered certificate's"
	mark=$(log_mark)
	getcert request -c it-intune -k "$S/work/b.key" -f "$S/work/b.crt" -N CN=it-cm-bad \
		-D it-cm-bad.example.org -L "$(standin "/_test/mint?$(good_q cm-bad)&created=-3601")" \
		-I it-bad >"$S/req-bad.out" 2>&1
	check "certmonger with an expired challenge ends in CA_REJECTED" cm_wait it-bad '^CA_REJECTED$' 60
	check "certmonger: no certificate for the expired challenge" test ! -s "$S/work/b.crt"
	check_log "$mark" 'Intune code ChallengeExpired' "certmonger: the log names ChallengeExpired"
	getcert stop-tracking -i it-good >/dev/null 2>&1
	getcert stop-tracking -i it-bad >/dev/null 2>&1
	stop_pid "$CM_PID"
else
	skip "certmonger daemon / getcert not installed"
fi

# --- renewals = "skip": a renewal signed by our certificate is not asked about
stop_scepd
sed -i 's/^\(\ttimeout = 20;\)$/\1\n\trenewals = "skip";/' "$D/scepd.conf"
check "renewals = skip set" grep -q 'renewals = "skip";' "$D/scepd.conf"
run_scepd "$D" || bail "scepd starts again with renewals = skip"
n_val=$(calls_count validateRequest)
mark=$(log_mark)
pki_renew skipped "$RENEWED_CRT" "$RENEWED_KEY" ""
rc=$?
if [ $rc = 0 ]; then pass "renewals = skip: a RenewalReq without a challenge is issued"
else fail "renewals = skip: a RenewalReq without a challenge is issued" "exit status $rc" "$(pkiout "$EOUT")"; fi
check "renewals = skip: the certificate is ours, for the new key" verify_issued "$EC" "$EK"
is "$(calls_count validateRequest)" "$n_val" "renewals = skip: Intune was not asked"

# --- tokens expire (6 s) during the run: fetched again, never used expired
before=$(calls_count token)
end=$(( $(date +%s) + 8 ))
while [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
pki_enroll later "$(standin "/_test/mint?$(good_q later)")"
rc=$?
is "$rc" 0 "after the tokens expired, pki --scep still enrolls"
check "after the tokens expired: certificate issued" verify_issued "$EC" "$EK"
after=$(calls_count token)
check "new tokens were fetched ($before before, $after after)" test "$after" -gt "$before"
is "$(standin /_test/calls | python3 -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin) if c.get("status") == 401))')" \
	0 "no call was refused for an expired token"

stop_scepd
done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_lab_rules.sh: lab mode's scripted outcomes (lab.enabled, lab.rules, `scepctl lab
# rule`) seen by real clients against the real scepd on 127.0.0.1, and the profile
# helpers (`scepctl profile apple|intune`):
#  - lab rules refused without lab.enabled (scepd -t and scepctl); scepd -t warns in
#    lab mode; a bad rule names its entry
#  - scepclient gets the configured FAILURE failInfo (badCertId); the CertRep carries
#    the chosen NDES HRESULT (a strongSwan request sent with curl)
#  - `scepctl lab rule add|list|del` while scepd runs: HTTP 503 seen by curl, a use
#    count (the second request is not scripted), an expired rule that never applies
#  - strongSwan `pki --scep` polling PENDING 2 times, then getting the certificate;
#    PENDING then FAILURE (badTime)
#  - a CertRep signed by the wrong key, refused by pki and by scepclient
#  - validity overrides (expired, 5 minutes) and a delay, through scepclient
#  - the .mobileconfig parsed with Python's plistlib (CAFingerprint = the CA's SHA-1)
#    and the Intune values checked against the server's settings
#  - with lab.enabled false again, the rules left in the store do nothing
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries

T=$TEST_TMP
MS_ERROR=1.3.6.1.4.1.311.21.33

# lab_set DIR ENABLED RULES: lab.enabled and lab.rules (a libconfig list) in DIR
lab_set() {
	sed -i -E "/^lab = \{/,/^\};/ { s/^([[:space:]]*)enabled = [a-z]+;/\\1enabled = $2;/;
		s/^([[:space:]]*)rules = \[.*\];/\\1rules = $3;/ }" "$1/scepd.conf"
	grep -A5 '^lab = {' "$1/scepd.conf" | grep -q "enabled = $2;"
}

# --- lab rules refused without lab.enabled
D0=$(new_dir off)
init_scepd "$D0" || bail "scepctl init"
check "lab.rules set with lab.enabled = false" \
	lab_set "$D0" false '[ "challenge=x outcome=failure" ]'
out=$("$SCEPD_BIN" -t -f "$D0/scepd.conf" 2>&1)
isnt "$?" 0 "scepd -t refuses lab.rules without lab.enabled"
like "$out" 'lab\.rules is set but lab\.enabled is false' "  and says why"
check "lab.rules emptied" lab_set "$D0" false '[ ]'
out=$("$SCEPD_BIN" -t -f "$D0/scepd.conf" 2>&1)
is "$?" 0 "scepd -t accepts the configuration without lab mode"
unlike "$out" 'lab mode' "  with no lab mode warning"
out=$("$SCEPCTL_BIN" -f "$D0/scepd.conf" lab rule add outcome=success 2>&1)
is "$?" 1 "scepctl lab rule add is refused (exit 1) without lab.enabled"
like "$out" 'refused: lab\.enabled is not true' "  and says why"
out=$("$SCEPCTL_BIN" -f "$D0/scepd.conf" lab rule list 2>&1)
is "$?" 1 "scepctl lab rule list is refused too"
check "a bad rule" lab_set "$D0" true '[ "outcome=failure", "outcome=http status=404" ]'
out=$("$SCEPD_BIN" -t -f "$D0/scepd.conf" 2>&1)
isnt "$?" 0 "scepd -t refuses a bad lab rule"
like "$out" 'lab\.rules: entry 2: .*status' "  naming the entry and the key"

# --- lab mode on
D=$(new_dir lab)
init_scepd "$D" || bail "scepctl init"
check "allow_des = true (scepclient encrypts with DES)" set_conf "$D" allow_des true
check "lab.enabled = true with a configured rule" lab_set "$D" true \
	'[ "challenge=labfail outcome=failure failinfo=badCertId hresult=0x80094800" ]'
out=$("$SCEPD_BIN" -t -f "$D/scepd.conf" 2>&1)
is "$?" 0 "scepd -t accepts lab mode"
like "$out" 'warning: .*lab mode is on' "scepd -t warns that the server is in lab mode"
run_scepd "$D" || bail "scepd starts in lab mode"
pass "scepd starts in lab mode"
check_log 0 'lab mode \(lab\.enabled\)' "log: scepd warns at start that it is in lab mode"

out=$(scepctl_cmd lab rule list)
like "$out" $'\n1 +config +0/- .*challenge=labfail' "lab rule list shows the configured rule"

# pki --scep: sets EK EC EOUT; returns its status
sw_enroll() {
	local dir
	dir=$(new_dir "sw-$1"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/pki.out
	new_rsa_key "$EK" || return 99
	timeout 90 pki --scep --url "$SCEPD_URL" --in "$EK" --dn "CN=$1" --password "$2" \
		--cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" --cacert "$D/ca.crt" \
		--maxpolltime 60 --interval 1 --outform pem >"$EC" 2>"$EOUT"
}
pkiout() { grep -vi -e tpm -e plugin "$EOUT" | tail -n 4 | cut -c1-300; }
# verify_issued_any CERT KEY: as verify_issued, but at any time (expired or not yet valid)
verify_issued_any() {
	openssl verify -no_check_time -CAfile "$D/ca.crt" "$1" >/dev/null 2>&1 &&
		[ "$(openssl x509 -in "$1" -noout -pubkey)" = "$(openssl pkey -in "$2" -pubout)" ]
}
fp=$(openssl x509 -in "$D/ca.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')

# --- FAILURE with a chosen failInfo, seen by scepclient
if have_cmd scepclient; then
	mark=$(log_mark)
	sc_enroll it-labfail labfail
	isnt "$?" 0 "scepclient fails on the scripted FAILURE"
	like "$(cat "$EOUT")" 'failInfo: badCertID' "scepclient reports failInfo badCertID"
	check "no certificate written" test ! -s "$EC"
	line=$(log_wait "$mark" 'type=PKCSReq.*outcome="?FAILURE')
	like "$line" 'failInfo="?badCertId' "log: FAILURE failInfo=badCertId"
	like "$line" 'reason="?lab rule 1: scripted outcome=failure' "log: the answer says it is scripted, by rule 1"
else
	skip "scepclient not installed (Debian package scep)"
fi

HAVE_PKI=0
if have_cmd pki && have_cmd python3; then HAVE_PKI=1; fi

if [ $HAVE_PKI = 1 ]; then
	# --- the NDES HRESULT of the scripted FAILURE, in the CertRep (curl)
	new_rsa_key "$T/h.key"
	pki_request "$T/hr.der" "$T/h.key" labfail "$D/ra-enc.crt" || bail "strongSwan builds a request"
	r=$(post_pki "$T/hr.der" "$T/hr.rep")
	is "${r%% *}" 200 "curl: the scripted FAILURE is a 200 CertRep"
	is "$(status_of "$T/hr.rep")" "2/4" "  pkiStatus FAILURE, failInfo badCertId"
	is "$(oid_attr "$T/hr.rep" $MS_ERROR)" "-2146875392" \
		"  with the chosen HRESULT 0x80094800 in 1.3.6.1.4.1.311.21.33"
	check_certrep "$T/hr.rep" "$T/hr.der" 2 4 "scripted FAILURE"

	# --- a rule added while scepd runs: HTTP 503 like a broken IIS, once
	out=$(scepctl_cmd lab rule add challenge=lab503 outcome=http status=503 uses=1)
	is "$?" 0 "scepctl lab rule add while scepd runs"
	like "$out" '^lab rule 2 added: outcome=http, 1 use' "  prints the new rule's id and uses"
	new_rsa_key "$T/u.key"
	pki_request "$T/u.der" "$T/u.key" lab503 "$D/ra-enc.crt" || bail "strongSwan builds a request"
	mark=$(log_mark)
	r=$(post_pki "$T/u.der" "$T/u1.rep")
	is "${r%% *}" 503 "curl sees HTTP 503 from the new rule, without a restart"
	like "$r" 'text/html' "  with an HTML body"
	like "$(cat "$T/u1.rep")" 'Service Unavailable' "  like IIS's error page"
	check_log "$mark" 'type=PKCSReq.*status=503.*lab rule 2' "log: status=503 and the rule that scripted it"
	r=$(post_pki "$T/u.der" "$T/u2.rep")
	is "${r%% *}" 200 "the same request again: the rule's one use is spent, a CertRep"
	is "$(status_of "$T/u2.rep")" "2/2" "  a real FAILURE badRequest (lab503 is no password)"
	like "$(scepctl_cmd lab rule list)" $'\n2 +scepctl +1/1 .*used up +challenge=lab503' \
		"lab rule list: rule 2 used 1/1, used up"

	# --- an expired rule never applies
	scepctl_cmd lab rule add challenge=lab403 outcome=http status=403 expires=1000000000 >/dev/null
	is "$?" 0 "a rule that expired in 2001 is added"
	like "$(scepctl_cmd lab rule list)" $'\n3 +scepctl .*expired +challenge=lab403' \
		"lab rule list shows it expired"
	new_rsa_key "$T/x.key"
	pki_request "$T/x.der" "$T/x.key" lab403 "$D/ra-enc.crt" || bail "strongSwan builds a request"
	r=$(post_pki "$T/x.der" "$T/x.rep")
	is "${r%% *}" 200 "the expired rule does not answer 403"

	# --- PENDING for 2 polls then SUCCESS, seen by strongSwan
	scepctl_cmd lab rule add 'subject=*CN=it-pending*' outcome=pending polls=2 uses=1 >/dev/null
	mark=$(log_mark)
	sw_enroll it-pending whatever
	rc=$?
	if [ $rc = 0 ]; then pass "pki --scep polls through the scripted PENDING and enrolls"
	else fail "pki --scep polls through the scripted PENDING and enrolls" "exit $rc" "$(pkiout)"; fi
	check "  the certificate is issued by our CA for its key" verify_issued "$EC" "$EK"
	like "$(cat "$EOUT")" '[Pp]ending|[Pp]oll' "  pki says it polled"
	check_log "$mark" 'type=CertPoll.*outcome="?SUCCESS.*lab rule 4: scripted SUCCESS after' \
		"log: the last CertPoll is the scripted SUCCESS"
	n=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -cE 'type=CertPoll.*outcome="?PENDING.*lab rule 4')
	is "$n" 2 "log: exactly 2 CertPolls answered PENDING"
	check_log "$mark" 'type=PKCSReq.*outcome="?PENDING.*lab rule 4: scripted PENDING for 2' \
		"log: the PKCSReq was answered PENDING by rule 4"

	# --- PENDING then FAILURE
	scepctl_cmd lab rule add 'subject=*CN=it-pendfail*' outcome=pending polls=1 then=failure \
		failinfo=badTime >/dev/null
	mark=$(log_mark)
	sw_enroll it-pendfail whatever
	isnt "$?" 0 "pki --scep fails after the scripted PENDING then FAILURE"
	check "  no certificate" test ! -s "$EC"
	check_log "$mark" 'type=CertPoll.*outcome="?FAILURE"? failInfo="?badTime.*lab rule 5' \
		"log: the CertPoll after the PENDING one is FAILURE badTime"

	# --- a CertRep signed by the wrong key
	scepctl_cmd lab rule add 'subject=*CN=it-wrongkey*' outcome=wrongkey >/dev/null
	mark=$(log_mark)
	sw_enroll it-wrongkey whatever
	isnt "$?" 0 "pki --scep refuses the CertRep signed by the wrong key"
	like "$(cat "$EOUT")" 'wrong-key RA.*not trusted|unable to verify' "  because its signer is not trusted"
	check "  and writes no certificate" test ! -s "$EC"
	check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS.*lab rule 6: scripted outcome=wrongkey' \
		"log: the wrong-key answer is logged as scripted"
	if have_cmd scepclient; then
		sc_enroll it-wrongkey-sc whatever
		isnt "$?" 0 "scepclient refuses it too"
		check "  and writes no certificate" test ! -s "$EC"
	fi
else
	skip "pki (strongswan-pki) or python3 not installed: HRESULT, HTTP 503, PENDING and wrong-key tests"
fi

# --- validity overrides and a delay, through scepclient
if have_cmd scepclient; then
	scepctl_cmd lab rule add 'subject=CN=it-expired,*' outcome=success validity=expired \
		delay=2 >/dev/null
	mark=$(log_mark)
	start=$(date +%s%N)
	sc_enroll it-expired whatever
	rc=$?
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	is "$rc" 0 "scepclient accepts the scripted SUCCESS (no challenge checked)"
	check "  the certificate is issued by our CA for its key" verify_issued_any "$EC" "$EK"
	check "  and it has expired already" sh -c "! openssl x509 -in '$EC' -noout -checkend 0 >/dev/null"
	ok_delay=0; [ "$elapsed" -ge 2000 ] && ok_delay=1
	is "$ok_delay" 1 "  the answer came after the 2-second delay (${elapsed} ms)"
	check_log "$mark" 'outcome="?SUCCESS.*scripted outcome=success with a validity override after a delay' \
		"log: the SUCCESS says it is scripted, with the override and the delay"
	scepctl_cmd lab rule add 'subject=CN=it-short,*' outcome=success validity=short >/dev/null
	sc_enroll it-short whatever
	is "$?" 0 "scepclient gets the 5-minute certificate"
	check "  valid now" openssl x509 -in "$EC" -noout -checkend 0
	check "  but not in 10 minutes" sh -c "! openssl x509 -in '$EC' -noout -checkend 600 >/dev/null"
fi

# --- scepctl lab rule add, list, del while scepd runs
out=$(scepctl_cmd lab rule add challenge=labdel outcome=failure)
id=$(printf '%s' "$out" | sed -n 's/^lab rule \([0-9]*\) added.*/\1/p')
like "$id" '^[0-9]+$' "scepctl lab rule add prints the id ($id)"
like "$(scepctl_cmd lab rule list)" $'\n'"$id"' +scepctl +0/- +never +active +challenge=labdel' \
	"  lab rule list shows it: origin, uses, expiry, state, text"
out=$(scepctl_cmd lab rule del "$id")
is "$?" 0 "scepctl lab rule del $id"
unlike "$(scepctl_cmd lab rule list)" "challenge=labdel" "  it is no longer listed"
scepctl_cmd lab rule del "$id" >/dev/null 2>&1
is "$?" 1 "deleting it again fails (exit 1)"
scepctl_cmd lab rule del x >/dev/null 2>&1
is "$?" 2 "a rule id that is not a number is a usage error (exit 2)"
scepctl_cmd lab rule add outcome=sometimes >"$T/bad.out" 2>&1
is "$?" 2 "a bad rule text is refused by scepctl (exit 2)"
like "$(cat "$T/bad.out")" 'outcome: "sometimes" is not allowed' "  naming the problem"
check_serving "after the lab rules"

# --- scepctl profile apple: a .mobileconfig that plistlib parses
if have_cmd python3; then
	scepctl_cmd profile apple --url "$SCEPD_URL" --challenge 0123456789ABCDEF \
		--out "$T/scep.mobileconfig" 2>"$T/apple.err"
	is "$?" 0 "scepctl profile apple --out writes a profile"
	out=$(python3 - "$T/scep.mobileconfig" "$SCEPD_URL" "$fp" <<'PY'
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f)
assert p["PayloadType"] == "Configuration", p["PayloadType"]
assert p["PayloadVersion"] == 1
[s] = p["PayloadContent"]
assert s["PayloadType"] == "com.apple.security.scep", s["PayloadType"]
c = s["PayloadContent"]
assert c["URL"] == sys.argv[2], c["URL"]
assert c["Challenge"] == "0123456789ABCDEF"
assert c["CAFingerprint"].hex().upper() == sys.argv[3], c["CAFingerprint"].hex()
assert c["Keysize"] == 2048 and c["Key Type"] == "RSA" and c["Key Usage"] == 5, c
assert c["Subject"] == [[["CN", "scepd-device"]]], c["Subject"]
assert s["PayloadUUID"] != p["PayloadUUID"]
print("ok")
PY
)
	is "$out" ok "plistlib parses it: SCEP payload, URL, challenge, CAFingerprint = the CA's SHA-1"
else
	skip "python3 not installed: the .mobileconfig is not parsed"
fi
scepctl_cmd profile apple >/dev/null 2>&1
is "$?" 2 "scepctl profile apple without --url is a usage error"

# --- scepctl profile intune, against the server's settings
out=$(scepctl_cmd profile intune)
is "$?" 0 "scepctl profile intune"
like "$out" "SCEP Server URLs: +http://127\\.0\\.0\\.1:$SCEPD_PORT/certsrv/mscep/mscep\\.dll" \
	"  the server URL from http.listen"
like "$out" "Root certificate: +$D/ca\\.crt .*thumbprint $fp" "  the root certificate file and its thumbprint"
like "$out" 'Key usage: +Digital signature, Key encipherment' "  key usage from certificate.key_usage"
like "$out" 'Key size \(bits\): +2048' "  key size from certificate.min_rsa_bits"
like "$out" 'Hash algorithm: +SHA-2' "  hash algorithm SHA-2 (GetCACaps announces SHA-256)"
like "$out" 'Subject alternative name:' "  the SAN format"
check "certificate.min_rsa_bits = 3072, key_usage digitalSignature only" \
	sh -c "sed -i -E '/^certificate = \\{/,/^\\};/ { s/min_rsa_bits = [0-9]+;/min_rsa_bits = 3072;/; s/^([[:space:]]*)key_usage = \\[.*\\];/\\1key_usage = [ \"digitalSignature\" ];/ }' '$D/scepd.conf' && grep -q 'min_rsa_bits = 3072;' '$D/scepd.conf'"
out=$(scepctl_cmd profile intune)
like "$out" 'Key size \(bits\): +4096 \(certificate.min_rsa_bits = 3072\)' "  key size follows the setting: 4096"
like "$out" 'Key usage: +Digital signature only' "  key usage follows the setting"
stop_scepd

# --- lab mode off again: the rules left in the store do nothing
check "lab.enabled = false, lab.rules emptied" lab_set "$D" false '[ ]'
run_scepd "$D" || bail "scepd starts without lab mode"
if have_cmd scepclient; then
	mark=$(log_mark)
	sc_enroll it-labfail-off labfail
	isnt "$?" 0 "scepclient with challenge labfail still fails without lab mode"
	line=$(log_wait "$mark" 'type=PKCSReq.*outcome="?FAILURE')
	like "$line" 'failInfo="?badRequest' "  but as a real wrong password (badRequest), not the scripted badCertId"
	unlike "$line" 'lab rule' "  and the log names no lab rule"
fi
unlike "$(cat "$SCEPD_LOG")" 'lab mode \(lab\.enabled\)' "no lab mode warning at start"
stop_scepd
done_testing

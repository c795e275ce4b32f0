#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_ndes.sh: NDES details and the replay rules against the real scepd on 127.0.0.1.
#  - FAILURE replies carry the HRESULT attribute 1.3.6.1.4.1.311.21.33 (ndes.md §3.4),
#    unless scep.ndes_hresult is false;
#  - a plain GET of mscep.dll shows the general NDES page (ndes.md §3.6);
#  - Microsoft's URL validation probes (Validate-NDESUrl.ps1, Validate-
#    NDESConfiguration.ps1; ndes.md §3.1) get the answers those scripts call healthy;
#  - replays and duplicates (scep.md §4.13) with real strongSwan requests, built
#    against the fixture capture server and sent again with curl;
#  - signingTime outside scep.max_clock_skew: FAILURE badTime, in the log and in
#    `scepctl request history` (scep_send, since real
#    clients sign with the current time).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send

D=$(new_dir ndes)
start_scepd "$D" || bail "scepd starts"
pass "scepd starts"
T=$TEST_TMP
MS_ERROR=1.3.6.1.4.1.311.21.33

# --- the general page and the folder URL
r=$(http "$T/page" "$SCEPD_URL")
is "$r" "200 text/html" "plain GET /certsrv/mscep/mscep.dll: 200 text/html"
like "$(cat "$T/page")" 'Network Device Enrollment Service' "  the NDES page"
like "$(cat "$T/page")" 'mscep_admin' "  pointing at the admin URL for challenge passwords"
r=$(http "$T/page2" "$SCEPD_BASE/CertSrv/MSCEP/mscep.dll/")
is "$r" "200 text/html" "  also as /CertSrv/MSCEP/mscep.dll/ (case-insensitive)"
r=$(http "$T/page3" "$SCEPD_BASE/certsrv/mscep/")
is "$r" "200 text/html" "  and the folder URL /certsrv/mscep/"
r=$(http "$T/x" -X POST --data-binary x "$SCEPD_URL")
is "${r%% *}" 400 "a POST without operation is still 400"

# --- HTTP details (scep.md 4.1 items 4-8)
r=$(http "$T/h1" -X PUT "$SCEPD_URL?operation=PKIOperation")
is "${r%% *}" 405 "PUT PKIOperation: 405"
check "  with Allow: GET, POST" grep -qi '^Allow: GET, POST' "$T/h1.hdr"
r=$(http "$T/h2" -X POST --data-binary x "$SCEPD_URL?operation=GetCACaps")
is "${r%% *}" 405 "POST GetCACaps: 405"
check "  with Allow: GET" grep -qi '^Allow: GET.$' "$T/h2.hdr"
r=$(http "$T/h3" --http1.0 -H 'Host:' "$SCEPD_URL?operation=GetCACaps")
is "$r" "200 text/plain" "HTTP/1.0 without Host (Cisco): 200"
check "  the connection is closed after the response" grep -qi '^Connection: close' "$T/h3.hdr"
check "  with a Content-Length" grep -qi '^Content-Length: [0-9]' "$T/h3.hdr"
check "no chunked encoding" sh -c "! grep -qi '^Transfer-Encoding: chunked' '$T/h3.hdr'"
check "no Server: Microsoft-IIS header" sh -c "! grep -qi '^Server: Microsoft-IIS' '$T/h3.hdr'"
check "Content-Type without parameters" grep -qi '^Content-Type: text/plain.$' "$T/h3.hdr"

# --- Microsoft's validation probes
r=$(http "$T/p1" "$SCEPD_URL?operation=GetCACaps&message=NDESLongUrlValidatorStep1of3")
is "$r" "200 text/plain" "Validate-NDESUrl step 1 (GetCACaps): 200"
check "  with the capabilities" grep -q POSTPKIOperation "$T/p1"
r=$(http "$T/p2" "$SCEPD_URL?operation=GetCACerts&message=NDESLongUrlValidatorStep2of3")
is "${r%% *}" 200 "Validate-NDESUrl step 2 (operation GetCACerts, not a SCEP name): 200"
fake=NDESLongUrlValidatorFakeChallenge
while [ ${#fake} -lt 20000 ]; do fake=$fake$fake; done
mark=$(log_mark)
r=$(http "$T/p3" "$SCEPD_URL?operation=PKIOperation&message=$fake")
is "${r%% *}" 200 "Validate-NDESUrl step 3 (a ${#fake}-byte fake PKIOperation): 200, no 414"
check_log "$mark" 'op=PKIOperation status=200 event=16 reason="?NDES URL validation probe' \
	"  logged as an undecodable request (event 16), as NDES logs it"
r=$(http "$T/p4" "$SCEPD_BASE/certsrv/mscep?operation=GetCACaps&message=test")
is "$r" "200 text/plain" "Validate-NDESConfiguration: /certsrv/mscep?operation=GetCACaps: 200"
check "  with the capabilities" grep -q SCEPStandard "$T/p4"
r=$(http "$T/p5" "$SCEPD_URL?operation=GetCACerts&message=x")
is "${r%% *}" 400 "an unknown operation that is no probe is still 400"

if ! have_cmd pki || ! have_cmd python3; then
	skip "pki or python3 not installed: HRESULT and replay tests with strongSwan requests not exercised"
	stop_scepd
	done_testing
	exit 0
fi

# --- HRESULT in FAILURE
new_rsa_key "$T/w.key"
pki_request "$T/wrong.der" "$T/w.key" 0123456789ABCDEF "$D/ra-enc.crt" || bail "strongSwan builds a request"
mark=$(log_mark)
post_pki "$T/wrong.der" "$T/wrong.rep" >/dev/null
is "$(status_of "$T/wrong.rep")" "2/2" "wrong challenge: FAILURE badRequest"
is "$(oid_attr "$T/wrong.rep" $MS_ERROR)" "-2147024809" \
	"  with 1.3.6.1.4.1.311.21.33 = -2147024809 (0x80070057), as NDES"
check_log "$mark" 'outcome="?FAILURE.*event=29' "  and NDES event 29 in the log"
check_certrep "$T/wrong.rep" "$T/wrong.der" 2 2 "wrong challenge"

# --- replays and duplicates (scep.md 4.13)
new_rsa_key "$T/g.key"
otp=$(new_otp)
pki_request "$T/good.der" "$T/g.key" "$otp" "$D/ra-enc.crt" || bail "strongSwan builds a request"
post_pki "$T/good.der" "$T/good1.rep" >/dev/null
is "$(status_of "$T/good1.rep")" "0/" "a strongSwan PKCSReq: SUCCESS"
reply_open "$T/good1.rep" "$T/g.key" "$T/good1.p7" && p7_first_cert "$T/good1.p7" "$T/good1.crt"
mark=$(log_mark)
post_pki "$T/good.der" "$T/good2.rep" >/dev/null
is "$(status_of "$T/good2.rep")" "0/" "the exact same message again: SUCCESS"
reply_open "$T/good2.rep" "$T/g.key" "$T/good2.p7" && p7_first_cert "$T/good2.p7" "$T/good2.crt"
check "  with the same certificate, not a second one" same_cert "$T/good2.crt" "$T/good1.crt"
check_log "$mark" 'reason="?re-sent the certificate already issued' "  logged as a re-send"
isnt "$(scep_attr "$T/good2.rep" 9.5)" "$(scep_attr "$T/good1.rep" 9.5)" \
	"  the server's senderNonce differs between the two replies"
is "$(scepctl_cmd cert list 2>/dev/null | grep -c 'CN=good,O=scepd test')" 1 "  one certificate in the store"
tid=$(scep_attr "$T/good.der" 9.7)

# a new PKCSReq, same transactionID and key (a retry after a lost reply)
openssl req -x509 -key "$T/g.key" -subj "/C=CH/O=scepd test/CN=good" -days 1 -out "$T/g.self" 2>/dev/null
new_csr_pw "$T/g.key" "$T/g2.csr" good "$(new_otp)"
printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = a\n[dn]\nC = CH\nO = scepd test\nCN = good\n[a]\nchallengePassword = %s\n' \
	"$(new_otp)" >"$T/g3.cnf"
openssl req -new -key "$T/g.key" -config "$T/g3.cnf" -out "$T/g3.csr" 2>/dev/null
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/g.self" --signer-key "$T/g.key" --txid "$tid" \
	--recipient "$D/ra-enc.crt" --csr "$T/g3.csr" --out "$T/retry.der" >/dev/null
post_pki "$T/retry.der" "$T/retry.rep" >/dev/null
is "$(status_of "$T/retry.rep")" "0/" "a new PKCSReq with the same transactionID and key: SUCCESS"
reply_open "$T/retry.rep" "$T/g.key" "$T/retry.p7" && p7_first_cert "$T/retry.p7" "$T/retry.crt"
check "  with the certificate already issued" same_cert "$T/retry.crt" "$T/good1.crt"
# the same transactionID and key, another subject
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/g.self" --signer-key "$T/g.key" --txid "$tid" \
	--recipient "$D/ra-enc.crt" --csr "$T/g2.csr" --out "$T/subj.der" >/dev/null
mark=$(log_mark)
post_pki "$T/subj.der" "$T/subj.rep" >/dev/null
is "$(status_of "$T/subj.rep")" "2/2" "the same transactionID for another subject: FAILURE badRequest"
check_log "$mark" 'outcome="?FAILURE.*another subject' "  the reason says so"
# the same transactionID, another key
self_signed "$T/o.key" "$T/o.crt" other
new_csr_pw "$T/o.key" "$T/o.csr" other "$(new_otp)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/o.crt" --signer-key "$T/o.key" --txid "$tid" \
	--recipient "$D/ra-enc.crt" --csr "$T/o.csr" --out "$T/okey.der" >/dev/null
mark=$(log_mark)
post_pki "$T/okey.der" "$T/okey.rep" >/dev/null
is "$(status_of "$T/okey.rep")" "2/2" "the same transactionID for another key: FAILURE badRequest"
check_log "$mark" 'outcome="?FAILURE.*another key' "  the reason says so"
# the consumed one-time password with another request
new_csr_pw "$T/u.key" "$T/u.csr" reuse "$otp"
openssl req -x509 -key "$T/u.key" -subj /CN=reuse -days 1 -out "$T/u.self" 2>/dev/null
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/u.self" --signer-key "$T/u.key" \
	--recipient "$D/ra-enc.crt" --csr "$T/u.csr" --out "$T/reuse.der" >/dev/null
mark=$(log_mark)
post_pki "$T/reuse.der" "$T/reuse.rep" >/dev/null
is "$(status_of "$T/reuse.rep")" "2/2" "a used one-time password in another request: FAILURE badRequest"
check_log "$mark" 'outcome="?FAILURE.*event=29.*already used' "  event 29, already used"

# --- message types and contents the server refuses (scep.md 4.6 item 43, 4.7 item 52)
self_signed "$T/m.key" "$T/m.crt" msgtype
new_csr_pw "$T/m.key" "$T/m.csr" msgtype "$(new_otp)"
for mt in 99 18; do
	"$SCEP_SEND" --type pkcsreq --message-type $mt --signer-cert "$T/m.crt" --signer-key "$T/m.key" \
		--recipient "$D/ra-enc.crt" --csr "$T/m.csr" --out "$T/mt.der" >/dev/null
	post_pki "$T/mt.der" "$T/mt.rep" >/dev/null
	is "$(status_of "$T/mt.rep")" "2/2" "messageType $mt: FAILURE badRequest"
done
"$SCEP_SEND" --type pkcsreq --message-type 3 --signer-cert "$T/m.crt" --signer-key "$T/m.key" \
	--recipient "$D/ra-enc.crt" --csr "$T/m.csr" --out "$T/mt.der" >/dev/null
r=$(post_pki "$T/mt.der" "$T/mt.rep")
is "${r%% *}" 400 "messageType 3 (a CertRep sent to the server): HTTP 400, it lacks a pkiStatus"
openssl req -in "$T/m.csr" -outform DER -out "$T/m.csr.der" 2>/dev/null
"$SCEP_SEND" --type getcert --content "$T/m.csr.der" --signer-cert "$T/m.crt" --signer-key "$T/m.key" \
	--recipient "$D/ra-enc.crt" --out "$T/gx.der" >/dev/null
mark=$(log_mark)
post_pki "$T/gx.der" "$T/gx.rep" >/dev/null
is "$(status_of "$T/gx.rep")" "2/2" "GetCert whose envelope holds a PKCS#10: FAILURE badRequest"
check_log "$mark" 'type=GetCert.*failInfo="?badRequest.*IssuerAndSerialNumber' "  the reason names the structure"
"$SCEP_SEND" --type pkcsreq --content "$T/m.crt" --signer-cert "$T/m.crt" --signer-key "$T/m.key" \
	--recipient "$D/ra-enc.crt" --csr "$T/m.csr" --out "$T/px.der" >/dev/null
post_pki "$T/px.der" "$T/px.rep" >/dev/null
is "$(status_of "$T/px.rep")" "2/2" "PKCSReq whose envelope holds no PKCS#10: FAILURE badRequest"
# a self-signed signer over another key than the CSR's is accepted (scep.md 4.8 item 61)
self_signed "$T/s.key" "$T/s.crt" signer-other-key
new_csr_pw "$T/k.key" "$T/k.csr" csr-key "$(new_otp)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/s.crt" --signer-key "$T/s.key" \
	--recipient "$D/ra-enc.crt" --csr "$T/k.csr" --out "$T/sk.der" >/dev/null
post_pki "$T/sk.der" "$T/sk.rep" >/dev/null
is "$(status_of "$T/sk.rep")" "0/" "a signer key other than the CSR key: accepted"
reply_open "$T/sk.rep" "$T/s.key" "$T/sk.p7" && p7_first_cert "$T/sk.p7" "$T/sk.crt"
check "  the reply opens with the signer's key and holds a certificate for the CSR key" \
	verify_issued "$T/sk.crt" "$T/k.key"

# --- signingTime and scep.max_clock_skew (24 h by default)
now=$(date +%s)
for case in "-259200:2/3:three days behind" "259200:2/3:three days ahead" "-3600:0/:an hour behind"; do
	off=${case%%:*}; rest=${case#*:}; want=${rest%%:*}; what=${rest#*:}
	self_signed "$T/t.key" "$T/t.crt" time
	new_csr_pw "$T/t.key" "$T/t.csr" time "$(new_otp)"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/t.crt" --signer-key "$T/t.key" \
		--signing-time $((now + off)) --recipient "$D/ra-enc.crt" --csr "$T/t.csr" \
		--txid "skew$off" --out "$T/t.der" >/dev/null
	mark=$(log_mark)
	post_pki "$T/t.der" "$T/t.rep" >/dev/null
	is "$(status_of "$T/t.rep")" "$want" "signingTime $what: $want"
	if [ "$want" = 2/3 ]; then
		check_log "$mark" "txid=skew$off .*failInfo=\"?badTime.*signingTime is 259[0-9]{3} seconds (behind|ahead of) the server" \
			"  the log line names the clock skew"
		like "$(scepctl_cmd request history "skew$off" 2>&1)" \
			"PKCSReq +failure +badTime .*signingTime is 259[0-9]{3} seconds (behind|ahead of) the server" \
			"  scepctl request history shows the refusal and its reason"
	fi
	rm -f "$T/t.key" "$T/t.crt"
done
# (a request without signingTime is accepted too: pkimsg tests; no client omits it)

# --- without the HRESULT
stop_scepd
check "scep.ndes_hresult = false" set_conf "$D" ndes_hresult false
check "scep.max_clock_skew = 0" set_conf "$D" max_clock_skew 0
run_scepd "$D" || bail "scepd restarts"
post_pki "$T/wrong.der" "$T/wrong2.rep" >/dev/null
is "$(status_of "$T/wrong2.rep")" "2/2" "wrong challenge again: FAILURE badRequest"
is "$(oid_attr "$T/wrong2.rep" $MS_ERROR)" "" "  without the HRESULT attribute"
self_signed "$T/t2.key" "$T/t2.crt" time2
new_csr_pw "$T/t2.key" "$T/t2.csr" time2 "$(new_otp)"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/t2.crt" --signer-key "$T/t2.key" \
	--signing-time $((now - 259200)) --recipient "$D/ra-enc.crt" --csr "$T/t2.csr" \
	--out "$T/t2.der" >/dev/null
post_pki "$T/t2.der" "$T/t2.rep" >/dev/null
is "$(status_of "$T/t2.rep")" "0/" "max_clock_skew = 0: signingTime is not checked"

check_serving "after the NDES tests"
stop_scepd
done_testing

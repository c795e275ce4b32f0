#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_negative.sh: requests scepd must refuse, sent with curl to the real daemon on
# 127.0.0.1, and the server must keep serving after each:
#   - wrong, missing and reused challenge passwords: HTTP 200 CertRep FAILURE
#     badRequest (pkiStatus 2, failInfo 2), signed by our RA, transactionID and
#     nonce echoed; the requests are real strongSwan PKCSReqs built with `pki --scep`
#     against the fixture capture server (so scepd sees each exactly once);
#   - a request encrypted for a certificate scepd does not hold (the fixture
#     strongswan-aes-sha256/request.der, encrypted to the fixture lab RA, and a fresh
#     one encrypted to the lab RA): CertRep FAILURE badRequest;
#   - a PKCSReq signed with an EC key, to which no SUCCESS can be encrypted
#     (RSA key transport only): CertRep FAILURE badAlg before any certificate
#     is issued or the one-time password is spent, never HTTP 500;
#   - corrupted POST bodies (truncated, garbled, junk): HTTP 400 text/plain;
#   - GET PKIOperation with truncated or invalid base64: HTTP 400;
#   - body over http.max_body: 413; URL over http.max_url: 414.
# Each failure must leave a log line that gives the reason.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send

D=$(new_dir neg)
# The fixture request's signingTime is the day it was captured: with no clock-skew
# check it always reaches the recipient check this file tests, whatever today is.
init_scepd "$D" && set_conf "$D" max_clock_skew 0 && run_scepd "$D" || bail "scepd starts"
pass "scepd starts (one-time passwords, allow_des = false, no clock-skew check)"
T=$TEST_TMP
FIX=$SCEPD_FIXTURES/strongswan-aes-sha256/request.der
LAB_RA_ENC=$SCEPD_FIXTURES/lab/ra-enc.crt

have_pki=1
have_cmd pki && have_cmd python3 && [ -f "$CAPTURE_SERVER" ] || have_pki=0
PKI_SKIP="pki (strongswan-pki) or python3 or the capture server missing: cannot build real PKCSReqs"

# post REQ REPLY: POST a pkiMessage; prints "STATUS CONTENT-TYPE"
post() {
	http "$2" -H 'Content-Type: application/x-pki-message' --data-binary @"$1" \
		"$SCEPD_URL?operation=PKIOperation"
}

# reason_logged MARK ERE DESC: the failure's log line has a reason="..."
reason_logged() {
	local line
	if line=$(log_wait "$1" "$2"); then
		like "$line" 'reason="?[^" ]' "$3"
	else
		fail "$3" "no log line after line $1 matches /$2/"
	fi
}

# failure_certrep NAME REQUEST: POST it, expect a CertRep FAILURE badRequest
failure_certrep() {
	local name=$1 req=$2 r mark
	mark=$(log_mark)
	r=$(post "$req" "$T/$name.reply")
	is "${r%% *}" 200 "$name: HTTP 200"
	is "${r#* }" application/x-pki-message "$name: Content-Type application/x-pki-message"
	check_certrep "$T/$name.reply" "$req" 2 2 "$name"
	check_log "$mark" 'op=PKIOperation.*outcome="?FAILURE"? failInfo="?badRequest' \
		"$name: log says outcome=FAILURE failInfo=badRequest"
	reason_logged "$mark" 'outcome="?FAILURE' "$name: the log line gives a reason"
	check_serving "after $name"
}

# --- challenge passwords (real strongSwan requests)
if [ $have_pki = 1 ]; then
	K=$T/keys; mkdir -p "$K"
	for k in good reuse wrong none fresh; do new_rsa_key "$K/$k.key"; done
	otp=$(new_otp)
	ok_build=1
	pki_request "$T/good.der" "$K/good.key" "$otp" "$D/ra-enc.crt" || ok_build=0
	pki_request "$T/reuse.der" "$K/reuse.key" "$otp" "$D/ra-enc.crt" || ok_build=0
	pki_request "$T/wrong.der" "$K/wrong.key" 0123456789ABCDEF "$D/ra-enc.crt" || ok_build=0
	pki_request "$T/none.der" "$K/none.key" - "$D/ra-enc.crt" || ok_build=0
	pki_request "$T/fresh-unknown.der" "$K/fresh.key" "$(new_otp)" "$LAB_RA_ENC" || ok_build=0
	is "$ok_build" 1 "pki built the test PKCSReqs (via the capture server)"

	# first use of the one-time password succeeds
	mark=$(log_mark)
	r=$(post "$T/good.der" "$T/good.reply")
	is "${r%% *}" 200 "valid one-time password: HTTP 200"
	is "${r#* }" application/x-pki-message "valid one-time password: Content-Type application/x-pki-message"
	check_certrep "$T/good.reply" "$T/good.der" 0 "" "valid one-time password"
	if certrep_issued_cert "$T/good.reply" "$K/good.key" "$T/good.crt"; then
		pass "valid one-time password: the envelope decrypts to a certificate"
	else
		fail "valid one-time password: the envelope decrypts to a certificate"
	fi
	check "valid one-time password: certificate issued by our CA for the key" \
		verify_issued "$T/good.crt" "$K/good.key"
	check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS' "valid one-time password: log says SUCCESS"

	mark=$(log_mark)
	failure_certrep "reused one-time password" "$T/reuse.der"
	line=$(log_wait "$mark" 'outcome="?FAILURE')
	like "$line" '[Cc]hallenge|[Pp]assword' "reused one-time password: the reason is about the challenge"

	mark=$(log_mark)
	failure_certrep "wrong challenge" "$T/wrong.der"
	line=$(log_wait "$mark" 'outcome="?FAILURE')
	like "$line" '[Cc]hallenge|[Pp]assword' "wrong challenge: the reason is about the challenge"

	mark=$(log_mark)
	failure_certrep "missing challenge" "$T/none.der"
	line=$(log_wait "$mark" 'outcome="?FAILURE')
	like "$line" '[Cc]hallenge|[Pp]assword' "missing challenge: the reason is about the challenge"

	failure_certrep "fresh request encrypted to a certificate scepd does not hold" \
		"$T/fresh-unknown.der"
else
	skip "$PKI_SKIP"
fi

# --- the fixture request, encrypted to the fixture lab RA (not ours)
if [ -f "$FIX" ]; then
	mark=$(log_mark)
	failure_certrep "fixture request for an unknown recipient" "$FIX"
else
	skip "fixture $FIX not found"
fi

# --- a PKCSReq signed with an EC key: the CertRep envelope needs RSA key transport
mark=$(log_mark)
ec_otp=$(new_otp)
openssl ecparam -name prime256v1 -genkey -noout -out "$T/ec.key" 2>/dev/null
openssl req -x509 -key "$T/ec.key" -subj "/CN=ec signer" -days 2 -out "$T/ec.crt" 2>/dev/null
new_csr_pw "$T/ec.key" "$T/ec.csr" "ec signer" "$ec_otp"
before=$(scepctl_cmd cert list 2>/dev/null | grep -c 'CN=ec signer')
if "$SCEP_SEND" --type pkcsreq --signer-cert "$T/ec.crt" --signer-key "$T/ec.key"     --recipient "$D/ra-enc.crt" --csr "$T/ec.csr" --txid ec-signed --out "$T/ec.der" >/dev/null; then
	r=$(post "$T/ec.der" "$T/ec.reply")
	is "${r%% *}" 200 "EC-signed PKCSReq: HTTP 200, not 500"
	is "${r#* }" application/x-pki-message "EC-signed PKCSReq: Content-Type application/x-pki-message"
	check_certrep "$T/ec.reply" "$T/ec.der" 2 0 "EC-signed PKCSReq"
	reason_logged "$mark" 'txid=ec-signed.*outcome="?FAILURE' "EC-signed PKCSReq: the log line gives a reason"
	is "$(scepctl_cmd cert list 2>/dev/null | grep -c 'CN=ec signer')" "$before" \
		"EC-signed PKCSReq: no certificate issued"
	new_rsa_key "$T/ec-rsa.key"
	new_csr_pw "$T/ec-rsa.key" "$T/ec-rsa.csr" "ec signer" "$ec_otp"
	openssl req -x509 -key "$T/ec-rsa.key" -subj "/CN=ec signer" -days 2 -out "$T/ec-rsa.crt" 2>/dev/null
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/ec-rsa.crt" --signer-key "$T/ec-rsa.key" \
	    --recipient "$D/ra-enc.crt" --csr "$T/ec-rsa.csr" --txid ec-then-rsa --out "$T/ec-rsa.der" >/dev/null
	post "$T/ec-rsa.der" "$T/ec-rsa.reply" >/dev/null
	is "$(scep_attr "$T/ec-rsa.reply" 9.3)" 0 "EC-signed PKCSReq: its one-time password is not spent"
	check_serving "after the EC-signed PKCSReq"
else
	fail "scep_send builds an EC-signed PKCSReq"
fi

# --- corrupted POST bodies
if [ $have_pki = 1 ] && [ -s "$T/wrong.der" ]; then
	REAL=$T/wrong.der
else
	REAL=$FIX
fi
size=$(wc -c <"$REAL")
head -c $((size / 2)) "$REAL" >"$T/truncated.der"
{ printf '\377\377\377\377'; tail -c +5 "$REAL"; } >"$T/garbled.der"
head -c 1000 /dev/urandom >"$T/junk.der"
for c in truncated garbled junk; do
	mark=$(log_mark)
	r=$(post "$T/$c.der" "$T/$c.reply")
	is "${r%% *}" 400 "$c POST body: HTTP 400"
	like "${r#* }" '^text/plain' "$c POST body: Content-Type text/plain"
	check_log "$mark" 'op=PKIOperation.*(outcome="?HTTP |status=)400' "$c POST body: logged as outcome=HTTP 400"
	reason_logged "$mark" '(outcome="?HTTP |status=)400' "$c POST body: the log line gives a reason"
	check_serving "after the $c POST body"
done

# --- bad base64 on GET
b64=$(base64 -w0 <"$REAL")
cut_len=$(( (${#b64} / 2) / 4 * 4 + 1 ))        # length = 1 (mod 4): never valid base64
trunc=${b64:0:$cut_len}
trunc=${trunc//+/%2B}; trunc=${trunc//\//%2F}
mark=$(log_mark)
r=$(http "$T/get1" "$SCEPD_URL?operation=PKIOperation&message=$trunc")
is "${r%% *}" 400 "GET PKIOperation with truncated base64: HTTP 400"
check_log "$mark" 'op=PKIOperation.*(outcome="?HTTP |status=)400' "truncated base64: logged as outcome=HTTP 400"
reason_logged "$mark" '(outcome="?HTTP |status=)400' "truncated base64: the log line gives a reason"
check_serving "after truncated base64"

mark=$(log_mark)
r=$(http "$T/get2" "$SCEPD_URL?operation=PKIOperation&message=%21%21not*base64%24%24")
is "${r%% *}" 400 "GET PKIOperation with invalid base64 characters: HTTP 400"
reason_logged "$mark" '(outcome="?HTTP |status=)400' "invalid base64: the log line gives a reason"
check_serving "after invalid base64"

# --- size limits
head -c 300000 /dev/zero >"$T/big.bin"
mark=$(log_mark)
r=$(post "$T/big.bin" "$T/big.reply")
is "${r%% *}" 413 "POST body over http.max_body: HTTP 413"
check_log "$mark" '(outcome="?HTTP |status=)413' "oversized body: logged as outcome=HTTP 413"
reason_logged "$mark" '(outcome="?HTTP |status=)413' "oversized body: the log line gives a reason"
check_serving "after the oversized body"

long=$(head -c 70000 /dev/zero | tr '\0' 'A')
mark=$(log_mark)
r=$(http "$T/long" "$SCEPD_URL?operation=PKIOperation&message=$long")
is "${r%% *}" 414 "URL over http.max_url: HTTP 414"
check_log "$mark" '(outcome="?HTTP |status=)414' "oversized URL: logged as outcome=HTTP 414"
reason_logged "$mark" '(outcome="?HTTP |status=)414' "oversized URL: the log line gives a reason"
check_serving "after the oversized URL"

stop_scepd
done_testing

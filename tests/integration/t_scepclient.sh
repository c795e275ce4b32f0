#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_scepclient.sh: enrollment with micromdm's scepclient 2.1.0 (Debian package scep)
# against the real scepd on 127.0.0.1. scepclient always encrypts with single DES,
# so the server runs with allow_des = true (and is checked to refuse it when false).
# Covers: one-time password from `scepctl challenge new`, the issued certificate
# (chain and key), `scepctl cert list`, reuse of a one-time password, a wrong
# password, and a server with a static challenge (scepctl init --challenge).
#
# scepclient keeps csr.pem and self.pem next to its -private-key and reuses an
# existing csr.pem, so every enrollment gets its own folder; an existing
# -certificate would make it send RenewalReq, so that path must not exist yet.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries

if ! have_cmd scepclient; then
	skip "scepclient not installed (Debian package scep)"
	done_testing
	exit 0
fi

# enroll NAME PASSWORD: run scepclient in a fresh folder $TEST_TMP/NAME; sets
# EK (key), EC (certificate path), EOUT (its output); returns its exit status
enroll() {
	local dir
	dir=$(new_dir "$1"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/scepclient.out
	timeout 30 scepclient -server-url "$SCEPD_URL" -challenge "$2" \
		-private-key "$EK" -certificate "$EC" -cn "it-$1" -debug >"$EOUT" 2>&1
}

show_out() { tail -n 4 "$EOUT" | cut -c1-300; }

# --- one-time passwords
D=$(new_dir otp)
init_scepd "$D" || bail "scepctl init (one-time password mode)"
check "allow_des set to true for scepclient" set_conf "$D" allow_des true
CRL_URL=http://127.0.0.1:$(cat "$D/.test-port")/crl/ca.crl
check "crl.url = $CRL_URL" conf_set "$D" url "\"$CRL_URL\""
check "scepd -t accepts the edited configuration" "$SCEPD_BIN" -t -f "$D/scepd.conf"
run_scepd "$D" || bail "scepd starts with allow_des = true"
pass "scepd starts with allow_des = true"

otp=$(new_otp)
like "$otp" '^[0-9A-F]{16}$' "scepctl challenge new prints 16 upper-case hex characters"
otp2=$(new_otp)
isnt "$otp2" "$otp" "a second scepctl challenge new gives another password"

mark=$(log_mark)
enroll ok1 "$otp"
rc=$?
if [ $rc = 0 ]; then pass "scepclient enrolls with a one-time password"
else fail "scepclient enrolls with a one-time password" "exit status $rc" "$(show_out)"; fi
check "the certificate is written to -certificate, issued by our CA for the client key" \
	verify_issued "$EC" "$EK"
is "$(cert_cn "$EC")" it-ok1 "the certificate has the requested CN"
like "$(openssl x509 -in "$EC" -noout -ext crlDistributionPoints 2>&1)" "URI:$CRL_URL\$" \
	"the certificate carries the CRL distribution point crl.url"
check "the certificate appears in scepctl cert list (serial and subject)" in_cert_list "$EC"
check_log "$mark" 'op=PKIOperation.*type=PKCSReq.*outcome="?SUCCESS' \
	"log: PKCSReq outcome=SUCCESS"
line=$(log_wait "$mark" 'outcome="?SUCCESS')
like "$line" "serial=0*$(cert_serial "$EC")" "log: the SUCCESS line names the issued serial"
like "$line" 'client=127\.0\.0\.1' "log: the SUCCESS line names the client address"

# the same one-time password again, with a new key
mark=$(log_mark)
enroll reuse "$otp"
rc=$?
isnt "$rc" 0 "scepclient fails when the one-time password is used again"
check "no certificate is written for the reused password" test ! -s "$EC"
like "$(cat "$EOUT")" 'failInfo|badRequest|fail' "scepclient reports the failure"
check_log "$mark" 'outcome="?FAILURE"? failInfo="?badRequest' "log: reuse gives outcome=FAILURE failInfo=badRequest"
line=$(log_wait "$mark" 'outcome="?FAILURE')
like "$line" 'reason=.*([Cc]hallenge|[Pp]assword)' "log: the reuse failure gives a reason about the challenge"
check_serving "after the reused password"

# a wrong password
mark=$(log_mark)
enroll wrong 0123456789ABCDEF
rc=$?
isnt "$rc" 0 "scepclient fails with a wrong password"
check "no certificate is written for the wrong password" test ! -s "$EC"
check_log "$mark" 'outcome="?FAILURE"? failInfo="?badRequest' "log: wrong password gives outcome=FAILURE failInfo=badRequest"
line=$(log_wait "$mark" 'outcome="?FAILURE')
like "$line" 'reason=.*([Cc]hallenge|[Pp]assword)' "log: the failure gives a reason about the challenge"

# the unused second password still works
enroll ok2 "$otp2"
rc=$?
if [ $rc = 0 ]; then pass "an unused one-time password still enrolls after failures"
else fail "an unused one-time password still enrolls after failures" "exit status $rc" "$(show_out)"; fi
check "second certificate verifies" verify_issued "$EC" "$EK"
check_serving "after the one-time password tests"
stop_scepd

# --- allow_des = false: scepclient's single-DES request is refused
D=$(new_dir nodes)
if start_scepd "$D"; then
	grep -Eq '^[[:space:]]*allow_des[[:space:]]*=[[:space:]]*false;' "$D/scepd.conf"
	is "$?" 0 "scepctl init writes allow_des = false"
	mark=$(log_mark)
	enroll des-refused "$(new_otp)"
	rc=$?
	isnt "$rc" 0 "with allow_des = false, scepclient (single DES) is refused"
	check "no certificate is issued with allow_des = false" test ! -s "$EC"
	check_log "$mark" 'op=PKIOperation.*outcome="?(FAILURE|HTTP)' "log: the DES request is logged as a failure"
	check_serving "after the DES request"
	stop_scepd
else
	fail "scepd starts with allow_des = false"
fi

# --- static challenge
D=$(new_dir static)
SECRET=it-static-Secret-42
init_scepd "$D" --challenge "$SECRET" || bail "scepctl init --challenge"
check "allow_des set to true (static server)" set_conf "$D" allow_des true
run_scepd "$D" || bail "scepd starts with a static challenge"
pass "scepd starts with a static challenge"

enroll static1 "$SECRET"
rc=$?
if [ $rc = 0 ]; then pass "scepclient enrolls with the static challenge"
else fail "scepclient enrolls with the static challenge" "exit status $rc" "$(show_out)"; fi
check "static-challenge certificate verifies" verify_issued "$EC" "$EK"
check "static-challenge certificate is in scepctl cert list" in_cert_list "$EC"

enroll static2 "$SECRET"
rc=$?
if [ $rc = 0 ]; then pass "the static challenge can be used again"
else fail "the static challenge can be used again" "exit status $rc" "$(show_out)"; fi
check "second static-challenge certificate verifies" verify_issued "$EC" "$EK"

mark=$(log_mark)
enroll static-wrong "${SECRET}x"
rc=$?
isnt "$rc" 0 "scepclient fails with a wrong static challenge"
check_log "$mark" 'outcome="?FAILURE"? failInfo="?badRequest' "log: wrong static challenge gives FAILURE badRequest"
check_serving "after the static challenge tests"
stop_scepd

done_testing

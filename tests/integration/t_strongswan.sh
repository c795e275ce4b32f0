#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_strongswan.sh: strongSwan's `pki --scepca` and `pki --scep` (strongswan-pki 5.9.8
# with libstrongswan-extra-plugins) against the real scepd on 127.0.0.1, with
# allow_des = false: CA/RA certificate download, enrollment with AES and 3DES
# content encryption and SHA-256 and SHA-1 digests (plus RSASSA-PSS signatures), each
# with its own one-time password, and a wrong password.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

if ! have_cmd pki; then
	skip "pki (strongswan-pki) not installed"
	done_testing
	exit 0
fi

D=$(new_dir sw)
start_scepd "$D" || bail "scepd starts"
pass "scepd starts (allow_des = false)"
T=$TEST_TMP

# pki prints TPM plugin noise on stderr; keep its output for diagnostics only
pkiout() { grep -vi -e tpm -e 'plugin' "$1" | tail -n 5 | cut -c1-300; }

# --- pki --scepca
mkdir -p "$T/scepca"
timeout 30 pki --scepca --url "$SCEPD_URL" --caout "$T/scepca/ca.pem" \
	--raout "$T/scepca/ra.pem" --outform pem >"$T/scepca/out" 2>&1
rc=$?
if [ $rc = 0 ]; then pass "pki --scepca succeeds"
else fail "pki --scepca succeeds" "exit status $rc" "$(pkiout "$T/scepca/out")"; fi
check "pki --scepca: the CA certificate is ours" same_cert "$T/scepca/ca.pem" "$D/ca.crt"
ra_ok=0
for a in ra.pem ra-2.pem; do
	for b in ra-sign.crt ra-enc.crt; do
		same_cert "$T/scepca/$a" "$D/$b" && ra_ok=$((ra_ok + 1))
	done
done
same_cert "$T/scepca/ra.pem" "$T/scepca/ra-2.pem" && ra_ok=0
is "$ra_ok" 2 "pki --scepca: the two RA certificates are our RA signing and encryption certificates"
like "$(cat "$T/scepca/out")" 'RA cert is trusted' "pki --scepca: RA certificates chain to the CA"

# --- pki --scep enrollments
# enroll NAME PASSWORD [pki options]: sets EK, EC, EOUT; returns pki's status
enroll() {
	local name=$1 pw=$2 dir; shift 2
	dir=$(new_dir "$name"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/pki.out
	new_rsa_key "$EK" || return 99
	timeout 30 pki --scep --url "$SCEPD_URL" --in "$EK" \
		--dn "C=CH, O=strongSwan, CN=it-$name" --san "it-$name.example.org" \
		--password "$pw" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --maxpolltime 5 --interval 1 --outform pem "$@" \
		>"$EC" 2>"$EOUT"
}

for cipher in aes des3; do
	for digest in sha256 sha1; do
		name=$cipher-$digest
		mark=$(log_mark)
		otp=$(new_otp) || fail "scepctl challenge new for $name"
		enroll "$name" "$otp" --cipher "$cipher" --digest "$digest"
		rc=$?
		if [ $rc = 0 ]; then pass "pki --scep --cipher $cipher --digest $digest enrolls"
		else fail "pki --scep --cipher $cipher --digest $digest enrolls" "exit status $rc" "$(pkiout "$EOUT")"; fi
		check "$name: certificate issued by our CA for the client key" verify_issued "$EC" "$EK"
		like "$(openssl x509 -in "$EC" -noout -subject 2>/dev/null)" "CN ?= ?it-$name" \
			"$name: certificate has the requested CN"
		check_log "$mark" 'op=PKIOperation.*type=PKCSReq.*outcome="?SUCCESS' "$name: log says outcome=SUCCESS"
	done
done

# RSASSA-PSS signatures on the pkiMessage, signer certificate and CSR
mark=$(log_mark)
enroll aes-sha256-pss "$(new_otp)" --cipher aes --digest sha256 --rsa-padding pss
rc=$?
if [ $rc = 0 ]; then pass "pki --scep --rsa-padding pss enrolls"
else fail "pki --scep --rsa-padding pss enrolls" "exit status $rc" "$(pkiout "$EOUT")"; fi
check "pss: certificate issued by our CA for the client key" verify_issued "$EC" "$EK"
check "pss: certificate is in scepctl cert list" in_cert_list "$EC"

# --- wrong password
mark=$(log_mark)
enroll wrong 0123456789ABCDEF --cipher aes --digest sha256
rc=$?
isnt "$rc" 0 "pki --scep with a wrong password fails"
check "no certificate for the wrong password" test ! -s "$EC"
like "$(cat "$EOUT")" '[Ff]ail|[Ee]rror|[Rr]eject' "pki reports the failure"
check_log "$mark" 'outcome="?FAILURE"? failInfo="?badRequest' "log: wrong password gives outcome=FAILURE failInfo=badRequest"
line=$(log_wait "$mark" 'outcome="?FAILURE')
like "$line" 'reason=.*([Cc]hallenge|[Pp]assword)' "log: the failure gives a reason about the challenge"
check_serving "after the wrong password"

stop_scepd
done_testing

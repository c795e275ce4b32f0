#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_crl.sh: revocation, the CRL, GetCRL (22) and GetCert (21) against the real scepd
# on 127.0.0.1. A strongSwan enrollment gives a certificate with a CRL distribution
# point (crl.url); the CRL is fetched over HTTP and checked with `openssl crl` and
# `openssl verify -crl_check` before and after `scepctl cert revoke`. GetCRL and
# GetCert are sent by tests/integration/scep_send (no Debian client sends them), also with
# RSAES-OAEP key transport and AES-256, which the reply must mirror.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send

D=$(new_dir crl)
init_scepd "$D" || bail "scepctl init"
PORT=$(cat "$D/.test-port")
CRL_URL=http://127.0.0.1:$PORT/crl/ca.crl
check "crl.url = $CRL_URL" conf_set "$D" url "\"$CRL_URL\""
run_scepd "$D" || bail "scepd starts"
pass "scepd starts with a CRL distribution point"
T=$TEST_TMP

# --- a certificate to revoke: strongSwan, or scep_send without it
new_rsa_key "$T/e.key"
if have_cmd pki; then
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$T/e.key" --dn "C=CH, O=strongSwan, CN=it-crl" \
		--password "$(new_otp)" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --outform pem >"$T/e.crt" 2>"$T/e.err"
	is "$?" 0 "strongSwan enrolls"
else
	skip "pki not installed: enrolling with scep_send instead"
	openssl req -x509 -key "$T/e.key" -out "$T/e.self" -subj /CN=it-crl -days 1 2>/dev/null
	new_csr_pw "$T/e.key" "$T/e.csr" it-crl "$(new_otp)"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/e.self" --signer-key "$T/e.key" \
		--recipient "$D/ra-enc.crt" --csr "$T/e.csr" --out "$T/e.der" >/dev/null
	post_pki "$T/e.der" "$T/e.rep" >/dev/null
	reply_open "$T/e.rep" "$T/e.key" "$T/e.p7" && p7_first_cert "$T/e.p7" "$T/e.crt"
fi
check "the certificate is ours" verify_issued "$T/e.crt" "$T/e.key"
like "$(openssl x509 -in "$T/e.crt" -noout -ext crlDistributionPoints 2>/dev/null)" \
	"URI:$CRL_URL" "it carries the CRL distribution point crl.url"
SERIAL=$(cert_serial "$T/e.crt")

# --- the CRL over HTTP
r=$(http "$T/crl1.der" "$CRL_URL")
is "$r" "200 application/pkix-crl" "GET /crl/ca.crl: 200 application/pkix-crl"
check "the CRL verifies with the CA certificate" \
	openssl crl -inform DER -in "$T/crl1.der" -CAfile "$D/ca.crt" -noout
text=$(openssl crl -inform DER -in "$T/crl1.der" -noout -text 2>/dev/null)
like "$text" 'Version 2' "CRL version 2"
like "$text" 'X509v3 CRL Number' "it has a CRL number"
like "$text" 'No Revoked Certificates' "nothing revoked yet"
n1=$(printf '%s\n' "$text" | sed -n '/CRL Number/{n;s/[^0-9]//g;p}')
openssl crl -inform DER -in "$T/crl1.der" -out "$T/crl1.pem" 2>/dev/null
check "openssl verify -crl_check accepts the certificate" \
	openssl verify -crl_check -CAfile "$D/ca.crt" -CRLfile "$T/crl1.pem" "$T/e.crt"
r=$(http "$T/x" -X POST --data-binary x "$CRL_URL")
is "${r%% *}" 405 "POST to the CRL path: 405"
r=$(http "$T/crl1b.der" "$CRL_URL")
check "fetched again: the same CRL (it is fresh)" cmp -s "$T/crl1.der" "$T/crl1b.der"

# --- revocation
out=$(scepctl_cmd cert revoke "$SERIAL" --reason keyCompromise 2>&1)
is "$?" 0 "scepctl cert revoke $SERIAL --reason keyCompromise"
like "$out" 'CRL updated' "scepctl made the CRL again"
scepctl_cmd cert revoke "$SERIAL" >/dev/null 2>&1
isnt "$?" 0 "revoking it twice fails"
scepctl_cmd cert revoke 0123ABCD >/dev/null 2>&1
isnt "$?" 0 "revoking an unknown serial fails"
scepctl_cmd cert revoke "$SERIAL" --reason nonsense >/dev/null 2>&1
is "$?" 2 "an unknown reason is a usage error"
like "$(scepctl_cmd cert list 2>&1)" "$SERIAL +revoked" "scepctl cert list shows it revoked"
r=$(http "$T/crl2.der" "$CRL_URL")
is "${r%% *}" 200 "GET the CRL after the revocation"
text=$(openssl crl -inform DER -in "$T/crl2.der" -noout -text 2>/dev/null)
like "$text" "Serial Number: 0*$SERIAL" "the revoked serial is listed"
like "$text" 'Key Compromise' "with reasonCode keyCompromise"
n2=$(printf '%s\n' "$text" | sed -n '/CRL Number/{n;s/[^0-9]//g;p}')
check "the CRL number grew ($n1 -> $n2)" test "${n2:-0}" -gt "${n1:-0}"
openssl crl -inform DER -in "$T/crl2.der" -out "$T/crl2.pem" 2>/dev/null
out=$(openssl verify -crl_check -CAfile "$D/ca.crt" -CRLfile "$T/crl2.pem" "$T/e.crt" 2>&1)
like "$out" 'certificate revoked' "openssl verify -crl_check now says: certificate revoked"
scepctl_cmd crl --out "$T/crl3.der" >/dev/null 2>&1
check "scepctl crl writes the same CRL" cmp -s "$T/crl2.der" "$T/crl3.der"

# --- GetCRL, signed by the revoked certificate itself (any signer may ask)
"$SCEP_SEND" --type getcrl --signer-cert "$T/e.crt" --signer-key "$T/e.key" \
	--issuer-cert "$D/ca.crt" --serial "$SERIAL" --recipient "$D/ra-enc.crt" \
	--out "$T/gc.der" >/dev/null
mark=$(log_mark)
r=$(post_pki "$T/gc.der" "$T/gc.rep")
is "$r" "200 application/x-pki-message" "GetCRL: 200 application/x-pki-message"
is "$(status_of "$T/gc.rep")" "0/" "GetCRL: SUCCESS"
check_certrep "$T/gc.rep" "$T/gc.der" 0 "" "GetCRL"
check "GetCRL: the envelope opens with the requester's key" reply_open "$T/gc.rep" "$T/e.key" "$T/gc.p7"
check "GetCRL: a CRL in the crls field" p7_crl "$T/gc.p7" "$T/gc.crl.pem"
check "GetCRL: it is the CA's current CRL" cmp -s <(openssl crl -in "$T/gc.crl.pem" -outform DER) "$T/crl2.der"
check_log "$mark" 'type=GetCRL.*outcome="?SUCCESS' "log: GetCRL SUCCESS"

# --- GetCert
self_signed "$T/g.key" "$T/g.crt" it-getcert
"$SCEP_SEND" --type getcert --signer-cert "$T/g.crt" --signer-key "$T/g.key" \
	--issuer-cert "$D/ca.crt" --serial "$SERIAL" --recipient "$D/ra-enc.crt" \
	--out "$T/gt.der" >/dev/null
mark=$(log_mark)
post_pki "$T/gt.der" "$T/gt.rep" >/dev/null
is "$(status_of "$T/gt.rep")" "0/" "GetCert for our serial: SUCCESS"
check_certrep "$T/gt.rep" "$T/gt.der" 0 "" "GetCert"
check "GetCert: the envelope opens with the requester's key" reply_open "$T/gt.rep" "$T/g.key" "$T/gt.p7"
check "GetCert: the certificate is the leaf" p7_first_cert "$T/gt.p7" "$T/gt.crt"
check "GetCert: it is the certificate with that serial" same_cert "$T/gt.crt" "$T/e.crt"
check_log "$mark" "type=GetCert.*outcome=\"?SUCCESS.*serial=0*$SERIAL" "log: GetCert SUCCESS with the serial"

"$SCEP_SEND" --type getcert --signer-cert "$T/g.crt" --signer-key "$T/g.key" \
	--issuer-cert "$D/ca.crt" --serial 0123456789ABCDEF --recipient "$D/ra-enc.crt" \
	--out "$T/gu.der" >/dev/null
post_pki "$T/gu.der" "$T/gu.rep" >/dev/null
is "$(status_of "$T/gu.rep")" "2/4" "GetCert for an unknown serial: FAILURE badCertId"
"$SCEP_SEND" --type getcert --signer-cert "$T/g.crt" --signer-key "$T/g.key" \
	--issuer-cert "$T/g.crt" --serial "$SERIAL" --recipient "$D/ra-enc.crt" \
	--out "$T/gi.der" >/dev/null
post_pki "$T/gi.der" "$T/gi.rep" >/dev/null
is "$(status_of "$T/gi.rep")" "2/4" "GetCert naming another issuer: FAILURE badCertId"

# --- key transport and cipher are mirrored: OAEP, AES-256
"$SCEP_SEND" --type getcert --signer-cert "$T/g.crt" --signer-key "$T/g.key" --oaep \
	--cipher aes256 --digest sha512 --issuer-cert "$D/ca.crt" --serial "$SERIAL" \
	--recipient "$D/ra-enc.crt" --out "$T/go.der" >/dev/null
post_pki "$T/go.der" "$T/go.rep" >/dev/null
is "$(status_of "$T/go.rep")" "0/" "GetCert with RSAES-OAEP and AES-256: SUCCESS"
reply_open "$T/go.rep" "$T/g.key" "$T/go.p7"
env=$(openssl cms -cmsout -print -inform DER -in "$T/go.rep.content" 2>/dev/null)
like "$env" 'rsaesOaep' "the reply's key transport is RSAES-OAEP, as the request's"
like "$env" 'aes-256-cbc' "the reply's content cipher is AES-256-CBC, as the request's"
like "$(openssl cms -cmsout -print -inform DER -in "$T/go.rep" 2>/dev/null)" 'sha512' \
	"the reply is signed with SHA-512, as the request"
check "the OAEP reply holds the certificate" p7_first_cert "$T/go.p7" "$T/go.crt"

# --- a request sent again after its certificate was revoked: FAILURE badRequest,
# not the revoked certificate (clients whose transactionID comes from the key,
# Apple, sscep, strongSwan, would otherwise get it back on every retry)
new_rsa_key "$T/r.key"
openssl req -x509 -key "$T/r.key" -out "$T/r.self" -subj /CN=it-crl-resend -days 1 2>/dev/null
new_csr_pw "$T/r.key" "$T/r.csr" it-crl-resend "$(new_otp)"
resend() {
	"$SCEP_SEND" --type pkcsreq --txid CRL-RESEND-1 --signer-cert "$T/r.self" \
		--signer-key "$T/r.key" --recipient "$D/ra-enc.crt" --csr "$T/r.csr" --out "$T/$1.der" \
		>/dev/null && post_pki "$T/$1.der" "$T/$1.rep" >/dev/null
}
resend r1
is "$(status_of "$T/r1.rep")" "0/" "a second certificate to revoke: SUCCESS"
reply_open "$T/r1.rep" "$T/r.key" "$T/r1.p7" && p7_first_cert "$T/r1.p7" "$T/r1.crt"
RSERIAL=$(cert_serial "$T/r1.crt")
resend r2
is "$(status_of "$T/r2.rep")" "0/" "sent again before the revocation: SUCCESS, the same certificate"
scepctl_cmd cert revoke "$RSERIAL" --reason superseded >/dev/null 2>&1
is "$?" 0 "scepctl cert revoke $RSERIAL --reason superseded"
mark=$(log_mark)
resend r3
is "$(status_of "$T/r3.rep")" "2/2" "sent again after the revocation: FAILURE badRequest"
check_log "$mark" "txid=CRL-RESEND-1.*revoked" "log: the reason names the revocation"

# --- GetCRL switched off, CRL path switched off
stop_scepd
check "crl.scep = false" set_conf "$D" scep false
check "crl.path = \"\"" set_conf "$D" path '""'
run_scepd "$D" || bail "scepd restarts"
post_pki "$T/gc.der" "$T/gc2.rep" >/dev/null
is "$(status_of "$T/gc2.rep")" "2/2" "GetCRL with crl.scep = false: FAILURE badRequest (as NDES)"
r=$(http "$T/x" "$CRL_URL")
is "${r%% *}" 404 "crl.path empty: the CRL is not served (404)"

check_serving "after the CRL tests"
stop_scepd
done_testing

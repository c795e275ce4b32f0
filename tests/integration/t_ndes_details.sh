#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_ndes_details.sh: three NDES details against the real scepd on 127.0.0.1.
# 1. scep.allow_other_signer_key: a PKCSReq signed with a key other than the
#    one it requests (scep_send: a self-signed certificate for key A, a CSR for
#    key B) is issued and logged by default, refused with badRequest when false;
#    a request signed with its own key is issued either way.
# 2. The static password (UseSinglePassword) is HTML-escaped on the admin page
#    (curl --ntlm), with a password holding < & > " '.
# 3. After a CA switch-over (scepctl ca rollover), a profile with its own RA
#    keeps serving that RA: GetCACert lists it, and a PKCSReq encrypted to it is
#    answered with a CertRep it signs, the certificate issued by the new CA;
#    the admin page shows the new CA's thumbprint.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send
T=$TEST_TMP
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# pkcsreq NAME SIGNER-KEY SIGNER-CERT CSR-KEY URL RA-ENC: send a PKCSReq; prints "STATUS/FAILINFO"
pkcsreq() {
	local n=$1
	new_csr "$4" "$T/$n.csr" "/CN=it-$n" || { echo "csr?"; return; }
	"$SCEP_SEND" --type pkcsreq --signer-cert "$3" --signer-key "$2" --recipient "$6" \
		--csr "$T/$n.csr" --out "$T/$n.der" >"$T/$n.txid" 2>"$T/$n.err" || { echo "scep_send?"; return; }
	r=$(post_pki "$T/$n.der" "$T/$n.reply" "$5")
	[ "${r%% *}" = 200 ] || { echo "http ${r%% *}"; return; }
	status_of "$T/$n.reply"
}

# ================================================================ 1. signer key
D=$(new_dir details)
init_scepd "$D" || bail "scepctl init"
conf_set_in "$D" challenge EnforcePassword false || bail "EnforcePassword = false"
run_scepd "$D" || bail "scepd starts"
new_rsa_key "$T/a.key" && new_rsa_key "$T/b.key" || bail "RSA keys"
openssl req -x509 -new -key "$T/a.key" -subj "/CN=it-signer-a" -days 2 -out "$T/a.crt" 2>/dev/null ||
	bail "a self-signed certificate for key A"

mark=$(log_mark)
is "$(pkcsreq other1 "$T/a.key" "$T/a.crt" "$T/b.key" "$SCEPD_URL" "$D/ra-enc.crt")" "0/" \
	"a PKCSReq signed with another key is issued by default (RFC 8894)"
check_log "$mark" 'signed with a key other than the one it requests a certificate for.*allowed' \
	"the log says the signer key differs, and that it was allowed"
mark=$(log_mark)
is "$(pkcsreq own1 "$T/a.key" "$T/a.crt" "$T/a.key" "$SCEPD_URL" "$D/ra-enc.crt")" "0/" \
	"a PKCSReq signed with its own key is issued"
n_lines=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -c 'signed with a key other' || true)
is "$n_lines" 0 "... and the log says nothing about the signer key"
stop_scepd

conf_set_in "$D" scep allow_other_signer_key false || bail "scep.allow_other_signer_key = false"
run_scepd "$D" || bail "scepd restarts"
mark=$(log_mark)
# failInfo badRequest = 2
is "$(pkcsreq other2 "$T/a.key" "$T/a.crt" "$T/b.key" "$SCEPD_URL" "$D/ra-enc.crt")" "2/2" \
	"with allow_other_signer_key = false it gets FAILURE badRequest"
check_log "$mark" 'signed with a key other than the one it requests a certificate for.*refused' \
	"the log says the signer key differs, and that it was refused"
check_log "$mark" 'status=200.*FAILURE.*event=31' "the reply's log line carries event 31"
is "$(pkcsreq own2 "$T/a.key" "$T/a.crt" "$T/a.key" "$SCEPD_URL" "$D/ra-enc.crt")" "0/" \
	"a PKCSReq signed with its own key is still issued"
stop_scepd

# ================================================================ 2. static password escaped
STATIC='<&>"'"'"
"$PY" - "$D/scepd.conf" "$STATIC" <<'EOF' || bail "UseSinglePassword with a password holding < & > \" '"
import re, sys
f, pw = sys.argv[1], sys.argv[2]
s = open(f).read()
s = re.sub(r'(?m)^(\s*)UseSinglePassword = [^;]*;', r'\1UseSinglePassword = true;', s, count=1)
lit = '"' + pw.replace('\\', '\\\\').replace('"', '\\"') + '"'
s = re.sub(r'(?m)^(\s*)SinglePassword = [^;]*;', lambda m: m.group(1) + 'SinglePassword = ' + lit + ';', s, count=1)
open(f, "w").write(s)
EOF
printf 'it-pw\n' | scepctl_cmd user add it-admin >/dev/null 2>&1 || bail "scepctl user add it-admin"
run_scepd "$D" || bail "scepd starts with the static password"
r=$(http "$T/page" --ntlm -u it-admin:it-pw "$SCEPD_BASE/certsrv/mscep_admin/")
is "${r%% *}" 200 "the admin page (curl --ntlm)"
page=$("$PY" -c 'import sys; print(open(sys.argv[1], "rb").read().decode("utf-16"))' "$T/page")
like "$page" '<B> &lt;&amp;&gt;&quot;&#39; </B>' "the static password is HTML-escaped"
unlike "$page" '<B> <&>' "no raw markup from the password"
stop_scepd

# ================================================================ 3. profile RA after a switch-over
E=$(new_dir rollra)
init_scepd "$E" || bail "scepctl init (rollover)"
ra_cert() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$E/$1.key" -subj "/CN=it-dev-$1" \
		-out "$T/$1.csr" 2>/dev/null &&
	openssl x509 -req -in "$T/$1.csr" -CA "$E/ca.crt" -CAkey "$E/ca.key" \
		-set_serial "0x$RANDOM$RANDOM" -days 30 -out "$E/$1.crt" \
		-extfile <(printf 'keyUsage = critical, %s\nextendedKeyUsage = 1.3.6.1.4.1.311.20.2.1\n' "$2") \
		2>/dev/null && chmod 600 "$E/$1.key"
}
check "the devices profile's RA signing certificate" ra_cert dev-ra-sign digitalSignature
check "the devices profile's RA encryption certificate" ra_cert dev-ra-enc keyEncipherment
conf_append "$E" '
profiles = (
	{ name = "devices"; path = "/devices/scep"; EnforcePassword = false;
	  ra_sign_cert = "dev-ra-sign.crt"; ra_sign_key = "dev-ra-sign.key";
	  ra_enc_cert = "dev-ra-enc.crt"; ra_enc_key = "dev-ra-enc.key" }
);'
scepd_env "$E"
out=$(scepctl_cmd ca rollover --in 8s 2>&1) || bail "scepctl ca rollover --in 8s" "$out"
run_scepd "$E" || bail "scepd starts with a rollover CA and a profile RA"
DEV_URL=$SCEPD_BASE/devices/scep

# switched: the default path's GetCACert now holds the new CA
switched() {
	http "$T/defca" "$SCEPD_URL?operation=GetCACert" >/dev/null
	openssl pkcs7 -inform DER -in "$T/defca" -print_certs 2>/dev/null >"$T/defca.pem"
	grep -q BEGIN "$T/defca.pem" || return 1
	n=$(split_pem "$T/defca.pem" "$T/defca-")
	same_cert "$T/defca-$n.pem" "$E/ca-next.crt"
}
wait_until 90 switched || bail "the CA switch-over happens"
pass "the default path switched over to the new CA"

r=$(http "$T/devca" "$DEV_URL?operation=GetCACert")
is "$r" "200 application/x-x509-ca-ra-cert" "GetCACert at the profile after the switch-over"
openssl pkcs7 -inform DER -in "$T/devca" -print_certs 2>/dev/null >"$T/devca.pem"
n=$(split_pem "$T/devca.pem" "$T/devca-")
is "$n" 3 "three certificates"
check "the profile still serves its own RA signing certificate" \
	same_cert "$T/devca-1.pem" "$E/dev-ra-sign.crt"
check "and its own RA encryption certificate" same_cert "$T/devca-2.pem" "$E/dev-ra-enc.crt"
check "then the new CA" same_cert "$T/devca-3.pem" "$E/ca-next.crt"

# the challenge page names the CA GetCACert now returns (ndes.md 1.3: MD5 of the CA certificate)
printf 'it-pw\n' | scepctl_cmd user add it-admin >/dev/null 2>&1 || bail "scepctl user add it-admin"
r=$(http "$T/rollpage" --ntlm -u it-admin:it-pw "$SCEPD_BASE/certsrv/mscep_admin/")
is "${r%% *}" 200 "the admin page after the switch-over (curl --ntlm)"
tp=$(openssl x509 -in "$E/ca-next.crt" -outform DER | openssl md5 -r | cut -c1-32 | tr a-f A-F)
tp="${tp:0:8} ${tp:8:8} ${tp:16:8} ${tp:24:8}"
page=$("$PY" -c 'import sys; print(open(sys.argv[1], "rb").read().decode("utf-16"))' "$T/rollpage")
like "$page" "for the CA certificate is: <B> $tp </B>" \
	"  its thumbprint is the MD5 of the new CA, the one GetCACert returns"

new_rsa_key "$T/c.key" || bail "RSA key"
openssl req -x509 -new -key "$T/c.key" -subj "/CN=it-roll-dev" -days 2 -out "$T/c.crt" 2>/dev/null
is "$(pkcsreq rolldev "$T/c.key" "$T/c.crt" "$T/c.key" "$DEV_URL" "$E/dev-ra-enc.crt")" "0/" \
	"a PKCSReq encrypted to the profile's RA is issued after the switch-over"
openssl cms -verify -noverify -inform DER -in "$T/rolldev.reply" -signer "$T/rolldev.signer" \
	-out "$T/rolldev.content" 2>/dev/null
check "the CertRep is signed by the profile's RA" same_cert "$T/rolldev.signer" "$E/dev-ra-sign.crt"
openssl cms -decrypt -inform DER -in "$T/rolldev.content" -inkey "$T/c.key" -binary \
	-out "$T/rolldev.p7" 2>/dev/null
p7_first_cert "$T/rolldev.p7" "$T/rolldev.crt"
check "the certificate is issued by the new CA" openssl verify -CAfile "$E/ca-next.crt" "$T/rolldev.crt"
check_serving "after the NDES detail tests"
stop_scepd
done_testing

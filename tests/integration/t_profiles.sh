#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_profiles.sh: certificate templates chosen by key usage as NDES chooses them
# (SignatureTemplate / EncryptionTemplate / GeneralPurposeTemplate, ndes.md §2.2),
# template rules (subject and SAN patterns), and profiles: several SCEP endpoints
# with their own challenge mode, templates, algorithm allow-lists, approval and RA
# certificates. Real clients: the certmonger daemon (it can ask for a key usage:
# getcert request -u) and strongSwan pki (--scepca, --scep with --digest, --cipher
# and polling).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries

D=$(new_dir profiles)
init_scepd "$D" || bail "scepctl init"
T=$TEST_TMP

# The devices profile has RA certificates of its own, issued by the CA.
ra_cert() {
	openssl req -new -newkey rsa:2048 -nodes -keyout "$D/$1.key" -subj "/CN=it-devices-$1" \
		-out "$T/$1.csr" 2>/dev/null &&
	openssl x509 -req -in "$T/$1.csr" -CA "$D/ca.crt" -CAkey "$D/ca.key" -set_serial "0x$RANDOM$RANDOM" \
		-days 30 -out "$D/$1.crt" -extfile <(printf 'keyUsage = critical, %s\nextendedKeyUsage = 1.3.6.1.4.1.311.20.2.1\n' "$2") \
		2>/dev/null && chmod 600 "$D/$1.key"
}
check "RA signing certificate for the devices profile" ra_cert dev-ra-sign digitalSignature
check "RA encryption certificate for the devices profile" ra_cert dev-ra-enc keyEncipherment

check "SignatureTemplate = sig" conf_set "$D" SignatureTemplate '"sig"'
CRL_URL=http://127.0.0.1:$(cat "$D/.test-port")/crl/ca.crl
check "crl.url = $CRL_URL" conf_set "$D" url "\"$CRL_URL\""
check "EncryptionTemplate = enc" conf_set "$D" EncryptionTemplate '"enc"'
conf_append "$D" '
templates = (
	{ name = "sig"; key_usage = [ "digitalSignature", "nonRepudiation" ]; validity_days = 10; },
	{ name = "enc"; key_usage = [ "keyEncipherment", "dataEncipherment" ]; validity_days = 20; },
	{ name = "strict"; validity_days = 30; san_required = true; san_types = [ "dns" ];
	  san_pattern = "\\.example\\.org$"; subject_pattern = "(^|,)CN=it-[a-z0-9-]+$" }
);
profiles = (
	{ name = "vpn"; UseSinglePassword = true; SinglePassword = "vpn-secret";
	  SignatureTemplate = "strict"; EncryptionTemplate = "strict";
	  GeneralPurposeTemplate = "strict";
	  digests = [ "SHA-256", "SHA-384" ]; ciphers = [ "AES-128" ];
	  key_transport = [ "rsaEncryption" ] },
	{ name = "devices"; path = "/devices/scep"; EnforcePassword = false; approval = true;
	  ra_sign_cert = "dev-ra-sign.crt"; ra_sign_key = "dev-ra-sign.key";
	  ra_enc_cert = "dev-ra-enc.crt"; ra_enc_key = "dev-ra-enc.key" }
);'
check "scepd -t accepts templates and profiles" "$SCEPD_BIN" -t -f "$D/scepd.conf"
run_scepd "$D" || bail "scepd starts with templates and profiles"
pass "scepd starts with templates and profiles"
VPN_URL=$SCEPD_BASE/scep/vpn
DEV_URL=$SCEPD_BASE/devices/scep

days_valid() {
	local a b
	a=$(date -d "$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" +%s)
	b=$(date -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s)
	echo $(((b - a) / 86400))
}

# --- endpoints
r=$(http "$T/caps" "$VPN_URL?operation=GetCACaps")
is "${r%% *}" 200 "GetCACaps at the vpn profile's path /scep/vpn"
is "$(tr -d '\r' <"$T/caps" | tr '\n' ' ')" "POSTPKIOperation SHA-384 SHA-256 AES SCEPStandard Renewal " \
	"  only the algorithms the profile accepts (no SHA-512, SHA-1, DES3)"
r=$(http "$T/caps" "$VPN_URL/pkiclient.exe?operation=GetCACaps")
is "${r%% *}" 200 "and with /pkiclient.exe appended"
r=$(http "$T/x" "$SCEPD_BASE/scep/nope?operation=GetCACaps")
is "${r%% *}" 404 "an unknown profile path: 404"
r=$(http "$T/devca" "$DEV_URL?operation=GetCACert")
is "$r" "200 application/x-x509-ca-ra-cert" "GetCACert at the devices profile"
openssl pkcs7 -inform DER -in "$T/devca" -print_certs 2>/dev/null >"$T/devca.pem"
n=$(split_pem "$T/devca.pem" "$T/devca-")
is "$n" 3 "three certificates"
check "the devices profile serves its own RA signing certificate first" \
	same_cert "$T/devca-1.pem" "$D/dev-ra-sign.crt"
check "then its RA encryption certificate" same_cert "$T/devca-2.pem" "$D/dev-ra-enc.crt"
check "then the CA" same_cert "$T/devca-3.pem" "$D/ca.crt"

# --- templates by key usage, with the certmonger daemon (getcert request -u)
if have_cmd certmonger && have_cmd getcert && cm_start; then
	pass "private certmonger daemon"
	getcert add-scep-ca -c it-prof -u "$SCEPD_URL" >"$CM_DIR/add.out" 2>&1
	getcert request -c it-prof -k "$CM_DIR/work/s.key" -f "$CM_DIR/work/s.crt" -N CN=it-ku-sig \
		-u digitalSignature -L "$(new_otp)" -I it-ku-sig >/dev/null 2>&1
	getcert request -c it-prof -k "$CM_DIR/work/e.key" -f "$CM_DIR/work/e.crt" -N CN=it-ku-enc \
		-u keyEncipherment -L "$(new_otp)" -I it-ku-enc >/dev/null 2>&1
	getcert request -c it-prof -k "$CM_DIR/work/g.key" -f "$CM_DIR/work/g.crt" -N CN=it-ku-both \
		-u digitalSignature -u keyEncipherment -L "$(new_otp)" -I it-ku-both >/dev/null 2>&1
	check "digitalSignature only: issued" cm_wait it-ku-sig '^MONITORING$' 45
	check "keyEncipherment only: issued" cm_wait it-ku-enc '^MONITORING$' 45
	check "both: issued" cm_wait it-ku-both '^MONITORING$' 45
	is "$(days_valid "$CM_DIR/work/s.crt")" 10 "signature only -> SignatureTemplate (sig, 10 days)"
	like "$(openssl x509 -in "$CM_DIR/work/s.crt" -noout -ext keyUsage 2>/dev/null)" \
		'Digital Signature$' "  with keyUsage digitalSignature only"
	is "$(days_valid "$CM_DIR/work/e.crt")" 20 "encryption only -> EncryptionTemplate (enc, 20 days)"
	like "$(openssl x509 -in "$CM_DIR/work/e.crt" -noout -ext keyUsage 2>/dev/null)" \
		'Key Encipherment$' "  with keyUsage keyEncipherment only"
	is "$(days_valid "$CM_DIR/work/g.crt")" 365 "both -> GeneralPurposeTemplate (default, 365 days)"
	for i in it-ku-sig it-ku-enc it-ku-both; do getcert stop-tracking -i $i >/dev/null 2>&1; done
	stop_pid "$CM_PID"
else
	skip "certmonger daemon not available: templates by key usage not exercised"
fi

if ! have_cmd pki; then
	skip "pki (strongswan-pki) not installed: profile enrollments not exercised"
	stop_scepd
	done_testing
	exit 0
fi

pkiout() { grep -vi -e tpm -e plugin "$1" | tail -n 3 | cut -c1-300; }
# sw URL NAME SAN PASSWORD|- ENC-CERT SIG-CERT [pki options]
sw() {
	local url=$1 name=$2 san=$3 pw=$4 enc=$5 sig=$6 pwopt=()
	shift 6
	[ "$pw" != - ] && pwopt=(--password "$pw")
	new_rsa_key "$T/$name.key"
	timeout 60 pki --scep --url "$url" --in "$T/$name.key" --dn "CN=$name" --san "$san" \
		"${pwopt[@]}" --cacert-enc "$enc" --cacert-sig "$sig" --cacert "$D/ca.crt" \
		--interval 1 --maxpolltime 30 --outform pem "$@" >"$T/$name.crt" 2>"$T/$name.err"
}

# --- the vpn profile: static password, template strict, SHA-256 and AES-128 only
mark=$(log_mark)
sw "$VPN_URL" it-vpn1 it-vpn1.example.org vpn-secret "$D/ra-enc.crt" "$D/ra-sign.crt"
is "$?" 0 "vpn profile: strongSwan enrolls with the profile's static password"
check "  issued by our CA" verify_issued "$T/it-vpn1.crt" "$T/it-vpn1.key"
is "$(days_valid "$T/it-vpn1.crt")" 30 "  under the profile's template (strict, 30 days)"
like "$(openssl x509 -in "$T/it-vpn1.crt" -noout -ext crlDistributionPoints 2>&1)" \
	"URI:$CRL_URL\$" "  with the CRL distribution point crl.url"
sw "$VPN_URL" it-vpn2 it-vpn2.example.org "$(new_otp)" "$D/ra-enc.crt" "$D/ra-sign.crt"
isnt "$?" 0 "vpn profile: a one-time password of the default profile is refused"
mark=$(log_mark)
sw "$VPN_URL" it-vpn3 it-vpn3.example.com vpn-secret "$D/ra-enc.crt" "$D/ra-sign.crt"
isnt "$?" 0 "vpn profile: a SAN outside san_pattern is refused"
check_log "$mark" 'outcome="?FAILURE.*failInfo="?badRequest.*event=31.*san_pattern' \
	"log: FAILURE badRequest, event 31, san_pattern"
mark=$(log_mark)
sw "$VPN_URL" IT-VPN4 it-vpn4.example.org vpn-secret "$D/ra-enc.crt" "$D/ra-sign.crt"
isnt "$?" 0 "vpn profile: a subject outside subject_pattern is refused"
check_log "$mark" 'outcome="?FAILURE.*subject_pattern' "log: subject_pattern"
mark=$(log_mark)
sw "$VPN_URL" it-vpn5 it-vpn5.example.org vpn-secret "$D/ra-enc.crt" "$D/ra-sign.crt" --digest sha1
isnt "$?" 0 "vpn profile: SHA-1 is refused (digests = SHA-256, SHA-384)"
check_log "$mark" 'outcome="?FAILURE.*failInfo="?badAlg.*digests of profile vpn' \
	"log: FAILURE badAlg, not in the profile's digests"
mark=$(log_mark)
sw "$VPN_URL" it-vpn6 it-vpn6.example.org vpn-secret "$D/ra-enc.crt" "$D/ra-sign.crt" --cipher des3
isnt "$?" 0 "vpn profile: 3DES is refused (ciphers = AES-128)"
check_log "$mark" 'outcome="?FAILURE.*failInfo="?badAlg.*ciphers of profile vpn' \
	"log: FAILURE badAlg, not in the profile's ciphers"
mark=$(log_mark)
sw "$SCEPD_URL" it-def1 it-def1.example.com "$(new_otp)" "$D/ra-enc.crt" "$D/ra-sign.crt" --cipher des3 --digest sha1
is "$?" 0 "the default profile still takes 3DES, SHA-1 and any SAN"

# --- the devices profile: its own RA, no password, approval
mkdir -p "$T/scepca"
timeout 60 pki --scepca --url "$DEV_URL" --caout "$T/scepca/ca.pem" --raout "$T/scepca/ra.pem" \
	--outform pem >"$T/scepca/out" 2>&1
is "$?" 0 "pki --scepca at the devices profile"
ra_ok=0
for a in ra.pem ra-2.pem; do
	for b in dev-ra-sign.crt dev-ra-enc.crt; do
		same_cert "$T/scepca/$a" "$D/$b" && ra_ok=$((ra_ok + 1))
	done
done
is "$ra_ok" 2 "pki --scepca gets the profile's two RA certificates"
mark=$(log_mark)
sw "$DEV_URL" it-dev1 it-dev1.example.net - "$D/dev-ra-enc.crt" "$D/dev-ra-sign.crt" &
SW=$!
track_pid "$SW"
id=
for _ in $(seq 100); do
	id=$(scepctl_cmd request list 2>/dev/null | awk '/CN=it-dev1/ { print $1; exit }')
	[ -n "$id" ] && break
	sleep 0.1
done
like "$id" '^[0-9]+$' "devices profile: the request waits for approval (profile approval)"
like "$(scepctl_cmd request show "$id" 2>&1)" 'profile +devices' "scepctl request show names the profile"
check "approve it" scepctl_cmd request approve "$id"
wait "$SW"
is "$?" 0 "devices profile: strongSwan enrolls without a password through the profile's RA"
check "  issued by our CA" verify_issued "$T/it-dev1.crt" "$T/it-dev1.key"
like "$(openssl x509 -in "$T/it-dev1.crt" -noout -ext crlDistributionPoints 2>&1)" \
	"URI:$CRL_URL\$" "  approved, with the CRL distribution point crl.url"
mark=$(log_mark)
sw "$SCEPD_URL" it-dev2 it-dev2.example.net "$(new_otp)" "$D/dev-ra-enc.crt" "$D/dev-ra-sign.crt"
isnt "$?" 0 "a request for the devices RA sent to the default path fails"
check_log "$mark" 'outcome="?FAILURE.*not addressed to any certificate' \
	"log: the envelope is not for the default profile's RA"

check_serving "after the profile tests"
stop_scepd
done_testing

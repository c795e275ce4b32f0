#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_rollover.sh: CA rollover against the real scepd on 127.0.0.1. `scepctl ca
# rollover --in 25s` writes the next CA (same subject, new key, valid from then)
# and new RA certificates; after a restart GetCACaps lists GetNextCACert and
# GetNextCACert returns them signed by the current CA; at the switch-over time,
# without a restart, the new CA issues certificates and GetCACert returns it, the
# old CA's certificates can still renew and each CA keeps its own CRL. Real
# clients: strongSwan pki (--scepca, --scep, RenewalReq). GetNextCACert is read
# with curl and openssl (no Debian client sends it).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send

if ! have_cmd pki; then
	skip "pki (strongswan-pki) not installed"
	done_testing
	exit 0
fi

D=$(new_dir rollover)
start_scepd "$D" || bail "scepd starts"
pass "scepd starts"
T=$TEST_TMP

pkiout() { grep -vi -e tpm -e plugin "$1" | tail -n 3 | cut -c1-300; }
# sw NAME ENC SIG CA [pki options]: enroll with a one-time password
sw() {
	local name=$1 enc=$2 sig=$3 ca=$4
	shift 4
	[ -s "$T/$name.key" ] || new_rsa_key "$T/$name.key"
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$T/$name.key" --dn "CN=$name" \
		--cacert-enc "$enc" --cacert-sig "$sig" --cacert "$ca" --outform pem "$@" \
		>"$T/$name.crt" 2>"$T/$name.err"
}

sw it-roll-0 "$D/ra-enc.crt" "$D/ra-sign.crt" "$D/ca.crt" --password "$(new_otp)"
is "$?" 0 "a certificate from the first CA"

r=$(http "$T/x" "$SCEPD_URL?operation=GetNextCACert")
is "${r%% *}" 404 "GetNextCACert without a rollover CA: 404"
r=$(http "$T/caps0" "$SCEPD_URL?operation=GetCACaps")
if tr -d '\r' <"$T/caps0" | grep -qx GetNextCACert; then fail "GetCACaps does not list GetNextCACert yet"
else pass "GetCACaps does not list GetNextCACert yet"; fi

# --- prepare the rollover
start=$(($(date +%s) + 25))
out=$(scepctl_cmd ca rollover --in 25s 2>&1)
is "$?" 0 "scepctl ca rollover --in 25s"
like "$out" 'Rollover CA written' "it says what it wrote"
for f in ca-next.crt ca-next.key ra-sign-next.crt ra-sign-next.key ra-enc-next.crt ra-enc-next.key; do
	check "$f written" test -s "$D/$f"
done
is "$(stat -c %a "$D/ca-next.key")" 600 "the new CA key is mode 0600"
is "$(openssl x509 -in "$D/ca-next.crt" -noout -subject)" "$(openssl x509 -in "$D/ca.crt" -noout -subject)" \
	"the new CA has the current CA's subject"
isnt "$(openssl x509 -in "$D/ca-next.crt" -noout -pubkey)" "$(openssl x509 -in "$D/ca.crt" -noout -pubkey)" \
	"and a new key"
nb=$(date -d "$(openssl x509 -in "$D/ca-next.crt" -noout -startdate | cut -d= -f2)" +%s)
check "it is valid from the switch-over time" test $((nb - start)) -ge -2 -a $((nb - start)) -le 2
check "the new RA certificates are issued by the new CA" \
	openssl verify -CAfile "$D/ca-next.crt" -attime "$((nb + 60))" "$D/ra-sign-next.crt" "$D/ra-enc-next.crt"
scepctl_cmd ca rollover --in 1d >/dev/null 2>&1
isnt "$?" 0 "a second rollover does not overwrite the first"

stop_scepd
# Each CA generation names its own CRL: crl.url, and for the rollover CA the
# same URL with -next before the extension (what issues goes through ca_local).
CRL_URL=http://127.0.0.1:$(cat "$D/.test-port")/crl/ca.crl
check "crl.url = $CRL_URL" conf_set "$D" url "\"$CRL_URL\""
run_scepd "$D" || bail "scepd restarts with the rollover CA"
pass "scepd restarts with the rollover CA"

# --- before the switch-over
r=$(http "$T/caps1" "$SCEPD_URL?operation=GetCACaps")
check "GetCACaps lists GetNextCACert" grep -qx GetNextCACert <(tr -d '\r' <"$T/caps1")
r=$(http "$T/next.der" "$SCEPD_URL?operation=GetNextCACert")
is "$r" "200 application/x-x509-next-ca-cert" "GetNextCACert: 200 application/x-x509-next-ca-cert"
check "GetNextCACert is signed by the current CA" \
	openssl cms -verify -inform DER -in "$T/next.der" -CAfile "$D/ca.crt" -purpose any \
	-binary -out "$T/next.p7"
openssl pkcs7 -inform DER -in "$T/next.p7" -print_certs 2>/dev/null >"$T/next.pem"
n=$(split_pem "$T/next.pem" "$T/next-")
is "$n" 3 "it carries three certificates"
check "  the new RA signing certificate" same_cert "$T/next-1.pem" "$D/ra-sign-next.crt"
check "  the new RA encryption certificate" same_cert "$T/next-2.pem" "$D/ra-enc-next.crt"
check "  the new CA certificate" same_cert "$T/next-3.pem" "$D/ca-next.crt"
r=$(http "$T/cacert1" "$SCEPD_URL?operation=GetCACert")
openssl pkcs7 -inform DER -in "$T/cacert1" -print_certs 2>/dev/null >"$T/cacert1.pem"
split_pem "$T/cacert1.pem" "$T/cc1-" >/dev/null
check "GetCACert still returns the current CA" same_cert "$T/cc1-3.pem" "$D/ca.crt"
sw it-roll-1 "$D/ra-enc.crt" "$D/ra-sign.crt" "$D/ca.crt" --password "$(new_otp)"
is "$?" 0 "enrollment before the switch-over"
check "  issued by the current CA" verify_issued "$T/it-roll-1.crt" "$T/it-roll-1.key" "$D/ca.crt"
like "$(openssl x509 -in "$T/it-roll-1.crt" -noout -ext crlDistributionPoints 2>&1)" \
	"URI:$CRL_URL\$" "  with the current CA's CRL distribution point"

# --- the switch-over, without a restart
while [ "$(date +%s)" -le "$start" ]; do sleep 1; done
sleep 1
r=$(http "$T/caps2" "$SCEPD_URL?operation=GetCACaps")
if tr -d '\r' <"$T/caps2" | grep -qx GetNextCACert; then fail "after the switch-over GetCACaps no longer lists GetNextCACert"
else pass "after the switch-over GetCACaps no longer lists GetNextCACert"; fi
r=$(http "$T/x" "$SCEPD_URL?operation=GetNextCACert")
is "${r%% *}" 404 "GetNextCACert: 404"
mkdir -p "$T/scepca"
timeout 60 pki --scepca --url "$SCEPD_URL" --caout "$T/scepca/ca.pem" --raout "$T/scepca/ra.pem" \
	--outform pem >"$T/scepca/out" 2>&1
is "$?" 0 "pki --scepca"
check "GetCACert now returns the new CA" same_cert "$T/scepca/ca.pem" "$D/ca-next.crt"
mark=$(log_mark)
sw it-roll-2 "$D/ra-enc-next.crt" "$D/ra-sign-next.crt" "$D/ca-next.crt" --password "$(new_otp)"
is "$?" 0 "enrollment after the switch-over with the new RA certificates"
check "  issued by the new CA" verify_issued "$T/it-roll-2.crt" "$T/it-roll-2.key" "$D/ca-next.crt"
like "$(openssl x509 -in "$T/it-roll-2.crt" -noout -ext crlDistributionPoints 2>&1)" \
	"URI:${CRL_URL%.crl}-next.crl\$" "  with the new CA's CRL distribution point"
mark=$(log_mark)
new_rsa_key "$T/it-roll-0r.key"
timeout 60 pki --scep --url "$SCEPD_URL" --in "$T/it-roll-0r.key" --dn "CN=it-roll-0" \
	--cert "$T/it-roll-0.crt" --key "$T/it-roll-0.key" --cacert-enc "$D/ra-enc-next.crt" \
	--cacert-sig "$D/ra-sign-next.crt" --cacert "$D/ca-next.crt" --outform pem \
	>"$T/it-roll-0r.crt" 2>"$T/it-roll-0r.err"
is "$?" 0 "strongSwan RenewalReq of the old CA's certificate after the switch-over"
check "a certificate of the old CA renews after the switch-over" test -s "$T/it-roll-0r.crt"
check "  the renewal is issued by the new CA" \
	verify_issued "$T/it-roll-0r.crt" "$T/it-roll-0r.key" "$D/ca-next.crt"
check_log "$mark" 'type=RenewalReq.*outcome="?SUCCESS' "log: RenewalReq SUCCESS"

# --- each CA keeps its CRL
check "revoke the new CA's certificate" scepctl_cmd cert revoke "$(cert_serial "$T/it-roll-2.crt")"
check "revoke the old CA's certificate" scepctl_cmd cert revoke "$(cert_serial "$T/it-roll-1.crt")"
r=$(http "$T/crl-old.der" "$SCEPD_BASE/crl/ca.crl")
is "${r%% *}" 200 "the old CA's CRL at /crl/ca.crl"
r=$(http "$T/crl-new.der" "$SCEPD_BASE/crl/ca-next.crl")
is "${r%% *}" 200 "the new CA's CRL at /crl/ca-next.crl"
check "the old CRL is signed by the old CA" openssl crl -inform DER -in "$T/crl-old.der" -CAfile "$D/ca.crt" -noout
check "the new CRL is signed by the new CA" openssl crl -inform DER -in "$T/crl-new.der" -CAfile "$D/ca-next.crt" -noout
old=$(openssl crl -inform DER -in "$T/crl-old.der" -noout -text 2>/dev/null)
new=$(openssl crl -inform DER -in "$T/crl-new.der" -noout -text 2>/dev/null)
like "$old" "Serial Number: 0*$(cert_serial "$T/it-roll-1.crt")" "the old CRL lists the old CA's revoked certificate"
if printf '%s' "$old" | grep -q "$(cert_serial "$T/it-roll-2.crt")"; then
	fail "the old CRL does not list the new CA's certificate"
else pass "the old CRL does not list the new CA's certificate"; fi
like "$new" "Serial Number: 0*$(cert_serial "$T/it-roll-2.crt")" "the new CRL lists the new CA's revoked certificate"
# GetCRL names the CA by subject (the same for both): the serial decides
"$SCEP_SEND" --type getcrl --signer-cert "$T/it-roll-1.crt" --signer-key "$T/it-roll-1.key" \
	--recipient "$D/ra-enc-next.crt" --out "$T/gc.der" >/dev/null
post_pki "$T/gc.der" "$T/gc.rep" >/dev/null
is "$(status_of "$T/gc.rep")" "0/" "GetCRL for an old-CA certificate: SUCCESS"
openssl cms -verify -noverify -inform DER -in "$T/gc.rep" -out "$T/gc.rep.content" 2>/dev/null
openssl cms -decrypt -inform DER -in "$T/gc.rep.content" -inkey "$T/it-roll-1.key" -binary \
	-out "$T/gc.p7" 2>/dev/null
p7_crl "$T/gc.p7" "$T/gc.pem"
check "  it is the old CA's CRL" openssl crl -in "$T/gc.pem" -CAfile "$D/ca.crt" -noout

check_serving "after the rollover tests"
stop_scepd
done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_http.sh: the HTTP face of scepd, checked with curl and openssl against the real
# daemon on 127.0.0.1: GetCACaps and GetCACert answers, `message` label variants,
# every SCEP path (NDES path case-insensitive), and the HTTP error statuses
# (400 unknown/missing operation or bad message, 405 POST to GetCACert, 413 body
# over http.max_body, 414 URL over http.max_url, a 60000-byte URL not refused, the
# request head's room: the longest URL with 12000 bytes of headers, 431 beyond).
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

D=$(new_dir http)
start_scepd "$D" || bail "scepd starts on 127.0.0.1 and answers GetCACaps"
pass "scepd starts on 127.0.0.1 and answers GetCACaps"
T=$TEST_TMP

# --- configuration check mode
check "scepd -t accepts the configuration scepctl init wrote" "$SCEPD_BIN" -t -f "$SCEPD_CONF"
printf 'this is { not libconfig\n' >"$T/bad.conf"
"$SCEPD_BIN" -t -f "$T/bad.conf" >/dev/null 2>&1
is "$?" 1 "scepd -t rejects a broken configuration with exit status 1"

missing=
for f in ca.crt ca.key ra-sign.crt ra-sign.key ra-enc.crt ra-enc.key scepd.conf scepd.db; do
	[ -s "$D/$f" ] || missing="$missing $f"
done
is "$missing" "" "scepctl init created the keys, certificates, scepd.conf and scepd.db"
keys_ok=1
for f in ca.key ra-sign.key ra-enc.key; do
	openssl pkey -in "$D/$f" -noout 2>/dev/null || keys_ok=0
done
for f in ca.crt ra-sign.crt ra-enc.crt; do
	openssl x509 -in "$D/$f" -noout 2>/dev/null || keys_ok=0
done
is "$keys_ok" 1 "the keys and certificates scepctl init wrote are PEM that openssl reads"
check "the RA certificates are issued by the CA" \
	openssl verify -CAfile "$D/ca.crt" "$D/ra-sign.crt" "$D/ra-enc.crt"
cp "$D/ca.key" "$T/ca.key.before"
"$SCEPCTL_BIN" init -d "$D" --listen "127.0.0.1:$SCEPD_PORT" >"$T/init2.out" 2>&1
isnt "$?" 0 "a second scepctl init on the same folder fails"
check "the second scepctl init left the CA key unchanged" cmp -s "$D/ca.key" "$T/ca.key.before"

# --- GetCACaps
r=$(http "$T/caps" "$SCEPD_URL?operation=GetCACaps")
is "${r%% *}" 200 "GetCACaps: HTTP 200"
like "${r#* }" '^text/plain' "GetCACaps: Content-Type text/plain"
want=$(printf '%s\n' $DEFAULT_CAPS)
is "$(tr -d '\r' <"$T/caps")" "$want" "GetCACaps: the default capability list, in order"
lf=$(tr -cd '\n' <"$T/caps" | wc -c)
crlf=$(grep -c $'\r$' "$T/caps")
if [ "$lf" -ge 7 ] && [ "$lf" = "$crlf" ] && ! tr -d '\r\n' <"$T/caps" | grep -q $'\r'; then
	pass "GetCACaps: lines are separated by CRLF"
else
	fail "GetCACaps: lines are separated by CRLF" "LF count $lf, CRLF count $crlf" \
		"$(od -c "$T/caps" | head -5)"
fi

# --- GetCACert
r=$(http "$T/cacert.der" "$SCEPD_URL?operation=GetCACert")
is "${r%% *}" 200 "GetCACert: HTTP 200"
is "${r#* }" application/x-x509-ca-ra-cert "GetCACert: Content-Type application/x-x509-ca-ra-cert"
openssl pkcs7 -inform DER -in "$T/cacert.der" -print_certs >"$T/cacert.pem" 2>"$T/p7.err"
check "GetCACert: body is a DER PKCS#7 openssl can read" test -s "$T/cacert.pem"
n=$(split_pem "$T/cacert.pem" "$T/getcacert-")
is "$n" 3 "GetCACert: three certificates"
order_ok=1
i=1
for f in ra-sign.crt ra-enc.crt ca.crt; do
	same_cert "$T/getcacert-$i.pem" "$D/$f" || order_ok=0
	i=$((i + 1))
done
if [ $order_ok = 1 ]; then pass "GetCACert: order is RA signing, RA encryption, CA"
else fail "GetCACert: order is RA signing, RA encryption, CA" \
	"$(for i in 1 2 3; do openssl x509 -in "$T/getcacert-$i.pem" -noout -subject 2>&1; done)"; fi
# degenerate: no signers, no content
p7=$(openssl pkcs7 -inform DER -in "$T/cacert.der" -print 2>/dev/null)
si=$(printf '%s\n' "$p7" | grep -A1 'signer_info:' | tail -n 1 | tr -d ' ')
dd=$(printf '%s\n' "$p7" | grep 'd.data:' | head -n 1 | tr -d ' ')
if [ "$si" = "<EMPTY>" ] && [ "$dd" = "d.data:<ABSENT>" ]; then
	pass "GetCACert: degenerate SignedData (no SignerInfo, no content)"
else
	fail "GetCACert: degenerate SignedData (no SignerInfo, no content)" "signer_info: $si" "$dd"
fi

# --- message label variants change nothing
for op in GetCACaps GetCACert; do
	http "$T/$op.ref" "$SCEPD_URL?operation=$op" >/dev/null
	for m in "" "message=" "message=default" "message=CAIdentifier" "message=0"; do
		q="operation=$op"; [ -n "$m" ] && q="$q&$m"
		r=$(http "$T/$op.var" "$SCEPD_URL?$q")
		label=${m:-no message}
		if [ "${r%% *}" = 200 ] && cmp -s "$T/$op.ref" "$T/$op.var"; then
			pass "$op with $label: 200 and the same body"
		else
			fail "$op with $label: 200 and the same body" "got status ${r%% *}"
		fi
	done
	# message before operation (scepclient puts message= first)
	r=$(http "$T/$op.var" "$SCEPD_URL?message=default&operation=$op")
	if [ "${r%% *}" = 200 ] && cmp -s "$T/$op.ref" "$T/$op.var"; then
		pass "$op with message= before operation=: 200 and the same body"
	else
		fail "$op with message= before operation=: 200 and the same body" "got status ${r%% *}"
	fi
done

# --- paths
for p in /certsrv/mscep/mscep.dll /CertSrv/mscep/mscep.dll /CERTSRV/MSCEP/MSCEP.DLL \
	/certsrv/mscep/mscep.dll/pkiclient.exe /CertSrv/MSCEP/mscep.dll/pkiclient.exe \
	/cgi-bin/pkiclient.exe /scep; do
	r=$(http "$T/path" "$SCEPD_BASE$p?operation=GetCACaps")
	if [ "${r%% *}" = 200 ] && cmp -s "$T/caps" "$T/path"; then
		pass "GetCACaps on $p: 200 and the capability list"
	else
		fail "GetCACaps on $p: 200 and the capability list" "got status ${r%% *}"
	fi
	r=$(http "$T/path" "$SCEPD_BASE$p?operation=GetCACert")
	if [ "${r%% *}" = 200 ] && cmp -s "$T/cacert.der" "$T/path"; then
		pass "GetCACert on $p: 200 and the same certificates"
	else
		fail "GetCACert on $p: 200 and the same certificates" "got status ${r%% *}"
	fi
done

# --- HTTP errors
mark=$(log_mark)
r=$(http "$T/e" "$SCEPD_URL?operation=GetFooBar")
is "${r%% *}" 400 "unknown operation: HTTP 400"
like "${r#* }" '^text/plain' "unknown operation: Content-Type text/plain"
check_log "$mark" '(outcome="?HTTP |status=)400' "unknown operation: logged as outcome=HTTP 400"

r=$(http "$T/e" "$SCEPD_URL?operation=getcacaps")
is "${r%% *}" 400 "operation name is case-sensitive (getcacaps): HTTP 400"

r=$(http "$T/e" "$SCEPD_BASE/cgi-bin/pkiclient.exe")
is "${r%% *}" 400 "no operation (RFC path): HTTP 400"
r=$(http "$T/e" "$SCEPD_URL")
is "${r%% *}" 200 "plain GET of mscep.dll: HTTP 200, as NDES without the Intune connector"

r=$(http "$T/e" "$SCEPD_URL?operation=PKIOperation")
is "${r%% *}" 400 "GET PKIOperation without message: HTTP 400"

r=$(http "$T/e" "$SCEPD_URL?operation=PKIOperation&message=")
is "${r%% *}" 400 "GET PKIOperation with an empty message: HTTP 400"

r=$(http "$T/e" -X POST --data-binary 'x' "$SCEPD_URL?operation=GetCACert")
is "${r%% *}" 405 "POST to GetCACert: HTTP 405"
r=$(http "$T/e" -X POST --data-binary 'x' "$SCEPD_URL?operation=GetCACaps")
is "${r%% *}" 405 "POST to GetCACaps: HTTP 405"

head -c 300000 /dev/zero | tr '\0' 'A' >"$T/big.bin"
r=$(http "$T/e" -H 'Content-Type: application/x-pki-message' --data-binary @"$T/big.bin" \
	"$SCEPD_URL?operation=PKIOperation")
is "${r%% *}" 413 "POST body of 300000 bytes (> http.max_body 262144): HTTP 413"
check_serving "after 413"

long=$(head -c 70000 /dev/zero | tr '\0' 'A')
r=$(http "$T/e" "$SCEPD_URL?operation=PKIOperation&message=$long")
is "${r%% *}" 414 "URL of about 70000 bytes (> http.max_url 65534): HTTP 414"
check_serving "after 414"

junk=$(head -c 60000 /dev/zero | tr '\0' 'A')
r=$(http "$T/e" "$SCEPD_URL?operation=PKIOperation&message=$junk")
url_len=$(printf '%s' "$SCEPD_URL?operation=PKIOperation&message=$junk" | wc -c)
code=${r%% *}
if [ "$code" != 414 ] && [ "$code" != 000 ]; then
	pass "URL of $url_len bytes (60000-char message) is not refused with 414 (got $code)"
else
	fail "URL of $url_len bytes (60000-char message) is not refused with 414" "got $code"
fi
is "$code" 400 "GET PKIOperation with a junk 60000-char message: HTTP 400"

# The request head gets http.max_url plus 16 KiB, the memory each connection keeps.
target="/${SCEPD_URL#http://*/}?operation=PKIOperation&message="
fill=$(head -c $((65534 - ${#target})) /dev/zero | tr '\0' 'A')
pad=$(head -c 12000 /dev/zero | tr '\0' 'p')
r=$(http "$T/e" -H "X-Pad: $pad" "$SCEPD_URL?operation=PKIOperation&message=$fill")
is "${r%% *}" 400 "a URL of exactly http.max_url (65534) bytes with 12000 bytes of headers is read (junk message: HTTP 400)"
r=$(http "$T/e" "$SCEPD_URL?operation=PKIOperation&message=A$fill")
is "${r%% *}" 414 "a URL of http.max_url + 1 bytes: HTTP 414"
pad=$(head -c 64000 /dev/zero | tr '\0' 'p')
r=$(http "$T/e" -H "Authorization: Negotiate $pad" "$SCEPD_URL?operation=GetCACaps")
is "${r%% *}" 200 "a short URL with a 64000-byte header (a large Kerberos token) is read: HTTP 200"
pad=$(head -c 90000 /dev/zero | tr '\0' 'p')
r=$(http "$T/e" -H "X-Pad: $pad" "$SCEPD_URL?operation=GetCACaps")
is "${r%% *}" 431 "90000 bytes of headers (over http.max_url + 16 KiB): HTTP 431"
check_serving "after 431"

# HEAD on GetCACaps is optional; it must not break anything
http "$T/e" -I "$SCEPD_URL?operation=GetCACaps" >/dev/null
check_serving "at the end"

stop_scepd
done_testing

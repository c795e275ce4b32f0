#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_init.sh: `scepctl init` variants end to end: an EC CA (ec:p256) with a subject
# given in slash form still gets RSA RA certificates and issues to strongSwan; an
# imported CA (--import-ca) is copied unchanged, its key copy is 0600 whatever
# the source's mode, and the server it
# configures issues certificates that chain to that CA; a subordinate CA
# imported with its issuers after it in the file has them sent after it in
# GetCACert (RA signing, RA encryption, CA, intermediate, root), and a file
# whose certificates are out of order is refused.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries
T=$TEST_TMP

if ! have_cmd pki; then
	skip "pki (strongswan-pki) not installed: cannot enroll"
	done_testing
	exit 0
fi

# enroll_pki NAME: one enrollment with a one-time password; verifies the result.
enroll_pki() {
	local name=$1 key=$T/$1.key crt=$T/$1.der
	new_rsa_key "$key"
	timeout 30 pki --scep --url "$SCEPD_URL" --in "$key" --dn "CN=$name" \
		--password "$(new_otp)" --cacert-enc "$SCEPD_DIR/ra-enc.crt" \
		--cacert-sig "$SCEPD_DIR/ra-sign.crt" --cacert "$SCEPD_DIR/ca.crt" \
		--maxpolltime 1 >"$crt" 2>"$T/$name.err"
	is "$?" 0 "$name: pki --scep enrolls"
	openssl x509 -inform DER -in "$crt" -out "$T/$name.pem" 2>/dev/null
	check "$name: the certificate chains to the CA and carries the client's key" \
		verify_issued "$T/$name.pem" "$key"
}

# --- EC CA
D=$(new_dir ec)
if start_scepd "$D" --ca-key ec:p256 --ca-subject "/CN=EC Test CA/O=scepd tests"; then
	like "$(openssl x509 -in "$D/ca.crt" -noout -text)" "ASN1 OID: prime256v1" "ec:p256 gives a P-256 CA key"
	like "$(openssl x509 -in "$D/ca.crt" -noout -subject)" "CN = EC Test CA, O = scepd tests" \
		"--ca-subject in /CN=.../O=... form"
	like "$(openssl x509 -in "$D/ra-enc.crt" -noout -text)" "rsaEncryption" \
		"the RA encryption certificate is RSA (clients encrypt only to RSA)"
	enroll_pki ec-ca-device
	stop_scepd
else
	fail "scepd starts on an ec:p256 state folder"
fi

# --- imported CA
D=$(new_dir import)
cp "$SCEPD_FIXTURES/lab/ca.key" "$T/import.key"; chmod 600 "$T/import.key"
if start_scepd "$D" --import-ca "$SCEPD_FIXTURES/lab/ca.crt" "$T/import.key"; then
	check "the imported CA certificate is copied unchanged" cmp -s "$D/ca.crt" "$SCEPD_FIXTURES/lab/ca.crt"
	is "$(stat -c %a "$D/ca.key")" 600 "the imported CA key is written with mode 0600"
	check "the RA certificates are issued by the imported CA" \
		openssl verify -CAfile "$SCEPD_FIXTURES/lab/ca.crt" "$D/ra-sign.crt" "$D/ra-enc.crt"
	enroll_pki imported-ca-device
	stop_scepd
else
	fail "scepd starts on a state folder with an imported CA"
fi

# --- imported subordinate CA, its issuers after it in the file
# mkca NAME SUBJ [ISSUER]: a CA key and certificate, self-signed or issued by ISSUER
mkca() {
	local ext="basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
	openssl genrsa -out "$T/$1.key" 2048 2>/dev/null && chmod 600 "$T/$1.key" || return 1
	if [ $# -eq 2 ]; then
		openssl req -x509 -new -key "$T/$1.key" -subj "$2" -days 30 -out "$T/$1.crt" \
			-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
	else
		openssl req -new -key "$T/$1.key" -subj "$2" -out "$T/$1.csr" 2>/dev/null &&
		openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" \
			-CAcreateserial -days 20 -extfile <(printf '%s\n' "$ext") \
			-out "$T/$1.crt" 2>/dev/null
	fi
}
if mkca root "/CN=scepd test root" && mkca inter "/CN=scepd test intermediate" root &&
    mkca sub "/CN=scepd test issuing CA" inter; then
	cat "$T/sub.crt" "$T/inter.crt" "$T/root.crt" >"$T/sub-chain.crt"
	D=$(new_dir import-chain)
	if start_scepd "$D" --import-ca "$T/sub-chain.crt" "$T/sub.key"; then
		r=$(http "$T/chain.der" "$SCEPD_URL?operation=GetCACert")
		is "$r" "200 application/x-x509-ca-ra-cert" "subordinate CA: GetCACert is a CA/RA PKCS#7"
		openssl pkcs7 -inform DER -in "$T/chain.der" -print_certs >"$T/chain.pem" 2>/dev/null
		is "$(split_pem "$T/chain.pem" "$T/chain-")" 5 "subordinate CA: GetCACert has five certificates"
		order_ok=1
		i=1
		for f in "$D/ra-sign.crt" "$D/ra-enc.crt" "$T/sub.crt" "$T/inter.crt" "$T/root.crt"; do
			same_cert "$T/chain-$i.pem" "$f" || order_ok=0
			i=$((i + 1))
		done
		is "$order_ok" 1 "subordinate CA: order RA signing, RA encryption, CA, intermediate, root"
		root_tp=$(openssl x509 -in "$T/root.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
		like "$(scepctl_cmd profile intune 2>&1)" "^Root certificate: .*thumbprint $root_tp" \
			"subordinate CA: profile intune names the root's thumbprint, the last of ca.crt"
		enroll_pki sub-ca-device
		check "subordinate CA: the certificate verifies up to the root" \
			openssl verify -CAfile "$T/root.crt" -untrusted "$T/inter.crt" \
			-untrusted "$T/sub.crt" "$T/sub-ca-device.pem"
		stop_scepd
	else
		fail "scepd starts on a state folder with an imported subordinate CA and its chain"
	fi
	# the issuers out of order: refused at start with a reason
	cat "$T/sub.crt" "$T/root.crt" "$T/inter.crt" >"$D/ca.crt"
	out=$("$SCEPD_BIN" -t -f "$D/scepd.conf" 2>&1)
	isnt "$?" 0 "subordinate CA: a CA file whose issuers are out of order is refused"
	like "$out" "did not issue" "subordinate CA: the refusal says which certificate is out of place"
else
	fail "openssl made a root, an intermediate and an issuing CA"
fi

# a source key readable by others is accepted, and its copy is private
D=$(new_dir import-open)
chmod 644 "$T/import.key"
"$SCEPCTL_BIN" init -d "$D" --import-ca "$SCEPD_FIXTURES/lab/ca.crt" "$T/import.key" >/dev/null 2>"$T/open.err"
is "$?" 0 "init imports a CA key whatever the source file's mode"
is "$(stat -c %a "$D/ca.key")" 600 "the copy of the CA key has mode 0600"
done_testing

# SPDX-License-Identifier: ISC
# tests/integration/lib_lifecycle.sh: helpers for the tests of the certificate
# life cycle (renewal, approval, revocation, GetCert/GetCRL, rollover, profiles,
# NDES details), sourced after lib.sh. It runs the test client tests/integration/scep_send
# (for what no real client sends), posts messages, reads CertRep attributes and
# contents with the openssl command, starts a private certmonger daemon and
# enrolls with scepclient (sc_enroll).

SCEP_SEND=$SCEPD_TOP/tests/integration/scep_send

# need_scep_send: the test client must have been built (make build-tests)
need_scep_send() {
	[ -x "$SCEP_SEND" ] || bail "tests/integration/scep_send is built" "run make build-tests"
}

# conf_set DIR KEY VALUE: like set_conf, for values with any characters (no sed):
# the first "KEY = ...;" line of DIR/scepd.conf becomes "KEY = VALUE;"
conf_set() {
	local f=$1/scepd.conf
	awk -v k="$2" -v v="$3" 'done != 1 && $0 ~ "^[ \t]*" k "[ \t]*=" {
		match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) k " = " v ";"; done = 1; next }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f" && grep -qF -- "$2 = $3;" "$f"
}

# conf_set_in DIR GROUP KEY VALUE: conf_set for KEY inside "GROUP = { ... };" only
conf_set_in() {
	local f=$1/scepd.conf
	awk -v g="$2" -v k="$3" -v v="$4" '
		$0 ~ "^" g "[ \t]*=[ \t]*[{]" { in_g = 1 }
		in_g && /^[}];/ { in_g = 0 }
		in_g && done != 1 && $0 ~ "^[ \t]*" k "[ \t]*=" {
			match($0, /^[ \t]*/); print substr($0, 1, RLENGTH) k " = " v ";"; done = 1; next }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f" && grep -qF -- "$3 = $4;" "$f"
}

# conf_append DIR TEXT: add settings (e.g. a templates or profiles list) at the end
conf_append() { printf '%s\n' "$2" >>"$1/scepd.conf"; }

# post_pki DER REPLY [URL]: POST a pkiMessage; prints "STATUS CONTENT-TYPE"
post_pki() {
	http "$2" -X POST -H 'Content-Type: application/x-pki-message' \
		--data-binary "@$1" "${3:-$SCEPD_URL}?operation=PKIOperation"
}

# self_signed KEY CERT CN: a new RSA key and a self-signed certificate for it
self_signed() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1" -out "$2" -subj "/CN=$3" \
		-days 2 >/dev/null 2>&1
}

# new_csr KEY CSR SUBJ [openssl req -addext options...]: a PKCS#10 (PEM) for KEY
new_csr() {
	local key=$1 csr=$2 subj=$3; shift 3
	[ -s "$key" ] || new_rsa_key "$key" || return 1
	openssl req -new -key "$key" -out "$csr" -subj "$subj" "$@" >/dev/null 2>&1
}

# new_csr_pw KEY CSR CN PASSWORD: a PKCS#10 (PEM) with CN and a challengePassword
new_csr_pw() {
	[ -s "$1" ] || new_rsa_key "$1" || return 1
	printf '[req]\nprompt = no\ndistinguished_name = dn\nattributes = attrs\n[dn]\nCN = %s\n[attrs]\nchallengePassword = %s\n' \
		"$3" "$4" >"$2.cnf"
	openssl req -new -key "$1" -config "$2.cnf" -out "$2" >/dev/null 2>&1
}

# oid_attr DERFILE OID: the value of the signed attribute OID of a CMS message
oid_attr() {
	openssl asn1parse -inform DER -in "$1" 2>/dev/null |
		awk -v oid="$2" '
		found && /prim:/ && !/OBJECT/ { sub(/.*:/, ""); print; exit }
		/prim: OBJECT/ { n = $0; sub(/.*:/, "", n); if (n == oid) found = 1 }'
}

# reply_open REPLY KEY OUT: verify the CertRep (RA signer), decrypt its envelope
# with KEY and write the inner degenerate SignedData (DER) to OUT
reply_open() {
	local r=$1
	openssl cms -verify -noverify -inform DER -in "$r" -certfile "$SCEPD_DIR/ra-sign.crt" \
		-out "$r.content" 2>/dev/null || return 1
	openssl cms -decrypt -inform DER -in "$r.content" -inkey "$2" -binary -out "$3" \
		2>/dev/null
}

# p7_first_cert P7 OUT: the first certificate of a degenerate SignedData (PEM)
p7_first_cert() {
	openssl pkcs7 -inform DER -in "$1" -print_certs 2>/dev/null |
		awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1 { print }
			/-----END CERTIFICATE-----/ && n == 1 { exit }' >"$2"
	[ -s "$2" ]
}

# p7_crl P7 OUT: the CRL in a degenerate SignedData (PEM)
p7_crl() {
	openssl pkcs7 -inform DER -in "$1" -print_certs 2>/dev/null |
		sed -n '/-----BEGIN X509 CRL-----/,/-----END X509 CRL-----/p' >"$2"
	[ -s "$2" ]
}

# status_of REPLY: "pkiStatus/failInfo" of a CertRep, e.g. "0/" or "2/4"
status_of() { printf '%s/%s' "$(scep_attr "$1" 9.3)" "$(scep_attr "$1" 9.4)"; }

# ---------------------------------------------------------------- certmonger

# cm_start: a private certmonger daemon (folders under $TEST_TMP/certmonger); sets
# CM_DIR, CM_PID and CERTMONGER_PVT_ADDRESS. Returns 1 when it does not answer.
cm_start() {
	CM_DIR=$TEST_TMP/certmonger
	mkdir -p "$CM_DIR/requests" "$CM_DIR/cas" "$CM_DIR/tmp" "$CM_DIR/local" \
		"$CM_DIR/config" "$CM_DIR/work"
	unset CERTMONGER_OPERATION CERTMONGER_PKCSREQ CERTMONGER_PKCSREQ_REKEY \
		CERTMONGER_SCEP_RA_CERTIFICATE CERTMONGER_SCEP_CA_CERTIFICATE \
		CERTMONGER_SCEP_CERTIFICATES
	(
		export CERTMONGER_REQUESTS_DIR=$CM_DIR/requests CERTMONGER_CAS_DIR=$CM_DIR/cas \
			CERTMONGER_TMPDIR=$CM_DIR/tmp CERTMONGER_LOCAL_CA_DIR=$CM_DIR/local \
			CERTMONGER_CONFIG_DIR=$CM_DIR/config CERTMONGER_SYSTEM_LOCK_FILE=$CM_DIR/lock
		exec certmonger -n -L -P "$CM_DIR/sock" -d 3
	) >"$CM_DIR/certmonger.log" 2>&1 &
	CM_PID=$!
	track_pid "$CM_PID"
	export CERTMONGER_PVT_ADDRESS=unix:path=$CM_DIR/sock
	for _ in $(seq 100); do
		[ -S "$CM_DIR/sock" ] && getcert list-cas >/dev/null 2>&1 && return 0
		kill -0 "$CM_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# cm_status ID: the status line of a tracked request
cm_status() { getcert list -i "$1" 2>/dev/null | sed -n 's/^[[:space:]]*status: //p' | head -n 1; }

# cm_wait ID ERE SECONDS: wait until the request's status matches ERE
cm_wait() {
	local st final='^(CA_REJECTED|CA_UNREACHABLE|NEED_GUIDANCE|MONITORING)$'
	for _ in $(seq $(($3 * 4))); do
		st=$(cm_status "$1")
		printf '%s' "$st" | grep -Eq -- "$2" && return 0
		printf '%s' "$st" | grep -Eq -- "$final" && break
		sleep 0.25
	done
	diag "request $1 is in status '$st' (waited for /$2/, at most $3 s)"
	getcert list -i "$1" 2>&1 | sed -n '/ca-error/p;/status/p' | sed 's/^/#   /'
	return 1
}

# sc_enroll NAME PASSWORD: scepclient (CN=NAME) against $SCEPD_URL in its own
# folder; sets EK EC EOUT; returns its status
sc_enroll() { scepclient_in_dir "sc-$1" "$SCEPD_URL" "$2" "$1"; }

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_certmonger.sh: certmonger 0.79 against the real scepd on 127.0.0.1 (allow_des =
# false). certmonger always uses GET for PKIOperation and sends message=0 with
# GetCACaps/GetCACert.
#
#  1. scep-submit run directly: -c (GetCACaps), -C (GetCACert), and -p (PKIOperation)
#     with a PKCSReq. scep-submit cannot build a PKCSReq itself (the daemon builds
#     its own, tested in 2.), so strongSwan's pki builds one against the fixture
#     capture server and scep-submit -p sends it to scepd; the returned
#     pkcsPKIEnvelope is decrypted with the request's key. (A certmonger CA helper
#     registered with `getcert add-ca -e` is never given $CERTMONGER_PKCSREQ, so
#     the daemon's own PKCSReq cannot be captured that way.)
#  2. the certmonger daemon itself: getcert add-scep-ca + getcert request, until the
#     request is MONITORING with the certificate saved; and a wrong password, which
#     must end in CA_REJECTED.
# The daemon runs with private state folders and a private listening socket
# (certmonger -n -L -P SOCK); getcert reaches it with CERTMONGER_PVT_ADDRESS.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

if ! have_cmd "$SCEP_SUBMIT"; then
	skip "certmonger's scep-submit not installed ($SCEP_SUBMIT)"
	done_testing
	exit 0
fi
# never let an outer certmonger environment steer scep-submit
unset CERTMONGER_OPERATION CERTMONGER_PKCSREQ CERTMONGER_PKCSREQ_REKEY \
	CERTMONGER_SCEP_RA_CERTIFICATE CERTMONGER_SCEP_CA_CERTIFICATE CERTMONGER_SCEP_CERTIFICATES

D=$(new_dir cm)
start_scepd "$D" || bail "scepd starts"
pass "scepd starts (allow_des = false)"
T=$TEST_TMP

# --- scep-submit -c
mark=$(log_mark)
out=$(timeout 30 "$SCEP_SUBMIT" -u "$SCEPD_URL" -c 2>"$T/c.err")
rc=$?
is "$rc" 0 "scep-submit -c (GetCACaps) exits 0"
is "$(printf '%s\n' "$out" | tr -d '\r' | sed '/^$/d')" "$(printf '%s\n' $DEFAULT_CAPS)" \
	"scep-submit -c prints the default capability list"
check_log "$mark" 'op=GetCACaps' "log: GetCACaps request (message=0) logged"

# --- scep-submit -C
timeout 30 "$SCEP_SUBMIT" -u "$SCEPD_URL" -C >"$T/C.out" 2>"$T/C.err"
rc=$?
is "$rc" 0 "scep-submit -C (GetCACert) exits 0"
n=$(split_pem "$T/C.out" "$T/C-")
is "$n" 3 "scep-submit -C prints three certificates"
check "scep-submit -C: first the RA certificate (it prefers the encryption one)" \
	same_cert "$T/C-1.pem" "$D/ra-enc.crt"
check "scep-submit -C: then the CA certificate" same_cert "$T/C-2.pem" "$D/ca.crt"
check "scep-submit -C: then the other RA certificate (signing)" same_cert "$T/C-3.pem" "$D/ra-sign.crt"

# --- a private certmonger daemon
if ! have_cmd certmonger || ! have_cmd getcert; then
	skip "certmonger daemon / getcert not installed: scep-submit -p needs a PKCSReq that only the daemon builds"
	skip "certmonger daemon / getcert not installed"
	done_testing
	exit 0
fi
S=$T/certmonger
mkdir -p "$S/requests" "$S/cas" "$S/tmp" "$S/local" "$S/config" "$S/work"
CM_SOCK=$S/sock
(
	export CERTMONGER_REQUESTS_DIR=$S/requests CERTMONGER_CAS_DIR=$S/cas \
		CERTMONGER_TMPDIR=$S/tmp CERTMONGER_LOCAL_CA_DIR=$S/local \
		CERTMONGER_CONFIG_DIR=$S/config CERTMONGER_SYSTEM_LOCK_FILE=$S/lock
	exec certmonger -n -L -P "$CM_SOCK" -d 3
) >"$S/certmonger.log" 2>&1 &
CM_PID=$!
track_pid "$CM_PID"
export CERTMONGER_PVT_ADDRESS=unix:path=$CM_SOCK
for _ in $(seq 100); do
	[ -S "$CM_SOCK" ] && getcert list-cas >/dev/null 2>&1 && break
	kill -0 "$CM_PID" 2>/dev/null || break
	sleep 0.1
done
if getcert list-cas >/dev/null 2>&1; then
	pass "private certmonger daemon answers getcert"
else
	bail "private certmonger daemon answers getcert" "$(tail -n 5 "$S/certmonger.log")"
fi

# cm_status ID: the status line of a tracked request
cm_status() { getcert list -i "$1" 2>/dev/null | sed -n 's/^[[:space:]]*status: //p' | head -n 1; }

# cm_wait ID ERE SECONDS: wait until the request's status matches ERE; give up at
# once on a status certmonger only leaves after a long retry delay
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

# --- scep-submit -p with a real client's PKCSReq for our server: strongSwan builds
# it (talking to the fixture capture server, so scepd sees it only from scep-submit).
mkdir -p "$S/work"
new_rsa_key "$S/work/p.key"
if have_cmd pki && pki_request "$S/work/pkcsreq.der" "$S/work/p.key" "$(new_otp)" "$D/ra-enc.crt" &&
    openssl pkcs7 -inform DER -in "$S/work/pkcsreq.der" -outform PEM -out "$S/work/pkcsreq.pem"; then
	pass "strongSwan built a PKCSReq for our RA"
	openssl pkcs7 -in "$S/work/pkcsreq.pem" -outform DER -out "$S/work/pkcsreq.der" 2>/dev/null
	is "$(scep_attr "$S/work/pkcsreq.der" 9.2)" 19 "the recorded message is a PKCSReq (19)"

	mark=$(log_mark)
	timeout 30 "$SCEP_SUBMIT" -u "$SCEPD_URL" -r "$D/ra-sign.crt" -N "$D/ca.crt" \
		-I "$D/ra-enc.crt" -p "$S/work/pkcsreq.pem" >"$S/work/submit.out" 2>"$S/work/submit.err"
	rc=$?
	if [ $rc = 0 ]; then pass "scep-submit -p: the CA issued (exit 0)"
	else fail "scep-submit -p: the CA issued (exit 0)" "exit status $rc" \
		"$(head -n 3 "$S/work/submit.out")" "$(head -n 3 "$S/work/submit.err")"; fi
	check_log "$mark" 'op=PKIOperation.*type=PKCSReq.*outcome="?SUCCESS' \
		"log: scep-submit's GET PKIOperation outcome=SUCCESS"
	# scep-submit prints the pkcsPKIEnvelope (PEM); open it with the request's key
	sed -n '/-----BEGIN/,/-----END/p' "$S/work/submit.out" >"$S/work/envelope.pem"
	if openssl cms -decrypt -inform PEM -in "$S/work/envelope.pem" -inkey "$S/work/p.key" \
	    -binary -out "$S/work/issued.p7" 2>"$S/work/decrypt.err" &&
	    openssl pkcs7 -inform DER -in "$S/work/issued.p7" -print_certs 2>/dev/null |
	    awk '/BEGIN CERT/{n++} n==1{print} /END CERT/&&n==1{exit}' >"$S/work/issued.pem" &&
	    [ -s "$S/work/issued.pem" ]; then
		pass "scep-submit -p: the envelope decrypts with the request key to a certificate"
	else
		fail "scep-submit -p: the envelope decrypts with the request key to a certificate" \
			"$(head -n 3 "$S/work/decrypt.err")"
	fi
	check "scep-submit -p: certificate issued by our CA for the key" \
		verify_issued "$S/work/issued.pem" "$S/work/p.key"
	check "scep-submit -p: certificate is in scepctl cert list" in_cert_list "$S/work/issued.pem"
else
	skip "pki (strongswan-pki) missing or it built no request: scep-submit -p not exercised"
fi
check_serving "after scep-submit"

# --- the certmonger daemon enrolls
getcert add-scep-ca -c it-scepd -u "$SCEPD_URL" >"$S/add-scep-ca.out" 2>&1
is "$?" 0 "getcert add-scep-ca -c it-scepd -u URL"
otp=$(new_otp)
mark=$(log_mark)
getcert request -c it-scepd -k "$S/work/d.key" -f "$S/work/d.crt" -N CN=it-certmonger \
	-D it-certmonger.example.org -L "$otp" -I it-daemon >"$S/req-daemon.out" 2>&1
is "$?" 0 "getcert request -c it-scepd is accepted"
check "certmonger reaches MONITORING (certificate issued and saved) within 45 s" \
	cm_wait it-daemon '^MONITORING$' 45
check "certmonger's certificate is issued by our CA for its key" \
	verify_issued "$S/work/d.crt" "$S/work/d.key"
like "$(openssl x509 -in "$S/work/d.crt" -noout -subject 2>/dev/null)" 'CN ?= ?it-certmonger' \
	"certmonger's certificate has the requested CN"
check "certmonger's certificate is in scepctl cert list" in_cert_list "$S/work/d.crt"
check_log "$mark" 'op=PKIOperation.*type=PKCSReq.*outcome="?SUCCESS' "log: certmonger's PKCSReq outcome=SUCCESS"

# --- a wrong password ends in CA_REJECTED
mark=$(log_mark)
getcert request -c it-scepd -k "$S/work/w.key" -f "$S/work/w.crt" -N CN=it-certmonger-wrong \
	-L 0123456789ABCDEF -I it-wrong >"$S/req-wrong.out" 2>&1
is "$?" 0 "getcert request with a wrong password is accepted by certmonger"
check "a wrong password ends in CA_REJECTED within 45 s" cm_wait it-wrong '^CA_REJECTED$' 45
check "no certificate is saved for the wrong password" test ! -s "$S/work/w.crt"
check_log "$mark" 'outcome="?FAILURE"? failInfo="?badRequest' "log: wrong password gives outcome=FAILURE failInfo=badRequest"
check_serving "after the certmonger tests"

getcert stop-tracking -i it-daemon >/dev/null 2>&1
getcert stop-tracking -i it-wrong >/dev/null 2>&1
stop_pid "$CM_PID"
stop_scepd
done_testing

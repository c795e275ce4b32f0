#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_renewal.sh: renewal against the real scepd on 127.0.0.1 with the real clients
# that send it: strongSwan `pki --scep --cert --key` (RenewalReq, 17), scepclient
# with an existing -certificate (RenewalReq), the certmonger daemon's
# `getcert resubmit` (a PKCSReq signed by the certificate it holds); and, for the
# Apple/Cisco/sscep form that no Debian client here sends with a fresh key, a
# PKCSReq signed by an issued certificate from tests/integration/scep_send.
# Checked: Renewal in GetCACaps only when enabled, no challenge needed (unless
# renewal.require_challenge), the reply enveloped to the old certificate (the
# client opens it with the old key), subject/SAN must match, a revoked or foreign
# signer is refused, key reuse and old_certificate = revoke, renewal disabled.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send

D=$(new_dir renew)
init_scepd "$D" || bail "scepctl init"
check "allow_des = true (for scepclient)" set_conf "$D" allow_des true
run_scepd "$D" || bail "scepd starts"
pass "scepd starts"
T=$TEST_TMP

r=$(http "$T/caps" "$SCEPD_URL?operation=GetCACaps")
check "GetCACaps lists Renewal (renewal.enabled is true)" grep -qx Renewal <(tr -d '\r' <"$T/caps")

pkiout() { grep -vi -e tpm -e plugin "$1" | tail -n 4 | cut -c1-300; }

# sw_enroll NAME KEY OUT [pki options]: a first enrollment with a one-time password
sw_enroll() {
	local name=$1 key=$2 out=$3; shift 3
	[ -s "$key" ] || new_rsa_key "$key"
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$key" \
		--dn "C=CH, O=strongSwan, CN=$name" --san "$name.example.org" \
		--password "$(new_otp)" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --maxpolltime 5 --interval 1 --outform pem "$@" \
		>"$out" 2>"$out.err"
}

# sw_renew NAME OLDCERT OLDKEY NEWKEY OUT [pki options]: pki's RenewalReq
sw_renew() {
	local name=$1 oc=$2 ok=$3 key=$4 out=$5; shift 5
	[ -s "$key" ] || new_rsa_key "$key"
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$key" \
		--dn "C=CH, O=strongSwan, CN=$name" --san "$name.example.org" \
		--cert "$oc" --key "$ok" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --maxpolltime 5 --interval 1 --outform pem "$@" \
		>"$out" 2>"$out.err"
}

serial_status() {
	scepctl_cmd cert list 2>/dev/null | awk -v s="$1" '$1 == s { print $2 }'
}

if have_cmd pki; then
	# --- strongSwan: enroll, then RenewalReq with a new key and no challenge
	sw_enroll it-renew-sw "$T/sw1.key" "$T/sw1.crt"
	is "$?" 0 "strongSwan: first enrollment"
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/sw1.crt" "$T/sw1.key" "$T/sw2.key" "$T/sw2.crt"
	rc=$?
	if [ $rc = 0 ]; then pass "strongSwan RenewalReq (--cert/--key, no --password) succeeds"
	else fail "strongSwan RenewalReq (--cert/--key, no --password) succeeds" "exit $rc" "$(pkiout "$T/sw2.crt.err")"; fi
	check "the renewed certificate is ours, for the new key" verify_issued "$T/sw2.crt" "$T/sw2.key"
	isnt "$(cert_serial "$T/sw2.crt")" "$(cert_serial "$T/sw1.crt")" "the renewal has a new serial"
	is "$(openssl x509 -in "$T/sw2.crt" -noout -subject 2>/dev/null)" \
		"$(openssl x509 -in "$T/sw1.crt" -noout -subject 2>/dev/null)" "same subject"
	check_log "$mark" 'type=RenewalReq.*outcome="?SUCCESS.*reason="?renewal' \
		"log: type=RenewalReq outcome=SUCCESS reason=renewal"
	is "$(serial_status "$(cert_serial "$T/sw1.crt")")" valid \
		"old_certificate = keep: the renewed certificate stays valid"
	# pki opened the CertRep with the old key: the envelope was for the old certificate
	pass "the CertRep was enveloped to the old certificate (pki decrypted it with --key)"

	# --- refusals
	mark=$(log_mark)
	sw_renew it-renew-other "$T/sw2.crt" "$T/sw2.key" "$T/sw3.key" "$T/sw3.crt"
	isnt "$?" 0 "RenewalReq for another subject fails"
	check_log "$mark" 'type=RenewalReq.*outcome="?FAILURE.*failInfo="?badRequest.*event=28.*subject differs' \
		"log: FAILURE badRequest, event 28, subject differs"

	self_signed "$T/ss.key" "$T/ss.crt" "it-renew-sw"
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/ss.crt" "$T/ss.key" "$T/sw4.key" "$T/sw4.crt"
	isnt "$?" 0 "RenewalReq signed by a self-signed certificate fails"
	check_log "$mark" 'type=RenewalReq.*outcome="?FAILURE.*self-signed' \
		"log: not signed by a certificate this CA issued"

	check "scepctl cert revoke the first renewal" scepctl_cmd cert revoke "$(cert_serial "$T/sw2.crt")" --reason keyCompromise
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/sw2.crt" "$T/sw2.key" "$T/sw5.key" "$T/sw5.crt"
	isnt "$?" 0 "RenewalReq signed by a revoked certificate fails"
	check_log "$mark" 'type=RenewalReq.*outcome="?FAILURE.*is revoked' "log: the signer is revoked"

	# --- a PKCSReq signed by an issued certificate (Apple, Cisco, sscep -O)
	new_csr "$T/p1.key" "$T/p1.csr" "/C=CH/O=strongSwan/CN=it-renew-sw" \
		-addext "subjectAltName=DNS:it-renew-sw.example.org"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/sw1.crt" --signer-key "$T/sw1.key" \
		--recipient "$D/ra-enc.crt" --csr "$T/p1.csr" --out "$T/p1.der" >/dev/null
	mark=$(log_mark)
	r=$(post_pki "$T/p1.der" "$T/p1.rep")
	is "$(status_of "$T/p1.rep")" "0/" "PKCSReq signed by an issued certificate, no challenge: SUCCESS"
	check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS.*reason="?renewal' "log: treated as a renewal"
	check "its reply opens with the old key" reply_open "$T/p1.rep" "$T/sw1.key" "$T/p1.p7"
	check "and holds a certificate for the new key" p7_first_cert "$T/p1.p7" "$T/p1.crt"
	check "issued by our CA for the new key" verify_issued "$T/p1.crt" "$T/p1.key"

	# the same signer for another subject: an RA or MDM identity, so an enrollment
	new_csr "$T/ra1.key" "$T/ra1.csr" "/CN=it-renew-device"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/sw1.crt" --signer-key "$T/sw1.key" \
		--recipient "$D/ra-enc.crt" --csr "$T/ra1.csr" --out "$T/ra1.der" >/dev/null
	mark=$(log_mark)
	post_pki "$T/ra1.der" "$T/ra1.rep" >/dev/null
	is "$(status_of "$T/ra1.rep")" "2/2" \
		"signed by an issued certificate for another subject: an enrollment (no challenge: badRequest)"
	check_log "$mark" 'type=PKCSReq.*outcome="?FAILURE.*no challenge password' "log: it needs a challenge"
	new_csr_pw "$T/ra1.key" "$T/ra2.csr" it-renew-device "$(new_otp)"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/sw1.crt" --signer-key "$T/sw1.key" \
		--recipient "$D/ra-enc.crt" --csr "$T/ra2.csr" --out "$T/ra2.der" >/dev/null
	post_pki "$T/ra2.der" "$T/ra2.rep" >/dev/null
	is "$(status_of "$T/ra2.rep")" "0/" "  with a challenge password: SUCCESS"

	# --- old_certificate = revoke, and no key reuse
	stop_scepd
	check "renewal.old_certificate = revoke" set_conf "$D" old_certificate '"revoke"'
	check "renewal.allow_key_reuse = false" set_conf "$D" allow_key_reuse false
	run_scepd "$D" || bail "scepd restarts"
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/p1.crt" "$T/p1.key" "$T/p1.key" "$T/sw6.crt"
	isnt "$?" 0 "renewal keeping the old key fails when allow_key_reuse is false"
	check_log "$mark" 'outcome="?FAILURE.*allow_key_reuse' "log: names allow_key_reuse"
	sw_renew it-renew-sw "$T/p1.crt" "$T/p1.key" "$T/sw7.key" "$T/sw7.crt"
	is "$?" 0 "renewal with a new key succeeds"
	is "$(serial_status "$(cert_serial "$T/p1.crt")")" revoked \
		"old_certificate = revoke: the renewed certificate is revoked"
	check_log "$mark" 'reason="?renewal; the renewed certificate is revoked' "log: says so"
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/p1.crt" "$T/p1.key" "$T/sw8.key" "$T/sw8.crt"
	isnt "$?" 0 "the superseded certificate cannot renew again"
	check_log "$mark" 'outcome="?FAILURE.*is revoked' "log: it is revoked"

	# --- a challenge when the profile says so
	stop_scepd
	check "renewal.require_challenge = true" set_conf "$D" require_challenge true
	run_scepd "$D" || bail "scepd restarts"
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/sw7.crt" "$T/sw7.key" "$T/sw9.key" "$T/sw9.crt"
	isnt "$?" 0 "renewal without a challenge fails when require_challenge is true"
	check_log "$mark" 'type=RenewalReq.*outcome="?FAILURE.*event=29' "log: event 29 (challenge)"
	sw_renew it-renew-sw "$T/sw7.crt" "$T/sw7.key" "$T/sw9.key" "$T/sw9.crt" --password "$(new_otp)"
	is "$?" 0 "renewal with a one-time password succeeds"

	# --- renewal disabled
	stop_scepd
	check "renewal.enabled = false" conf_set_in "$D" renewal enabled false
	check "renewal.require_challenge = false" set_conf "$D" require_challenge false
	run_scepd "$D" || bail "scepd restarts"
	r=$(http "$T/caps2" "$SCEPD_URL?operation=GetCACaps")
	if tr -d '\r' <"$T/caps2" | grep -qx Renewal; then fail "GetCACaps no longer lists Renewal"
	else pass "GetCACaps no longer lists Renewal"; fi
	mark=$(log_mark)
	sw_renew it-renew-sw "$T/sw9.crt" "$T/sw9.key" "$T/sw10.key" "$T/sw10.crt"
	isnt "$?" 0 "strongSwan renewal fails when renewal is disabled"
	# strongSwan 5.9.8 reads Renewal from the DES3/SHA-384 lines and sends RenewalReq anyway
	check_log "$mark" 'type=RenewalReq.*outcome="?FAILURE.*failInfo="?badRequest.*renewal is not enabled' \
		"log: RenewalReq refused, renewal is not enabled"
	"$SCEP_SEND" --type pkcsreq --signer-cert "$T/sw9.crt" --signer-key "$T/sw9.key" \
		--recipient "$D/ra-enc.crt" --csr "$T/p1.csr" --out "$T/p2.der" >/dev/null
	mark=$(log_mark)
	r=$(post_pki "$T/p2.der" "$T/p2.rep")
	is "$(status_of "$T/p2.rep")" "2/2" \
		"a PKCSReq signed by an issued certificate is an ordinary enrollment then (no challenge: badRequest)"
	check_log "$mark" 'type=PKCSReq.*outcome="?FAILURE.*no challenge password' "log: it needs a challenge"
	stop_scepd
	check "renewal.enabled = true again" conf_set_in "$D" renewal enabled true
	check "renewal.old_certificate = keep again" set_conf "$D" old_certificate '"keep"'
	check "renewal.allow_key_reuse = true again" set_conf "$D" allow_key_reuse true
	run_scepd "$D" || bail "scepd restarts"
else
	skip "pki (strongswan-pki) not installed: strongSwan renewal not exercised"
fi

# --- scepclient: an existing -certificate makes it send RenewalReq (same key)
if have_cmd scepclient; then
	S=$(new_dir scepclient); mkdir -p "$S"
	timeout 30 scepclient -server-url "$SCEPD_URL" -challenge "$(new_otp)" \
		-private-key "$S/client.key" -certificate "$S/client.crt" -cn it-renew-scepclient \
		>"$S/out1" 2>&1
	is "$?" 0 "scepclient: first enrollment"
	cp "$S/client.crt" "$S/first.crt"
	mark=$(log_mark)
	timeout 30 scepclient -server-url "$SCEPD_URL" -private-key "$S/client.key" \
		-certificate "$S/client.crt" -cn it-renew-scepclient >"$S/out2" 2>&1
	rc=$?
	if [ $rc = 0 ]; then pass "scepclient renews with its existing certificate"
	else fail "scepclient renews with its existing certificate" "exit $rc" "$(tail -n 3 "$S/out2")"; fi
	check_log "$mark" 'type=RenewalReq.*outcome="?SUCCESS.*reason="?renewal' \
		"log: scepclient's RenewalReq outcome=SUCCESS"
	line=$(log_wait "$mark" 'type=RenewalReq.*outcome="?SUCCESS')
	new_serial=$(printf '%s' "$line" | sed -n 's/.*serial=\([0-9A-F]*\).*/\1/p')
	isnt "$new_serial" "$(cert_serial "$S/first.crt")" "a new certificate was issued"
else
	skip "scepclient not installed: its renewal not exercised"
fi

# --- certmonger: getcert resubmit sends a PKCSReq signed by the certificate it holds
if have_cmd certmonger && have_cmd getcert; then
	if cm_start; then
		pass "private certmonger daemon"
		getcert add-scep-ca -c it-renew -u "$SCEPD_URL" >"$CM_DIR/add.out" 2>&1
		getcert request -c it-renew -k "$CM_DIR/work/r.key" -f "$CM_DIR/work/r.crt" \
			-N CN=it-renew-certmonger -L "$(new_otp)" -I it-renew >"$CM_DIR/req.out" 2>&1
		check "certmonger enrolls (MONITORING)" cm_wait it-renew '^MONITORING$' 45
		cp "$CM_DIR/work/r.crt" "$CM_DIR/work/r1.crt" 2>/dev/null
		mark=$(log_mark)
		getcert resubmit -i it-renew >"$CM_DIR/resubmit.out" 2>&1
		is "$?" 0 "getcert resubmit is accepted"
		check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS.*reason="?renewal' \
			"log: certmonger's re-submission is a renewal (PKCSReq signed by its certificate, no challenge)"
		for _ in $(seq 80); do
			[ "$(cert_serial "$CM_DIR/work/r.crt")" != "$(cert_serial "$CM_DIR/work/r1.crt")" ] && break
			sleep 0.25
		done
		isnt "$(cert_serial "$CM_DIR/work/r.crt")" "$(cert_serial "$CM_DIR/work/r1.crt")" \
			"certmonger saved the renewed certificate"
		check "certmonger is MONITORING again" cm_wait it-renew '^MONITORING$' 30
		getcert stop-tracking -i it-renew >/dev/null 2>&1
		stop_pid "$CM_PID"
	else
		fail "private certmonger daemon" "$(tail -n 5 "$CM_DIR/certmonger.log")"
	fi
else
	skip "certmonger not installed: getcert resubmit not exercised"
fi

check_serving "after the renewal tests"
stop_scepd
done_testing

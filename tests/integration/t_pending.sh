#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_pending.sh: manual approval against the real scepd on 127.0.0.1. The template
# "default" has approval = true, so every PKCSReq answers PENDING and waits in the
# store; `scepctl request list|show|approve|reject` act on it. Real clients poll:
# strongSwan `pki --scep --interval 1` (CertPoll, 20) until SUCCESS or FAILURE, and
# the certmonger daemon (CA_WORKING until approved, `getcert refresh` polls).
# tests/integration/scep_send checks what the clients do not vary: a re-sent PKCSReq
# answers PENDING, a CertPoll is matched by transactionID and signer key (not by
# its IssuerAndSubject), an unknown transaction gets FAILURE badCertId.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send

D=$(new_dir pending)
init_scepd "$D" || bail "scepctl init"
check "certificate.approval = true" set_conf "$D" approval true
run_scepd "$D" || bail "scepd starts"
pass "scepd starts with approval required"
T=$TEST_TMP

# request_id SUBJECT-ERE: the ID of the waiting request whose subject matches
request_id() { scepctl_cmd request list --all 2>/dev/null | awk -v re="$1" 'NR > 1 && $0 ~ re { print $1; exit }'; }

# wait_request SUBJECT-ERE: until such a request is listed (10 s)
wait_request() {
	local id
	for _ in $(seq 100); do
		id=$(request_id "$1")
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}

if have_cmd pki; then
	# --- strongSwan polls until approved
	new_rsa_key "$T/a.key"
	mark=$(log_mark)
	timeout 90 pki --scep --url "$SCEPD_URL" --in "$T/a.key" --dn "C=CH, O=strongSwan, CN=it-pending-a" \
		--password "$(new_otp)" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --interval 1 --maxpolltime 60 --outform pem \
		>"$T/a.crt" 2>"$T/a.err" &
	PKI_A=$!
	track_pid "$PKI_A"
	check_log "$mark" 'type=PKCSReq.*outcome="?PENDING' "strongSwan's PKCSReq answers PENDING"
	id=$(wait_request it-pending-a)
	like "$id" '^[0-9]+$' "scepctl request list shows the waiting request"
	check_log "$mark" 'type=CertPoll.*outcome="?PENDING' "strongSwan polls with CertPoll, still PENDING"
	out=$(scepctl_cmd request show "$id" 2>&1)
	like "$out" 'state +waiting' "scepctl request show: state waiting"
	like "$out" 'subject +CN=it-pending-a,O=strongSwan,C=CH' "scepctl request show: subject"
	like "$out" 'template +default' "scepctl request show: template"
	like "$out" 'key +RSA 2048 bits' "scepctl request show: key"
	check "scepctl request approve $id" scepctl_cmd request approve "$id"
	wait "$PKI_A"
	rc=$?
	is "$rc" 0 "strongSwan gets its certificate after the approval"
	check "the certificate is ours, for its key" verify_issued "$T/a.crt" "$T/a.key"
	check_log "$mark" 'type=CertPoll.*outcome="?SUCCESS.*reason="?issued the request an administrator approved' \
		"log: CertPoll SUCCESS, issued at the poll after approval"
	check "the certificate is in scepctl cert list" in_cert_list "$T/a.crt"
	is "$(request_id it-pending-a)" "" "the request left the waiting list"
	scepctl_cmd request approve "$id" >/dev/null 2>&1
	isnt "$?" 0 "approving it again fails"

	# --- strongSwan polls until rejected
	new_rsa_key "$T/b.key"
	mark=$(log_mark)
	timeout 90 pki --scep --url "$SCEPD_URL" --in "$T/b.key" --dn "C=CH, O=strongSwan, CN=it-pending-b" \
		--password "$(new_otp)" --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" \
		--cacert "$D/ca.crt" --interval 1 --maxpolltime 60 --outform pem \
		>"$T/b.crt" 2>"$T/b.err" &
	PKI_B=$!
	track_pid "$PKI_B"
	id=$(wait_request it-pending-b)
	like "$id" '^[0-9]+$' "a second request waits"
	check "scepctl request reject $id" scepctl_cmd request reject "$id"
	wait "$PKI_B"
	isnt "$?" 0 "strongSwan fails once the request is rejected"
	check "no certificate for the rejected request" test ! -s "$T/b.crt"
	check_log "$mark" 'type=CertPoll.*outcome="?FAILURE.*failInfo="?badRequest.*rejected by an administrator' \
		"log: CertPoll FAILURE badRequest, rejected"
	like "$(scepctl_cmd request list --all 2>&1)" "$id +rejected" "request list --all shows it rejected"
else
	skip "pki (strongswan-pki) not installed: polling with strongSwan not exercised"
fi

# --- the rules the clients above do not vary, with scep_send
self_signed "$T/c.key" "$T/c.crt" it-pending-c
new_csr_pw "$T/c.key" "$T/c.csr" it-pending-c "$(new_otp)"
tid=$("$SCEP_SEND" --type pkcsreq --signer-cert "$T/c.crt" --signer-key "$T/c.key" \
	--recipient "$D/ra-enc.crt" --csr "$T/c.csr" --out "$T/c1.der")
post_pki "$T/c1.der" "$T/c1.rep" >/dev/null
is "$(status_of "$T/c1.rep")" "3/" "scep_send PKCSReq: PENDING"
check_certrep "$T/c1.rep" "$T/c1.der" 3 "" "PENDING"
check "PENDING carries no envelope" test ! -s "$T/c1.rep.content"
"$SCEP_SEND" --type pkcsreq --signer-cert "$T/c.crt" --signer-key "$T/c.key" --txid "$tid" \
	--recipient "$D/ra-enc.crt" --csr "$T/c.csr" --out "$T/c2.der" >/dev/null
mark=$(log_mark)
post_pki "$T/c2.der" "$T/c2.rep" >/dev/null
is "$(status_of "$T/c2.rep")" "3/" "the same PKCSReq sent again: PENDING"
check_log "$mark" 'type=PKCSReq.*outcome="?PENDING' "log: re-sent PKCSReq PENDING"
is "$(scepctl_cmd request list 2>/dev/null | grep -c it-pending-c)" 1 "still one waiting request"

# CertPoll from another key with the same transactionID
self_signed "$T/x.key" "$T/x.crt" it-pending-c
"$SCEP_SEND" --type certpoll --signer-cert "$T/x.crt" --signer-key "$T/x.key" --txid "$tid" \
	--issuer-cert "$D/ca.crt" --recipient "$D/ra-enc.crt" --out "$T/p1.der" >/dev/null
post_pki "$T/p1.der" "$T/p1.rep" >/dev/null
is "$(status_of "$T/p1.rep")" "2/2" "CertPoll signed by another key: FAILURE badRequest"
# CertPoll with a nonsense IssuerAndSubject but the right transactionID and key
"$SCEP_SEND" --type certpoll --signer-cert "$T/c.crt" --signer-key "$T/c.key" --txid "$tid" \
	--issuer-cert "$T/x.crt" --subject-cert "$T/x.crt" --recipient "$D/ra-enc.crt" \
	--out "$T/p2.der" >/dev/null
post_pki "$T/p2.der" "$T/p2.rep" >/dev/null
is "$(status_of "$T/p2.rep")" "3/" "CertPoll is matched by transactionID and key, not IssuerAndSubject"
# unknown transaction
"$SCEP_SEND" --type certpoll --signer-cert "$T/c.crt" --signer-key "$T/c.key" \
	--txid NO-SUCH-TRANSACTION --issuer-cert "$D/ca.crt" --recipient "$D/ra-enc.crt" \
	--out "$T/p3.der" >/dev/null
mark=$(log_mark)
post_pki "$T/p3.der" "$T/p3.rep" >/dev/null
is "$(status_of "$T/p3.rep")" "2/4" "CertPoll for an unknown transaction: FAILURE badCertId"
check_log "$mark" 'type=CertPoll.*failInfo="?badCertId' "log: badCertId"
# approve, then poll: SUCCESS, and again: the same certificate
id=$(request_id it-pending-c)
check "approve it" scepctl_cmd request approve "$id"
"$SCEP_SEND" --type certpoll --signer-cert "$T/c.crt" --signer-key "$T/c.key" --txid "$tid" \
	--issuer-cert "$D/ca.crt" --recipient "$D/ra-enc.crt" --out "$T/p4.der" >/dev/null
post_pki "$T/p4.der" "$T/p4.rep" >/dev/null
is "$(status_of "$T/p4.rep")" "0/" "CertPoll after approval: SUCCESS"
check_certrep "$T/p4.rep" "$T/p4.der" 0 "" "CertPoll SUCCESS"
check "its envelope opens with the request key" reply_open "$T/p4.rep" "$T/c.key" "$T/p4.p7"
check "it holds the certificate" p7_first_cert "$T/p4.p7" "$T/p4.crt"
check "issued by our CA for the key" verify_issued "$T/p4.crt" "$T/c.key"
"$SCEP_SEND" --type certpoll --signer-cert "$T/c.crt" --signer-key "$T/c.key" --txid "$tid" \
	--issuer-cert "$D/ca.crt" --recipient "$D/ra-enc.crt" --out "$T/p5.der" >/dev/null
post_pki "$T/p5.der" "$T/p5.rep" >/dev/null
reply_open "$T/p5.rep" "$T/c.key" "$T/p5.p7" && p7_first_cert "$T/p5.p7" "$T/p5.crt"
check "CertPoll again: the same certificate (RFC resync)" same_cert "$T/p5.crt" "$T/p4.crt"
post_pki "$T/c2.der" "$T/c3.rep" >/dev/null
reply_open "$T/c3.rep" "$T/c.key" "$T/c3.p7" && p7_first_cert "$T/c3.p7" "$T/c3.crt"
check "the PKCSReq sent again: the same certificate" same_cert "$T/c3.crt" "$T/p4.crt"
isnt "$(scep_attr "$T/p5.rep" 9.5)" "$(scep_attr "$T/p4.rep" 9.5)" "every reply has a fresh senderNonce"

# --- certmonger: waits while the request is pending, and collects it after approval
if have_cmd certmonger && have_cmd getcert; then
	if cm_start; then
		pass "private certmonger daemon"
		getcert add-scep-ca -c it-pend -u "$SCEPD_URL" >"$CM_DIR/add.out" 2>&1
		mark=$(log_mark)
		getcert request -c it-pend -k "$CM_DIR/work/p.key" -f "$CM_DIR/work/p.crt" \
			-N CN=it-pending-certmonger -L "$(new_otp)" -I it-pend >"$CM_DIR/req.out" 2>&1
		check_log "$mark" 'type=PKCSReq.*subject="CN=it-pending-certmonger".*outcome|outcome="?PENDING.*it-pending-certmonger|type=PKCSReq.*outcome="?PENDING' \
			"certmonger's PKCSReq answers PENDING"
		check "certmonger keeps the request in CA_WORKING (pending)" cm_wait it-pend '^CA_WORKING$' 30
		id=$(wait_request it-pending-certmonger)
		check "approve certmonger's request" scepctl_cmd request approve "$id"
		getcert refresh -i it-pend >/dev/null 2>&1
		check "certmonger collects the certificate (MONITORING) after the approval" \
			cm_wait it-pend '^MONITORING$' 60
		check "certmonger's certificate is ours, for its key" \
			verify_issued "$CM_DIR/work/p.crt" "$CM_DIR/work/p.key"
		getcert stop-tracking -i it-pend >/dev/null 2>&1
		stop_pid "$CM_PID"
	else
		fail "private certmonger daemon" "$(tail -n 5 "$CM_DIR/certmonger.log")"
	fi
else
	skip "certmonger not installed: its PENDING handling not exercised"
fi

check_serving "after the approval tests"
stop_scepd
done_testing

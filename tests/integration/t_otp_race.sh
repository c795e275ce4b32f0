#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_otp_race.sh: one one-time password, many requests at once (issue 10 defect
# 1). 50 PKCSReqs, built beforehand by tests/integration/scep_send (distinct
# transactionIDs and subjects, all with the same password), are sent at once by
# one curl (--parallel) to scepd with each CA backend:
#   - local: exactly one SUCCESS, the others FAILURE badRequest, one
#     certificate in the store; two real strongSwan `pki --scep` clients
#     race with the same password alongside;
#   - exec: the same, and the program was run exactly once (its own log);
#   - scep, forwarding to a second scepd (local CA): the same, and the
#     upstream's store holds exactly one certificate too.
# Then the rule for a password whose request failed (scepd.conf(5), after
# challenge.PasswordValidity): the exec program's refusal releases it (the
# device may retry with it and gets its certificate), a FAILURE when the
# upstream is down keeps it spent. No challenge in waiting requests (issue 10
# defect 3): the stored CSR of a request waiting for approval holds none, with
# the local CA (issued later from that copy) and with a scep backend whose
# upstream checks the device's challenge (the envelope kept for it is opened
# again and then deleted); a row stored the old way loses its challenge when
# scepd starts. And the binding to profiles (issue 12 item 7): a password made with
# `scepctl challenge new --profile NAME` or by the profile's admin page
# (PATH/mscep_admin/) is refused on the NDES path and on another profile, and
# one made for the NDES path is refused on a profile.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries
need_scep_send
T=$TEST_TMP
N=50

# race_build DIR NAME PASSWORD: N PKCSReqs into DIR/NAME/req-I.der for the scepd in
# DIR (its RA encryption certificate), CN=NAME-I, all with PASSWORD; one key
# (NAME.key) and one self-signed signer for all of them
race_build() {
	local dir=$1 name=$2 pw=$3 out=$T/$2 i
	mkdir -p "$out"
	self_signed "$out/signer.key" "$out/signer.crt" "$name-signer" || return 1
	cp "$out/signer.key" "$out/$name.key"
	for i in $(seq "$N"); do
		new_csr_pw "$out/$name.key" "$out/csr-$i.pem" "$name-$i" "$pw" || return 1
		"$SCEP_SEND" --type pkcsreq --signer-cert "$out/signer.crt" \
		    --signer-key "$out/signer.key" --recipient "$dir/ra-enc.crt" \
		    --csr "$out/csr-$i.pem" --txid "$name-tx-$i" --out "$out/req-$i.der" \
		    2>>"$out/scep_send.err" || return 1
	done
}

# race_send NAME URL: POST the N requests of NAME at once (one curl, all transfers
# in parallel); replies in $T/NAME/rep-I.der
race_send() {
	local out=$T/$1 url=$2 i args=()
	for i in $(seq "$N"); do
		[ "$i" -gt 1 ] && args+=(--next)
		args+=(-s -X POST -H 'Content-Type: application/x-pki-message'
		    --data-binary "@$out/req-$i.der" -o "$out/rep-$i.der"
		    "$url?operation=PKIOperation")
	done
	curl -s -Z --parallel-immediate --parallel-max "$N" --max-time 120 "${args[@]}" \
	    2>"$out/curl.err"
}

# race_count NAME STATUS: how many replies of NAME have "pkiStatus/failInfo" STATUS
race_count() {
	local i n=0
	for i in $(seq "$N"); do
		[ "$(status_of "$T/$1/rep-$i.der")" = "$2" ] && n=$((n + 1))
	done
	echo "$n"
}

# certs_named DIR PREFIX: certificates whose subject has CN=PREFIX- in DIR's store
certs_named() {
	"$SCEPCTL_BIN" -f "$1/scepd.conf" cert list 2>/dev/null | grep -c -- "CN=$2-"
}

# pki_race NAME DIR URL PASSWORD I: a real client (strongSwan pki --scep, CN=NAME-pki-I)
# with the same password; its exit status goes to $T/NAME/pki-I.rc
pki_race() {
	local out=$T/$1 rc
	new_rsa_key "$out/pki-$5.key"
	timeout 60 pki --scep --url "$3" --in "$out/pki-$5.key" --dn "CN=$1-pki-$5" \
	    --password "$4" --cacert-enc "$2/ra-enc.crt" --cacert-sig "$2/ra-sign.crt" \
	    --cacert "$2/ca.crt" --maxpolltime 1 --interval 1 --outform pem \
	    >"$out/pki-$5.crt" 2>"$out/pki-$5.err"
	rc=$?
	echo "$rc" >"$out/pki-$5.rc"
}

# race NAME DIR URL DESC [PKI]: build, send and count one race of N requests; with
# PKI = 1 two real pki clients race with the same password alongside
race() {
	local name=$1 dir=$2 url=$3 desc=$4 with_pki=${5:-0} pw ok_curl ok_pki=0 i pids=()
	pw=$("$SCEPCTL_BIN" -f "$dir/scepd.conf" challenge new 2>"$T/$name.otp.err")
	like "$pw" '^[0-9A-F]{16}$' "$desc: a one-time password"
	check "$desc: $N PKCSReqs with it built (scep_send)" race_build "$dir" "$name" "$pw"
	if [ "$with_pki" = 1 ]; then
		for i in 1 2; do
			pki_race "$name" "$dir" "$url" "$pw" "$i" &
			pids+=($!)
			track_pid "$!"
		done
	fi
	race_send "$name" "$url"
	for i in "${pids[@]}"; do wait "$i"; done
	if [ "$with_pki" = 1 ]; then
		for i in 1 2; do
			[ "$(cat "$T/$name/pki-$i.rc" 2>/dev/null)" = 0 ] && ok_pki=$((ok_pki + 1))
		done
		diag "$desc: $ok_pki of 2 pki clients enrolled"
	fi
	ok_curl=$(race_count "$name" 0/)
	is "$((ok_curl + ok_pki))" 1 "$desc: $N requests at once${pids:+ and 2 pki clients}, exactly one SUCCESS"
	is "$(race_count "$name" 2/2)" $((N - ok_curl)) "$desc: the other requests FAILURE badRequest"
	is "$(certs_named "$dir" "$name")" 1 "$desc: one certificate in the store"
}

# enroll_one NAME DIR URL PASSWORD: one PKCSReq (CN=NAME-1); prints "pkiStatus/failInfo"
enroll_one() {
	local out=$T/$1 dir=$2 url=$3
	mkdir -p "$out"
	[ -s "$out/one.key" ] || self_signed "$out/one.key" "$out/one.crt" "$1-signer" || return 1
	new_csr_pw "$out/one.key" "$out/one.csr" "$1" "$4" || return 1
	"$SCEP_SEND" --type pkcsreq --signer-cert "$out/one.crt" --signer-key "$out/one.key" \
	    --recipient "$dir/ra-enc.crt" --csr "$out/one.csr" --out "$out/one.der" >/dev/null \
	    2>>"$out/scep_send.err" || return 1
	post_pki "$out/one.der" "$out/one.rep" "$url" >/dev/null
	status_of "$out/one.rep"
}

# repost NAME URL: send NAME's request of enroll_one again (same transactionID)
repost() {
	post_pki "$T/$1/one.der" "$T/$1/again.rep" "$2" >/dev/null
	status_of "$T/$1/again.rep"
}

# db DIR SQL: one value from DIR's store (python3's sqlite3, read-only)
db() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])' "$1/scepd.db" "$2"
}

# request_id DIR CN: the id of DIR's waiting request for CN
request_id() {
	"$SCEPCTL_BIN" -f "$1/scepd.conf" request list --all 2>/dev/null |
	    awk -v re="CN=$2" 'NR > 1 && $0 ~ re { print $1; exit }'
}

# relaxed DIR: many rejected passwords, and N connections at once, from 127.0.0.1
# are expected here
relaxed() {
	conf_set_in "$1" challenge max_failures 100000 &&
	    conf_set_in "$1" http per_ip_connections $((N + 10))
}

# ------------------------------------------------------------ local CA
init_scepd "$T/loc" || bail "scepctl init (local)"
check "local: challenge.max_failures raised (the race rejects 49 from one address)" relaxed "$T/loc"
run_scepd "$T/loc" || bail "scepd (local CA) starts"
if have_cmd pki; then
	race rl "$T/loc" "$SCEPD_URL" "local CA" 1
else
	skip "pki (strongswan-pki) is not installed: no real client races alongside"
	race rl "$T/loc" "$SCEPD_URL" "local CA"
fi
stop_scepd

# ------------------------------------------------------------ exec backend
init_scepd "$T/ex" || bail "scepctl init (exec)"
check "exec: challenge.max_failures raised" relaxed "$T/ex"
mkdir -p "$T/exca"
{ echo '#!/bin/sh'; echo "T='$T'"; cat <<'EOF'; } >"$T/exca/sign.sh"
# backend.program for the test: logs every run, then signs the CSR (PEM, stdin)
# with the CA of ex/; CN=rx-refused-*: refused (exit 1)
echo "$SCEPD_OPERATION $SCEPD_TRANSACTION_ID $SCEPD_SUBJECT" >>"$T/exca/runs.log"
case "$SCEPD_SUBJECT" in
*CN=rx-refused*) echo "the test CA refuses it" >&2; exit 1 ;;
esac
[ -e "$T/exca/refuse" ] && { echo "the test CA refuses everything now" >&2; exit 1; }
# a CA that takes its time: a request let through without a reservation would
# reach it while the first one is still being signed
case "$SCEPD_SUBJECT" in *CN=rx-[0-9]*) sleep 1 ;; esac
exec openssl x509 -req -CA "$T/ex/ca.crt" -CAkey "$T/ex/ca.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days 1 2>/dev/null
EOF
chmod 755 "$T/exca/sign.sh"
check "exec: backend.type = exec" set_conf "$T/ex" type '"exec"'
sed -i "s|^\([[:space:]]*\)type = \"exec\";|&\\n\\1program = \"$T/exca/sign.sh\";|" "$T/ex/scepd.conf"
run_scepd "$T/ex" || bail "scepd (exec backend) starts"
race rx "$T/ex" "$SCEPD_URL" "exec backend"
is "$(grep -c '^submit ' "$T/exca/runs.log" 2>/dev/null)" 1 \
    "exec backend: the program was run exactly once"

# the program refuses: the password is released, the device retries with it
touch "$T/exca/refuse"
pw=$(new_otp) || bail "a one-time password"
is "$(enroll_one rxr "$T/ex" "$SCEPD_URL" "$pw")" 2/2 \
    "exec backend refuses: FAILURE badRequest"
is "$(enroll_one rxr2 "$T/ex" "$SCEPD_URL" "$pw")" 2/2 \
    "refused again: the password was released, so it reached the program again"
rm -f "$T/exca/refuse"
is "$(enroll_one rxr3 "$T/ex" "$SCEPD_URL" "$pw")" 0/ \
    "the program accepts now: SUCCESS with the same password"
is "$(enroll_one rxr4 "$T/ex" "$SCEPD_URL" "$pw")" 2/2 \
    "then the password is used: FAILURE"
is "$(grep -c ' CN=rxr4' "$T/exca/runs.log")" 0 "and the program was not run for it"
stop_scepd

# ------------------------------------------------------------ scep backend
init_scepd "$T/up" || bail "scepctl init (upstream)"
# the devices' one-time passwords are the front's: the upstream trusts the front
check "upstream: EnforcePassword = false" set_conf "$T/up" EnforcePassword false
run_scepd "$T/up" || bail "upstream scepd starts"
UP_PID=$SCEPD_PID UP_URL=$SCEPD_URL
port=$(free_port)
"$SCEPCTL_BIN" init -d "$T/front" --upstream "$UP_URL" --listen "127.0.0.1:$port" \
    >"$T/front.init.log" 2>&1 && echo "$port" >"$T/front/.test-port"
check "front: scepctl init --upstream (one-time passwords at the front)" test -s "$T/front/.test-port"
check "front: challenge.max_failures raised" relaxed "$T/front"
run_scepd "$T/front" || bail "front scepd (backend scep) starts"
FRONT_PID=$SCEPD_PID FRONT_URL=$SCEPD_URL
race rs "$T/front" "$FRONT_URL" "scep backend"
is "$(certs_named "$T/up" rs)" 1 "scep backend: the upstream issued exactly one certificate"

# the upstream is down: FAILURE, and the password stays spent (it may have issued)
SCEPD_PID=$UP_PID SCEPD_LOG=$T/up/scepd.log
stop_scepd
scepd_env "$T/front"; SCEPD_PID=$FRONT_PID
pw=$(new_otp) || bail "a one-time password"
is "$(enroll_one rsd "$T/front" "$FRONT_URL" "$pw")" 2/2 "upstream down: FAILURE badRequest"
is "$(scepctl_cmd challenge list 2>/dev/null | grep -c .)" 1 \
    "the password is not offered again (challenge list shows none unused)"
stop_scepd

# ------------------------------------------------------------ no challenge kept
# A waiting request keeps its CSR without the challenge (issue 10 defect 3):
# local CA with approval (issued later from that copy), and a scep backend
# behind approval at the front, whose upstream checks the device's (static)
# challenge: the front forwards the device's request byte for byte from the
# envelope it kept, and deletes the envelope then.
check "local CA: certificate.approval = true" set_conf "$T/loc" approval true
run_scepd "$T/loc" || bail "scepd (local CA, approval) restarts"
pw=$(new_otp) || bail "a one-time password"
is "$(enroll_one wa "$T/loc" "$SCEPD_URL" "$pw")" 3/ "approval: PENDING"
is "$(db "$T/loc" "SELECT count(*) FROM requests WHERE outcome = 'pending'")" 1 "one waiting row"
is "$(db "$T/loc" "SELECT count(*) FROM requests WHERE instr(csr, CAST('$pw' AS BLOB)) > 0")" 0 \
    "its stored CSR does not hold the one-time password"
is "$(db "$T/loc" "SELECT count(*) FROM requests WHERE envelope IS NOT NULL")" 0 \
    "and no envelope is kept (the local CA issues from the stored CSR)"
# a row as an older scepd stored it (the CSR with its challenge) loses it at start-up
stop_scepd
openssl req -in "$T/wa/one.csr" -outform DER -out "$T/wa/one.csr.der" 2>/dev/null
check "the waiting row made to hold the device's CSR, as before schema 6" python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE requests SET csr = ? WHERE outcome = ?", (open(sys.argv[2], "rb").read(), "pending"))
c.commit()' "$T/loc/scepd.db" "$T/wa/one.csr.der"
is "$(db "$T/loc" "SELECT count(*) FROM requests WHERE instr(csr, CAST('$pw' AS BLOB)) > 0")" 1 \
    "(it holds the password now)"
run_scepd "$T/loc" || bail "scepd (local CA, approval) restarts"
check_log 0 'removed the challenge password from 1 waiting request' \
    "scepd removes it at start-up, and says so"
is "$(db "$T/loc" "SELECT count(*) FROM requests WHERE instr(csr, CAST('$pw' AS BLOB)) > 0")" 0 \
    "the stored CSR no longer holds the password"
id=$(request_id "$T/loc" wa)
check "scepctl request approve" scepctl_cmd request approve "$id"
is "$(repost wa "$SCEPD_URL")" 0/ "the re-sent request gets the certificate after approval"
check "the certificate is in the store" test "$(scepctl_cmd cert list | grep -c 'CN=wa$')" = 1
stop_scepd

init_scepd "$T/up2" --challenge up-secret-2 || bail "scepctl init (upstream 2)"
run_scepd "$T/up2" || bail "upstream 2 starts"
UP2_PID=$SCEPD_PID UP2_URL=$SCEPD_URL
port=$(free_port)
"$SCEPCTL_BIN" init -d "$T/front2" --upstream "$UP2_URL" --upstream-challenge up-secret-2 \
    --challenge up-secret-2 --listen "127.0.0.1:$port" >"$T/front2.init.log" 2>&1 &&
    echo "$port" >"$T/front2/.test-port"
check "front 2: scepctl init --upstream (static challenge, checked by the upstream)" \
    test -s "$T/front2/.test-port"
check "front 2: certificate.approval = true" set_conf "$T/front2" approval true
run_scepd "$T/front2" || bail "front 2 starts"
is "$(enroll_one wf "$T/front2" "$SCEPD_URL" up-secret-2)" 3/ "front with approval: PENDING"
is "$(db "$T/front2" "SELECT count(*) FROM requests WHERE instr(csr, CAST('up-secret-2' AS BLOB)) > 0")" 0 \
    "the stored CSR does not hold the static password"
is "$(db "$T/front2" "SELECT count(*) FROM requests WHERE envelope IS NOT NULL")" 1 \
    "the envelope (encrypted to the RA) is kept for the backend"
id=$(request_id "$T/front2" wf)
check "scepctl request approve at the front" scepctl_cmd request approve "$id"
is "$(repost wf "$SCEPD_URL")" 0/ "after approval the upstream issues (it saw the device's challenge)"
is "$(db "$T/front2" "SELECT count(*) FROM requests WHERE envelope IS NOT NULL")" 0 \
    "the envelope is deleted once the backend has the request"
is "$("$SCEPCTL_BIN" -f "$T/up2/scepd.conf" cert list | grep -c 'CN=wf$')" 1 \
    "the upstream's store has the certificate"
stop_scepd
SCEPD_PID=$UP2_PID SCEPD_LOG=$T/up2/scepd.log
stop_scepd

# ------------------------------------------------------------ profiles
init_scepd "$T/pr" || bail "scepctl init (profiles)"
check "profiles: challenge.max_failures raised" relaxed "$T/pr"
conf_append "$T/pr" 'profiles = ( { name = "vpn"; }, { name = "wifi"; } );'
run_scepd "$T/pr" || bail "scepd with profiles vpn and wifi starts"
VPN_URL=$SCEPD_BASE/scep/vpn WIFI_URL=$SCEPD_BASE/scep/wifi
pv=$(scepctl_cmd challenge new --profile vpn 2>"$T/pv.err")
like "$pv" '^[0-9A-F]{16}$' "scepctl challenge new --profile vpn"
like "$(scepctl_cmd challenge new --profile nosuch 2>&1)" 'no profile named nosuch' \
    "--profile with an unknown name is refused"
is "$(enroll_one pn "$T/pr" "$SCEPD_URL" "$pv")" 2/2 "a vpn password on the NDES path: FAILURE"
check_log 0 'made for another profile' "the log says it was made for another profile"
is "$(enroll_one pw "$T/pr" "$WIFI_URL" "$pv")" 2/2 "a vpn password on profile wifi: FAILURE"
is "$(enroll_one pv "$T/pr" "$VPN_URL" "$pv")" 0/ "a vpn password on profile vpn: SUCCESS"
pd=$(new_otp) || bail "a one-time password for the NDES path"
is "$(enroll_one pd "$T/pr" "$VPN_URL" "$pd")" 2/2 "an NDES-path password on profile vpn: FAILURE"
is "$(enroll_one pd2 "$T/pr" "$SCEPD_URL" "$pd")" 0/ "and on the NDES path: SUCCESS"
like "$(scepctl_cmd challenge list 2>/dev/null | head -1)" 'PROFILE' "challenge list shows the profile"

# each profile has its admin page (PATH/mscep_admin/), handing out its own passwords
check "scepctl user add (an account for the admin pages)" \
    sh -c "printf '%s\n' 'Adm1n-pa55!' | '$SCEPCTL_BIN' -f '$SCEPD_CONF' user add alice >/dev/null"
admin_pw() {
	curl -s -g --max-time 20 --ntlm -u 'alice:Adm1n-pa55!' -o "$T/page.html" "$1" 2>/dev/null
	python3 -c 'import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-16")
m = re.search(r"The enrollment challenge password is: <B> ([0-9A-F]+) </B>", t)
print(m.group(1) if m else "")' "$T/page.html"
}
pa=$(admin_pw "$VPN_URL/mscep_admin/")
like "$pa" '^[0-9A-F]{16}$' "the admin page of profile vpn hands out a password"
is "$(enroll_one pa1 "$T/pr" "$SCEPD_URL" "$pa")" 2/2 "refused on the NDES path"
is "$(enroll_one pa2 "$T/pr" "$VPN_URL" "$pa")" 0/ "accepted on profile vpn"
pn=$(admin_pw "$SCEPD_BASE/certsrv/mscep_admin/")
like "$pn" '^[0-9A-F]{16}$' "the NDES admin page hands out a password"
is "$(enroll_one pa3 "$T/pr" "$WIFI_URL" "$pn")" 2/2 "refused on profile wifi"
code=$(curl -s -o /dev/null -w '%{http_code}' "$SCEPD_BASE/scep/nosuch/mscep_admin/")
is "$code" 404 "no admin page for a profile that does not exist"
stop_scepd

done_testing

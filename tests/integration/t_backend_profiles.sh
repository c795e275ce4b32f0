#!/bin/bash
# SPDX-License-Identifier: ISC
# t_backend_profiles.sh: each profile names its CA backend (profiles.backend,
# backends = ( ... )). One front scepd, made with `scepctl init --upstream`
# against a second scepd, serves three endpoints with a real client (strongSwan
# `pki --scep`) enrolling at each:
#   - the NDES path: the backend group ("default", type scep) forwards to the
#     upstream scepd, whose store then holds the certificate;
#   - /scep/script: backend "script" (exec), a script around `openssl x509 -req`
#     with the upstream CA's key, which logs what it was asked; it first
#     answers pending (exit 75), and the device's polls go back to that same
#     exec backend (the front's store names it) until the script issues;
#   - /scep/lab: backend "here" (local): the front signs with the CA key
#     itself, so neither the upstream nor the script sees the request.
# Every certificate verifies against the upstream CA; none reaches the wrong
# backend. scepd -t refuses a profile naming a backend that does not exist.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries
T=$TEST_TMP

if ! have_cmd pki; then
	skip "pki (strongswan-pki) is not installed: per-profile backends not exercised"
	done_testing
	exit 0
fi

# enroll URL KEY CN OUT [SECONDS]: pki --scep against URL with the front's RA
# and CA certificates, polling every second for up to SECONDS (default 30)
enroll() {
	local url=$1 key=$2 cn=$3 out=$4 secs=${5:-30}
	timeout $((secs + 30)) pki --scep --url "$url" --in "$key" \
		--dn "C=CH, O=scepd profiles, CN=$cn" --password bp-secret \
		--cacert-enc "$T/front/ra-enc.crt" --cacert-sig "$T/front/ra-sign.crt" \
		--cacert "$T/front/ca.crt" --interval 1 --maxpolltime "$secs" --outform pem \
		>"$out" 2>"$out.err"
}
use() { scepd_env "$T/$1"; }
# seen_by_upstream CERT: the upstream's store holds CERT
seen_by_upstream() { (use up; in_cert_list "$1") >/dev/null; }
# seen_by_script CN: the exec script was run for CN
seen_by_script() { grep -q -- "CN=$1" "$T/script.log" 2>/dev/null; }

# ------------------------------------------------------------ set-up
init_scepd "$T/up" --challenge bp-secret || bail "scepctl init (upstream)"
run_scepd "$T/up" || bail "upstream scepd starts"
UP_PID=$SCEPD_PID
UP_URL=$SCEPD_URL
port=$(free_port)
"$SCEPCTL_BIN" init -d "$T/front" --upstream "$UP_URL" --upstream-challenge bp-secret \
    --challenge bp-secret --listen "127.0.0.1:$port" >"$T/front.init.log" 2>&1 ||
    bail "scepctl init --upstream: $(cat "$T/front.init.log")"
echo "$port" >"$T/front/.test-port"
pass "front made with scepctl init --upstream (default backend: scep)"

# The exec backend: saves the CSR at submit, answers pending until $T/release
# exists, then signs the saved CSR with the upstream CA's key.
cat >"$T/issue.sh" <<EOF
#!/bin/sh
csr="$T/pending-\$SCEPD_TRANSACTION_ID.csr"
if [ "\$SCEPD_OPERATION" = submit ]; then
	cat >"\$csr" || exit 1
	echo "submit \$SCEPD_SUBJECT" >>"$T/script.log"
else
	echo "poll \$SCEPD_HANDLE" >>"$T/script.log"
fi
if [ ! -e "$T/release" ]; then
	echo "held-\$SCEPD_TRANSACTION_ID"
	exit 75
fi
exec openssl x509 -req -in "\$csr" -CA "$T/up/ca.crt" -CAkey "$T/up/ca.key" \
    -set_serial "0x\$(openssl rand -hex 12)" -days 1 2>/dev/null
EOF
chmod 755 "$T/issue.sh"
# The local backend needs the CA key: the front gets a copy of the upstream's.
install -m 0600 "$T/up/ca.key" "$T/front/ca.key"
sed -i "s|^\([[:space:]]*\)cert = \"$T/front/ca.crt\";|&\\n\\1key = \"ca.key\";|" \
    "$T/front/scepd.conf"
cat >>"$T/front/scepd.conf" <<EOF
backends = (
	{ name = "script"; type = "exec"; program = "$T/issue.sh"; timeout = 10; },
	{ name = "here"; type = "local"; }
);
profiles = (
	{ name = "script"; backend = "script"; },
	{ name = "lab"; backend = "here"; }
);
EOF
check "scepd -t accepts the front's configuration" "$SCEPD_BIN" -t -f "$T/front/scepd.conf"
run_scepd "$T/front" || bail "front scepd starts: $(tail -5 "$T/front/scepd.log")"
use front
FRONT_BASE=$SCEPD_BASE
FRONT_URL=$SCEPD_URL
like "$(cat "$SCEPD_LOG")" "profile default: certificates are issued by backend default .scep." \
    "front log: the NDES path uses the default backend (scep)"
like "$(cat "$SCEPD_LOG")" "profile script: certificates are issued by backend script .exec." \
    "front log: profile script uses backend script (exec)"
like "$(cat "$SCEPD_LOG")" "profile lab: certificates are issued by backend here .local." \
    "front log: profile lab uses backend here (local)"

# ------------------------------------------------------------ NDES path -> upstream
new_rsa_key "$T/n.key"
mark=$(log_mark)
enroll "$FRONT_URL" "$T/n.key" bp-ndes "$T/n.crt"
is "$?" 0 "pki at the NDES path: SUCCESS"
check "it verifies against the upstream CA, for the device's key" \
    verify_issued "$T/n.crt" "$T/n.key" "$T/up/ca.crt"
check "the upstream issued it (its store holds it)" seen_by_upstream "$T/n.crt"
check "the script was not asked" eval '! seen_by_script bp-ndes'
check "the front's store records it" in_cert_list "$T/n.crt"

# ------------------------------------------------------------ /scep/lab -> local
new_rsa_key "$T/l.key"
enroll "$FRONT_BASE/scep/lab" "$T/l.key" bp-lab "$T/l.crt"
is "$?" 0 "pki at /scep/lab: SUCCESS"
check "it verifies against the (same) CA, for the device's key" \
    verify_issued "$T/l.crt" "$T/l.key" "$T/up/ca.crt"
check "the upstream did not see it" eval '! seen_by_upstream "$T/l.crt"'
check "the script was not asked" eval '! seen_by_script bp-lab'
check "the front's store records it" in_cert_list "$T/l.crt"

# ------------------------------------------------------------ /scep/script -> exec, pending
new_rsa_key "$T/s.key"
mark=$(log_mark)
enroll "$FRONT_BASE/scep/script" "$T/s.key" bp-script "$T/s.crt" 60 &
PKI_S=$!
track_pid "$PKI_S"
check_log "$mark" 'type=PKCSReq.*outcome="?PENDING' "the exec backend's pending: front answers PENDING"
check_log "$mark" 'type=CertPoll.*outcome="?PENDING' "pki polls, still PENDING"
check "the script was asked to submit" seen_by_script bp-script
check "and the device's polls reached the script (SCEPD_HANDLE passed back)" \
    grep -q "^poll held-" "$T/script.log"
backend=$(sqlite3 "$T/front/scepd.db" \
    "SELECT backend FROM requests WHERE subject LIKE '%bp-script%' AND outcome = 'pending';" 2>&1)
is "$backend" "script" "the front's store names the backend holding the request: script"
list=$(scepctl_cmd request list 2>&1)
like "$list" 'ca script.*bp-script' "scepctl request list: it waits for ca script"
id=$(printf '%s\n' "$list" | awk '/bp-script/ { print $1; exit }')
out=$(scepctl_cmd request approve "$id" 2>&1)
isnt "$?" 0 "scepctl request approve is refused for a request the backend holds"
like "$out" 'waits for CA backend script, which decides it' "and says the backend decides it"
touch "$T/release"
wait "$PKI_S"
is "$?" 0 "pki gets its certificate once the script issues"
check "it verifies against the CA, for the device's key" \
    verify_issued "$T/s.crt" "$T/s.key" "$T/up/ca.crt"
check "the upstream did not see it" eval '! seen_by_upstream "$T/s.crt"'
check_log "$mark" 'type=CertPoll.*outcome="?SUCCESS' "front log: CertPoll SUCCESS"
check "the front's store records it" in_cert_list "$T/s.crt"

# A held request whose backend is taken out of the configuration: FAILURE, said plainly.
rm -f "$T/release"
new_rsa_key "$T/o.key"
mark=$(log_mark)
enroll "$FRONT_BASE/scep/script" "$T/o.key" bp-orphan "$T/o.crt" 60 &
PKI_O=$!
track_pid "$PKI_O"
check_log "$mark" 'type=PKCSReq.*outcome="?PENDING' "another request waits at the script"
kill "$PKI_O" 2>/dev/null; wait "$PKI_O" 2>/dev/null
stop_scepd
sed -i 's/{ name = "script"; backend = "script"; }/{ name = "script"; backend = "here"; }/; /name = "script"; type = "exec"/d' \
    "$T/front/scepd.conf"
run_scepd "$T/front" || bail "front restarts without the script backend"
mark=$(log_mark)
enroll "$FRONT_BASE/scep/script" "$T/o.key" bp-orphan "$T/o.crt" 5
isnt "$?" 0 "the device sending its request again gets FAILURE"
check_log "$mark" 'waits for backend script, which is not configured any more' \
    "front log: the request waits for backend script, which is not configured any more"
check "and it was not issued by another backend" test ! -s "$T/o.crt"
stop_scepd

# ------------------------------------------------------------ a backend that does not exist
cp "$T/front/scepd.conf" "$T/bad.conf"
sed -i 's/{ name = "lab"; backend = "here"; }/{ name = "lab"; backend = "nowhere"; }/' "$T/bad.conf"
out=$("$SCEPD_BIN" -t -f "$T/bad.conf" 2>&1)
isnt "$?" 0 "scepd -t refuses a profile naming an unknown backend"
like "$out" 'profiles.backend: no backend named "nowhere"' "and says which name"

use up
SCEPD_PID=$UP_PID
stop_scepd
done_testing

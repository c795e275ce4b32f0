#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_forward.sh: a front scepd whose CA backend is not the local CA, with real
# clients (strongSwan `pki --scep`, micromdm's scepclient) enrolling against
# the FRONT on 127.0.0.1:
#   - backend scep forwarding to a second scepd (local CA): SUCCESS with pki
#     and with scepclient (single DES: the front has scep.allow_des = true),
#     the certificate verifies against the upstream CA and is in both stores;
#     upstream manual approval -> PENDING at the front -> pki polls -> SUCCESS
#     after `scepctl request approve` on the upstream;
#   - the upstream stopped: FAILURE (when_unavailable = failure) or PENDING
#     (= pending, completed by a later poll once the upstream is back), while
#     GetCACaps and GetCACert keep answering 200;
#   - `scepctl request list` / `request show` name what a waiting request
#     waits for: at the front the CA backend with a handle (upstream approval)
#     or the backend to submit to again (upstream down), at the upstream approval;
#   - backend scep forwarding to micromdm's scepserver (Debian package scep);
#   - backend exec with a small script around `openssl x509 -req`: SUCCESS
#     with pki and scepclient; the script's "pending" (exit 75) until the test
#     releases the request, pki polling until it gets the certificate; its
#     refusal (exit 1, reason on stderr) is a FAILURE with that reason.
# It also prints the added latency of forwarding (pki direct vs through the front).
set -u
. "$(dirname "$0")/lib.sh"
need_binaries
T=$TEST_TMP

if ! have_cmd pki; then
	skip "pki (strongswan-pki) is not installed: forwarding not exercised with a real client"
	done_testing
	exit 0
fi

# enroll URL DIR KEY CN PASSWORD OUT [SECONDS]: pki --scep against URL with DIR's
# RA and CA certificates; polls every second for up to SECONDS (default 30)
enroll() {
	local url=$1 dir=$2 key=$3 cn=$4 pw=$5 out=$6 secs=${7:-30}
	timeout $((secs + 30)) pki --scep --url "$url" --in "$key" \
		--dn "C=CH, O=scepd forward, CN=$cn" --password "$pw" \
		--cacert-enc "$dir/ra-enc.crt" --cacert-sig "$dir/ra-sign.crt" \
		--cacert "$dir/ca.crt" --interval 1 --maxpolltime "$secs" --outform pem \
		>"$out" 2>"$out.err"
}

# use NAME: make daemon NAME (up, front, ...) the current one for lib.sh
declare -A D_PID
use() {
	scepd_env "$T/$1"
	SCEPD_PID=${D_PID[$1]:-}
}
start() { run_scepd "$T/$1" && D_PID[$1]=$SCEPD_PID; }
stop() { use "$1"; stop_scepd; D_PID[$1]=; }
# front_init NAME UPSTREAM-URL CHALLENGE [init options]: scepctl init --upstream
front_init() {
	local name=$1 url=$2 pw=$3 port; shift 3
	port=$(free_port)
	"$SCEPCTL_BIN" init -d "$T/$name" --upstream "$url" --upstream-challenge "$pw" \
	    --challenge "$pw" --listen "127.0.0.1:$port" "$@" >"$T/$name.init.log" 2>&1 &&
	    echo "$port" >"$T/$name/.test-port"
}
ms_now() { date +%s%N | cut -c1-13; }

# sc_enroll NAME URL PASSWORD: scepclient (single DES) in a fresh folder
# $T/sc-NAME (it keeps csr.pem beside its key and reuses it); sets EK (key),
# EC (certificate), EOUT (its output); returns its exit status
sc_enroll() {
	local dir=$T/sc-$1
	mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/scepclient.out
	timeout 30 scepclient -server-url "$2" -challenge "$3" -private-key "$EK" \
	    -certificate "$EC" -cn "it-$1" -debug >"$EOUT" 2>&1
}
HAVE_SCEPCLIENT=1
have_cmd scepclient || HAVE_SCEPCLIENT=0

# waiting_line DIR ERE: the line of DIR's `scepctl request list` matching ERE
waiting_line() {
	"$SCEPCTL_BIN" -f "$1/scepd.conf" request list 2>&1 |
	    awk -v re="$2" 'NR > 1 && $0 ~ re { print; exit }'
}

# ------------------------------------------------------------ scepd -> scepd

init_scepd "$T/up" --challenge up-secret-1 || bail "scepctl init (upstream)"
start up || bail "upstream scepd starts"
pass "upstream scepd (local CA) starts"
UP_URL=$SCEPD_URL
check "front: scepctl init --upstream (scepd)" front_init front "$UP_URL" up-secret-1
# scepclient 2.1 envelopes with single DES only
check "front: scep.allow_des = true (for scepclient)" set_conf "$T/front" allow_des true
start front || bail "front scepd starts"
pass "front scepd (backend scep) starts"
like "$(cat "$SCEPD_LOG")" "profile default: certificates are issued by backend default .scep." \
    "front logs which backend issues"
FRONT_URL=$SCEPD_URL

new_rsa_key "$T/a.key"
mark=$(log_mark)
enroll "$FRONT_URL" "$T/front" "$T/a.key" it-fwd-a up-secret-1 "$T/a.crt"
is "$?" 0 "pki --scep through the front: SUCCESS"
check "the certificate verifies against the upstream CA, for the device's key" \
    verify_issued "$T/a.crt" "$T/a.key" "$T/up/ca.crt"
check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS' "front log: PKCSReq SUCCESS"
check "the front's store records the certificate (scepctl cert list)" in_cert_list "$T/a.crt"
use up
check "the upstream's store records it too" in_cert_list "$T/a.crt"

# scepclient (single DES to the front) through the front
if [ $HAVE_SCEPCLIENT = 1 ]; then
	use front
	mark=$(log_mark)
	sc_enroll fwd "$FRONT_URL" up-secret-1
	is "$?" 0 "scepclient through the front: SUCCESS"
	check "scepclient's certificate verifies against the upstream CA, for its key" \
	    verify_issued "$EC" "$EK" "$T/up/ca.crt"
	is "$(cert_cn "$EC")" it-fwd "scepclient's certificate has the requested CN"
	check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS' "front log: scepclient's PKCSReq SUCCESS"
	check "the front's store records scepclient's certificate" in_cert_list "$EC"
	use up
	check "the upstream's store records it too" in_cert_list "$EC"
else
	skip "scepclient (Debian package scep) is not installed: not enrolled through the front"
fi

# latency: one enrollment direct to the upstream vs through the front (3 each)
direct=() fwd=()
for i in 1 2 3; do
	new_rsa_key "$T/ld$i.key"
	new_rsa_key "$T/lf$i.key"
	t0=$(ms_now); enroll "$UP_URL" "$T/up" "$T/ld$i.key" it-lat-d$i up-secret-1 "$T/ld$i.crt"
	t1=$(ms_now); direct+=($((t1 - t0)))
	t0=$(ms_now); enroll "$FRONT_URL" "$T/front" "$T/lf$i.key" it-lat-f$i up-secret-1 "$T/lf$i.crt"
	t1=$(ms_now); fwd+=($((t1 - t0)))
done
check "latency runs enrolled (direct and forwarded)" \
    test -s "$T/ld1.crt" -a -s "$T/ld2.crt" -a -s "$T/ld3.crt" -a -s "$T/lf1.crt" -a -s "$T/lf2.crt" -a -s "$T/lf3.crt"
diag "latency of one pki --scep enrollment (GetCACaps + GetCACert + PKCSReq), ms:" \
    "  direct to the upstream: ${direct[*]}" "  through the front:      ${fwd[*]}"

# upstream manual approval: PENDING carries through the front
check "upstream: certificate.approval = true" set_conf "$T/up" approval true
stop up
start up || bail "upstream restarts with approval"
new_rsa_key "$T/b.key"
use front
mark=$(log_mark)
enroll "$FRONT_URL" "$T/front" "$T/b.key" it-fwd-b up-secret-1 "$T/b.crt" 60 &
PKI_B=$!
track_pid "$PKI_B"
check_log "$mark" 'type=PKCSReq.*outcome="?PENDING' "front answers PENDING (upstream waits for approval)"
check_log "$mark" 'type=CertPoll.*outcome="?PENDING' "pki polls the front, still PENDING"
id=
for _ in $(seq 300); do
	id=$("$SCEPCTL_BIN" -f "$T/up/scepd.conf" request list 2>/dev/null |
	    awk 'NR > 1 && /it-fwd-b/ { print $1; exit }')
	[ -n "$id" ] && break
	sleep 0.1
done
like "$id" '^[0-9]+$' "the request waits on the upstream (scepctl request list there)"
like "$(waiting_line "$T/up" it-fwd-b)" '^[0-9]+ +waiting .* approval +CN=it-fwd-b,' \
    "upstream's request list: it waits for approval"
# the front holds it for its backend, with the upstream's handle to poll
line=$(waiting_line "$T/front" it-fwd-b)
like "$line" '^[0-9]+ +waiting .* ca [[:alnum:]_.-]+ +CN=it-fwd-b,' \
    "front's request list: WAITS FOR ca NAME (the backend has it)"
fid=${line%% *}
out=$("$SCEPCTL_BIN" -f "$T/front/scepd.conf" request show "$fid" 2>&1)
like "$out" '^waits for +ca [[:alnum:]_.-]+$' "front's request show: waits for ca NAME"
like "$out" '^backend +[[:alnum:]_.-]+$' "front's request show: the backend"
like "$out" '^backend handle +[^- ]' "front's request show: the backend's handle"
check "scepctl request approve on the UPSTREAM" \
    "$SCEPCTL_BIN" -f "$T/up/scepd.conf" request approve "$id"
wait "$PKI_B"
is "$?" 0 "pki gets its certificate through the front after the upstream approval"
check "that certificate verifies against the upstream CA" \
    verify_issued "$T/b.crt" "$T/b.key" "$T/up/ca.crt"
check_log "$mark" 'type=CertPoll.*outcome="?SUCCESS' "front log: CertPoll SUCCESS"
check "the front's store records it" in_cert_list "$T/b.crt"
check "upstream: certificate.approval = false" set_conf "$T/up" approval false
stop up

# ------------------------------------------------------------ upstream stopped
use front
new_rsa_key "$T/c.key"
mark=$(log_mark)
enroll "$FRONT_URL" "$T/front" "$T/c.key" it-fwd-down up-secret-1 "$T/c.crt" 5
isnt "$?" 0 "upstream down, when_unavailable = failure: pki fails"
check_log "$mark" 'type=PKCSReq.*outcome="?FAILURE.*failInfo="?badRequest.*not available' \
    "front log: FAILURE badRequest, the CA is not available"
code=$(curl -s -o "$T/caps" -w '%{http_code}' "$FRONT_URL?operation=GetCACaps")
is "$code" 200 "GetCACaps answers 200 with the upstream down"
code=$(curl -s -o "$T/cacert" -w '%{http_code}' "$FRONT_URL?operation=GetCACert")
is "$code" 200 "GetCACert answers 200 with the upstream down"
stop front
check "front: backend.when_unavailable = pending" set_conf "$T/front" when_unavailable '"pending"'
start front || bail "front restarts"
new_rsa_key "$T/d.key"
mark=$(log_mark)
enroll "$FRONT_URL" "$T/front" "$T/d.key" it-fwd-later up-secret-1 "$T/d.crt" 60 &
PKI_D=$!
track_pid "$PKI_D"
check_log "$mark" 'type=PKCSReq.*outcome="?PENDING.*not available' \
    "upstream down, when_unavailable = pending: PENDING"
check_log "$mark" 'type=CertPoll.*outcome="?PENDING' "pki polls, still PENDING while the upstream is down"
line=$(waiting_line "$T/front" it-fwd-later)
like "$line" '^[0-9]+ +waiting .* ca [[:alnum:]_.-]+ \(resubmit\) +CN=it-fwd-later,' \
    "front's request list: WAITS FOR ca NAME (resubmit) (no handle, the upstream is down)"
out=$("$SCEPCTL_BIN" -f "$T/front/scepd.conf" request show "${line%% *}" 2>&1)
like "$out" '^backend handle +- \(submitted again' "front's request show: no handle, submitted again"
start up || bail "upstream starts again"
wait "$PKI_D"
is "$?" 0 "pki gets its certificate once the upstream is back (the poll resubmits)"
check "that certificate verifies against the upstream CA" \
    verify_issued "$T/d.crt" "$T/d.key" "$T/up/ca.crt"
stop up
stop front

# ------------------------------------------------------------ scepd -> micromdm scepserver
if command -v scepserver >/dev/null; then
	mkdir -p "$T/mm"
	check "scepserver ca -init" scepserver ca -init -depot "$T/mm/depot" -keySize 2048
	mport=$(free_port)
	scepserver -depot "$T/mm/depot" -port "$mport" -challenge mm-secret -allowrenew 0 \
	    >"$T/mm.log" 2>&1 &
	MPID=$!
	track_pid "$MPID"
	murl=http://127.0.0.1:$mport/scep
	for _ in $(seq 100); do
		curl -s -o /dev/null "$murl?operation=GetCACaps" && break
		sleep 0.1
	done
	check "front2: scepctl init --upstream (scepserver)" front_init front2 "$murl" mm-secret
	start front2 || bail "front2 starts"
	new_rsa_key "$T/m.key"
	mark=$(log_mark)
	enroll "$SCEPD_URL" "$T/front2" "$T/m.key" it-fwd-mm mm-secret "$T/m.crt"
	is "$?" 0 "pki --scep through the front to scepserver: SUCCESS"
	check "the certificate verifies against scepserver's CA" \
	    verify_issued "$T/m.crt" "$T/m.key" "$T/mm/depot/ca.pem"
	check "the front's store records it" in_cert_list "$T/m.crt"
	stop_pid "$MPID"
	stop front2
else
	skip "scepserver (Debian package scep) is not installed"
fi

# ------------------------------------------------------------ exec backend
init_scepd "$T/ex" --challenge ex-secret || bail "scepctl init (exec)"
mkdir -p "$T/exca/held"
{ echo '#!/bin/sh'; echo "T='$T'"; cat <<'EOF'; } >"$T/exca/sign.sh"
# backend.program for the test (scepd.conf(5) THE EXEC BACKEND): the CSR (PEM)
# on stdin -> the certificate (PEM) on stdout, signed by the CA in ex/ca.crt.
# CN=it-exec-refuse: refused (exit 1, the reason on stderr).
# CN=it-exec-hold: pending (exit 75, the handle on stdout; the CSR is kept in
# exca/held) until the file exca/release exists; polls then get the certificate.
sign() {
	exec openssl x509 -req -CA "$T/ex/ca.crt" -CAkey "$T/ex/ca.key" \
	    -set_serial "0x$(openssl rand -hex 12)" -days 1 "$@" 2>/dev/null
}
case "$SCEPD_OPERATION:$SCEPD_SUBJECT" in
poll:*)
	case "$SCEPD_HANDLE" in
	hold-*[!A-Za-z0-9-]* | hold-) echo "bad handle: $SCEPD_HANDLE" >&2; exit 1 ;;
	hold-*) ;;
	*) echo "unknown handle: $SCEPD_HANDLE" >&2; exit 1 ;;
	esac
	[ -e "$T/exca/release" ] || { echo "held by the test" >&2; exit 75; }
	sign -in "$T/exca/held/$SCEPD_HANDLE.csr"
	;;
submit:*CN=it-exec-refuse*)
	echo "the test CA refuses it-exec-refuse (policy 42)" >&2
	exit 1
	;;
submit:*CN=it-exec-hold*)
	h=hold-$(printf '%s' "$SCEPD_TRANSACTION_ID" | tr -cd 'A-Za-z0-9' | cut -c1-64)
	cat >"$T/exca/held/$h.csr" || exit 1
	echo "$h"
	exit 75
	;;
esac
sign
EOF
chmod 755 "$T/exca/sign.sh"
check "exec: backend.type = exec" set_conf "$T/ex" type '"exec"'
sed -i "s|^\([[:space:]]*\)type = \"exec\";|&\\n\\1program = \"$T/exca/sign.sh\";|" "$T/ex/scepd.conf"
check "exec: scep.allow_des = true (for scepclient)" set_conf "$T/ex" allow_des true
check "exec: backend.program set, scepd -t accepts it" "$SCEPD_BIN" -t -f "$T/ex/scepd.conf"
start ex || bail "scepd with the exec backend starts"
new_rsa_key "$T/e.key"
mark=$(log_mark)
enroll "$SCEPD_URL" "$T/ex" "$T/e.key" it-exec ex-secret "$T/e.crt"
is "$?" 0 "pki --scep with the exec backend: SUCCESS"
check "the certificate verifies against the CA the script signs with" \
    verify_issued "$T/e.crt" "$T/e.key" "$T/ex/ca.crt"
check "the store records it" in_cert_list "$T/e.crt"

if [ $HAVE_SCEPCLIENT = 1 ]; then
	mark=$(log_mark)
	sc_enroll exec "$SCEPD_URL" ex-secret
	is "$?" 0 "scepclient with the exec backend: SUCCESS"
	check "scepclient's certificate verifies against the script's CA, for its key" \
	    verify_issued "$EC" "$EK" "$T/ex/ca.crt"
	check_log "$mark" 'type=PKCSReq.*outcome="?SUCCESS' "log: scepclient's PKCSReq SUCCESS"
	check "the store records scepclient's certificate" in_cert_list "$EC"
else
	skip "scepclient (Debian package scep) is not installed: not enrolled with the exec backend"
fi

# the program answers pending (exit 75) until the test releases the request
new_rsa_key "$T/h.key"
mark=$(log_mark)
enroll "$SCEPD_URL" "$T/ex" "$T/h.key" it-exec-hold ex-secret "$T/h.crt" 20 &
PKI_H=$!
track_pid "$PKI_H"
check_log "$mark" 'type=PKCSReq.*outcome="?PENDING' "exec program exits 75: PENDING"
check_log "$mark" 'type=CertPoll.*outcome="?PENDING' \
    "pki polls, still PENDING while the program holds it"
line=$(waiting_line "$T/ex" it-exec-hold)
like "$line" '^[0-9]+ +waiting .* ca [[:alnum:]_.-]+ +CN=it-exec-hold,' \
    "request list: WAITS FOR ca NAME (the exec backend has it)"
out=$(scepctl_cmd request show "${line%% *}" 2>&1)
like "$out" '^backend handle +exec1;hold-[[:alnum:]]+$' \
    "request show: the handle the program printed"
check "the test releases the request" touch "$T/exca/release"
wait "$PKI_H"
is "$?" 0 "pki gets its certificate once the program issues on a poll"
check "that certificate verifies against the script's CA, for the device's key" \
    verify_issued "$T/h.crt" "$T/h.key" "$T/ex/ca.crt"
check_log "$mark" 'type=CertPoll.*outcome="?SUCCESS' "log: CertPoll SUCCESS"
check "the store records it" in_cert_list "$T/h.crt"
is "$(waiting_line "$T/ex" it-exec-hold)" "" "request list: no longer waiting"

# the program refuses (exit 1): FAILURE with its stderr as the reason
new_rsa_key "$T/r.key"
mark=$(log_mark)
enroll "$SCEPD_URL" "$T/ex" "$T/r.key" it-exec-refuse ex-secret "$T/r.crt" 5
isnt "$?" 0 "exec program exits 1: pki fails"
check "no certificate for the refused request" test ! -s "$T/r.crt"
like "$(cat "$T/r.crt.err")" 'failInfo: +badRequest' "pki reports the FAILURE with failInfo badRequest"
check_log "$mark" 'type=PKCSReq.*outcome="?FAILURE.*failInfo="?badRequest' \
    "log: PKCSReq FAILURE badRequest"
check_log "$mark" \
    'type=PKCSReq.*outcome="?FAILURE.*reason=.*the test CA refuses it-exec-refuse \(policy 42\)' \
    "log: the reason is the program's stderr"
stop ex

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_ca_backend.sh: the scep CA backend against real upstream SCEP servers on
# 127.0.0.1: a second scepd (scepctl init + scepd -f) and micromdm's scepserver
# (Debian package scep). For each: `scepctl init --upstream` obtains the RA
# certificates over SCEP and writes a forwarding configuration; ca_driver (a
# small C program linking libscepd.a) calls the backend as the pipeline will,
# and the certificate must verify against the upstream CA; a wrong challenge is
# refused; the upstream stopped gives "unavailable" at once, and a front scepd
# keeps answering GetCACaps and GetCACert. Prints TAP.
set -u
cd "$(dirname "$0")/../.."
TOP=$PWD
SCEPD=$TOP/scepd
SCEPCTL=$TOP/scepctl
DRIVER=$TOP/tests/integration/ca_driver
T=$(mktemp -d "${TMPDIR:-/tmp}/scepd-ca.XXXXXX") || exit 1
n=0
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# check DESC CMD...: ok when the command succeeds
check() { local d=$1 out; shift; if out=$("$@" 2>&1); then ok "$d"; else notok "$d" "$*" "$(printf '%s\n' "$out" | head -12)"; fi; }
is() { if [ "$1" = "$2" ]; then ok "$3"; else notok "$3" "got '$1'" "want '$2'"; fi; }
like() { if printf '%s' "$1" | grep -Eq -- "$2"; then ok "$3"; else notok "$3" "got '$(printf '%s' "$1" | head -c 400)'" "want /$2/"; fi; }
# finish: no sanitizer report in any daemon log (built with make check-sanitizers), then the plan
finish() {
	local logs
	logs=$(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T"/*.log 2>/dev/null)
	if [ -n "$logs" ]; then notok "no sanitizer report in the daemons' logs" "$logs"
	else ok "no sanitizer report in the daemons' logs"; fi
	echo "1..$n"
	exit 0
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL: until it answers 200 (10 s at most)
wait_http() {
	local i
	for i in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

stop() {
	local p=$1 q keep=()
	kill "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	pids=("${keep[@]}")
}

# drive DESC EXPECTED-EXIT ARGS...: runs ca_driver, sets $out, $ms (the whole run)
# and $call_ms (the backend call alone, as ca_driver measured it)
drive() {
	local desc=$1 want=$2 rc t0 t1; shift 2
	t0=$(date +%s%N)
	out=$("$DRIVER" "$@" 2>&1); rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	call_ms=$(printf '%s' "$out" | sed -n 's/^outcome=[A-Z]* ms=\([0-9]*\).*/\1/p')
	if [ "$rc" = "$want" ]; then ok "$desc"; else notok "$desc" "exit $rc, want $want" "$out"; fi
}

for b in "$SCEPD" "$SCEPCTL" "$DRIVER"; do
	[ -x "$b" ] || { notok "$(basename "$b") is built" "run make build-tests"; finish; }
done
for c in curl openssl python3; do
	command -v "$c" >/dev/null || { notok "$c is installed"; finish; }
done

# ------------------------------------------------------------ a second scepd upstream

up=$T/up
uport=$(free_port)
check "upstream scepd: scepctl init" "$SCEPCTL" init -d "$up" --challenge up-secret-1 \
    --listen "127.0.0.1:$uport"
"$SCEPD" -f "$up/scepd.conf" 2>"$T/up.log" &
upid=$!
pids+=("$upid")
uurl=http://127.0.0.1:$uport/certsrv/mscep/mscep.dll
if ! wait_http "$uurl?operation=GetCACaps"; then
	notok "upstream scepd answers" "$(tail -5 "$T/up.log")"
	finish
fi
ok "upstream scepd answers GetCACaps"

front=$T/front
fport=$(free_port)
init_out=$("$SCEPCTL" init -d "$front" --upstream "$uurl" --upstream-challenge up-secret-1 \
    --listen "127.0.0.1:$fport" 2>&1)
rc=$?
is "$rc" 0 "scepctl init --upstream (scepd upstream) succeeds"
like "$init_out" "RA signing +$front/ra-sign.crt: issued by the upstream CA" \
    "RA signing certificate issued by the upstream"
like "$init_out" "RA encryption +$front/ra-enc.crt: issued by the upstream CA" \
    "RA encryption certificate issued by the upstream"
check "front ca.crt is the upstream CA certificate" cmp "$front/ca.crt" "$up/ca.crt"
check "RA certificates verify against the upstream CA" \
    openssl verify -CAfile "$up/ca.crt" "$front/ra-sign.crt" "$front/ra-enc.crt"
like "$(openssl x509 -in "$front/ra-enc.crt" -noout -ext keyUsage 2>&1)" "Key Encipherment" \
    "RA encryption certificate has keyEncipherment"
like "$(openssl x509 -in "$front/ra-sign.crt" -noout -ext keyUsage 2>&1)" "Digital Signature" \
    "RA signing certificate has digitalSignature"
check "the forwarding configuration passes scepd -t" "$SCEPD" -t -f "$front/scepd.conf"
like "$(grep -E '^[[:space:]]*(type|url|challenge) =' "$front/scepd.conf" | tr '\n' ' ')" \
    "type = \"scep\";.*url = \"$uurl\";.*challenge = \"up-secret-1\";" \
    "configuration: backend scep, the URL and the upstream challenge"
if [ -e "$front/ca.key" ]; then notok "no CA key in the front"; else ok "no CA key in the front"; fi

drive "forwarded enrollment ISSUED" 0 -f "$front/scepd.conf" -s "CN=it-dev1,O=Forward" \
    -c up-secret-1 -t IT-DEV-1 -o "$T/dev1.pem"
fwd_ms=$call_ms
check "the certificate verifies against the upstream CA" \
    openssl verify -CAfile "$up/ca.crt" "$T/dev1.pem"
like "$(openssl x509 -in "$T/dev1.pem" -noout -subject 2>&1)" "CN ?= ?it-dev1" \
    "the certificate is the device's subject"
like "$("$SCEPCTL" -f "$up/scepd.conf" cert list 2>&1)" "CN=it-dev1" \
    "the upstream recorded the certificate"
like "$(grep 'txid=IT-DEV-1' "$T/up.log")" "outcome=SUCCESS" \
    "the upstream saw transactionID IT-DEV-1 and answered SUCCESS"
drive "second forwarded enrollment ISSUED (CA answers cached)" 0 -f "$front/scepd.conf" \
    -s "CN=it-dev2" -c up-secret-1 -t IT-DEV-2 -o "$T/dev2.pem"
fwd2_ms=$call_ms
drive "local backend for comparison ISSUED" 0 -f "$up/scepd.conf" -s "CN=it-local" \
    -t IT-LOCAL -o "$T/local.pem"
local_ms=$call_ms
echo "# latency of the backend call: local ${local_ms} ms; forwarded to scepd ${fwd_ms} ms" \
    "the first time (GetCACaps + GetCACert + PKCSReq), ${fwd2_ms} ms with the CA answers cached"

drive "wrong upstream challenge REFUSED" 2 -f "$front/scepd.conf" -s "CN=it-bad" \
    -c wrong -t IT-BAD
like "$out" "reason=the upstream CA refused the request: .*challenge password is wrong.*\(badRequest\)" \
    "the refusal carries the upstream's reason"

# https: the same upstream behind a TLS relay, verified with backend.ca_bundle
tport=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$T/tls.key" \
    -out "$T/tls.crt" >/dev/null 2>&1
python3 tests/integration/tls_proxy.py "$T/tls.crt" "$T/tls.key" "$tport" "$uport" \
    >"$T/tls.log" 2>&1 &
pids+=("$!")
turl=https://localhost:$tport/certsrv/mscep/mscep.dll
if wait_http "$uurl?operation=GetCACaps" && curl -s --cacert "$T/tls.crt" -o /dev/null \
    --retry 20 --retry-delay 0 --retry-connrefused "$turl?operation=GetCACaps"; then
	tfront=$T/front-tls
	init_out=$("$SCEPCTL" init -d "$tfront" --upstream "$turl" --upstream-challenge up-secret-1 \
	    --upstream-ca-bundle "$T/tls.crt" --listen "127.0.0.1:$(free_port)" 2>&1)
	is "$?" 0 "scepctl init --upstream over https with --upstream-ca-bundle"
	like "$(grep -E '^[[:space:]]*ca_bundle =' "$tfront/scepd.conf")" "ca_bundle = \"$T/tls.crt\";" \
	    "configuration keeps the CA bundle"
	drive "forwarded over https ISSUED" 0 -f "$tfront/scepd.conf" -s "CN=it-tls" \
	    -c up-secret-1 -t IT-TLS -o "$T/tls-dev.pem"
	check "the https-forwarded certificate verifies against the upstream CA" \
	    openssl verify -CAfile "$up/ca.crt" "$T/tls-dev.pem"
	sed -i "s|ca_bundle = \"$T/tls.crt\";|ca_bundle = \"$up/ca.crt\";|" "$tfront/scepd.conf"
	drive "https with a bundle that does not vouch for the server: UNAVAILABLE" 4 \
	    -f "$tfront/scepd.conf" -s "CN=it-tls-bad" -c up-secret-1 -t IT-TLS-BAD
	like "$out" "reason=upstream $turl: .*(certificate|SSL)" "the reason is the TLS verification"
else
	notok "TLS relay in front of the upstream answers" "$(cat "$T/tls.log")"
fi

# the front daemon serves GetCACaps / GetCACert from its own files
"$SCEPD" -f "$front/scepd.conf" 2>"$T/front.log" &
fpid=$!
pids+=("$fpid")
furl=http://127.0.0.1:$fport/certsrv/mscep/mscep.dll
if wait_http "$furl?operation=GetCACaps"; then ok "front scepd starts with the forwarding configuration"
else notok "front scepd starts with the forwarding configuration" "$(tail -5 "$T/front.log")"; fi

stop "$upid"
drive "upstream stopped: UNAVAILABLE" 4 -f "$front/scepd.conf" -s "CN=it-down" \
    -c up-secret-1 -t IT-DOWN
like "$out" "reason=upstream $uurl: .*(onnect|refused)" "the reason names the upstream"
if [ "$ms" -lt 5000 ]; then ok "answered at once (${ms} ms), no hang"
else notok "answered at once" "took ${ms} ms"; fi
curl -s -o "$T/cacert.der" "$furl?operation=GetCACert"
like "$(openssl pkcs7 -inform DER -in "$T/cacert.der" -print_certs -noout 2>&1 | grep -c subject)" \
    "^3$" "front GetCACert still answers with the upstream down (RA sign, RA enc, CA)"
like "$(curl -s "$furl?operation=GetCACaps")" "POSTPKIOperation" \
    "front GetCACaps still answers with the upstream down"
stop "$fpid"
out=$("$SCEPCTL" init -d "$T/front-down" --upstream "$uurl" 2>&1)
rc=$?
if [ "$rc" != 0 ] && printf '%s' "$out" | grep -q "Couldn't connect"; then
	ok "scepctl init --upstream with the upstream down fails and says why"
else
	notok "scepctl init --upstream with the upstream down fails and says why" "exit $rc" "$out"
fi
if [ -e "$T/front-down/ra-sign.key" ]; then notok "nothing written when the upstream is down"
else ok "nothing written when the upstream is down"; fi

# ------------------------------------------------------------ micromdm scepserver

if ! command -v scepserver >/dev/null; then
	skip "scepserver (Debian package scep) is not installed"
	finish
fi
mm=$T/mm
mkdir -p "$mm"
check "scepserver ca -init" scepserver ca -init -depot "$mm/depot" -keySize 2048
mport=$(free_port)
scepserver -depot "$mm/depot" -port "$mport" -challenge mm-secret -allowrenew 0 \
    >"$T/mm.log" 2>&1 &
mpid=$!
pids+=("$mpid")
murl=http://127.0.0.1:$mport/scep
if ! wait_http "$murl?operation=GetCACaps"; then
	notok "scepserver answers" "$(tail -5 "$T/mm.log")"
	finish
fi
ok "scepserver answers GetCACaps"
front2=$T/front2
init_out=$("$SCEPCTL" init -d "$front2" --upstream "$murl" --upstream-challenge mm-secret \
    --listen "127.0.0.1:$(free_port)" 2>&1)
rc=$?
is "$rc" 0 "scepctl init --upstream (scepserver) succeeds"
like "$init_out" "RA signing +$front2/ra-sign.crt: issued by the upstream CA" \
    "scepserver issued the RA signing certificate"
# scepserver issues digitalSignature only, so the encryption certificate is made here
like "$(printf '%s' "$init_out" | tr '\n' ' ')" \
    "RA encryption +$front2/ra-enc.crt: made HERE, self-signed, +because .*lacks keyEncipherment" \
    "RA encryption certificate made here, and scepctl says why"
like "$init_out" "single DES: scep.allow_des is set to true" \
    "scepserver's single-DES replies noticed"
check "front2 ca.crt is scepserver's CA" cmp "$front2/ca.crt" "$mm/depot/ca.pem"
check "front2 configuration passes scepd -t" "$SCEPD" -t -f "$front2/scepd.conf"
drive "forwarded to scepserver ISSUED" 0 -f "$front2/scepd.conf" -s "CN=it-mm1,O=Forward" \
    -c mm-secret -t IT-MM-1 -o "$T/mm1.pem"
check "the certificate verifies against scepserver's CA" \
    openssl verify -CAfile "$mm/depot/ca.pem" "$T/mm1.pem"
like "$(openssl x509 -in "$T/mm1.pem" -noout -subject 2>&1)" "CN ?= ?it-mm1" \
    "the certificate is the device's subject"
drive "wrong challenge at scepserver REFUSED" 2 -f "$front2/scepd.conf" -s "CN=it-mm-bad" \
    -c nope -t IT-MM-BAD
stop "$mpid"
drive "scepserver stopped: UNAVAILABLE" 4 -f "$front2/scepd.conf" -s "CN=it-mm-down" \
    -c mm-secret -t IT-MM-DOWN
if [ "$ms" -lt 5000 ]; then ok "answered at once (${ms} ms)"; else notok "answered at once" "${ms} ms"; fi
finish

# SPDX-License-Identifier: ISC
# tests/integration/lib.sh: helpers sourced by the end-to-end tests t_*.sh, which run
# the real scepd on 127.0.0.1 and enroll with real SCEP clients. It owns the TAP
# counter, temporary state (one mktemp folder per script, removed on exit unless
# KEEP_TMP is set), starting and stopping daemons (scepd, certmonger), log matching,
# and checks of issued certificates and CertRep replies.
#
# Environment: SCEPD_TOP (repository root, default: two folders above this file),
# SCEPD_FIXTURES (client fixtures, default $SCEPD_TOP/tests/data/clients),
# KEEP_TMP (keep the temporary folder), TMPDIR.
#
# Only loopback (127.0.0.1) is ever used.

set -u

: "${SCEPD_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${SCEPD_FIXTURES:=$SCEPD_TOP/tests/data/clients}"
SCEPD_BIN=$SCEPD_TOP/scepd
SCEPCTL_BIN=$SCEPD_TOP/scepctl
SCEP_SUBMIT=${SCEP_SUBMIT:-/usr/lib/certmonger/scep-submit}
CAPTURE_SERVER=$SCEPD_TOP/tests/capture/capture_server.py
# The default GetCACaps answer (issue text): CRLF-separated, in this order; scepd
# adds Renewal itself because renewal is enabled by default.
DEFAULT_CAPS="POSTPKIOperation SHA-512 SHA-384 SHA-256 SHA-1 AES DES3 SCEPStandard Renewal"
NDES_PATH=/certsrv/mscep/mscep.dll

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepd-it.XXXXXX") || {
	echo "not ok 1 - cannot create a temporary folder"; echo "1..1"; exit 0; }
_bg_pids=()
_tap_n=0
_tap_failed=0

# ---------------------------------------------------------------- cleanup

_cleanup() {
	local p
	for p in "${_bg_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_bg_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${KEEP_TMP:-}" ]; then
		echo "# temporary files kept in $TEST_TMP"
	else
		rm -rf "$TEST_TMP"
	fi
}
trap _cleanup EXIT

# remember a background process (by PID) so that cleanup ends it
track_pid() { _bg_pids+=("$1"); }

# stop_pid PID [SIGNAL]: end one tracked process (default SIGTERM), wait for it
# (5 s, then KILL) and forget it; its exit status is left in STOPPED_RC
stop_pid() {
	local p=$1 sig=${2:-TERM} q keep=()
	kill -s "$sig" "$p" 2>/dev/null
	# wait at most ~5 s for it to go, then force
	for _ in $(seq 50); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	STOPPED_RC=$?
	for q in "${_bg_pids[@]}"; do
		[ "$q" = "$p" ] || keep+=("$q")
	done
	_bg_pids=("${keep[@]}")
}

# ---------------------------------------------------------------- TAP

diag() { local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }

pass() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }

# fail DESC [diagnostic lines...]: also shows the newest scepd log lines
fail() {
	_tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -gt 0 ] && diag "$@"
	if [ -n "${SCEPD_LOG:-}" ] && [ -s "$SCEPD_LOG" ]; then
		diag "scepd log (last lines):"
		tail -n 3 "$SCEPD_LOG" | cut -c1-300 | sed 's/^/#   /'
	fi
	return 0
}

skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $1"; }

# check DESC CMD [ARGS...]: ok when the command succeeds. The command runs in a
# subshell (so it cannot set variables); its output is shown only on failure.
check() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then
		pass "$desc"
	else
		fail "$desc" "failed: $*" "$(printf '%s\n' "$out" | head -n 15)"
	fi
}

# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then pass "$3"
	else fail "$3" "got:      '$(printf '%s' "$1" | head -c 300)'" \
		"expected: '$(printf '%s' "$2" | head -c 300)'"; fi
}

# isnt GOT UNWANTED DESC
isnt() {
	if [ "$1" != "$2" ]; then pass "$3"
	else fail "$3" "got '$1', which it must not be"; fi
}

# like GOT ERE DESC
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"
	else fail "$3" "got:      '$(printf '%s' "$1" | head -c 300)'" "expected: /$2/"; fi
}

# unlike GOT ERE DESC
unlike() {
	if ! printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"
	else fail "$3" "got '$(printf '%s' "$1" | grep -E -- "$2" | head -c 300)', which must not match /$2/"; fi
}

done_testing() { echo "1..$_tap_n"; }

# bail DESC [diag...]: a failure that makes the rest of the script meaningless
bail() {
	fail "$@"
	done_testing
	exit 0
}

# need_binaries: the daemon and scepctl must have been built (a failure, not a skip)
need_binaries() {
	local b missing=0
	for b in "$SCEPD_BIN" "$SCEPCTL_BIN"; do
		if [ ! -x "$b" ]; then
			fail "$(basename "$b") binary is built ($b)" "run make in $SCEPD_TOP first"
			missing=1
		fi
	done
	if [ $missing = 1 ]; then done_testing; exit 0; fi
	for b in curl openssl python3; do
		command -v "$b" >/dev/null 2>&1 || bail "$b is installed (needed by every test)"
	done
}

# have_cmd CMD: true if the client program exists
have_cmd() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }

# wait_until SECONDS CMD [ARGS...]: run CMD every 0.1 s until it succeeds (true)
# or SECONDS have passed (false). Tests wait on conditions, never on fixed sleeps.
wait_until() {
	local secs=$1 end; shift
	end=$(( $(date +%s%N) / 1000000 + secs * 1000 ))
	while ! "$@"; do
		[ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
		sleep 0.1
	done
}

# ---------------------------------------------------------------- ports, daemons

# free_port: a loopback TCP port nothing is bound to, for a daemon a test starts.
# It is picked at random outside the kernel's ephemeral range
# (net.ipv4.ip_local_port_range): a port from that range, once closed again,
# can be taken by any outgoing connection of a test running at the same time
# before the daemon binds it.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import random, socket
try:
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except (OSError, ValueError):
    lo, hi = 32768, 60999
pool = list(range(max(10000, lo - 16000), lo)) + list(range(hi + 1, 65536))
for p in random.sample(pool, min(200, len(pool))) + [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        port = s.getsockname()[1]
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break'
		return
	fi
	local p
	for _ in $(seq 100); do
		p=$((16000 + RANDOM % 16000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"; return
		fi
	done
	return 1
}

# new_dir NAME: a fresh (not yet existing) path under the script's temp folder
new_dir() {
	local d=$TEST_TMP/$1 i=1
	while [ -e "$d" ]; do i=$((i + 1)); d=$TEST_TMP/$1-$i; done
	echo "$d"
}

# init_scepd DIR [scepctl init options...]: scepctl init with a free loopback port.
# The port is stored in DIR/.test-port. Output of init goes to DIR.init.log.
init_scepd() {
	local dir=$1 port; shift
	port=$(free_port) || return 1
	if ! "$SCEPCTL_BIN" init -d "$dir" --listen "127.0.0.1:$port" "$@" \
	    >"$dir.init.log" 2>&1; then
		diag "scepctl init -d $dir failed:"; sed 's/^/#   /' "$dir.init.log" | head -20
		return 1
	fi
	echo "$port" >"$dir/.test-port"
}

# set_conf DIR KEY VALUE: replace "KEY = ...;" in DIR/scepd.conf (first match)
set_conf() {
	local f=$1/scepd.conf
	grep -Eq "^[[:space:]]*$2[[:space:]]*=" "$f" || return 1
	sed -i -E "0,/^([[:space:]]*)$2[[:space:]]*=[^;]*;/s//\\1$2 = $3;/" "$f"
	grep -Eq "^[[:space:]]*$2[[:space:]]*=[[:space:]]*$3;" "$f"
}

# run_scepd DIR: start scepd on an initialised DIR, wait until GetCACaps answers
# (at most ~30 s). Sets SCEPD_DIR SCEPD_CONF SCEPD_PORT SCEPD_BASE SCEPD_URL
# SCEPD_PID SCEPD_LOG.
# scepd_env DIR: point SCEPD_DIR, _CONF, _PORT, _BASE, _URL and _LOG at the
# scepd whose state folder is DIR (made by init_scepd)
scepd_env() {
	SCEPD_DIR=$1
	SCEPD_CONF=$1/scepd.conf
	SCEPD_PORT=$(cat "$1/.test-port")
	SCEPD_BASE=http://127.0.0.1:$SCEPD_PORT
	SCEPD_URL=$SCEPD_BASE$NDES_PATH
	SCEPD_LOG=$1/scepd.log
}
run_scepd() {
	local dir=$1 code
	scepd_env "$dir"
	"$SCEPD_BIN" -f "$SCEPD_CONF" 2>"$SCEPD_LOG" &
	SCEPD_PID=$!
	track_pid "$SCEPD_PID"
	for _ in $(seq 300); do
		if ! kill -0 "$SCEPD_PID" 2>/dev/null; then
			wait "$SCEPD_PID"
			diag "scepd exited with status $? while starting; its log:"
			sed 's/^/#   /' "$SCEPD_LOG" | head -20
			return 1
		fi
		code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' \
			"$SCEPD_URL?operation=GetCACaps" 2>/dev/null)
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	diag "scepd did not answer GetCACaps with 200 within 30 s (last: $code)"
	return 1
}

# start_scepd DIR [scepctl init options...]: init_scepd + run_scepd
start_scepd() {
	local dir=$1; shift
	init_scepd "$dir" "$@" && run_scepd "$dir"
}

stop_scepd() {
	[ -n "${SCEPD_PID:-}" ] || return 0
	stop_pid "$SCEPD_PID"
	SCEPD_PID=
	# A sanitizer build reports memory errors, leaks (at exit) and undefined
	# behaviour in the daemon's log, and a signer worker that made a system
	# call outside its sandbox's allow-list says so there (keyproc_sandbox.c):
	# any such report fails the script.
	local reports="ERROR: (Address|Leak)Sanitizer|runtime error:|outside the signer's sandbox"
	if grep -qE "$reports" "$SCEPD_LOG" 2>/dev/null; then
		fail "scepd ran without sanitizer or sandbox reports" \
			"$(grep -m3 -E "$reports|#[0-9] 0x" "$SCEPD_LOG")"
	else
		pass "scepd ran without sanitizer or sandbox reports"
	fi
}

# scepctl_cmd ARGS...: scepctl on the current daemon's configuration
scepctl_cmd() { "$SCEPCTL_BIN" -f "$SCEPD_CONF" "$@"; }

# new_otp: a fresh one-time password (checked: 16 upper-case hex characters)
new_otp() {
	local p
	p=$(scepctl_cmd challenge new 2>>"$TEST_TMP/scepctl.err") || return 1
	p=$(printf '%s' "$p" | tr -d '[:space:]')
	printf '%s' "$p" | grep -Eq '^[0-9A-F]{16}$' || return 1
	printf '%s' "$p"
}

# ---------------------------------------------------------------- HTTP

# http OUTFILE CURL-ARGS...: prints "STATUS CONTENT-TYPE" (status 000 = no answer);
# response headers go to OUTFILE.hdr
http() {
	local out=$1; shift
	curl -s -g --max-time 20 -o "$out" -D "$out.hdr" \
		-w '%{http_code} %{content_type}' "$@" 2>/dev/null
	return 0
}

# still_serving: the current daemon answers GetCACaps with 200
still_serving() {
	local code
	code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' \
		"$SCEPD_URL?operation=GetCACaps" 2>/dev/null)
	[ "$code" = 200 ]
}

check_serving() { check "server still answers GetCACaps with 200 ${1:-}" still_serving; }

# ---------------------------------------------------------------- scepd log

# log_mark: number of lines in the scepd log so far
log_mark() { if [ -f "$SCEPD_LOG" ]; then wc -l <"$SCEPD_LOG"; else echo 0; fi; }

# log_wait MARK ERE [SECONDS]: print the first log line after MARK matching ERE,
# waiting up to SECONDS (default 20: the machine may be loaded) for it to be written
log_wait() {
	local mark=$1 re=$2 secs=${3:-20} line
	for _ in $(seq $((secs * 10))); do
		line=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" 2>/dev/null | grep -E -- "$re" | head -n 1)
		if [ -n "$line" ]; then printf '%s\n' "$line"; return 0; fi
		sleep 0.1
	done
	return 1
}

# check_log MARK ERE DESC: a log line after MARK matches ERE
check_log() {
	local line
	if line=$(log_wait "$1" "$2"); then
		pass "$3"
	else
		fail "$3" "no scepd log line after line $1 matches /$2/"
	fi
}

# ---------------------------------------------------------------- certificates

# same_cert A B: both files hold the same certificate (PEM or DER)
cert_fp() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null ||
		openssl x509 -inform DER -in "$1" -noout -fingerprint -sha256 2>/dev/null
}
same_cert() {
	local a b
	a=$(cert_fp "$1") && b=$(cert_fp "$2") && [ -n "$a" ] && [ "$a" = "$b" ]
}

# split_pem FILE PREFIX: writes each PEM certificate of FILE to PREFIX1.pem, PREFIX2.pem, ...
# and prints the count
split_pem() {
	awk -v p="$2" '/-----BEGIN CERTIFICATE-----/ { n++; f = p n ".pem" }
		f { print > f }
		/-----END CERTIFICATE-----/ { close(f); f = "" }
		END { print n + 0 }' "$1"
}

# verify_issued CERT KEY [CAFILE]: CERT chains to our CA (default $SCEPD_DIR/ca.crt)
# and its public key is the one of KEY
verify_issued() {
	local cert=$1 key=$2 ca=${3:-$SCEPD_DIR/ca.crt} a b out
	[ -s "$cert" ] || { diag "no certificate in $cert"; return 1; }
	if ! out=$(openssl verify -CAfile "$ca" "$cert" 2>&1); then
		diag "openssl verify: $out"; return 1
	fi
	a=$(openssl x509 -in "$cert" -noout -pubkey 2>/dev/null)
	b=$(openssl pkey -in "$key" -pubout 2>/dev/null)
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		diag "public key of $cert differs from the key $key"; return 1
	fi
	return 0
}

# cert_serial CERT: serial in upper-case hex without leading zeros or colons
cert_serial() {
	openssl x509 -in "$1" -noout -serial 2>/dev/null | sed 's/^serial=//; s/^0*//' | tr a-f A-F
}

# cert_cn CERT
cert_cn() {
	openssl x509 -in "$1" -noout -subject -nameopt multiline 2>/dev/null |
		sed -n 's/^ *commonName *= *//p' | head -n 1
}

# in_cert_list CERT: `scepctl cert list` has a line with CERT's serial and CN
in_cert_list() {
	local s cn list
	s=$(cert_serial "$1"); cn=$(cert_cn "$1")
	[ -n "$s" ] || return 1
	list=$(scepctl_cmd cert list 2>&1) || { diag "scepctl cert list failed: $list"; return 1; }
	if ! printf '%s\n' "$list" | tr a-f A-F | tr -d ':' | grep -F -- "$s" |
	    grep -qiF -- "$cn"; then
		diag "serial $s / CN $cn not in scepctl cert list:"
		printf '%s\n' "$list" | head -10 | sed 's/^/#   /'
		return 1
	fi
}

# ---------------------------------------------------------------- SCEP messages

# scep_attr DERFILE SUFFIX: value of the SCEP signed attribute 2.16.840.1.113733.1.SUFFIX
# (9.2 messageType, 9.3 pkiStatus, 9.4 failInfo, 9.5 senderNonce, 9.6 recipientNonce,
# 9.7 transactionID); octet strings as upper-case hex
scep_attr() {
	openssl asn1parse -inform DER -in "$1" 2>/dev/null |
		awk -v oid="2.16.840.1.113733.1.$2" '
		found && /prim:/ && !/OBJECT/ { sub(/.*:/, ""); print; exit }
		/prim: OBJECT/ { n = $0; sub(/.*:/, "", n); if (n == oid) found = 1 }'
}

# certrep_signed_by_ra REPLY: the CertRep signature verifies and the signer is our
# RA signing certificate
certrep_signed_by_ra() {
	local r=$1 out detached=()
	# FAILURE and PENDING CertReps carry no pkcsPKIEnvelope (eContent absent,
	# RFC 8894 3.3.2): the signature then covers empty content
	if openssl cms -cmsout -print -inform DER -in "$r" 2>/dev/null |
	    grep -q 'eContent: <ABSENT>'; then
		detached=(-content /dev/null)
	fi
	if ! out=$(openssl cms -verify -noverify -inform DER -in "$r" "${detached[@]}" \
	    -certfile "$SCEPD_DIR/ra-sign.crt" -signer "$r.signer.pem" -out "$r.content" 2>&1); then
		diag "openssl cms -verify: $(printf '%s' "$out" | head -3)"
		return 1
	fi
	same_cert "$r.signer.pem" "$SCEPD_DIR/ra-sign.crt" ||
		{ diag "the CertRep is not signed by ra-sign.crt"; return 1; }
}

# check_certrep REPLY REQUEST STATUS [FAILINFO] DESC: a set of tests on a CertRep:
# signed by our RA, messageType 3, pkiStatus, failInfo, transactionID and nonce echoed
check_certrep() {
	local r=$1 q=$2 st=$3 fi=$4 desc=$5
	check "$desc: CertRep signature verifies with ra-sign.crt" certrep_signed_by_ra "$r"
	is "$(scep_attr "$r" 9.2)" 3 "$desc: messageType is CertRep (3)"
	is "$(scep_attr "$r" 9.3)" "$st" "$desc: pkiStatus is $st"
	if [ -n "$fi" ]; then
		is "$(scep_attr "$r" 9.4)" "$fi" "$desc: failInfo is $fi"
	fi
	is "$(scep_attr "$r" 9.7)" "$(scep_attr "$q" 9.7)" "$desc: transactionID echoed"
	is "$(scep_attr "$r" 9.6)" "$(scep_attr "$q" 9.5)" "$desc: recipientNonce = senderNonce"
}

# certrep_issued_cert REPLY KEY OUT: decrypt the SUCCESS envelope with KEY and write
# the issued certificate (the first one) to OUT
certrep_issued_cert() {
	local r=$1 key=$2 out=$3
	[ -s "$r.content" ] || openssl cms -verify -noverify -inform DER -in "$r" \
		-certfile "$SCEPD_DIR/ra-sign.crt" -out "$r.content" 2>/dev/null || return 1
	openssl cms -decrypt -inform DER -in "$r.content" -inkey "$key" -binary \
		-out "$r.p7" 2>/dev/null || return 1
	openssl pkcs7 -inform DER -in "$r.p7" -print_certs 2>/dev/null |
		awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1 { print }
			/-----END CERTIFICATE-----/ && n == 1 { exit }' >"$out"
	[ -s "$out" ]
}

# scepclient_in_dir DIRNAME URL PASSWORD CN: micromdm's scepclient enrolls CN
# against URL in a fresh folder under $TEST_TMP (DIRNAME, or DIRNAME-2, ...);
# sets EK EC EOUT (its key, certificate and output); returns its exit status
scepclient_in_dir() {
	local dir
	dir=$(new_dir "$1"); mkdir -p "$dir"
	EK=$dir/client.key EC=$dir/client.crt EOUT=$dir/scepclient.out
	timeout 60 scepclient -server-url "$2" -challenge "$3" \
		-private-key "$EK" -certificate "$EC" -cn "$4" >"$EOUT" 2>&1
}

# pki_request OUTDER KEY PASSWORD|- ENC-CERT [pki options...]: build a real strongSwan
# PKCSReq without sending it to scepd: pki talks to the fixture capture server (on a
# free loopback port), which saves the request. PASSWORD "-" means no challenge.
# Needs pki and python3.
pki_request() {
	local out=$1 key=$2 pw=$3 enc=$4 port d pid label rc
	shift 4
	d=$(new_dir capture); mkdir -p "$d"
	label=req
	python3 "$CAPTURE_SERVER" "$label" --port-file "$d/port" --dir "$d" 2>"$d/server.log" &
	pid=$!
	track_pid "$pid"
	if ! wait_until 30 test -s "$d/port"; then
		diag "the capture server did not start:"; head -5 "$d/server.log" | sed 's/^/#   /'
		stop_pid "$pid"; return 1
	fi
	port=$(cat "$d/port")
	local pwopt=()
	[ "$pw" != - ] && pwopt=(--password "$pw")
	timeout 30 pki --scep --url "http://127.0.0.1:$port$NDES_PATH" --in "$key" \
		--dn "C=CH, O=scepd test, CN=$(basename "$out" .der)" "${pwopt[@]}" \
		--cacert-enc "$enc" --cacert-sig "$SCEPD_DIR/ra-sign.crt" \
		--cacert "$SCEPD_DIR/ca.crt" --maxpolltime 1 --interval 1 "$@" \
		>"$d/pki.out" 2>"$d/pki.err"
	stop_pid "$pid"
	if [ ! -s "$d/$label/request.der" ]; then
		diag "pki did not produce a request:"; grep -vi tpm "$d/pki.err" | head -5 | sed 's/^/#   /'
		return 1
	fi
	cp "$d/$label/request.der" "$out"
}

# new_rsa_key FILE [BITS]
new_rsa_key() {
	openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2:-2048}" -out "$1" 2>/dev/null
}

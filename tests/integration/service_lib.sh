# SPDX-License-Identifier: ISC
# tests/integration/service_lib.sh: helpers for the service tests (t_systemd,
# t_reload, t_logs, t_metrics, t_tls, t_install): TAP output, a temporary
# folder removed on exit (unless KEEP_TMP is set), free loopback ports, a lab
# state folder from `scepctl init`, starting scepd with a systemd-style
# notification socket, editing scepd.conf, and waiting for log lines.
# Sourced by bash scripts; only 127.0.0.1 (and 127.0.0.2 as a second client
# address) is ever used.

set -u

: "${SCEPD_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SCEPD_BIN=$SCEPD_TOP/scepd
SCEPCTL_BIN=$SCEPD_TOP/scepctl
HELPERS=$SCEPD_TOP/tests/integration/helpers
NDES_PATH=/certsrv/mscep/mscep.dll

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepd-svc.XXXXXX") || {
	echo "not ok 1 - cannot create a temporary folder"; echo "1..1"; exit 0; }
_bg_pids=()
_tap_n=0

_cleanup() {
	local p
	for p in "${_bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_bg_pids[@]}"; do wait "$p" 2>/dev/null; done
	if [ -n "${KEEP_TMP:-}" ]; then echo "# temporary files kept in $TEST_TMP"
	else rm -rf "$TEST_TMP"; fi
}
trap _cleanup EXIT

track_pid() { _bg_pids+=("$1"); }

# stop_pid PID [SIGNAL]: signal a tracked process, wait for it (5 s, then KILL);
# its exit status is left in STOPPED_RC
stop_pid() {
	local p=$1 sig=${2:-TERM} q keep=()
	kill -s "$sig" "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	STOPPED_RC=$?
	for q in "${_bg_pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	_bg_pids=("${keep[@]}")
}

diag() { local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done; }
pass() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
fail() {
	_tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $1"; shift
	[ $# -gt 0 ] && diag "$@"
	if [ -n "${SCEPD_LOG:-}" ] && [ -s "$SCEPD_LOG" ]; then
		diag "scepd log (last lines):"; tail -n 5 "$SCEPD_LOG" | cut -c1-300 | sed 's/^/#   /'
	fi
	return 0
}
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $1"; }
check() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then pass "$desc"
	else fail "$desc" "failed: $*" "$(printf '%s\n' "$out" | head -n 15)"; fi
}
is() {
	if [ "$1" = "$2" ]; then pass "$3"
	else fail "$3" "got:      '$(printf '%s' "$1" | head -c 400)'" \
		"expected: '$(printf '%s' "$2" | head -c 400)'"; fi
}
like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"
	else fail "$3" "got:      '$(printf '%s' "$1" | head -c 400)'" "expected: /$2/"; fi
}
unlike() {
	if ! printf '%s' "$1" | grep -Eq -- "$2"; then pass "$3"
	else fail "$3" "got '$(printf '%s' "$1" | grep -E -- "$2" | head -c 400)', which must not match /$2/"; fi
}
done_testing() { echo "1..$_tap_n"; }
bail() { fail "$@"; done_testing; exit 0; }

need_binaries() {
	local b
	for b in "$SCEPD_BIN" "$SCEPCTL_BIN"; do
		[ -x "$b" ] || bail "$(basename "$b") is built ($b)" "run make in $SCEPD_TOP first"
	done
	for b in curl openssl python3; do
		command -v "$b" >/dev/null 2>&1 || bail "$b is installed (needed by every test)"
	done
}
have_cmd() { command -v "$1" >/dev/null 2>&1; }

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

new_dir() {
	local d=$TEST_TMP/$1 i=1
	while [ -e "$d" ]; do i=$((i + 1)); d=$TEST_TMP/$1-$i; done
	echo "$d"
}

# lab DIR [scepctl init options...]: a state folder on a free port (DIR/.port)
lab() {
	local dir=$1 port; shift
	port=$(free_port) || return 1
	if ! "$SCEPCTL_BIN" init -d "$dir" --listen "127.0.0.1:$port" "$@" >"$dir.init.log" 2>&1; then
		diag "scepctl init -d $dir failed:"; sed 's/^/#   /' "$dir.init.log" | head -20
		return 1
	fi
	echo "$port" >"$dir/.port"
}

# conf_set DIR GROUP KEY VALUE: sets GROUP.KEY (GROUP "-" for the top level) in
# DIR/scepd.conf, which `scepctl init` wrote with every setting (via scepd -T)
conf_set() {
	python3 "$HELPERS/conf_set.py" "$1/scepd.conf" "$2" "$3" "$4"
}

# start_scepd DIR [extra env assignments...]: runs scepd -f DIR/scepd.conf with a
# notification socket, as systemd would (Type=notify), and waits for READY=1.
# Sets SCEPD_PID SCEPD_LOG SCEPD_URL SCEPD_BASE NOTIFY_LOG.
start_scepd() {
	local dir=$1; shift
	SCEPD_DIR=$dir
	SCEPD_CONF=$dir/scepd.conf
	SCEPD_LOG=$dir/scepd.log
	SCEPD_BASE=http://127.0.0.1:$(cat "$dir/.port")
	SCEPD_URL=$SCEPD_BASE$NDES_PATH
	NOTIFY_LOG=$dir/notify.log
	NOTIFY_SOCK=$dir/notify.sock
	NOTIFY_MARK=0
	start_listener "$NOTIFY_SOCK" "$NOTIFY_LOG" || return 1
	env NOTIFY_SOCKET="$NOTIFY_SOCK" "$@" "$SCEPD_BIN" -f "$SCEPD_CONF" 2>"$SCEPD_LOG" &
	SCEPD_PID=$!
	track_pid "$SCEPD_PID"
	wait_notify 'READY=1' 10 || { diag "no READY=1 from scepd; its log:"; sed 's/^/#   /' "$SCEPD_LOG" | head; return 1; }
}

# start_listener SOCKET OUT: a datagram listener (unix socket path, or @name)
# appending each datagram to OUT as one JSON string per line
start_listener() {
	rm -f "$2"
	python3 "$HELPERS/dgram_listener.py" "$1" "$2" &
	track_pid $!
	for _ in $(seq 50); do [ -e "$2" ] && return 0; sleep 0.1; done
	diag "the datagram listener on $1 did not start"; return 1
}

# notify_messages: every notification so far, one per line, newlines shown as '|'
notify_messages() {
	python3 -c 'import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line).replace("\n", "|"))' "$NOTIFY_LOG"
}

# wait_notify ERE [SECONDS]: a notification matching ERE arrives (after those counted in NOTIFY_MARK)
wait_notify() {
	local re=$1 secs=${2:-5}
	for _ in $(seq $((secs * 10))); do
		notify_messages | tail -n +"$(( ${NOTIFY_MARK:-0} + 1 ))" | grep -Eq -- "$re" && return 0
		sleep 0.1
	done
	return 1
}
notify_mark() { NOTIFY_MARK=$(notify_messages | wc -l); }

log_mark() { if [ -f "$SCEPD_LOG" ]; then wc -l <"$SCEPD_LOG"; else echo 0; fi; }
# log_wait MARK ERE [SECONDS]: the first log line after MARK matching ERE
log_wait() {
	local mark=$1 re=$2 secs=${3:-5} line
	for _ in $(seq $((secs * 10))); do
		line=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" 2>/dev/null | grep -E -- "$re" | head -n 1)
		if [ -n "$line" ]; then printf '%s\n' "$line"; return 0; fi
		sleep 0.1
	done
	return 1
}
check_log() {
	if log_wait "$1" "$2" >/dev/null; then pass "$3"
	else fail "$3" "no scepd log line after line $1 matches /$2/"; fi
}

# http_code URL [curl options]: the HTTP status (000: no answer)
http_code() {
	local url=$1; shift
	curl -s -g -o /dev/null --max-time 10 -w '%{http_code}' "$@" "$url" 2>/dev/null
}

# new_keys DIR N: N RSA-2048 keys DIR/k1.pem ... (two at a time)
new_keys() {
	local i pids=()
	mkdir -p "$1"
	for i in $(seq "$2"); do
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1/k$i.pem" 2>/dev/null &
		pids+=($!)
		if [ ${#pids[@]} = 2 ]; then wait "${pids[@]}"; pids=(); fi
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
}

# enroll URL KEY CN PASSWORD RADIR OUT [pki options]: pki --scep with the RA
# certificates in RADIR (ra-enc.crt, ra-sign.crt, ca.crt); pki's status
enroll() {
	local url=$1 key=$2 cn=$3 pw=$4 ra=$5 out=$6; shift 6
	timeout 60 pki --scep --url "$url" --in "$key" --dn "CN=$cn" --password "$pw" \
		--cacert-enc "$ra/ra-enc.crt" --cacert-sig "$ra/ra-sign.crt" --cacert "$ra/ca.crt" \
		--maxpolltime 5 --interval 1 --outform pem "$@" >"$out" 2>"$out.err"
}

# issued_by_ca CERT CA: CERT verifies against CA
issued_by_ca() { openssl verify -CAfile "$2" "$1" >/dev/null 2>&1; }

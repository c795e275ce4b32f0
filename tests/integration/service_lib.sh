# SPDX-License-Identifier: ISC
# tests/integration/service_lib.sh: what the service tests (t_systemd,
# t_reload, t_logs, t_metrics, t_tls, t_install) need beyond lib.sh, which it
# sources (TAP output, the temporary folder, ports, init_scepd, log matching):
# starting scepd with a systemd-style notification socket and reading what it
# sends, editing scepd.conf by group and key, HTTP status codes, keys and
# pki enrollments. Only 127.0.0.1 (and 127.0.0.2 as a second client address)
# is ever used.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HELPERS=$SCEPD_TOP/tests/integration/helpers

# conf_set DIR GROUP KEY VALUE: sets GROUP.KEY (GROUP "-" for the top level) in
# DIR/scepd.conf, which `scepctl init` wrote with every setting (via scepd -T)
conf_set() {
	python3 "$HELPERS/conf_set.py" "$1/scepd.conf" "$2" "$3" "$4"
}

# start_notified DIR [extra env assignments...]: runs scepd -f DIR/scepd.conf
# (DIR made by init_scepd) with a notification socket, as systemd would
# (Type=notify), and waits for READY=1. Sets the SCEPD_* variables of
# scepd_env, SCEPD_PID and NOTIFY_LOG.
start_notified() {
	local dir=$1; shift
	scepd_env "$dir"
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
	wait_until 30 test -e "$2" && return 0
	diag "the datagram listener on $1 did not start within 30 s"; return 1
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

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_systemd.sh: scepd started as systemd starts it. A Python listener stands in
# for systemd's notification socket ($NOTIFY_SOCKET, a path and an abstract
# name): READY=1 with a STATUS line, RELOADING=1 + MONOTONIC_USEC then READY=1
# on SIGHUP, STOPPING=1 on SIGTERM and exit status 0. The unit's
# ExecStartPre (scepd -t) on a good and a broken file; a start that fails
# (event 2, STATUS, exit 1, no READY). Socket activation with
# systemd-socket-activate (plain HTTP and HTTPS sockets, matched by tls.listen).
# A privileged port bound by an unprivileged user holding only
# CAP_NET_BIND_SERVICE as an ambient capability (what the unit grants), and
# refused without it. The unit files: the settings the issue asks for, and
# `systemd-analyze security --offline=true etc/scepd.service` at 1.5 or lower
# (issue 10 item 7: with the signer process).
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries

D=$(new_dir lab)
init_scepd "$D" --challenge s3cret || bail "scepctl init"

# --- notify protocol on a socket path
start_notified "$D" || bail "scepd starts and sends READY=1"
pass "READY=1 arrives on \$NOTIFY_SOCKET (a path)"
msgs=$(notify_messages)
like "$msgs" '^READY=1\|STATUS=serving on http://127\.0\.0\.1:[0-9]+' "READY=1 comes with STATUS=serving on <listener>"
is "$(http_code "$SCEPD_URL?operation=GetCACaps")" 200 "GetCACaps answers once READY=1 was sent"

notify_mark
mark=$(log_mark)
kill -HUP "$SCEPD_PID"
if wait_notify '^READY=1' 5; then pass "SIGHUP: READY=1 again after the reload"
else fail "SIGHUP: READY=1 again after the reload" "$(notify_messages | tail -3)"; fi
after=$(notify_messages | tail -n +$((NOTIFY_MARK + 1)))
like "$(printf '%s\n' "$after" | head -n 1)" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+\|STATUS=reloading ' \
	"SIGHUP: RELOADING=1 with MONOTONIC_USEC comes first"
like "$(printf '%s\n' "$after" | sed -n 2p)" '^READY=1\|STATUS=serving' "SIGHUP: then READY=1 with STATUS=serving"
check_log "$mark" 'reloaded .*generation 2 .*event=1001' "log: reload event 1001 with the generation"

notify_mark
stop_pid "$SCEPD_PID" TERM
is "$STOPPED_RC" 0 "SIGTERM: exit status 0"
like "$(notify_messages | tail -n +$((NOTIFY_MARK + 1)))" '^STOPPING=1' "SIGTERM: STOPPING=1 sent"
like "$(cat "$SCEPD_LOG")" 'scepd stopped event=3' "log: stop event 3 (NDES: service stopped)"
like "$(cat "$SCEPD_LOG")" 'started: serving SCEP on http://127.0.0.1:[0-9]+ .*event=1' "log: start event 1 (NDES: service started)"

# --- abstract namespace socket
abs=@scepd-test-$$-$RANDOM
SCEPD_LOG=$D/scepd-abstract.log
start_listener "$abs" "$D/notify-abstract.log" || bail "abstract listener"
NOTIFY_SOCKET=$abs "$SCEPD_BIN" -f "$D/scepd.conf" 2>"$SCEPD_LOG" &
pid=$!
track_pid "$pid"
NOTIFY_LOG=$D/notify-abstract.log NOTIFY_MARK=0
if wait_notify '^READY=1' 10; then pass "READY=1 arrives on an abstract socket (\$NOTIFY_SOCKET=@name)"
else fail "READY=1 arrives on an abstract socket (\$NOTIFY_SOCKET=@name)"; fi
stop_pid "$pid" TERM
is "$STOPPED_RC" 0 "abstract socket: exit status 0"

# --- ExecStartPre=scepd -t
out=$("$SCEPD_BIN" -t -f "$D/scepd.conf" 2>&1); rc=$?
is "$rc:$out" "0:" "scepd -t: a good configuration exits 0 silently"
cp "$D/scepd.conf" "$D/broken.conf"
printf 'http = { threads = 9999; };\n' >>"$D/broken.conf"
out=$("$SCEPD_BIN" -t -f "$D/broken.conf" 2>&1); rc=$?
is "$rc" 1 "scepd -t: a broken configuration exits 1"
like "$out" 'broken\.conf:[0-9]+: ' "scepd -t: the error names file:line"

# --- a start that fails: no READY=1, STATUS says why, exit 1, event 2
F=$(new_dir failing)
init_scepd "$F" --challenge s3cret || bail "scepctl init (failing)"
chmod 0644 "$F/ra-sign.key"
SCEPD_LOG=$F/scepd.log
start_listener "$F/notify.sock" "$F/notify.log" || bail "listener"
NOTIFY_SOCKET=$F/notify.sock timeout 20 "$SCEPD_BIN" -f "$F/scepd.conf" 2>"$SCEPD_LOG"
rc=$?
is "$rc" 1 "a key readable by others: scepd exits 1"
NOTIFY_LOG=$F/notify.log NOTIFY_MARK=0
# scepd has exited; the listener may still be writing what it received
wait_notify '^STATUS=cannot start' 10 || diag "no STATUS=cannot start notification arrived"
msgs=$(notify_messages)
unlike "$msgs" 'READY=1' "a failed start sends no READY=1"
like "$msgs" '^STATUS=cannot start: .*ra-sign\.key' "a failed start says why in STATUS"
like "$(cat "$SCEPD_LOG")" 'cannot start: .*event=2' "log: event 2 (NDES: cannot be started)"

# --- socket activation
if have_cmd systemd-socket-activate; then
	S=$(new_dir sockact)
	init_scepd "$S" --challenge s3cret || bail "scepctl init (socket activation)"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$S/tls.key" -out "$S/tls.crt" \
		-days 30 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	chmod 0600 "$S/tls.key"
	hp=$(free_port); tp=$(free_port)
	conf_set "$S" tls listen "[ \"0.0.0.0:$tp\" ]" && conf_set "$S" tls cert '"tls.crt"' &&
		conf_set "$S" tls key '"tls.key"' || fail "configure tls.listen"
	SCEPD_LOG=$S/scepd.log
	start_listener "$S/notify.sock" "$S/notify.log" || bail "listener"
	# it passes on only the environment named with -E
	systemd-socket-activate -E "NOTIFY_SOCKET=$S/notify.sock" -l "127.0.0.1:$hp" \
		-l "127.0.0.1:$tp" "$SCEPD_BIN" -f "$S/scepd.conf" 2>"$SCEPD_LOG" &
	pid=$!
	track_pid "$pid"
	NOTIFY_LOG=$S/notify.log NOTIFY_MARK=0
	# systemd-socket-activate execs scepd at the first connection; it binds the
	# sockets after it starts, so a connection refused (000) at first is retried
	for _ in $(seq 300); do
		code=$(http_code "http://127.0.0.1:$hp$NDES_PATH?operation=GetCACaps")
		[ "$code" != 000 ] && break
		sleep 0.1
	done
	is "$code" 200 "socket activation: GetCACaps on the HTTP socket systemd passed"
	code=$(http_code "https://127.0.0.1:$tp$NDES_PATH?operation=GetCACaps" --cacert "$S/tls.crt")
	is "$code" 200 "socket activation: the socket matching tls.listen serves HTTPS"
	like "$(cat "$SCEPD_LOG")" 'socket activation: 2 sockets from systemd' "log: 2 sockets taken from systemd"
	like "$(cat "$SCEPD_LOG")" 'http.listen 127\.0\.0\.1:[0-9]+ is not among the sockets systemd passed.*event=1005' \
		"log: an http.listen address systemd did not pass is named (restart needed)"
	unlike "$(cat "$SCEPD_LOG")" "listening on http://127.0.0.1:$(cat "$S/.test-port")" \
		"socket activation: scepd binds nothing itself"
	wait_notify '^READY=1' 5 && pass "socket activation: READY=1" || fail "socket activation: READY=1"
	stop_pid "$pid" TERM
	is "$STOPPED_RC" 0 "socket activation: SIGTERM exits 0"
else
	for i in 1 2 3 4 5 6; do skip "systemd-socket-activate not installed (package systemd)"; done
fi

# --- a privileged port with only CAP_NET_BIND_SERVICE (what the unit grants)
if have_cmd setpriv && [ "$(id -u)" = 0 ]; then
	P=$(new_dir priv)
	init_scepd "$P" --challenge s3cret || bail "scepctl init (privileged port)"
	port=
	for cand in $(shuf -i 600-1000 -n 40); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$cand") 2>/dev/null; then port=$cand; break; fi
	done
	conf_set "$P" http listen "[ \"127.0.0.1:$port\" ]" || fail "set a port below 1024"
	chown -R nobody:nogroup "$P"
	chmod 0755 "$TEST_TMP"
	SCEPD_LOG=$P/scepd.log
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
		"$SCEPD_BIN" -f "$P/scepd.conf" 2>"$P/nocap.log" &
	pid=$!
	track_pid "$pid"
	# it must give up by itself; if it is still running after 30 s it is stopped
	# and exits 0, which fails the test below
	wait_until 30 eval '! kill -0 "$pid" 2>/dev/null'
	stop_pid "$pid" TERM
	is "$STOPPED_RC" 1 "port $port as an unprivileged user without capabilities: refused"
	like "$(cat "$P/nocap.log")" 'cannot listen on 127\.0\.0\.1:[0-9]+: Permission denied \(ports below 1024 need CAP_NET_BIND_SERVICE\)' \
		"the refusal says which capability is missing"
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+net_bind_service \
		--ambient-caps=+net_bind_service --bounding-set=-all,+net_bind_service \
		"$SCEPD_BIN" -f "$P/scepd.conf" 2>"$SCEPD_LOG" &
	pid=$!
	track_pid "$pid"
	for _ in $(seq 300); do
		code=$(http_code "http://127.0.0.1:$port$NDES_PATH?operation=GetCACaps"); [ "$code" = 200 ] && break
		sleep 0.1
	done
	is "$code" 200 "port $port as user nobody with only the ambient CAP_NET_BIND_SERVICE"
	stop_pid "$pid" TERM
	is "$STOPPED_RC" 0 "unprivileged scepd exits 0 on SIGTERM"
else
	for i in 1 2 3 4; do skip "needs root and setpriv (util-linux)"; done
fi

# --- the unit files
U=$SCEPD_TOP/etc/scepd.service
unit=$(sed 's/#.*//' "$U")
for want in '^Type=notify$' '^NotifyAccess=main$' '^ExecStartPre=/usr/sbin/scepd -t -f /etc/scepd/scepd.conf$' \
	'^ExecStart=/usr/sbin/scepd -f /etc/scepd/scepd.conf$' '^ExecReload=/bin/kill -HUP \$MAINPID$' \
	'^User=scepd$' '^StateDirectory=scepd$' '^RuntimeDirectory=scepd$' '^LogsDirectory=scepd$' \
	'^AmbientCapabilities=CAP_NET_BIND_SERVICE$' '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' \
	'^NoNewPrivileges=yes$'; do
	like "$unit" "$want" "scepd.service: $(printf '%s' "$want" | tr -d '^$\\')"
done
is "$(grep -c '^AmbientCapabilities=' "$U")" 1 "scepd.service: no other ambient capability"
like "$(cat "$SCEPD_TOP/etc/scepd.socket")" '^ListenStream=80$' "scepd.socket listens on port 80"
like "$(cat "$SCEPD_TOP/etc/scepd.sysusers")" '^u scepd - ' "scepd.sysusers creates the scepd user"
like "$(cat "$SCEPD_TOP/etc/scepd.tmpfiles")" '^d /var/lib/scepd 0700 scepd scepd' "scepd.tmpfiles makes /var/lib/scepd"

if have_cmd systemd-analyze; then
	out=$(cd "$SCEPD_TOP/etc" && systemd-analyze security --offline=true scepd.service 2>&1)
	level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for scepd.service: \([0-9.]*\).*/\1/p')
	diag "systemd-analyze security --offline=true etc/scepd.service: exposure $level"
	if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 1.5) }'; then
		pass "systemd-analyze security: exposure $level <= 1.5"
	else
		fail "systemd-analyze security: exposure <= 1.5" "got '$level'" \
			"$(printf '%s\n' "$out" | grep '✗' | head -20)"
	fi
	out=$(cd "$SCEPD_TOP/etc" && SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no \
		scepd.socket 2>&1)
	is "$out" "" "systemd-analyze verify etc/scepd.socket"
else
	skip "systemd-analyze not installed"
	skip "systemd-analyze not installed"
fi

done_testing

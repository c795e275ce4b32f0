#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_queue.sh: a request that takes long holds a request thread, never the
# libmicrohttpd thread its connection was given (httpd.c, workq.c). A lab rule
# delays one scepclient enrollment by 20 s (its log line says when the delay
# starts); meanwhile, against the real scepd on 127.0.0.1:
#  - http.threads = 1: GetCACaps and GetCACert on five new connections, one
#    after the other, are each answered before curl gives up (3 s), as they
#    are answered in the connection thread. Before requests had their own
#    threads, the delay held the only connection thread: the five would have
#    ended at 3, 6, 9, 12 and 15 s, all unanswered, while the delay ran.
#  - http.threads = 2: three other scepclient enrollments are issued while the
#    delayed one waits (the second request thread takes them). This checks
#    that request threads run side by side; the old code passed it too, as a
#    busy connection thread accepts no new connection.
#  - the delayed enrollments are issued in the end.
# The 3-second bound only tells "answered during the delay" from "answered
# after it": no duration is measured.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries

if ! have_cmd scepclient; then
	skip "scepclient (Debian package scep) not installed"
	done_testing
	exit 0
fi

# start_delayed NAME: a scepclient enrollment of CN=NAME in the background,
# held 20 s by a lab rule; sets SLOW_PID and SLOW_DIR, and waits until the
# delay has begun
start_delayed() {
	local mark
	scepctl_cmd lab rule add "subject=*CN=$1*" outcome=success delay=20 >/dev/null ||
		return 1
	mark=$(log_mark)
	SLOW_DIR=$(new_dir "slow-$1"); mkdir -p "$SLOW_DIR"
	( cd "$SLOW_DIR" && timeout 60 scepclient -server-url "$SCEPD_URL" -challenge x \
		-private-key client.key -certificate client.crt -cn "$1" >out 2>&1
	  echo $? >rc ) &
	SLOW_PID=$!
	track_pid "$SLOW_PID"
	log_wait "$mark" "scripted outcome=success after a delay \\(delay 20 s\\)" 30 >/dev/null
}

# answered_during_delay OP: OP by GET on a new connection, within 3 s
answered_during_delay() {
	local code
	code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' \
		"$SCEPD_URL?operation=$1" 2>/dev/null)
	[ "$code" = 200 ]
}

slow_done() { [ -s "$SLOW_DIR/rc" ]; }

# lab_server NAME THREADS: a lab-mode scepd with http.threads = THREADS
lab_server() {
	D=$(new_dir "$1")
	init_scepd "$D" || bail "scepctl init"
	check "lab.enabled = true" conf_set_in "$D" lab enabled true
	check "http.threads = $2" conf_set_in "$D" http threads "$2"
	check "allow_des = true (scepclient encrypts with DES)" set_conf "$D" allow_des true
	run_scepd "$D" || bail "scepd starts"
	if start_delayed "it-slow-$1"; then
		pass "an enrollment is held by its 20-second delay"
	else
		fail "an enrollment is held by its 20-second delay" "no log line says its delay began"
	fi
}

# --- one connection thread
lab_server one 1
for i in 1 2 3 4 5; do
	op=GetCACaps; [ $((i % 2)) = 0 ] && op=GetCACert
	check "  meanwhile $op on new connection $i is answered (within 3 s)" \
		answered_during_delay $op
done
check "  and the delayed enrollment is still unanswered" sh -c "! test -s '$SLOW_DIR/rc'"
check "the delayed enrollment ends (within 30 s)" wait_until 30 slow_done
is "$(cat "$SLOW_DIR/rc" 2>/dev/null)" 0 "  scepclient got its certificate"
check "  issued by our CA for its key" verify_issued "$SLOW_DIR/client.crt" "$SLOW_DIR/client.key"
stop_scepd

# --- two connection threads, two request threads
lab_server two 2
for i in 1 2 3; do
	pw=$(new_otp) || bail "scepctl challenge new"
	sc_enroll "it-quick-$i" "$pw"
	is "$?" 0 "  meanwhile enrollment $i on its own connections gets its certificate"
	check "  before the delayed one is answered" sh -c "! test -s '$SLOW_DIR/rc'"
done
check "the delayed enrollment ends (within 30 s)" wait_until 30 slow_done
is "$(cat "$SLOW_DIR/rc" 2>/dev/null)" 0 "  scepclient got its certificate"
stop_scepd

done_testing

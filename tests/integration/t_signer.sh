#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_signer.sh: the signer process of the real scepd (issue 10, item 3), with
# strongSwan's pki --scep as the client:
#  1. scepd runs a supervisor (scepd-keyproc) with signer.workers workers
#     (scepd-signer); enrollments work through them.
#  2. Memory: the live memory of the network process (every readable mapping,
#     read through /proc/PID/mem: what a core dump would hold) does not contain
#     the CA key's private part (an RSA prime, or the EC private scalar; never
#     the modulus, which is public), in big- or little-endian form; the memory
#     of a worker that served a request does (so the search can find it); the
#     supervisor holds no key either. Sanitizer builds too: the search skips
#     their shadow memory (helpers/mem_search.py).
#  3. kill -9 of every worker while the supervisor is stopped: the next
#     enrollment is refused quickly (HTTP 503, event 1010 in the log), never
#     hangs; once the supervisor runs again the workers are re-forked, the log
#     says so, and enrollments work again.
#  4. signer.process = false: keys in scepd itself, no signer process, and
#     enrollment still works (the documented switch for debugging); its memory
#     does hold the CA key (the search of part 2 can fail).
#  5. Every worker reads the configuration when scepd reloads it: with 2
#     workers, validity_days goes 365 -> 366 (SIGHUP) -> 365 (the file only,
#     no SIGHUP yet); enrollments on the 366-day generation still being served
#     pass on both workers. Before, a worker that had served nothing since
#     the 365-day reading read the file only when a request came, found 365
#     and the 365 before it, and refused "366 days is longer than any template
#     allows". A stopped worker holds a reload up for seconds (5 s for its
#     reply), not for a request's 60 s, and the log names it.
#  6. A worker restarted while the file holds an edit scepd has not reloaded
#     keeps the generation being served: 366 days (SIGHUP), then 365 in the
#     file only, both workers killed: enrollments of 366 days pass on the new
#     workers. Before, a new worker read the file as it started, held 365 days
#     only and refused them until the next SIGHUP; now the supervisor keeps
#     the reading of scepd's last reload and each worker starts with it.
#  7. A clean stop (SIGTERM, six times, 16 workers) logs no worker death:
#     before, scepd closed the workers' sockets before it stopped the
#     supervisor, which saw them exit and logged event 1010 "exited with
#     status 0; starting a new one" on about half of the stops.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

if ! have_cmd pki; then
	skip "pki (strongswan-pki) not installed: the signer tests need a real client"
	done_testing
	exit 0
fi
T=$TEST_TMP
HELPERS=$(dirname "$0")/helpers

# enroll NAME: a new RSA key and pki --scep with a fresh one-time password; 0 on success
enroll() {
	local pw
	openssl genrsa -out "$T/$1.key" 2048 2>/dev/null || return 1
	pw=$(new_otp) || return 1
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$T/$1.key" --dn "CN=$1" --password "$pw" \
		--cacert-enc "$SCEPD_DIR/ra-enc.crt" --cacert-sig "$SCEPD_DIR/ra-sign.crt" \
		--cacert "$SCEPD_DIR/ca.crt" --maxpolltime 5 --interval 1 --outform pem \
		>"$T/$1.crt" 2>"$T/$1.err"
}

# children PID NAME: the process ids of PID's children whose name is NAME
children() { pgrep -P "$1" -x "$2"; }

# count_children PID NAME N: PID has exactly N children named NAME
count_children() { [ "$(children "$1" "$2" | wc -l)" -eq "$3" ]; }

# gone PID: the process has exited (a zombie counts: its sockets are closed)
gone() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null); [ -z "$s" ] || [ "${s#Z}" != "$s" ]; }

# log_count REGEX: lines of the scepd log matching REGEX
log_count() { grep -cE "$1" "$SCEPD_LOG" 2>/dev/null; }

# at_least N CMD...: CMD prints a number >= N
at_least() { local n=$1; shift; [ "$("$@")" -ge "$n" ]; }

# --- 1. the processes
D=$(new_dir signer)
init_scepd "$D" || bail "scepctl init"
check "signer.workers = 3" set_conf "$D" workers 3
run_scepd "$D" || bail "scepd starts with the signer process"
pass "scepd starts with the signer process"
check_log 0 'signer process started' "log: the signer process started"
SUP=
wait_until 30 test -n "$(children "$SCEPD_PID" scepd-keyproc)" && SUP=$(children "$SCEPD_PID" scepd-keyproc)
if [ -n "$SUP" ]; then pass "scepd has a signer supervisor child (scepd-keyproc, pid $SUP)"
else fail "scepd has a signer supervisor child (scepd-keyproc)" "$(ps -o pid,ppid,comm --ppid "$SCEPD_PID")"; bail "no signer process"; fi
check "the supervisor has 3 workers (scepd-signer)" wait_until 30 count_children "$SUP" scepd-signer 3

check "enrollment through the signer process" enroll e1
check "  the certificate is issued by the CA" openssl verify -CAfile "$D/ca.crt" "$T/e1.crt"
check "a second enrollment" enroll e2

# --- 2. where the CA key is
# needles KEY: the private numbers of KEY (the RSA primes, not the public
# modulus; or the EC private scalar), big-endian hex, one a line, in $T/needles
needles() {
	python3 - "$1" >"$T/needles" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
n = key.private_numbers()
for s in ([n.p, n.q] if isinstance(key, rsa.RSAPrivateKey) else [n.private_value]):
    print(s.to_bytes((s.bit_length() + 7) // 8, "big").hex())
PY
}
needles "$D/ca.key" || bail "cannot read the CA key's private numbers"
# in_memory PID: the live memory of PID holds one of the CA key's secrets,
# big- or little-endian (what a core dump of it would hold; a sanitizer's
# shadow memory is skipped, so this works in every build). Exit 2: unreadable.
in_memory() {
	python3 "$HELPERS/mem_search.py" "$1" "$T/needles" 2>>"$T/mem_search.log"
}
# not_in_memory PID: readable, and no secret there
not_in_memory() {
	in_memory "$1"
	[ $? -eq 1 ]
}
check "the network process's memory holds no part of the CA private key" not_in_memory "$SCEPD_PID"
found=0
for w in $(children "$SUP" scepd-signer); do
	in_memory "$w" && found=$((found + 1))
done
[ "$found" -ge 1 ] && pass "a signer worker's memory holds the CA private key ($found of 3)" ||
	fail "a signer worker's memory holds the CA private key" "none of the workers has it: $(tail -3 "$T/mem_search.log")"
check "the supervisor's memory holds no part of the CA private key" not_in_memory "$SUP"

# --- 3. kill -9 the workers
WORKERS=$(children "$SUP" scepd-signer)
mark=$(log_mark)
kill -STOP "$SUP"
# shellcheck disable=SC2086
kill -KILL $WORKERS
for w in $WORKERS; do wait_until 30 gone "$w" || diag "worker $w did not go"; done
start=$(date +%s)
enroll dead
rc=$?
took=$(( $(date +%s) - start ))
isnt "$rc" 0 "with every worker killed, enrollment fails"
[ "$took" -le 30 ] && pass "  quickly (${took} s), no hang" || fail "  quickly" "it took $took s"
check_log "$mark" 'op=PKIOperation.*status=503' "log: the request was answered 503"
check_log "$mark" 'signer process .*(is gone|died).*event=1010' "log: event 1010 says the signer process is gone"
check "scepd still serves GetCACert without the workers" \
	eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$SCEPD_URL?operation=GetCACert")" = 200 ]'
kill -CONT "$SUP"
check "the supervisor re-forks 3 workers" wait_until 60 count_children "$SUP" scepd-signer 3
check "log: each restart is logged (event 1010, restarted)" \
	wait_until 60 at_least 3 log_count 'signer process worker [0-9]+ restarted'
check_log "$mark" 'signer process worker [0-9]+ .*killed by signal 9.*event=1010' \
	"log: the killed worker is named with its signal"
check "enrollment works again after the restart" enroll again
check "  the certificate is issued by the CA" openssl verify -CAfile "$D/ca.crt" "$T/again.crt"
check "and again (every slot has its new socket)" enroll again2
check "and again" enroll again3
WORKERS=$(children "$SUP" scepd-signer)
stop_scepd
is "$STOPPED_RC" 0 "SIGTERM: scepd stops by itself, status 0 (it waits for the signer process)"
check "  the supervisor is gone" wait_until 10 gone "$SUP"
for w in $WORKERS; do check "  worker $w is gone" wait_until 10 gone "$w"; done

# --- 4. signer.process = false
D2=$(new_dir inproc)
init_scepd "$D2" || bail "scepctl init (in-process keys)"
check "signer.process = false" set_conf "$D2" process false
run_scepd "$D2" || bail "scepd starts with signer.process = false"
pass "scepd starts with signer.process = false"
check "no signer process" eval '[ -z "$(children "$SCEPD_PID" scepd-keyproc)" ]'
check "enrollment with the keys in scepd itself" enroll inproc
# the same search on the same process finds the key when it is there (as on
# scepd before the signer process): the check of part 2 can fail
needles "$D2/ca.key" || bail "cannot read the CA key's private numbers"
check "  and then scepd's own memory holds the CA private key" in_memory "$SCEPD_PID"
stop_scepd

# --- 5. a reload reaches every worker
D3=$(new_dir reread)
init_scepd "$D3" || bail "scepctl init (reload)"
check "signer.workers = 2" set_conf "$D3" workers 2
run_scepd "$D3" || bail "scepd starts with 2 signer workers"
check "an enrollment on the 365-day configuration" enroll r365
python3 "$HELPERS/conf_set.py" "$D3/scepd.conf" certificate validity_days 366 ||
	bail "validity_days = 366"
mark=$(log_mark)
kill -HUP "$SCEPD_PID"
check "SIGHUP: scepd reloads validity_days = 366" log_wait "$mark" 'reloaded .*generation'
unlike "$(tail -n +"$((mark + 1))" "$SCEPD_LOG")" 'not every worker' "  every worker re-read the file"
python3 "$HELPERS/conf_set.py" "$D3/scepd.conf" certificate validity_days 365 ||
	bail "validity_days = 365 again"
# each enrollment takes the workers in turn (the one idle longest): issue
# requests alternate between the two
for i in 1 2 3 4; do
	check "the file is back at 365 before the next SIGHUP: enrollment $i (366 days) passes" \
		enroll r366-$i
done
unlike "$(tail -n +"$((mark + 1))" "$SCEPD_LOG")" 'longer than any template' \
	"  log: no worker refused a validity"
days=$(openssl x509 -in "$T/r366-1.crt" -noout -startdate -enddate 2>/dev/null |
	python3 -c 'import sys, datetime
d = dict(l.strip().split("=", 1) for l in sys.stdin)
f = lambda s: datetime.datetime.strptime(s, "%b %d %H:%M:%S %Y %Z")
print((f(d["notAfter"]) - f(d["notBefore"])).days)')
is "$days" 366 "  the certificates are of the 366-day generation"
# a worker that does not answer holds a reload up for 5 s, not for a request's 60 s
SUP3=$(children "$SCEPD_PID" scepd-keyproc)
W1=$(children "$SUP3" scepd-signer | head -n 1)
kill -STOP "$W1"
mark=$(log_mark)
t0=$(date +%s)
kill -HUP "$SCEPD_PID"
check "one worker stopped (SIGSTOP): SIGHUP still reloads" log_wait "$mark" 'reloaded .*generation' 40
took=$(( $(date +%s) - t0 ))
[ "$took" -le 20 ] && pass "  within 20 s ($took s)" || fail "  within 20 s" "it took $took s"
check_log "$mark" 'not every worker re-read .*did not answer in time' \
	"  log: the reload says which worker did not re-read the file"
kill -CONT "$W1"
check "the worker resumed (or replaced): enrollments work" wait_until 60 enroll r-after

# --- 6. a restarted worker keeps the generation being served
python3 "$HELPERS/conf_set.py" "$D3/scepd.conf" certificate validity_days 366 ||
	bail "validity_days = 366 (part 6)"
mark=$(log_mark)
kill -HUP "$SCEPD_PID"
check "SIGHUP: scepd reloads validity_days = 366 again" log_wait "$mark" 'reloaded .*generation'
python3 "$HELPERS/conf_set.py" "$D3/scepd.conf" certificate validity_days 365 ||
	bail "validity_days = 365 (part 6)"
mark=$(log_mark)
WORKERS=$(children "$SUP3" scepd-signer)
# shellcheck disable=SC2086
kill -KILL $WORKERS
check "both workers killed: the supervisor restarts them" \
	wait_until 60 at_least 2 eval 'tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -cE "signer process worker [0-9]+ restarted"'
for i in 1 2; do
	check "the file holds 365 days, not reloaded: enrollment $i after the restart (366 days) passes" \
		enroll r-restart-$i
done
unlike "$(tail -n +"$((mark + 1))" "$SCEPD_LOG")" 'longer than any template' \
	"  log: no restarted worker refused a validity"
stop_scepd

# --- 7. a clean stop reports no worker death
D5=$(new_dir stop)
init_scepd "$D5" || bail "scepctl init (stop)"
check "signer.workers = 16" set_conf "$D5" workers 16
deaths=0
for i in 1 2 3 4 5 6; do
	run_scepd "$D5" || bail "scepd starts (stop $i)"
	mark=$(log_mark)
	stop_scepd
	n=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -cE 'event=1010|starting a new one')
	[ "$n" -eq 0 ] || diag "stop $i: $(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -m1 -E 'event=1010')"
	deaths=$((deaths + n))
done
is "$deaths" 0 "SIGTERM six times with 16 workers: no worker death (event 1010) is logged as scepd stops"

done_testing

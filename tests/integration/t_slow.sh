#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_slow.sh: slow and hostile HTTP clients against the real daemon (loopback only).
# With http.header_timeout 4 s and http.connection_timeout 60 s:
#  - request headers that stop coming, or come one byte every 0.3 s, are cut
#    near header_timeout, well before connection_timeout (408 on plain HTTP);
#  - a POST body that stops after 100 of 1000 bytes is cut likewise
#    (http.min_body_rate), one sent at 400 bytes/s within the allowance is not;
#  - on a kept-alive connection (a second scepd, connection_timeout 3 s,
#    header_timeout 2 s) a next request trickled in byte by byte is cut after
#    about connection_timeout + header_timeout;
#  - a NUL, a control byte, a tab or a DEL in the request target gets 400;
#  - a TLS ClientHello, or other bytes that cannot start a request line, on the
#    plain-HTTP port get 400 / a close at once;
#  - while 600 half-open requests from 127.0.0.1 are held open, a GetCACaps from
#    127.0.0.2 is answered within 1 s (http.per_ip_connections, default 32).
# The clients are tests/integration/helpers/stall_client.py; each ends by itself.
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries
T=$TEST_TMP
SC=$HELPERS/stall_client.py

D=$(new_dir slow)
init_scepd "$D" || bail "scepctl init"
conf_set "$D" http connection_timeout 60 || bail "set http.connection_timeout"
conf_set "$D" http header_timeout 4 || diag "http.header_timeout is not a setting here"
run_scepd "$D" || bail "scepd starts"
pass "scepd starts with header_timeout 4 s, connection_timeout 60 s"
port=$SCEPD_PORT

# in_range VALUE LOW HIGH: LOW <= VALUE <= HIGH (decimals allowed)
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

# --- header and body deadlines (run side by side: each takes about 4 s)
python3 "$SC" headers "$port" 20 >"$T/headers" &
p1=$!
python3 "$SC" dribble "$port" 20 >"$T/dribble" &
p2=$!
python3 "$SC" body "$port" 20 >"$T/body" &
p3=$!
track_pid $p1; track_pid $p2; track_pid $p3
wait $p1 $p2 $p3
for k in headers dribble body; do
	read -r secs answer <"$T/$k" || { secs=99; answer=none; }
	case $k in
	headers) what="request headers that stop" ;;
	dribble) what="request headers sent one byte every 0.3 s" ;;
	body) what="a POST body that stops after 100 of 1000 bytes" ;;
	esac
	if in_range "$secs" 2 12 && [ "$answer" != open ]; then
		pass "$what: cut after $secs s (header_timeout 4 s, connection_timeout 60 s): $answer"
	else
		fail "$what: cut near header_timeout (4 s), well before connection_timeout (60 s)" \
			"after $secs s: $answer"
	fi
done
like "$(cat "$T/headers")" ' HTTP/1.1 408' "stalled headers on plain HTTP: 408 before the close"
python3 "$SC" slowbody "$port" 20 >"$T/slowbody"
like "$(cat "$T/slowbody")" ' HTTP/1.1 400 ' \
	"a body sent at 400 bytes/s, done within header_timeout: answered (400: not a pkiMessage), not cut"
for _ in $(seq 50); do grep -q ' POST .* 408 ' "$D/access.log" 2>/dev/null && break; sleep 0.1; done
like "$(cat "$D/access.log" 2>/dev/null)" 'POST /certsrv/mscep/mscep.dll operation=PKIOperation .* 408 0 121 [0-9]+' \
	"access log: the cut POST is logged with 408 and win32 status 121 (timeout)"
check_log 0 'header_timeout' "log: the cut connection is reported with the setting that cut it"
check_log 0 'min_body_rate' "log: the stalled body is reported with the setting that cut it"

# --- malformed request targets: 400 at once (the byte sits in the message
# parameter, which GetCACaps ignores: only the target check can refuse it)
m=$(log_mark)
for c in 00 01 09 1b 7f; do
	req=$(printf 'GET /certsrv/mscep/mscep.dll?operation=GetCACaps&message=a' | od -An -tx1 | tr -d ' \n')
	req=${req}${c}$(printf 'b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' | od -An -tx1 | tr -d ' \n')
	python3 "$SC" raw "$port" 10 "$req" >"$T/raw"
	read -r secs answer <"$T/raw"
	if [ "${answer#HTTP/1.1 400}" != "$answer" ] && in_range "$secs" 0 2; then
		pass "byte 0x$c in the request target: $answer after $secs s"
	else
		fail "byte 0x$c in the request target: 400 at once" "after $secs s: $answer"
	fi
done
check_log "$m" 'request target holds a space, a control byte or NUL' \
	"log: the malformed target is refused with its reason"

# --- bytes that cannot start a request line, on the plain port
for k in hello hello-start; do
	python3 "$SC" $k "$port" 10 >"$T/hello"
	read -r secs answer <"$T/hello"
	what="a TLS ClientHello"
	[ $k = hello-start ] && what="the start of a TLS ClientHello (up to its first CR/LF byte)"
	if in_range "$secs" 0 1.5 && [ "$answer" != open ]; then
		pass "$what on the plain-HTTP port: answered/closed after $secs s ($answer)"
	else
		fail "$what on the plain-HTTP port: 400 or closed at once" "after $secs s: $answer"
	fi
done
check_log 0 'TLS' "log: the ClientHello on the plain port is reported as TLS"
python3 "$SC" raw "$port" 10 "$(printf '\x80\x01binary junk' | od -An -tx1 | tr -d ' \n')" >"$T/junk"
read -r secs answer <"$T/junk"
if in_range "$secs" 0 1.5 && [ "$answer" != open ]; then
	pass "binary bytes on the plain-HTTP port: answered/closed after $secs s ($answer)"
else
	fail "binary bytes on the plain-HTTP port: 400 or closed at once" "after $secs s: $answer"
fi
check_serving "after the slow and malformed clients"

# --- one address floods half-open requests; another address is still served
python3 "$SC" flood "$port" 600 30 "$T/flood" &
pf=$!; track_pid $pf
for _ in $(seq 300); do [ -s "$T/flood" ] && break; sleep 0.1; done
diag "flood from 127.0.0.1: $(cat "$T/flood" 2>/dev/null)"
# up to 3 tries, each given 1 s (a loaded machine may stall one; the flood
# holds its connections for 30 s, so without the per-address limit all fail)
tries=""
for _ in 1 2 3; do
	r=$(curl -s -o /dev/null --interface 127.0.0.2 --max-time 1 -w '%{http_code} %{time_total}' \
		"$SCEPD_URL?operation=GetCACaps" 2>/dev/null)
	tries="$tries [$r]"
	[ "${r%% *}" = 200 ] && break
done
if [ "${r%% *}" = 200 ]; then
	pass "during a flood of 600 half-open requests from 127.0.0.1, 127.0.0.2 gets GetCACaps in ${r#* } s"
else
	fail "during a flood of 600 half-open requests from 127.0.0.1, 127.0.0.2 is answered within 1 s" \
		"curl (status seconds):$tries"
fi
check_log 0 'connections refused: over http.max_connections or http.per_ip_connections' \
	"log: the refused flood connections are counted in one line"
touch "$T/flood.stop"
wait $pf
check_serving "after the flood"
stop_scepd

# --- keep-alive: the next request is bounded too
D2=$(new_dir keepalive)
init_scepd "$D2" || bail "scepctl init (second scepd)"
conf_set "$D2" http connection_timeout 3 || bail "set http.connection_timeout"
conf_set "$D2" http header_timeout 2 || diag "http.header_timeout is not a setting here"
run_scepd "$D2" || bail "the second scepd starts"
python3 "$SC" keepalive "$SCEPD_PORT" 30 >"$T/keepalive.out"
read -r secs answer <"$T/keepalive.out" || { secs=99; answer=none; }
if in_range "$secs" 3 15 && [ "$answer" != open ]; then
	pass "kept-alive connection trickling its next request: cut $secs s after the first answer (connection_timeout 3 s + header_timeout 2 s): $answer"
else
	fail "kept-alive connection trickling its next request: cut after about connection_timeout + header_timeout (5 s)" \
		"after $secs s: $answer"
fi
check_log 0 'next request not complete within http.connection_timeout \+ http.header_timeout' \
	"log: the kept-alive connection is reported with the settings that cut it"
stop_scepd
done_testing

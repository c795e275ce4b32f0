#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_logs.sh: the logs operators read.
#  - Access log (log.access_log, set by `scepctl init`): the IIS header
#    (#Software, #Version, #Date, #Fields with IIS's default fields in order),
#    and one line per request that a W3C parser reads with that header:
#    GetCACaps, GetCACert, PKIOperation by POST (strongSwan pki) and by GET
#    (a real micromdm scepclient query from the fixtures), 404, 405, 414; the
#    values in each field (UTC date, query without '?', '+' for spaces in the
#    User-Agent, '-' for empty fields, status, ports).
#  - SIGUSR1 after a rotation (mv): the new file gets a header and the new
#    lines, the moved one nothing more.
#  - Event log: NDES event numbers with transactionID and client address
#    (a wrong password: event 29); log.format = "json" (one JSON object per
#    line); log.target = "journald" through the native protocol (a Python
#    listener stands in for /run/systemd/journal/socket) with SCEPD_EVENT,
#    SCEPD_TRANSACTION_ID and SCEPD_CLIENT as fields of their own.
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries

D=$(new_dir lab)
T=$TEST_TMP
init_scepd "$D" --challenge s3cret || bail "scepctl init"
like "$(grep -E '^\s*access_log = ' "$D/scepd.conf")" "access_log = \"$D/access.log\";" \
	"scepctl init sets log.access_log to access.log in the state folder"
start_notified "$D" || bail "scepd starts"
A=$D/access.log
port=$(cat "$D/.test-port")

# --- one request of each kind
curl -s -o /dev/null -A 'Mozilla/4.0 (compatible; Win32; NDES client)' \
	"$SCEPD_URL/pkiclient.exe?operation=GetCACaps&message=default"
curl -s -o /dev/null -e 'http://ref.example/x' "$SCEPD_URL?operation=GetCACert&message=CAIdentifier"
if have_cmd pki; then
	new_keys "$T/keys" 1
	enroll "$SCEPD_URL" "$T/keys/k1.pem" logs-post s3cret "$D" "$T/post.pem" || fail "pki --scep enrolls"
fi
q=$SCEPD_FIXTURES/scepclient-pkcsreq-get/request.query
[ -f "$q" ] && curl -s -o /dev/null -A 'Go-http-client/1.1' "$SCEPD_URL?$(cat "$q")"
curl -s -o /dev/null "$SCEPD_BASE/nothing/here?x=1"
curl -s -o /dev/null -X PUT "$SCEPD_URL?operation=GetCACaps"
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACaps&pad=$(head -c 70000 /dev/zero | tr '\0' a)"
# access_has ERE...: the access log has a line matching each ERE
access_has() { local re; for re in "$@"; do grep -Eq -- "$re" "$A" 2>/dev/null || return 1; done; }
# each request's line is written once it is answered: wait for all of them
want=(' operation=GetCACaps&message=default ' ' operation=GetCACert&message=CAIdentifier '
	' /nothing/here x=1 ' ' PUT ' ' operation=GetCACaps&pad=')
have_cmd pki && want+=(' POST ')
[ -f "$q" ] && want+=(' Go-http-client/1.1 ')
wait_until 30 access_has "${want[@]}" || diag "the access log lacks some requests after 30 s"

head4=$(head -n 4 "$A")
like "$(sed -n 1p "$A")" '^#Software: scepd [0-9.]+$' "access log: #Software header"
is "$(sed -n 2p "$A")" "#Version: 1.0" "access log: #Version: 1.0"
like "$(sed -n 3p "$A")" "^#Date: $(date -u +%Y-%m-%d) [0-9]{2}:[0-9]{2}:[0-9]{2}$" "access log: #Date in UTC"
is "$(sed -n 4p "$A")" "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken" \
	"access log: #Fields lists IIS's default fields in IIS's order"
if entries=$(python3 "$HELPERS/w3c_parse.py" "$A" 2>&1); then
	pass "every access-log line parses with the #Fields header (W3C)"
else
	fail "every access-log line parses with the #Fields header (W3C)" "$entries"
fi
# field FILTER-PYTHON-EXPR FIELDS...: the fields of the first entry matching the expression
field() {
	local expr=$1; shift
	printf '%s\n' "$entries" | python3 -c 'import json, sys
expr, names = sys.argv[1], sys.argv[2:]
for line in sys.stdin:
    e = json.loads(line)
    if eval(expr, {}, {"e": e}):
        print(" ".join(e[n] for n in names)); break' "$expr" "$@"
}
today=$(date -u +%Y-%m-%d)
is "$(field 'e["cs-uri-query"].startswith("operation=GetCACaps&message=default")' \
	date s-ip cs-method cs-uri-stem s-port cs-username c-ip 'cs(User-Agent)' 'cs(Referer)' sc-status sc-substatus sc-win32-status)" \
	"$today 127.0.0.1 GET $NDES_PATH/pkiclient.exe $port - 127.0.0.1 Mozilla/4.0+(compatible;+Win32;+NDES+client) - 200 0 0" \
	"GetCACaps line: date, s-ip, method, stem, port, '-' user, c-ip, UA with '+', '-' referer, 200 0 0"
is "$(field 'e["cs-uri-query"] == "operation=GetCACert&message=CAIdentifier"' cs-method cs-uri-stem 'cs(Referer)' sc-status)" \
	"GET $NDES_PATH http://ref.example/x 200" "GetCACert line: query without '?', referer, 200"
if have_cmd pki; then
	is "$(field 'e["cs-method"] == "POST"' cs-uri-stem cs-uri-query sc-status)" \
		"$NDES_PATH operation=PKIOperation 200" "PKIOperation by POST (pki --scep) logged with 200"
else
	skip "pki (strongswan-pki) not installed"
fi
if [ -f "$q" ]; then
	is "$(field 'e["cs(User-Agent)"] == "Go-http-client/1.1"' cs-method sc-status)" \
		"GET 200" "PKIOperation by GET (scepclient's query) logged with 200"
	len=$(field 'e["cs(User-Agent)"] == "Go-http-client/1.1"' cs-uri-query | wc -c)
	is "$((len - 1))" 4096 "a query longer than 4096 bytes is cut to 4096"
else
	skip "fixture $q not found (SCEPD_FIXTURES)"; skip "fixture not found"
fi
is "$(field 'e["cs-uri-stem"] == "/nothing/here"' cs-uri-query sc-status)" "x=1 404" "unknown path: 404 logged"
is "$(field 'e["cs-method"] == "PUT"' sc-status)" "405" "PUT: 405 logged"
is "$(field 'e["cs-uri-query"].startswith("operation=GetCACaps&pad=")' sc-status)" "414" "URL over http.max_url (65534): 414 logged"
like "$(field 'e["cs-method"] == "GET"' time-taken)" '^[0-9]+$' "time-taken is a number of milliseconds"
n_entries=$(printf '%s\n' "$entries" | grep -c .)
n_events=$(grep -cE 'op=|status=' "$SCEPD_LOG")
diag "access log: $n_entries entries"

# --- rotation and SIGUSR1
mv "$A" "$A.1"
lines_before=$(wc -l <"$A.1")
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACaps&message=before-usr1"
m=$(log_mark)
kill -USR1 "$SCEPD_PID"
check_log "$m" 'SIGUSR1: access log re-opened' "SIGUSR1: logged"
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACaps&message=after-usr1"
wait_until 30 access_has 'message=after-usr1' || diag "no access log line for after-usr1 after 30 s"
check "SIGUSR1: a new access.log was created" test -s "$A"
is "$(sed -n 4p "$A" | cut -c1-8)" "#Fields:" "SIGUSR1: the new file starts with the header"
like "$(cat "$A")" 'message=after-usr1' "SIGUSR1: new requests go to the new file"
like "$(cat "$A.1")" 'message=before-usr1' "before SIGUSR1 the moved file still got the lines"
unlike "$(cat "$A.1")" 'message=after-usr1' "after SIGUSR1 the moved file gets nothing more"

# --- NDES event numbers, transactionID, client
if have_cmd pki; then
	new_keys "$T/wrong" 1
	m=$(log_mark)
	enroll "$SCEPD_URL" "$T/wrong/k1.pem" wrong-pw not-the-password "$D" "$T/wrong.pem"
	line=$(log_wait "$m" 'outcome=FAILURE')
	like "$line" '^scepd: client=127\.0\.0\.1 op=PKIOperation type=PKCSReq txid=[0-9A-F]{40} status=200 outcome=FAILURE failInfo=badRequest .*event=29 reason=' \
		"wrong password: event 29 with client address and transactionID"
else
	skip "pki (strongswan-pki) not installed"
fi
stop_pid "$SCEPD_PID" TERM

# --- log.format = "json"
conf_set "$D" log format '"json"'
start_notified "$D" || bail "scepd starts with JSON logs"
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACert"
if have_cmd pki; then
	new_keys "$T/wrong2" 1
	enroll "$SCEPD_URL" "$T/wrong2/k1.pem" wrong-json nope "$D" "$T/wrong2.pem"
fi
stop_pid "$SCEPD_PID" TERM
out=$(python3 -c 'import json, sys
n = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert "time" in o and "level" in o, line
    n += 1
print(n)' "$SCEPD_LOG" 2>&1)
like "$out" '^[0-9]+$' "log.format json: every line of the event log is a JSON object ($out lines)"
json_get() {
	python3 -c 'import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get(sys.argv[2]) == sys.argv[3]:
        print(" ".join(str(o.get(k, "-")) for k in sys.argv[4:])); break' "$SCEPD_LOG" "$@"
}
is "$(json_get op GetCACert level client status)" "info 127.0.0.1 200" "JSON: a request line with level, client and numeric status"
is "$(json_get event 1 level)" "" "JSON: event numbers are numbers, not strings"
like "$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("event") == 1: print(o["msg"]); break' "$SCEPD_LOG")" '^scepd .* started' "JSON: start event 1 with its message"
if have_cmd pki; then
	like "$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o.get("event") == 29: print(o["level"], o["txid"], o["failInfo"], o["client"]); break' "$SCEPD_LOG")" \
		'^warning [0-9A-F]{40} badRequest 127\.0\.0\.1$' "JSON: wrong password has event 29, txid, failInfo, client"
else
	skip "pki (strongswan-pki) not installed"
fi

# --- log.target = "journald" (native protocol)
conf_set "$D" log format '"text"'
conf_set "$D" log target '"journald"'
J=$T/journal.sock
start_listener "$J" "$T/journal.log" || bail "journal listener"
start_notified "$D" SCEPD_JOURNAL_SOCKET="$J" || bail "scepd starts with the journal target"
curl -s -o /dev/null "$SCEPD_URL?operation=GetCACaps"
if have_cmd pki; then
	new_keys "$T/wrong3" 1
	enroll "$SCEPD_URL" "$T/wrong3/k1.pem" wrong-journal nope "$D" "$T/wrong3.pem"
fi
# journal_has TEXT: a record received by the stand-in journal holds TEXT
journal_has() { grep -qF -- "$1" "$T/journal.log" 2>/dev/null; }
wait_until 30 journal_has 'SCEPD_OPERATION=GetCACaps' || diag "no GetCACaps journal record after 30 s"
if have_cmd pki; then
	wait_until 30 journal_has 'SCEPD_EVENT=29\n' || diag "no event 29 journal record after 30 s"
fi
stop_pid "$SCEPD_PID" TERM
# jfield MATCH-FIELD=VALUE FIELDS...: fields of the first journal record with that field
jfield() {
	python3 -c 'import json, sys
want, names = sys.argv[2], sys.argv[3:]
for line in open(sys.argv[1]):
    rec = json.loads(line)
    f = dict(l.split("=", 1) for l in rec.split("\n") if "=" in l)
    k, v = want.split("=", 1)
    if f.get(k) == v:
        print(" ".join(f.get(n, "-") for n in names)); break' "$T/journal.log" "$@"
}
is "$(jfield SCEPD_EVENT=1 PRIORITY SYSLOG_IDENTIFIER)" "5 scepd" "journald: the start event arrives with PRIORITY=5, SYSLOG_IDENTIFIER=scepd"
is "$(jfield SCEPD_OPERATION=GetCACaps SCEPD_CLIENT SCEPD_HTTP_STATUS PRIORITY)" "127.0.0.1 200 6" \
	"journald: a request record with SCEPD_CLIENT and SCEPD_HTTP_STATUS fields"
like "$(jfield SCEPD_OPERATION=GetCACaps MESSAGE)" '^client=127\.0\.0\.1 op=GetCACaps status=200$' "journald: MESSAGE is the text line"
if have_cmd pki; then
	like "$(jfield SCEPD_EVENT=29 SCEPD_TRANSACTION_ID SCEPD_CLIENT SCEPD_FAILINFO PRIORITY)" \
		'^[0-9A-F]{40} 127\.0\.0\.1 badRequest 4$' "journald: event 29 with SCEPD_TRANSACTION_ID and SCEPD_CLIENT fields"
else
	skip "pki (strongswan-pki) not installed"
fi
is "$(grep -c 'op=' "$SCEPD_LOG")" 0 "journald target: nothing on stderr while the journal takes it"

done_testing

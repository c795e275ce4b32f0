#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_selftest.sh: `scepctl selftest URL` against real servers on 127.0.0.1:
# scepd as installed (every client family accepts, exit 0, with and without a
# challenge, one certificate per family issued); scepd announcing caps without
# AES and POST or without SHA-384 (strongSwan 5.9 refuses, exit 1); a Python
# stand-in answering crafted GetCACaps/GetCACert/PKIOperation replies (Apple's
# SHA keyword and exact Content-Type rules, HTTP 500 to PKIOperation); and
# micromdm's scepserver (Debian scep), whose known faults it must report.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries
T=$TEST_TMP

# selftest ARGS...: runs scepctl selftest, output in $T/out, status in ST_RC
selftest() {
	"$SCEPCTL_BIN" selftest --timeout 60 "$@" >"$T/out" 2>"$T/err"
	ST_RC=$?
}
# row FAMILY: the table row of a family
row() { grep -E "^$1 " "$T/out" | head -1; }
show() { diag "$(cat "$T/out" "$T/err")"; }
# set_caps DIR LIST: scep.capabilities = [ LIST ]; in DIR/scepd.conf (one line there)
set_caps() {
	sed -i -E "s/^([[:space:]]*)capabilities[[:space:]]*=.*;/\\1capabilities = [ $2 ];/" "$1/scepd.conf"
	grep -qF "capabilities = [ $2 ];" "$1/scepd.conf"
}

# --- usage
"$SCEPCTL_BIN" selftest >/dev/null 2>"$T/err"
is "$?" 2 "selftest without a URL is a usage error (exit 2)"
"$SCEPCTL_BIN" selftest http://127.0.0.1:1/ --family nosuch >/dev/null 2>"$T/err"
is "$?" 2 "selftest --family with an unknown family: exit 2"
like "$(cat "$T/err")" "no client family named 'nosuch'" "  and says so"

# --- scepd as installed: every family accepts
D=$(new_dir scepd)
start_scepd "$D" --challenge sesame || bail "scepd starts"
pass "scepd starts"
selftest "$SCEPD_URL"
is "$ST_RC" 0 "selftest against scepd, no challenge: exit 0" || show
n=$(grep -cE '^(strongSwan 5.9|Apple iOS/macOS|Windows MDM|jscep|certmonger) +accept +accept +[^ ]+ [^ ]+ [^ ]+( [^ ]+)? +accept' "$T/out")
is "$n" 5 "  five families, each accepting GetCACaps, GetCACert and PKIOperation" || show
like "$(cat "$T/out")" "accept: GET %0A \\(strongSwan" "  the strongSwan GET variant is decoded"
like "$(cat "$T/out")" "accept: GET raw\\+/ \\(Apple" "  the Apple GET variant (raw + and /) is decoded"
like "$(cat "$T/out")" "result: every client family accepts this server" "  and the result says so"
before=$(scepctl_cmd cert list 2>/dev/null | grep -c 'scepctl-selftest')
selftest "$SCEPD_URL" --challenge sesame
is "$ST_RC" 0 "selftest against scepd with the challenge: exit 0" || show
n=$(grep -c ': PKIOperation accept: enrolled$' "$T/out")
is "$n" 5 "  every family enrolled" || show
after=$(scepctl_cmd cert list 2>/dev/null | grep -c 'scepctl-selftest')
is "$((after - before))" 5 "  scepd issued five certificates, one per family"
selftest "$SCEPD_URL" --challenge wrong --family apple
is "$ST_RC" 1 "a wrong challenge: exit 1"
like "$(row 'Apple iOS/macOS')" "REJECT" "  the Apple row says REJECT"
like "$(cat "$T/out")" "PKIOperation REJECT: refused: .*badRequest" "  with the server's reason"
stop_scepd

# --- scepd misconfigured: no AES, no POST
D2=$(new_dir nopost)
init_scepd "$D2" --challenge sesame || bail "scepctl init"
set_caps "$D2" '"SHA-256", "SHA-1", "DES3"' || bail "capabilities set"
run_scepd "$D2" || bail "scepd starts without AES and POST"
selftest "$SCEPD_URL" --challenge sesame
is "$ST_RC" 1 "caps without AES and POST: exit 1" || show
like "$(row 'strongSwan 5.9')" "REJECT" "  strongSwan 5.9 rejects"
like "$(cat "$T/out")" 'strongSwan 5.9: GetCACaps REJECT: .*"AES_CBC encryption algorithm not supported by CA"' \
	"  with strongSwan's own message"
like "$(row 'Apple iOS/macOS')" "accept +accept +DES-EDE3-CBC SHA256 GET raw\\+/ +accept" \
	"  Apple falls back to 3DES over GET (raw + /) and enrolls"
like "$(row certmonger)" "accept +accept +DES-EDE3-CBC SHA256 GET %2B +accept" "  certmonger enrolls by GET"
stop_scepd

# --- scepd without SHA-384 in its caps: the strongSwan 5.9 trap
D3=$(new_dir no384)
init_scepd "$D3" || bail "scepctl init"
set_caps "$D3" '"POSTPKIOperation", "SHA-256", "AES", "SCEPStandard"' ||
	bail "capabilities set"
run_scepd "$D3" || bail "scepd starts without SHA-384"
selftest "$SCEPD_URL"
is "$ST_RC" 1 "caps AES SHA-256 POST without SHA-384: exit 1" || show
like "$(cat "$T/out")" "sees AES only when SHA-384 is listed: add SHA-384" "  the strongSwan 5.9 trap explained"
n=$(grep -cE '^(Apple iOS/macOS|Windows MDM|jscep|certmonger) +accept +accept' "$T/out")
is "$n" 4 "  the four other families accept" || show
stop_scepd

# --- a stand-in with crafted replies
cat >"$T/standin.py" <<'PY'
import http.server, sys
port_file, cert_file = sys.argv[1], sys.argv[2]
cert = open(cert_file, 'rb').read()
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, code, ctype, body):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if 'operation=GetCACaps' in self.path:
            self.answer(200, 'text/plain', b'SCEPStandard\r\nRenewal\r\n')
        elif 'operation=GetCACert' in self.path:
            self.answer(200, 'application/x-x509-ca-cert; charset=utf-8', cert)
        else:
            self.answer(500, 'text/plain', b'internal error')
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.answer(500, 'text/plain', b'internal error')
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(port_file + '.tmp', 'w').write(str(s.server_address[1]))
import os; os.rename(port_file + '.tmp', port_file)
s.serve_forever()
PY
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/standin.key" -outform DER -out "$T/standin.der" \
	-subj /CN=standin -days 2 -addext keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign \
	>/dev/null 2>&1 || bail "stand-in certificate"
python3 "$T/standin.py" "$T/standin.port" "$T/standin.der" &
track_pid $!
wait_until 30 test -s "$T/standin.port" || bail "the stand-in server starts"
selftest "http://127.0.0.1:$(cat "$T/standin.port")/scep"
is "$ST_RC" 1 "crafted replies: exit 1" || show
like "$(cat "$T/out")" 'Apple iOS/macOS: GetCACaps REJECT: .*no SHA-1, SHA-256 or SHA-512 keyword: "insufficient CA capabilities" \(22006\)' \
	"  Apple: SCEPStandard without a SHA keyword is 22006"
like "$(cat "$T/out")" 'Apple iOS/macOS: GetCACert REJECT: GetCACert Content-Type "application/x-x509-ca-cert; charset=utf-8"' \
	"  Apple: a Content-Type with a parameter is refused"
like "$(row jscep)" "accept +accept +AES-128-CBC SHA256 POST +REJECT" \
	"  jscep reads SCEPStandard as AES SHA-256 POST, then fails on HTTP 500"
like "$(cat "$T/out")" 'certmonger: PKIOperation REJECT: .*HTTP 500.*retries for ever' \
	"  certmonger: HTTP 500 to PKIOperation means retrying for ever"

# --- micromdm's scepserver (Debian scep)
if ! have_cmd scepserver; then
	skip "scepserver (Debian scep) is not installed"
else
	M=$T/micromdm
	mkdir -p "$M"
	(cd "$M" && scepserver ca -init -depot depot >"$M/init.log" 2>&1) || bail "scepserver ca -init"
	port=$(free_port)
	(cd "$M" && exec scepserver -depot depot -port "$port" -challenge sekrit) >"$M/log" 2>&1 &
	track_pid $!
	mm_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/scep?operation=GetCACaps")" = 200 ]; }
	wait_until 30 mm_up || bail "scepserver answers GetCACaps"
	selftest "http://127.0.0.1:$port/scep" --challenge sekrit
	is "$ST_RC" 1 "micromdm scepserver: exit 1" || show
	like "$(cat "$T/out")" 'strongSwan 5.9: GetCACaps REJECT: "AES_CBC encryption algorithm not supported by CA": the server lists AES' \
		"  its caps lack SHA-384: strongSwan 5.9 refuses"
	like "$(cat "$T/out")" 'Apple iOS/macOS: PKIOperation REJECT: enrolled; the reply is enveloped with DES-CBC although the request used AES-128-CBC' \
		"  its CertRep is single DES whatever the request used (micromdm#244)"
	like "$(cat "$T/out")" "GetCACert warn: no RA, and the CA certificate's keyUsage lacks digitalSignature" \
		"  its CA certificate (keyCertSign, cRLSign only) serves as RA"
	like "$(cat "$T/out")" 'warn: GET raw\+/ \(Apple, jscep 2025\) fails: .*HTTP 500: illegal base64' \
		"  it cannot decode a GET message with raw + (Apple's encoding)"
	like "$(cat "$T/out")" 'an unknown operation is answered HTTP 500' "  it answers errors with HTTP 500, not 400"
fi
done_testing

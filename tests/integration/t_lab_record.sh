#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_lab_record.sh: lab mode's recorded transactions, `scepctl inspect` and the
# /lab/ page (issue 15 items 2 and 3).
# - inspect FILE on every fixture request of tests/data/clients (DER, and the
#   same bytes as base64 and PEM), decrypted with the fixture lab RA keys:
#   messageType, transactionID, content cipher, CSR subject, challenge masked;
# - recording off by default (nothing recorded, /lab/ 404), and off when
#   lab.record is set without lab.enabled;
# - real enrollments recorded: strongSwan `pki --scep` (SUCCESS and a wrong
#   password: FAILURE badRequest), micromdm's scepclient (single DES), an
#   unparsable POST (HTTP 400); `scepctl inspect TXID` on each, the raw bytes
#   from /lab/api/... decoded again;
# - the page in headless Chromium: the table rows carry the real
#   transactionIDs, and a screenshot is a non-blank PNG;
# - bounds: lab.record_max keeps the newest, the oldest dropped first.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

T=$TEST_TMP
FIX=$SCEPD_FIXTURES

# lab_conf DIR KEY VALUE: set KEY in the lab group of DIR/scepd.conf
lab_conf() {
	sed -i -E "/^lab = \{/,/^\};/ s/^([[:space:]]*)$2 = [^;]*;/\\1$2 = $3;/" "$1/scepd.conf"
	sed -n '/^lab = {/,/^};/p' "$1/scepd.conf" | grep -Eq "^[[:space:]]*$2 = $3;"
}

# lab_get PATH OUT: GET $SCEPD_BASE/PATH into OUT, prints the HTTP status
lab_get() { curl -s -g --max-time 20 -o "$2" -w '%{http_code}' "$SCEPD_BASE$1" 2>/dev/null; }

# re TEXT: TEXT with the extended-regex metacharacters escaped (base64 transactionIDs)
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

# json_py FILE EXPR: a Python expression over the JSON list `r` in FILE
json_py() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

# --- inspect FILE on every fixture request ----------------------------------
D=$(new_dir fixtures)
init_scepd "$D" --import-ca "$FIX/lab/ca.crt" "$FIX/lab/ca.key" || bail "scepctl init"
for f in ra-enc ra-sign; do
	cp "$FIX/lab/$f.crt" "$D/$f.crt" && cp "$FIX/lab/$f.key" "$D/$f.key" && chmod 600 "$D/$f.key"
done
n=0
for dir in "$FIX"/*/; do
	name=$(basename "$dir")
	[ -f "$dir/request.der" ] || continue
	n=$((n + 1))
	out=$T/inspect-$name.txt
	"$SCEPCTL_BIN" -f "$D/scepd.conf" inspect "$dir/request.der" >"$out" 2>&1
	rc=$?
	facts=$(python3 - "$dir/facts.json" <<'EOF'
import json, re, sys
f = json.load(open(sys.argv[1]))
m = f["pki_message"]
cn = re.search(r"CN=([^,]+)", f.get("csr", {}).get("subject", "")) if "csr" in f else None
print(m["message_type"], m["transaction_id"], f["envelope"]["content_encryption"].split()[0],
      cn.group(1) if cn else "-", f.get("csr", {}).get("challenge_password") or "-")
EOF
)
	read -r mtype txid cipher cn secret <<<"$facts"
	is "$rc" 0 "inspect $name: exit status 0"
	like "$(cat "$out")" "messageType +[A-Za-z]+ \\($mtype\\)" "inspect $name: messageType $mtype"
	like "$(cat "$out")" "transactionID +$(re "$txid")" "inspect $name: transactionID"
	like "$(cat "$out")" "content cipher +$cipher" "inspect $name: content cipher $cipher"
	like "$(cat "$out")" "verification +signature and messageDigest verify" \
		"inspect $name: signature verified"
	like "$(cat "$out")" "content +opened with the ra-(enc|sign) key" "inspect $name: envelope opened"
	if [ "$cn" != - ]; then
		like "$(cat "$out")" "subject +.*CN=$cn" "inspect $name: CSR subject CN=$cn"
		like "$(cat "$out")" "NDES template +(Signature|Encryption|GeneralPurpose)Template" \
			"inspect $name: the template NDES would pick"
	fi
	if [ "$secret" != - ]; then
		like "$(cat "$out")" "challenge +present, ${#secret} characters, \\*+" \
			"inspect $name: challenge shown masked"
		unlike "$(cat "$out")" "$secret" "inspect $name: the challenge itself is not printed"
	fi
done
check "inspect: fixtures found" test "$n" -ge 15
# the same request as base64 (line-wrapped) and as PEM, and a GET query
base64 "$FIX/strongswan-aes-sha256/request.der" >"$T/req.b64"
openssl cms -inform DER -in "$FIX/strongswan-aes-sha256/request.der" -cmsout -outform PEM \
	-out "$T/req.pem" 2>/dev/null
for f in req.b64 req.pem; do
	like "$("$SCEPCTL_BIN" -f "$D/scepd.conf" inspect "$T/$f" 2>&1)" \
		'transactionID +39A75D6EEF00F073D59E7216401AFD24163AED5C' "inspect $f: decoded"
done
like "$("$SCEPCTL_BIN" -f "$D/scepd.conf" inspect "$FIX/jscep-get/request.query" 2>&1)" \
	'messageType +PKCSReq' "inspect a GET query string (jscep-get/request.query)"
# without a configuration: decoded, the envelope stays closed
out=$("$SCEPCTL_BIN" -f "$T/none.conf" inspect "$FIX/sscep-aes128-sha256-post/request.der" 2>&1)
like "$out" 'content +not opened' "inspect without a configuration: envelope not opened"
like "$out" 'messageType +PKCSReq' "inspect without a configuration: still decoded"
printf 'not a message' >"$T/junk.txt"
"$SCEPCTL_BIN" -f "$D/scepd.conf" inspect "$T/junk.txt" >"$T/junk.out" 2>&1
isnt "$?" 0 "inspect of junk fails"
like "$(cat "$T/junk.out")" 'junk.txt' "inspect of junk names the file"

# --- recording off by default ------------------------------------------------
have_pki=0; have_cmd pki && have_pki=1
# pki_enroll NAME PASSWORD: pki --scep against the current daemon; exit status
pki_enroll() {
	local d; d=$(new_dir "pki-$1"); mkdir -p "$d"
	new_rsa_key "$d/key.pem" || return 1
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$d/key.pem" --dn "C=CH, O=lab, CN=$1" \
		--password "$2" --cacert-enc "$SCEPD_DIR/ra-enc.crt" \
		--cacert-sig "$SCEPD_DIR/ra-sign.crt" --cacert "$SCEPD_DIR/ca.crt" \
		--cipher aes --digest sha256 --maxpolltime 1 >"$d/out" 2>&1
}

D=$(new_dir off)
init_scepd "$D" --challenge lab-secret-1 || bail "scepctl init"
check "lab.record = true without lab.enabled" lab_conf "$D" record true
run_scepd "$D" || bail "scepd did not start"
is "$(lab_get /lab/ "$T/off.html")" 404 "/lab/ is 404 when lab mode is off"
is "$(lab_get /lab/api/recordings "$T/off.json")" 404 "/lab/api/recordings is 404 when lab mode is off"
if [ $have_pki = 1 ]; then
	pki_enroll off-1 lab-secret-1
	is "$?" 0 "pki --scep enrolls with lab mode off"
	txid=$(grep 'PKIOperation' "$SCEPD_LOG" | grep -o 'txid=[^ ]*' | head -1 | cut -d= -f2-)
	check "the enrollment's transactionID is in the log" test -n "$txid"
	scepctl_cmd inspect "${txid:-none}" >"$T/off-inspect" 2>&1
	isnt "$?" 0 "inspect TXID: nothing was recorded with lab mode off"
	like "$(cat "$T/off-inspect")" 'no recorded transaction' "inspect TXID says why"
else
	skip "pki not installed (Debian strongswan-pki): no enrollment with recording off"
fi
stop_scepd

# --- recording on: real enrollments ---------------------------------------------
D=$(new_dir lab)
init_scepd "$D" --challenge lab-secret-2 || bail "scepctl init"
check "lab.enabled = true" lab_conf "$D" enabled true
check "lab.record = true" lab_conf "$D" record true
check "lab.record_max = 8" lab_conf "$D" record_max 8
check "allow_des for scepclient" set_conf "$D" allow_des true
run_scepd "$D" || bail "scepd did not start in lab mode"

# list_recs OUT: the recordings as JSON into OUT; prints the HTTP status
list_recs() { lab_get /lab/api/recordings "$1"; }

ok_txids=()
if [ $have_pki = 1 ]; then
	pki_enroll lab-good lab-secret-2
	is "$?" 0 "pki --scep enrolls in lab mode"
	pki_enroll lab-bad wrong-password
	isnt "$?" 0 "pki --scep with a wrong password fails"
else
	skip "pki not installed (Debian strongswan-pki)"
fi
if have_cmd scepclient; then
	sd=$(new_dir sc); mkdir -p "$sd"
	timeout 60 scepclient -server-url "$SCEPD_URL" -challenge lab-secret-2 \
		-private-key "$sd/client.key" -certificate "$sd/client.crt" -cn lab-scepclient \
		>"$sd/out" 2>&1
	is "$?" 0 "scepclient enrolls in lab mode"
else
	skip "scepclient not installed (Debian scep)"
fi
code=$(curl -s -o /dev/null --max-time 20 -w '%{http_code}' --data-binary 'garbage' \
	-H 'Content-Type: application/x-pki-message' "$SCEPD_URL?operation=PKIOperation")
is "$code" 400 "an unparsable PKIOperation gets 400"
code=$(curl -s -o /dev/null --max-time 20 -w '%{http_code}' \
	"$SCEPD_URL?operation=PKIOperation&message=%%%not-base64")
is "$code" 400 "an undecodable GET PKIOperation gets 400"

is "$(list_recs "$T/recs.json")" 200 "/lab/api/recordings answers 200"
check "its body is JSON" json_py "$T/recs.json" 'len(r)'
count=$(json_py "$T/recs.json" 'len(r)')
want=2
[ $have_pki = 1 ] && want=$((want + 2))
have_cmd scepclient && want=$((want + 1))
is "$count" "$want" "every PKIOperation was recorded"
is "$(json_py "$T/recs.json" 'r[0]["outcome"] + " " + str(r[0]["http_status"]) + " " + str(r[0]["request_bytes"])')" "HTTP 400 13" \
	"the newest is the undecodable GET, recorded with its HTTP status and its message as sent"
is "$(json_py "$T/recs.json" 'r[1]["outcome"] + " " + str(r[1]["http_status"]) + " " + str(r[1]["request_bytes"])')" "HTTP 400 7" \
	"then the unparsable POST, with its body"
check "recordings carry timing" json_py "$T/recs.json" \
	'all(x["answered_ms"] >= x["received_ms"] > 1700000000000 for x in r) or sys.exit(1)'

# inspect_rec OUTCOME: the recorded transactionIDs of that outcome, oldest first
rec_txids() { json_py "$T/recs.json" "' '.join(x['transaction_id'] for x in reversed(r) if x['outcome'] == '$1' and x['message_type'] == 'PKCSReq')"; }
read -r -a ok_txids <<<"$(rec_txids SUCCESS)"
read -r -a bad_txids <<<"$(rec_txids FAILURE)"

if [ $have_pki = 1 ]; then
	tx=${ok_txids[0]:-none}
	like "$(grep -cF "txid=$tx" "$SCEPD_LOG")" '^[1-9]' "the recorded SUCCESS transactionID is the one scepd logged"
	scepctl_cmd inspect "$tx" >"$T/inspect-ok" 2>&1
	is "$?" 0 "inspect TXID (pki SUCCESS): exit status 0"
	out=$(cat "$T/inspect-ok")
	like "$out" 'outcome +HTTP 200, SUCCESS' "inspect TXID: outcome"
	like "$out" 'took +[0-9]+ ms' "inspect TXID: timing"
	like "$out" 'messageType +PKCSReq \(19\)' "inspect TXID: the request's messageType"
	like "$out" 'subject +.*CN=lab-good' "inspect TXID: the decrypted CSR's subject"
	like "$out" 'content cipher +aes-128-cbc' "inspect TXID: the request's cipher"
	like "$out" 'challenge +present, 12 characters' "inspect TXID: challenge masked"
	unlike "$out" 'lab-secret-2' "inspect TXID: the challenge is not printed"
	like "$out" 'messageType +CertRep \(3\)' "inspect TXID: the reply decoded"
	like "$out" 'pkiStatus +SUCCESS \(0\)' "inspect TXID: the reply's status"
	like "$out" 'recipient +certificate serial' "inspect TXID: the reply's recipient"
	tx=${bad_txids[0]:-none}
	scepctl_cmd inspect "$tx" >"$T/inspect-bad" 2>&1
	out=$(cat "$T/inspect-bad")
	like "$out" 'pkiStatus +FAILURE \(2\)' "inspect TXID (wrong password): FAILURE"
	like "$out" 'failInfo +badRequest \(2\)' "inspect TXID (wrong password): failInfo badRequest"
	like "$out" 'what to change +check the challenge' "inspect TXID: what to change in the profile"
	like "$out" 'failInfoText' "inspect TXID: the failInfoText"
	like "$out" 'NDES HRESULT +0x80070057 E_INVALIDARG' "inspect TXID: the NDES HRESULT, in words"
fi
if have_cmd scepclient; then
	tx=$(json_py "$T/recs.json" "[x['transaction_id'] for x in r if x['outcome'] == 'SUCCESS' and x['message_type'] == 'PKCSReq'][0]")
	out=$(scepctl_cmd inspect "$tx" 2>&1)
	like "$out" 'content cipher +des-cbc' "inspect TXID (scepclient): single DES request decoded"
	like "$out" 'subject +.*CN=lab-scepclient' "inspect TXID (scepclient): its CSR subject"
	like "$out" 'pkiStatus +SUCCESS' "inspect TXID (scepclient): reply SUCCESS"
fi

# raw bytes from the page's endpoints, decoded again
id=$(json_py "$T/recs.json" "[x['id'] for x in r if x['outcome'] == 'SUCCESS'][0] if any(x['outcome'] == 'SUCCESS' for x in r) else r[0]['id']")
is "$(lab_get "/lab/api/recordings/$id/request" "$T/raw-req.der")" 200 "raw request download"
is "$(lab_get "/lab/api/recordings/$id/reply" "$T/raw-rep.der")" 200 "raw reply download"
if [ ${#ok_txids[@]} -gt 0 ]; then
	like "$(scepctl_cmd inspect "$T/raw-req.der" 2>&1)" "transactionID +($(re "${ok_txids[-1]}")|$(re "${ok_txids[0]}"))" \
		"the downloaded request decodes to a recorded transactionID"
	like "$(scepctl_cmd inspect "$T/raw-rep.der" 2>&1)" 'pkiStatus +SUCCESS' \
		"the downloaded reply is the signed CertRep SUCCESS"
	is "$(lab_get "/lab/api/recordings/$id/decoded" "$T/decoded.txt")" 200 "decoded details"
	like "$(cat "$T/decoded.txt")" 'pkiStatus +SUCCESS' "decoded details show the reply"
fi
is "$(lab_get /lab/api/recordings/999999/request "$T/none")" 404 "an unknown recording is 404"
is "$(lab_get /lab/nope.js "$T/none")" 404 "an unknown lab page is 404"
is "$(lab_get /lab/ "$T/lab.html")" 200 "/lab/ answers 200 in lab mode"
like "$(cat "$T/lab.html")" '<table id="recordings">' "/lab/ is the lab page"
is "$(lab_get /lab/lab.js "$T/lab.js")" 200 "/lab/lab.js answers 200"

# --- the page in headless Chromium ------------------------------------------------
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	skip "chromium not installed (Debian chromium): the lab page is not checked in a browser"
else
	prof=$(new_dir chrome); mkdir -p "$prof"
	chrome() {
		HOME=$prof timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu \
			--no-first-run --disable-dev-shm-usage --user-data-dir="$prof/data" \
			--virtual-time-budget=10000 "$@" 2>>"$prof/chrome.err"
	}
	chrome --dump-dom "$SCEPD_BASE/lab/" >"$T/dom.html"
	rows=$(grep -o '<tr class="rec [A-Z]*" data-id="[0-9]*" data-txid="[^"]*"' "$T/dom.html" | wc -l)
	is "$rows" "$count" "Chromium: the script filled the table with every recording"
	for tx in "${ok_txids[@]}" "${bad_txids[@]}"; do
		like "$(cat "$T/dom.html")" "<td class=\"txid\">$(re "$tx")</td>" \
			"Chromium: the table shows transactionID $tx"
	done
	like "$(cat "$T/dom.html")" '<rect [^>]*class="bar-ok"' "Chromium: the timeline has bars"
	chrome --window-size=1200,900 --screenshot="$T/lab.png" "$SCEPD_BASE/lab/" >/dev/null
	check "Chromium: a screenshot was written" test -s "$T/lab.png"
	png=$(python3 - "$T/lab.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
bpp = {2: 3, 6: 4}[ctype]
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colours, counts = set(), {}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, w):
        px = bytes(line[x * bpp:x * bpp + 3])
        if y % 4 == 0 and x % 2 == 0:
            colours.add(px)
        counts[px] = counts.get(px, 0) + 1
    prev = line
# the timeline's SUCCESS bars (#2a2) and the table header (#eef), as drawn
print(w, h, len(colours), counts.get(b"\x22\xaa\x22", 0), counts.get(b"\xee\xee\xff", 0))
EOF
)
	read -r pw ph ncol green header <<<"$png"
	diag "screenshot $T/lab.png: ${pw:-?}x${ph:-?}, ${ncol:-?} colours, ${green:-?} bar pixels, ${header:-?} header pixels"
	check "Chromium: the screenshot is a 1200x900 PNG" test "${pw:-0}" = 1200 -a "${ph:-0}" = 900
	check "Chromium: the screenshot is not blank (many colours: text, table, bars)" \
		test "${ncol:-0}" -ge 20
	check "Chromium: the screenshot shows the table header" test "${header:-0}" -ge 2000
	if [ ${#ok_txids[@]} -gt 0 ]; then
		check "Chromium: the screenshot shows the timeline's SUCCESS bars" \
			test "${green:-0}" -ge 100
	fi
fi

# --- bounds: lab.record_max = 8, the oldest dropped first -------------------------
oldest=$(json_py "$T/recs.json" 'min(x["id"] for x in r)')
for i in $(seq 10); do
	curl -s -o /dev/null --max-time 20 --data-binary "junk $i" "$SCEPD_URL?operation=PKIOperation"
done
list_recs "$T/recs2.json" >/dev/null
is "$(json_py "$T/recs2.json" 'len(r)')" 8 "lab.record_max: 8 recordings kept"
is "$(json_py "$T/recs2.json" "int($oldest in [x['id'] for x in r])")" 0 "the oldest recording was dropped"
is "$(json_py "$T/recs2.json" "int(sorted((x['id'] for x in r), reverse=True) == [x['id'] for x in r])")" 1 \
	"newest first"
if [ ${#ok_txids[@]} -gt 0 ]; then
	scepctl_cmd inspect "${ok_txids[0]}" >/dev/null 2>&1
	isnt "$?" 0 "inspect TXID of a dropped recording fails"
fi
check_serving
stop_scepd
done_testing

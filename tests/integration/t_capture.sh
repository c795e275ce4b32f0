#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_capture.sh: tests/capture/capture.sh really re-records the client fixtures.
# It captures one fixture per Debian client (scepclient, pki --scep, certmonger)
# into a temporary folder, checks each capture (a new request, not the stored
# one; the envelope opens with the lab RA key; the CSR is the client key's; the
# transactionID in facts.json is the new one), then runs test_pkimsg and
# test_certrep over the stored fixtures with the new captures in their place:
# the parser tests must pass on freshly recorded requests as on the stored ones.
# A client that is not installed is a skip naming it.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

CAPTURE=$SCEPD_TOP/tests/capture/capture.sh
O=$TEST_TMP/cap
F=$TEST_TMP/fixtures
cp -r "$SCEPD_FIXTURES" "$F" || bail "copy the stored fixtures"

want=()
for pair in scepclient:scepclient-pkcsreq-get pki:strongswan-aes-sha256 getcert:certmonger-pkcsreq; do
	if have_cmd "${pair%%:*}"; then want+=("${pair#*:}")
	else skip "${pair%%:*} not installed: ${pair#*:} not re-recorded"; fi
done
[ ${#want[@]} -gt 0 ] || { done_testing; exit 0; }

if "$CAPTURE" -o "$O" "${want[@]}" >"$TEST_TMP/capture.out" 2>&1; then
	pass "capture.sh ${want[*]} exits 0"
else
	fail "capture.sh ${want[*]} exits 0" "$(tail -n 5 "$TEST_TMP/capture.out")"
fi

for f in "${want[@]}"; do
	d=$O/$f
	check "$f: a request was captured" test -s "$d/request.der"
	if cmp -s "$d/request.der" "$SCEPD_FIXTURES/$f/request.der"; then
		fail "$f: the capture is new (differs from the stored request)"
	else
		pass "$f: the capture is new (differs from the stored request)"
	fi
	check "$f: request.csr.der was written (the envelope opened with lab/ra-enc.key)" test -s "$d/request.csr.der"
	a=$(openssl req -inform DER -in "$d/request.csr.der" -noout -pubkey 2>/dev/null)
	b=$(openssl pkey -in "$d/client.key" -pubout 2>/dev/null)
	if [ -n "$a" ] && [ "$a" = "$b" ]; then pass "$f: the CSR carries client.key's public key"
	else fail "$f: the CSR carries client.key's public key"; fi
	tid=$(scep_attr "$d/request.der" 9.7)
	# (a fixed string: scepclient's base64 transactionIDs hold '+' and '/')
	check "$f: facts.json has the new transactionID ($tid)" \
		grep -qF "\"transaction_id\": \"$tid\"" "$d/facts.json"
	cp "$d"/* "$F/$f/"
done

for t in test_pkimsg test_certrep; do
	SCEPD_FIXTURES=$F "$SCEPD_TOP/tests/unit/$t" >"$TEST_TMP/$t.out" 2>&1
	rc=$?
	nok=$(grep -c '^not ok' "$TEST_TMP/$t.out")
	if [ "$rc:$nok" = 0:0 ]; then
		pass "$t passes with the new captures in place of the stored ones"
	else
		fail "$t passes with the new captures in place of the stored ones" "exit $rc, $nok failures:" \
			"$(grep -A3 '^not ok' "$TEST_TMP/$t.out" | head -n 12)"
	fi
done

done_testing

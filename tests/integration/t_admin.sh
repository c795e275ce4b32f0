#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_admin.sh: the NDES challenge pages /certsrv/mscep_admin/ against the real
# scepd on 127.0.0.1, with real HTTP clients: curl --ntlm, curl --basic,
# curl --negotiate through gss-ntlmssp (SPNEGO-wrapped NTLM), python
# requests + requests_ntlm; plus a small ntlm-auth helper for the exchanges no
# packaged client sends this way (a bare NTLMSSP token under Negotiate after an
# anonymous probe, NTLM on the first request of a connection, AUTHENTICATE on
# another connection). Every page is decoded and its password extracted with
# the parse rules of each scraper in ndes.md 1.7 (ndes_admin.py). Then:
# enrollment with scepclient using a page's password, its second use refused,
# many simultaneous enrollments with one password giving one certificate, the
# cache-full page at PasswordMax and places freed by use and by expiry, the
# insufficient-permission page, the static-password page, and the per-address
# limits on failed sign-ins and rejected challenge passwords.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

HELPER=$SCEPD_TOP/tests/integration/ndes_admin.py
# The Debian python3 has python3-requests-ntlm; a python3 earlier in PATH may not.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
[ -n "$PY" ] || bail "python3 is installed (the page parsers need it)"
# ntlm-auth hashes with MD4, which OpenSSL 3 keeps in its legacy provider.
LEGACY_CNF=$TEST_TMP/openssl-legacy.cnf
cat >"$LEGACY_CNF" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
EOF
have_ntlm_auth() { OPENSSL_CONF=$LEGACY_CNF "$PY" -c 'import ntlm_auth.ntlm' 2>/dev/null; }
have_requests_ntlm() { OPENSSL_CONF=$LEGACY_CNF "$PY" -c 'import requests_ntlm' 2>/dev/null; }
have_gss_ntlmssp() { ls /usr/lib/*/gssntlmssp/gssntlmssp.so >/dev/null 2>&1; }

# stop_checked: stop the daemon, then its log must hold no sanitizer report
# (a build with make check-sanitizers reports leaks and errors at exit)
stop_checked() {
	stop_scepd
	if grep -q 'Sanitizer' "$SCEPD_LOG"; then
		fail "scepd ($1) exits without a sanitizer report" "$(grep -m3 -A5 'Sanitizer' "$SCEPD_LOG")"
	else
		pass "scepd ($1) exits without a sanitizer report"
	fi
}

# conf_set DIR GROUP KEY VALUE: set KEY inside "GROUP = { ... };" of DIR/scepd.conf
conf_set() {
	local f=$1/scepd.conf
	sed -i -E "/^$2 = \\{/,/^\\};/ s/^([[:space:]]*)$3 = [^;]*;/\\1$3 = $4;/" "$f"
	sed -n "/^$2 = {/,/^};/p" "$f" | grep -Eq "^[[:space:]]*$3 = $4;"
}

# add_user NAME PASSWORD [options]
add_user() {
	local n=$1 p=$2; shift 2
	printf '%s\n' "$p" | scepctl_cmd user add "$n" "$@" >/dev/null 2>"$TEST_TMP/user-$n.err"
}

# page FILE CURL-ARGS...: GET the admin page; prints "STATUS CONTENT-TYPE"
page() {
	local out=$1; shift
	curl -s -g --max-time 20 -o "$out" -D "$out.hdr" -w '%{http_code} %{content_type}' \
		"$@" 2>"$out.err"
	return 0
}

# decoded FILE: the page as UTF-8 text
decoded() { "$PY" -c 'import sys; print(open(sys.argv[1], "rb").read().decode("utf-16"))' "$1"; }

# first2 FILE: the first two bytes in hex
first2() { od -An -tx1 -N2 "$1" | tr -d ' \n'; }

# check_page DESC FILE STATUSLINE [static]: 200 text/html, BOM, even length, and every
# scraper's rule extracts the same password (printed in PAGE_PW)
PAGE_PW=
check_page() {
	local desc=$1 f=$2 st=$3 mode=${4:-} out line n=0 bad=0 want=
	is "$st" "200 text/html" "$desc: HTTP 200, Content-Type text/html"
	is "$(first2 "$f")" fffe "$desc: body starts with the UTF-16LE BOM FF FE"
	is "$(( $(stat -c %s "$f") % 2 ))" 0 "$desc: even byte count"
	if [ -n "$mode" ]; then
		out=$("$PY" "$HELPER" scrape "$f" "$VALIDITY" static "${#STATIC_PW}" 2>&1)
	else
		out=$("$PY" "$HELPER" scrape "$f" "$VALIDITY" 2>&1)
	fi
	while read -r line; do
		set -- $line
		n=$((n + 1))
		if [ "$1" != ok ]; then
			bad=1; diag "scraper $2: ${*:3}"
		elif [ -z "$want" ]; then
			want=$3
		elif [ "$3" != "$want" ]; then
			bad=1; diag "scraper $2 read '$3', fleet read '$want'"
		fi
	done <<<"$out"
	is "$n" 7 "$desc: the 7 scraper rules of ndes.md 1.7 ran"
	is "$bad" 0 "$desc: fleet, zentral, PowerShell, ntlm-relay, HPE iLO, python split, nornir all read the same password"
	if [ -n "$mode" ]; then
		is "$want" "$STATIC_PW" "$desc: the password is the static one"
	else
		like "$want" '^[0-9A-F]{16}$' "$desc: 16 upper-case hex characters (PasswordLength 8)"
	fi
	PAGE_PW=$want
}

# enroll NAME PASSWORD: scepclient in a fresh folder; sets EK EC EOUT; its exit status
enroll() { scepclient_in_dir "$1" "$SCEPD_URL" "$2" "adm-$1"; }

# age PASSWORD: move a one-time password's expiry into the past in the store, as
# if PasswordValidity minutes had passed (the store keeps only its SHA-256)
age() {
	"$PY" - "$SCEPD_DIR/scepd.db" "$1" <<'EOF'
import hashlib, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
h = hashlib.sha256(sys.argv[2].encode()).digest()
n = db.execute("UPDATE challenges SET expires_at = ? WHERE password_sha256 = ?",
               (int(time.time()) - 1, h)).rowcount
db.commit()
sys.exit(0 if n == 1 else 1)
EOF
}

unused_count() { scepctl_cmd challenge list 2>/dev/null | tail -n +2 | grep -c .; }

have_scepclient=1
have_cmd scepclient || have_scepclient=0
VALIDITY=60
STATIC_PW=
A_USER=alice A_PASS='Adm1n-pa55!'

# ================================================================ server A
D=$(new_dir a)
init_scepd "$D" || bail "scepctl init (defaults: one-time passwords)"
check "allow_des on for scepclient" conf_set "$D" scep allow_des true
check "admin.basic on" conf_set "$D" admin basic true
check "PasswordMax 50 (room for every client below)" conf_set "$D" challenge PasswordMax 50
check "challenge.max_failures 0 (the race below rejects many)" conf_set "$D" challenge max_failures 0
check "scepd -t accepts the edited configuration" "$SCEPD_BIN" -t -f "$D/scepd.conf"
SCEPD_CONF=$D/scepd.conf
check "scepctl user add alice (password on stdin)" add_user "$A_USER" "$A_PASS"
check "scepctl user add bob --no-enroll-right" add_user bob 'b0b-pass' --no-enroll-right
check "scepctl user add carol --no-ntlm (Basic only)" add_user carol 'car0l-pass' --no-ntlm
ul=$(scepctl_cmd user list 2>&1)
like "$ul" 'alice +yes +NTLM, Basic' "user list: alice, enroll right, NTLM and Basic"
like "$ul" 'bob +no ' "user list: bob without the enroll right"
like "$ul" 'carol +yes +Basic ' "user list: carol Basic only"
add_user alice other >/dev/null 2>&1
isnt "$?" 0 "user add refuses an existing name"
run_scepd "$D" || bail "scepd starts"
pass "scepd starts"
ADMIN=$SCEPD_BASE/certsrv/mscep_admin/

# --- unauthenticated, paths
st=$(page "$TEST_TMP/unauth" "$ADMIN")
is "$st" "401 text/plain" "no credentials: 401"
hdrs=$(grep -i '^WWW-Authenticate:' "$TEST_TMP/unauth.hdr" | tr -d '\r' | paste -sd'|')
is "$hdrs" 'WWW-Authenticate: Negotiate|WWW-Authenticate: NTLM|WWW-Authenticate: Basic realm="scepd"' \
	"401 offers Negotiate, NTLM and Basic realm=\"scepd\", in that order"
for p in /certsrv/mscep_admin /CertSrv/mscep_admin/mscep.dll /CERTSRV/MSCEP_ADMIN/; do
	st=$(page "$TEST_TMP/path" "$SCEPD_BASE$p")
	is "${st%% *}" 401 "$p asks for sign-in (401)"
done
st=$(page "$TEST_TMP/caps" "$SCEPD_BASE/certsrv/mscep_admin/mscep.dll?operation=GetCACaps")
is "$st" "200 text/plain" "GetCACaps answers anonymously under /certsrv/mscep_admin/mscep.dll"
st=$(page "$TEST_TMP/post" -X POST --data x "$ADMIN")
is "${st%% *}" 405 "POST to the page: 405"

# --- curl --ntlm (NTLMv2, raw NTLMSSP under the NTLM scheme, one keep-alive connection)
mark=$(log_mark)
st=$(page "$TEST_TMP/ntlm.html" --ntlm -u "$A_USER:$A_PASS" -v "$ADMIN")
check_page "curl --ntlm" "$TEST_TMP/ntlm.html" "$st"
P1=$PAGE_PW
like "$(grep -c 'Re-using existing connection\|Connection #0 to host' "$TEST_TMP/ntlm.html.err")" '^[1-9]' \
	"curl --ntlm: the handshake ran on one connection"
if grep -qi '^< Connection: close' "$TEST_TMP/ntlm.html.err"; then
	fail "the 401 carrying the NTLM challenge keeps the connection open"
else
	pass "the 401 carrying the NTLM challenge keeps the connection open"
fi
check_log "$mark" 'user=alice op=mscep_admin status=200' "log: the page for alice, status 200"
tp=$(openssl x509 -in "$D/ca.crt" -outform DER | openssl md5 -r | cut -c1-32 | tr a-f A-F)
tp="${tp:0:8} ${tp:8:8} ${tp:16:8} ${tp:24:8}"
like "$(decoded "$TEST_TMP/ntlm.html")" "is: <B> $tp </B> <P> The enrollment challenge password is: <B> $P1 </B>" \
	"thumbprint = MD5 of ca.crt in 4 groups, before the password"
like "$(decoded "$TEST_TMP/ntlm.html")" 'will expire within 60 minutes\.' "the page quotes PasswordValidity 60"
st=$(page "$TEST_TMP/ntlm-bad" --ntlm -u "$A_USER:wrong" "$ADMIN")
is "${st%% *}" 401 "curl --ntlm with a wrong password: 401"
st=$(page "$TEST_TMP/ntlm-dom.html" --ntlm -u "CORP\\$A_USER:$A_PASS" "$ADMIN")
is "$st" "200 text/html" "curl --ntlm with a DOMAIN\\user name: 200"
st=$(page "$TEST_TMP/ntlm-carol" --ntlm -u "carol:car0l-pass" "$ADMIN")
is "${st%% *}" 401 "an account made --no-ntlm cannot sign in with NTLM"

# --- enrollment with the page's password
if [ $have_scepclient = 1 ]; then
	mark=$(log_mark)
	enroll ok1 "$P1"
	rc=$?
	if [ $rc = 0 ]; then pass "scepclient enrolls with the page's password"
	else fail "scepclient enrolls with the page's password" "exit $rc" "$(tail -3 "$EOUT")"; fi
	check "the certificate is issued by our CA for the client key" verify_issued "$EC" "$EK"
	mark=$(log_mark)
	enroll reuse "$P1"
	isnt "$?" 0 "the same password a second time is refused"
	check "no certificate for the second use" test ! -s "$EC"
	check_log "$mark" 'outcome="?FAILURE.*event=29.*already used' \
		"log: second use is event 29, \"already used\""
else
	skip "scepclient not installed (Debian package scep): enrollment with the page's password"
fi

# --- curl --basic
st=$(page "$TEST_TMP/basic.html" --basic -u "$A_USER:$A_PASS" "$ADMIN")
check_page "curl --basic" "$TEST_TMP/basic.html" "$st"
P2=$PAGE_PW
isnt "$P2" "$P1" "a new password on every fetch"
st=$(page "$TEST_TMP/basic-carol.html" --basic -u "carol:car0l-pass" "$ADMIN")
is "$st" "200 text/html" "curl --basic as a Basic-only account: 200"
st=$(page "$TEST_TMP/basic-bad" --basic -u "$A_USER:wrong" "$ADMIN")
is "${st%% *}" 401 "curl --basic with a wrong password: 401"
st=$(page "$TEST_TMP/basic-dom.html" --basic -u "CORP\\$A_USER:$A_PASS" "$ADMIN")
is "$st" "200 text/html" "curl --basic with a DOMAIN\\user name: 200"

# --- python requests + requests_ntlm
if have_requests_ntlm; then
	out=$(OPENSSL_CONF=$LEGACY_CNF "$PY" "$HELPER" requests "$ADMIN" "CORP\\$A_USER" "$A_PASS" \
		"$TEST_TMP/rq.html" 2>&1)
	check_page "requests_ntlm" "$TEST_TMP/rq.html" "$(echo "$out" | sed -n 's/^status //p')"
else
	skip "python3-requests-ntlm not installed: requests_ntlm client"
fi

# --- curl --negotiate through gss-ntlmssp: SPNEGO-wrapped NTLM
if have_gss_ntlmssp; then
	printf 'CORP:%s:%s\n' "$A_USER" "$A_PASS" >"$TEST_TMP/ntlm-users"
	st=$(NTLM_USER_FILE=$TEST_TMP/ntlm-users page "$TEST_TMP/spnego.html" --negotiate -u : -v "$ADMIN")
	check_page "curl --negotiate (gss-ntlmssp, SPNEGO)" "$TEST_TMP/spnego.html" "$st"
	like "$(grep -i '^> Authorization: Negotiate' "$TEST_TMP/spnego.html.err" | head -1)" \
		'Negotiate Y[A-Za-z0-9+/]*' "the client sent a GSS-API/SPNEGO NegTokenInit (0x60...)"
	like "$(tr -d '\r' <"$TEST_TMP/spnego.html.hdr" | grep -i '^WWW-Authenticate' | tail -1)" \
		'^WWW-Authenticate: Negotiate oQcwBaADCgEA$' "the 200 carries NegTokenResp accept-completed"
else
	skip "gss-ntlmssp not installed: curl --negotiate with SPNEGO-wrapped NTLM"
fi

# --- exchanges shaped like go-ntlmssp and Fleet's proactive transport
if have_ntlm_auth; then
	out=$(OPENSSL_CONF=$LEGACY_CNF "$PY" "$HELPER" raw "$ADMIN" "$A_USER" "$A_PASS" \
		"$TEST_TMP/raw.html" negotiate-raw 2>&1)
	like "$out" 'status probe 401 Negotiate\|NTLM\|Basic' "raw Negotiate: the probe gets 401 with the schemes"
	like "$out" 'status type2 401 NTLMSSP' "bare NTLMSSP NEGOTIATE under Negotiate: 401 with the CHALLENGE, same scheme"
	check_page "bare NTLMSSP under Negotiate" "$TEST_TMP/raw.html" \
		"$(echo "$out" | sed -n 's/^status type3 //p')"
	check_page "a second request on the signed-in connection, no credentials" \
		"$TEST_TMP/raw.html.again" "$(echo "$out" | sed -n 's/^status again //p')"
	out=$(OPENSSL_CONF=$LEGACY_CNF "$PY" "$HELPER" raw "$ADMIN" "$A_USER" "$A_PASS" \
		"$TEST_TMP/pro.html" ntlm-proactive 2>&1)
	like "$out" 'status type2 401 NTLMSSP' "NTLM NEGOTIATE on a connection's first request: 401 CHALLENGE"
	check_page "NTLM without an anonymous probe" "$TEST_TMP/pro.html" \
		"$(echo "$out" | sed -n 's/^status type3 //p')"
	out=$(OPENSSL_CONF=$LEGACY_CNF "$PY" "$HELPER" raw "$ADMIN" "$A_USER" "$A_PASS" \
		"$TEST_TMP/other.html" other-conn 2>&1)
	like "$out" 'status type3 401' "an AUTHENTICATE on another connection than its CHALLENGE: 401"
	out=$(OPENSSL_CONF=$LEGACY_CNF "$PY" "$HELPER" raw "$ADMIN" "$A_USER" "$A_PASS" \
		"$TEST_TMP/krb.html" spnego-krb5-first 2>&1)
	like "$out" 'status ask 401 a1153013a0030a0101a10c060a2b06010401823702020a$' \
		"SPNEGO with Kerberos first: 401 NegTokenResp accept-incomplete, supportedMech NTLM, no token"
	like "$out" 'status type2 401 wrapped no-mech' "NTLM NEGOTIATE in a NegTokenResp: CHALLENGE wrapped, supportedMech not repeated"
	check_page "SPNEGO after Kerberos was declined" "$TEST_TMP/krb.html" \
		"$(echo "$out" | sed -n 's/^status type3 //p')"
	like "$out" 'final a1073005a0030a0100' "the 200 carries accept-completed"
else
	skip "python3-ntlm-auth not installed: raw Negotiate and proactive NTLM exchanges"
fi

# --- the insufficient-permission page
mark=$(log_mark)
st=$(page "$TEST_TMP/perm.html" --ntlm -u "bob:b0b-pass" "$ADMIN")
is "$st" "200 text/html" "account without the enroll right: 200"
txt=$(decoded "$TEST_TMP/perm.html")
like "$txt" 'You do not have sufficient permission to enroll with SCEP\.' "it is the insufficient-permission page"
if printf '%s' "$txt" | grep -q 'challenge password is'; then fail "no password on it"; else pass "no password on it"; fi
check_log "$mark" 'user=bob op=mscep_admin status=200 event=6' "log: event 6 for the account without the right"

# --- many simultaneous enrollments presenting one one-time password
if [ $have_scepclient = 1 ]; then
	st=$(page "$TEST_TMP/race.html" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
	check_page "page for the race" "$TEST_TMP/race.html" "$st"
	PR=$PAGE_PW
	before=$(scepctl_cmd cert list | tail -n +2 | grep -c .)
	mark=$(log_mark)
	N=10
	pids=()
	for i in $(seq $N); do
		enroll "race$i" "$PR" &
		pids+=($!)
	done
	wins=0
	for p in "${pids[@]}"; do wait "$p" && wins=$((wins + 1)); done
	is "$wins" 1 "$N simultaneous scepclient enrollments with one password: exactly one succeeds"
	certs=$(find "$TEST_TMP" -path '*race*' -name client.crt -size +0 | wc -l)
	is "$certs" 1 "exactly one certificate was written"
	after=$(scepctl_cmd cert list | tail -n +2 | grep -c .)
	is "$((after - before))" 1 "exactly one certificate was recorded in the store"
	# every enrollment's outcome is logged once it is answered: wait for all N
	outcomes_logged() {
		[ "$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -cE 'outcome=(SUCCESS|FAILURE)')" -ge "$N" ]
	}
	wait_until 30 outcomes_logged || diag "fewer than $N outcomes logged after 30 s"
	succ=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -c 'outcome=SUCCESS')
	used=$(tail -n +"$((mark + 1))" "$SCEPD_LOG" | grep -c 'outcome=FAILURE.*event=29')
	is "$succ/$used" "1/$((N - 1))" "log: one SUCCESS, $((N - 1)) FAILUREs with event 29"
else
	skip "scepclient not installed: concurrency of one one-time password"
fi
stop_checked "server A"

# ================================================================ server B: defaults
D=$(new_dir b)
init_scepd "$D" || bail "scepctl init (server B)"
check "allow_des on" conf_set "$D" scep allow_des true
check "challenge.max_failures 0" conf_set "$D" challenge max_failures 0
SCEPD_CONF=$D/scepd.conf
check "user add alice" add_user "$A_USER" "$A_PASS"
run_scepd "$D" || bail "scepd starts (server B)"
ADMIN=$SCEPD_BASE/certsrv/mscep_admin/
PW=()
full_at=0
for i in 1 2 3 4 5 6; do
	st=$(page "$TEST_TMP/fill$i.html" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
	txt=$(decoded "$TEST_TMP/fill$i.html" 2>/dev/null)
	if printf '%s' "$txt" | grep -q 'The password cache is full\.'; then
		full_at=$i; break
	fi
	PW+=("$(printf '%s' "$txt" | sed -n 's/.*challenge password is: <B> \([0-9A-F]*\) <\/B>.*/\1/p')")
done
is "$full_at" 6 "the 6th fetch (PasswordMax 5 unused) gets the cache-full page"
is "$st" "200 text/html" "the cache-full page is HTTP 200 text/html"
check_page_nopw() { ! decoded "$1" | grep -q 'challenge password is'; }
check "the cache-full page shows no password" check_page_nopw "$TEST_TMP/fill6.html"
is "$(unused_count)" 5 "scepctl challenge list shows 5 unused passwords"
scepctl_cmd challenge new >/dev/null 2>"$TEST_TMP/new.err"
isnt "$?" 0 "scepctl challenge new refuses while the cache is full"
like "$(cat "$TEST_TMP/new.err")" 'cache is full' "... saying the cache is full"

# expiry frees a place, and an expired password is refused
check "age the first password past PasswordValidity" age "${PW[0]}"
is "$(unused_count)" 4 "the expired password left the list"
if [ $have_scepclient = 1 ]; then
	mark=$(log_mark)
	enroll expired "${PW[0]}"
	isnt "$?" 0 "scepclient with the expired password fails"
	check_log "$mark" 'outcome="?FAILURE.*event=29.*expired' "log: event 29, \"expired\""
fi
st=$(page "$TEST_TMP/after-expiry.html" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
check_page "page after an expiry freed a place" "$TEST_TMP/after-expiry.html" "$st"
st=$(page "$TEST_TMP/full2.html" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
like "$(decoded "$TEST_TMP/full2.html")" 'The password cache is full\.' "full again"
# use frees a place
if [ $have_scepclient = 1 ]; then
	enroll use "${PW[1]}"
	is "$?" 0 "enrolling with a cached password works"
	st=$(page "$TEST_TMP/after-use.html" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
	check_page "page after a use freed a place" "$TEST_TMP/after-use.html" "$st"
fi
out=$(scepctl_cmd challenge purge 2>&1)
like "$out" '^removed [1-9][0-9]* used or expired' "scepctl challenge purge removes used and expired passwords"
stop_checked "server B"

# ================================================================ server C: static password, limits
D=$(new_dir c)
STATIC_PW=0123456789ABCDEF0123456789ABCDEF
init_scepd "$D" --challenge "$STATIC_PW" || bail "scepctl init --challenge (server C)"
check "allow_des on" conf_set "$D" scep allow_des true
check "admin.max_failures 3" conf_set "$D" admin max_failures 3
check "challenge.max_failures 2" conf_set "$D" challenge max_failures 2
SCEPD_CONF=$D/scepd.conf
check "user add alice" add_user "$A_USER" "$A_PASS"
run_scepd "$D" || bail "scepd starts (server C)"
ADMIN=$SCEPD_BASE/certsrv/mscep_admin/mscep.dll
st=$(page "$TEST_TMP/static.html" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
check_page "static-password page" "$TEST_TMP/static.html" "$st" static
like "$(decoded "$TEST_TMP/static.html")" 'This password can be used multiple times and will not expire\.' \
	"static page: \"can be used multiple times and will not expire\""
st=$(page "$TEST_TMP/basic-off" --basic -u "$A_USER:$A_PASS" "$ADMIN")
is "${st%% *}" 401 "Basic is refused when admin.basic is false (the default)"
if grep -qi '^WWW-Authenticate: Basic' "$TEST_TMP/basic-off.hdr"; then
	fail "no Basic challenge offered by default"
else
	pass "no Basic challenge offered by default"
fi
if [ $have_scepclient = 1 ]; then
	enroll static1 "$STATIC_PW"
	is "$?" 0 "enrollment with the static password"
	enroll static2 "$STATIC_PW"
	is "$?" 0 "the static password works again"
	enroll wrong1 WRONGPASSWORD1
	isnt "$?" 0 "a wrong password is refused (1)"
	enroll wrong2 WRONGPASSWORD2
	isnt "$?" 0 "a wrong password is refused (2)"
	mark=$(log_mark)
	enroll blocked "$STATIC_PW"
	isnt "$?" 0 "after challenge.max_failures rejections the address is refused, even with the right password"
	check_log "$mark" 'event=29.*too many rejected challenge passwords' "log: refused for too many rejected passwords"
fi
for i in 1 2 3; do
	page "$TEST_TMP/bad$i" --ntlm -u "$A_USER:nope$i" "$ADMIN" >/dev/null
done
mark=$(log_mark)
st=$(page "$TEST_TMP/limited" --ntlm -u "$A_USER:$A_PASS" "$ADMIN")
is "${st%% *}" 429 "after admin.max_failures failed sign-ins: 429, even with the right password"
like "$(tr -d '\r' <"$TEST_TMP/limited.hdr")" 'Retry-After: [0-9]+' "429 carries Retry-After"
check_log "$mark" 'status=429.*too many failed sign-ins' "log: the 429 and why"
st=$(page "$TEST_TMP/head" -I "$SCEPD_BASE/certsrv/mscep_admin/")
is "${st%% *}" 429 "the block covers every request for the page"
stop_checked "server C"
check "admin.enabled false" conf_set "$D" admin enabled false
run_scepd "$D" || bail "scepd starts (server C, admin disabled)"
st=$(page "$TEST_TMP/off" --ntlm -u "$A_USER:$A_PASS" "$SCEPD_BASE/certsrv/mscep_admin/")
is "${st%% *}" 404 "admin.enabled false: the page is 404"
st=$(page "$TEST_TMP/off2" "$SCEPD_BASE/certsrv/mscep_admin/mscep.dll?operation=GetCACaps")
is "${st%% *}" 404 "admin.enabled false: SCEP under the admin path is 404 too"
st=$(page "$TEST_TMP/on" "$SCEPD_URL?operation=GetCACaps")
is "${st%% *}" 200 "SCEP at /certsrv/mscep/mscep.dll still answers"
stop_checked "server C, admin disabled"

done_testing

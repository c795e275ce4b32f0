#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_kerberos.sh: Kerberos sign-in on the NDES challenge page /certsrv/mscep_admin/
# against a real MIT KDC (krb5kdc, realm SCEPD.TEST) made in a folder under
# tests/tmp, with real clients: curl --negotiate after kinit, and python3-gssapi
# (krb_client.py) for the tokens curl cannot send. Checks: sign-in as an
# account named after the principal, the mutual-authentication token, the
# insufficient-permission page, refusals (401) of an unknown principal, a
# replayed authenticator, a ticket for another service principal, a changed
# token, an expired ticket and a ticket under a service key the keytab does not
# hold; NTLM beside Kerberos, admin.ntlm = false, and the admin.kerberos_realm
# rule. No root path is touched: KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME,
# the KDC database and scepd's replay cache all live in the test's folders.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

PY=/usr/bin/python3
CLIENT=$SCEPD_TOP/tests/integration/krb_client.py
REALM=SCEPD.TEST
ADMIN=/certsrv/mscep_admin/

for c in krb5kdc kdb5_util kadmin.local kinit kdestroy; do
	if ! have_cmd "$c" && ! have_cmd "/usr/sbin/$c"; then
		skip "Kerberos: $c is not installed (apt-get install krb5-kdc krb5-admin-server krb5-user)"
		done_testing; exit 0
	fi
done
PATH=$PATH:/usr/sbin
if ! curl -V 2>/dev/null | grep -q 'GSS-API'; then
	skip "Kerberos: this curl has no GSS-API"; done_testing; exit 0
fi
have_pygssapi() { [ -x "$PY" ] && "$PY" -c 'import gssapi' 2>/dev/null; }

# ---------------------------------------------------------------- the realm

mkdir -p "$SCEPD_TOP/tests/tmp"
KDC_DIR=$(mktemp -d "$SCEPD_TOP/tests/tmp/krb5.XXXXXX") || bail "a folder under tests/tmp"
trap '_cleanup; [ -n "${KEEP_TMP:-}" ] || rm -rf "$KDC_DIR"' EXIT
KDC_PORT=$(free_port) || bail "a free port for the KDC"

# clockskew = 1: an expired ticket is refused one second after its end, not
# after the default five minutes (both sides read this file).
cat >"$KDC_DIR/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	clockskew = 1
	default_ccache_name = FILE:$KDC_DIR/ccache
	default_keytab_name = FILE:$KDC_DIR/default.keytab
	default_client_keytab_name = FILE:$KDC_DIR/client.keytab
[realms]
	$REALM = {
		kdc = 127.0.0.1:$KDC_PORT
	}
[domain_realm]
	127.0.0.1 = $REALM
	localhost = $REALM
EOF
cat >"$KDC_DIR/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KDC_PORT
[realms]
	$REALM = {
		database_name = $KDC_DIR/principal
		key_stash_file = $KDC_DIR/stash
		acl_file = $KDC_DIR/kadm5.acl
		kdc_listen = 127.0.0.1:$KDC_PORT
		kdc_tcp_listen = 127.0.0.1:$KDC_PORT
		max_life = 10h
	}
[logging]
	kdc = FILE:$KDC_DIR/kdc.log
	default = FILE:$KDC_DIR/kdc.log
EOF
export KRB5_CONFIG=$KDC_DIR/krb5.conf KRB5_KDC_PROFILE=$KDC_DIR/kdc.conf
export KRB5CCNAME=FILE:$KDC_DIR/ccache KRB5RCACHEDIR=$KDC_DIR
unset KRB5_KTNAME KRB5_CLIENT_KTNAME

kadm() { kadmin.local -r "$REALM" -q "$1" >>"$KDC_DIR/kadmin.log" 2>&1; }
MASTER=$(openssl rand -hex 16)
ALICE_PW=$(openssl rand -hex 12)
kdb5_util create -s -r "$REALM" -P "$MASTER" >"$KDC_DIR/kdb5_util.log" 2>&1 ||
	bail "kdb5_util create -s makes the realm's database" "$(tail -5 "$KDC_DIR/kdb5_util.log")"
for p in alice bob carol; do
	kadm "addprinc -pw $ALICE_PW $p" || bail "kadmin.local addprinc $p"
done
kadm "addprinc -randkey HTTP/127.0.0.1" && kadm "addprinc -randkey HTTP/localhost" &&
	kadm "ktadd -k $KDC_DIR/http.keytab HTTP/127.0.0.1" ||
	bail "kadmin.local makes the service principals and the keytab" "$(tail -5 "$KDC_DIR/kadmin.log")"

krb5kdc -n -P "$KDC_DIR/kdc.pid" >"$KDC_DIR/krb5kdc.out" 2>&1 &
track_pid $!
kdc_up() { (exec 3<>"/dev/tcp/127.0.0.1/$KDC_PORT") 2>/dev/null; }
wait_until 30 kdc_up || bail "krb5kdc listens on 127.0.0.1:$KDC_PORT" "$(cat "$KDC_DIR/krb5kdc.out")"
pass "a real MIT KDC runs for $REALM on 127.0.0.1:$KDC_PORT"

# signin PRINCIPAL [kinit options]: a fresh ticket cache for PRINCIPAL
signin() {
	local p=$1; shift
	kdestroy -q 2>/dev/null
	printf '%s\n' "$ALICE_PW" | kinit "$@" "$p" >"$KDC_DIR/kinit.log" 2>&1
}

# ---------------------------------------------------------------- scepd

# admin_set DIR KEY VALUE: set KEY inside "admin = { ... };" (the generated file
# writes an unset keytab as a comment)
admin_set() {
	local f=$1/scepd.conf
	sed -i -E "/^admin = \\{/,/^\\};/ { s/^([[:space:]]*)$2 = [^;]*;/\\1$2 = $3;/; s/^([[:space:]]*)# $2 is not set\\./\\1$2 = $3;/ }" "$f"
	sed -n "/^admin = {/,/^};/p" "$f" | grep -Eq "^[[:space:]]*$2 = $3;"
}

D=$(new_dir krb)
init_scepd "$D" || bail "scepctl init"
cp "$KDC_DIR/http.keytab" "$D/http.keytab" && chmod 600 "$D/http.keytab"
admin_set "$D" keytab '"http.keytab"' || bail "admin.keytab set in scepd.conf"
admin_set "$D" max_failures 1000 || bail "admin.max_failures set in scepd.conf"
scepd_env "$D"
scepctl_cmd user add "alice@$REALM" --kerberos-only >/dev/null 2>"$TEST_TMP/user.err" ||
	bail "scepctl user add alice@$REALM --kerberos-only" "$(cat "$TEST_TMP/user.err")"
scepctl_cmd user add "carol@$REALM" --kerberos-only --no-enroll-right >/dev/null 2>&1 ||
	bail "scepctl user add carol@$REALM --kerberos-only --no-enroll-right"
printf 'dave-pw\n' | scepctl_cmd user add dave >/dev/null 2>&1 || bail "scepctl user add dave"
chmod 640 "$D/http.keytab"
out=$("$SCEPD_BIN" -t -f "$D/scepd.conf" 2>&1)
isnt "$?" 0 "scepd -t refuses a keytab readable by its group"
like "$out" 'admin.keytab' "... and names admin.keytab"
chmod 600 "$D/http.keytab"
run_scepd "$D" || bail "scepd starts with admin.keytab"
URL=$SCEPD_BASE$ADMIN

# decoded FILE: the page as text
decoded() { "$PY" -c 'import sys; print(open(sys.argv[1], "rb").read().decode("utf-16"))' "$1"; }

# 1. curl --negotiate after kinit
signin alice || bail "kinit alice" "$(cat "$KDC_DIR/kinit.log")"
mark=$(log_mark)
got=$(http "$TEST_TMP/p1" --negotiate -u : "$URL")
is "${got%% *}" 200 "curl --negotiate as alice@$REALM gets the page"
like "$(decoded "$TEST_TMP/p1")" 'The enrollment challenge password is: <B> [0-9A-F]{16} </B>' \
	"the page holds a one-time password"
like "$(tr -d '\r' <"$TEST_TMP/p1.hdr")" '^WWW-Authenticate: Negotiate [A-Za-z0-9+/=]{20,}$' \
	"the 200 carries the mutual-authentication token"
check_log "$mark" "user=alice@$REALM op=mscep_admin status=200" "the log names the principal"

# 2. python3-gssapi: the mutual token verifies; a replayed token is refused
if have_pygssapi; then
	out=$("$PY" "$CLIENT" get "$URL" "HTTP@127.0.0.1" 2>&1)
	like "$out" '^200 ok' "python3-gssapi signs in and accepts the server's mutual token"
	like "$out" 'password=[0-9A-F]{16}' "python3-gssapi gets a password"
	mark=$(log_mark)
	out=$("$PY" "$CLIENT" replay "$URL" "HTTP@127.0.0.1" 2>&1)
	is "$(printf '%s\n' "$out" | grep -E '^[0-9]{3} ' | tr '\n' ' ')" "200 ok 401 none " \
		"the same authenticator twice: 200, then 401 (replay cache)"
	check_log "$mark" 'status=401.*[Rr]eplay' "the log says it was a replay"
	mark=$(log_mark)
	out=$("$PY" "$CLIENT" get "$URL" "HTTP@localhost" 2>&1)
	like "$out" '^401 ' "a ticket for another service principal (HTTP/localhost) gets 401"
	check_log "$mark" 'status=401.*Kerberos sign-in refused' "the log says why"
	out=$("$PY" "$CLIENT" corrupt "$URL" "HTTP@127.0.0.1" 2>&1)
	like "$out" '^401 ' "a token with one byte changed gets 401"
else
	skip "python3-gssapi: not installed (apt-get install python3-gssapi)"
fi

check "the replay cache is admin-krb5.rcache in state_dir, private" \
	test "$(stat -c %a "$D/admin-krb5.rcache" 2>/dev/null)" = 600

# 3. accounts: no enroll right, no account, Kerberos-only against NTLM
signin carol || bail "kinit carol"
got=$(http "$TEST_TMP/p2" --negotiate -u : "$URL")
is "${got%% *}" 200 "carol (no enroll right) signs in"
like "$(decoded "$TEST_TMP/p2")" 'You do not have sufficient permission' \
	"carol gets the insufficient-permission page"
signin bob || bail "kinit bob"
mark=$(log_mark)
got=$(http "$TEST_TMP/p3" --negotiate -u : "$URL")
is "${got%% *}" 401 "bob (a valid ticket, no account, no realm rule) gets 401"
check_log "$mark" "no account of that name" "the log says bob has no account"
got=$(http "$TEST_TMP/p4" --ntlm -u "alice@$REALM:$ALICE_PW" "$URL")
is "${got%% *}" 401 "the Kerberos-only account cannot sign in with NTLM"
got=$(http "$TEST_TMP/p5" --ntlm -u "dave:dave-pw" "$URL")
is "${got%% *}" 200 "NTLM stays available beside Kerberos (dave)"

# 4. an expired ticket: a 15-second ticket (room for a loaded machine to make the token), the token sent after its end
if have_pygssapi; then
	if signin alice -l 15s; then
		mark=$(log_mark)
		out=$("$PY" "$CLIENT" expired "$URL" "HTTP@127.0.0.1" 2>&1)
		like "$out" '^401 ' "a token whose ticket has expired gets 401"
		check_log "$mark" 'status=401.*[Ee]xpired' "the log says the ticket expired"
	else
		fail "kinit -l 15s alice" "$(cat "$KDC_DIR/kinit.log")"
	fi
fi
stop_scepd

# 5. admin.ntlm = false and the realm rule
admin_set "$D" ntlm false || bail "admin.ntlm set"
admin_set "$D" kerberos_realm "\"$REALM\"" || bail "admin.kerberos_realm set"
run_scepd "$D" || bail "scepd starts with admin.ntlm = false"
got=$(http "$TEST_TMP/p6" "$URL")
is "${got%% *}" 401 "no credentials: 401"
unlike "$(tr -d '\r' <"$TEST_TMP/p6.hdr")" '^WWW-Authenticate: NTLM' \
	"with admin.ntlm = false the 401 does not offer NTLM"
like "$(tr -d '\r' <"$TEST_TMP/p6.hdr")" '^WWW-Authenticate: Negotiate$' "... but offers Negotiate"
got=$(http "$TEST_TMP/p7" --ntlm -u "dave:dave-pw" "$URL")
is "${got%% *}" 401 "NTLM is refused with admin.ntlm = false"
signin bob || bail "kinit bob"
got=$(http "$TEST_TMP/p8" --negotiate -u : "$URL")
is "${got%% *}" 200 "bob signs in by the admin.kerberos_realm rule"
like "$(decoded "$TEST_TMP/p8")" 'The enrollment challenge password is: <B> [0-9A-F]{16} </B>' \
	"bob gets a password (the rule grants the enroll right)"
signin carol || bail "kinit carol"
got=$(http "$TEST_TMP/p9" --negotiate -u : "$URL")
like "$(decoded "$TEST_TMP/p9")" 'You do not have sufficient permission' \
	"carol's own account (no enroll right) takes precedence over the realm rule"

# SPNEGO offering NTLM first (gss-ntlmssp) and Kerberos second: GSS-API counter-
# proposes Kerberos and the mechListMIC is exchanged, over one connection.
if have_pygssapi && ls /usr/lib/*/gssntlmssp/gssntlmssp.so >/dev/null 2>&1; then
	signin alice || bail "kinit alice"
	printf 'WORKGROUP:dave:dave-pw\n' >"$KDC_DIR/ntlm-users"
	mark=$(log_mark)
	out=$(NTLM_USER_FILE=$KDC_DIR/ntlm-users "$PY" "$CLIENT" ntlmfirst "$URL" "HTTP@127.0.0.1" 2>&1)
	printf "%s\n" "$out" >"$TEST_TMP/ntlmfirst.out"
	like "$out" "offered NTLM first: True" "the client offers NTLM first, Kerberos second"
	like "$out" 'step 401 token' "scepd answers with a SPNEGO counter-proposal (401 + token)"
	like "$out" 'done 200 complete mech 1.2.840.113554.1.2.2' \
		"the exchange completes with Kerberos on the same connection, mechListMIC checked"
	check_log "$mark" "user=alice@$REALM op=mscep_admin status=200" "as alice@$REALM"
else
	skip "python3-gssapi or gss-ntlmssp not installed: NTLM-first SPNEGO not exercised"
fi

# 6. the service key changes in the KDC, the keytab is not renewed: 401
kadm "cpw -randkey HTTP/127.0.0.1" || fail "kadmin.local cpw -randkey HTTP/127.0.0.1"
signin alice || bail "kinit alice"
mark=$(log_mark)
got=$(http "$TEST_TMP/p10" --negotiate -u : "$URL")
is "${got%% *}" 401 "a ticket under a service key the keytab does not hold gets 401"
check_log "$mark" 'status=401.*Kerberos sign-in refused' "the log says why"
check_serving "after the refused sign-ins"
stop_scepd
done_testing

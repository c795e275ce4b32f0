#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_filemodes.sh: private files, strict modes, the service user and the
# challenge rate limiter across a reload, with the real binaries.
#  1. umask 022 and an existing 0755 folder: `scepctl init -d` tightens the
#     folder to 0700, and the database `scepctl user add` fills (NT hashes) is
#     0600.
#  2. Strict modes: `scepd -t` and a start refuse, naming the file, a
#     group-readable database, state folder or key; a file owned by another
#     user; a reload (SIGHUP) that finds the database no longer private is
#     refused (event 1002) and the running configuration keeps serving.
#  3. Started as root without `user`: event 1006 (runs as root).
#  4. The challenge and sign-in rate limiters survive SIGHUP: failures before
#     and after a reload add up, and the address is then refused even with a
#     good password.
#  5. Started as root with user = "nobody": the process's uids and gids are
#     nobody's (/proc/PID/status), it serves GetCACaps and issues a
#     certificate (it writes the database as nobody); a state folder still
#     owned by root is refused by -t and at start; `scepctl init --owner`
#     gives a new folder to the service user; an unknown user is fatal.
#  6. No secret in `scepd -T` or the log: a static challenge password is
#     shown as set, not printed.
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries
T=$TEST_TMP

# mode FILE: its octal mode
mode() { stat -c %a "$1"; }

# t_check FILE: scepd -t on FILE's state folder configuration; "rc:output"
t_check() { "$SCEPD_BIN" -t -f "$1/scepd.conf" 2>&1; echo "rc=$?"; }

# --- 1. scepctl init into an existing folder, under umask 022
D=$(new_dir lab)
mkdir -m 0755 "$D"
port=$(free_port)
out=$(umask 022; "$SCEPCTL_BIN" init -d "$D" --listen "127.0.0.1:$port" 2>&1)
is "$?" 0 "scepctl init -d into an existing 0755 folder (umask 022)"
echo "$port" >"$D/.test-port"
like "$out" "mode 0755 tightened to 0700" "init says it tightened the folder"
is "$(mode "$D")" 700 "the existing state folder is now 0700"
out=$(umask 022; printf 'Passw0rd!\n' | "$SCEPCTL_BIN" -f "$D/scepd.conf" user add alice 2>&1)
is "$?" 0 "scepctl user add (umask 022)"
is "$(mode "$D/scepd.db")" 600 "scepd.db holding the NT hash is 0600"
for f in ca.key ra-sign.key ra-enc.key scepd.conf; do
	is "$(mode "$D/$f")" 600 "$f is 0600"
done
if [ "$(id -u)" = 0 ] && have_cmd setpriv; then
	chmod 0711 "$TEST_TMP"
	O=$(new_dir others)
	mkdir -m 0777 "$O"
	out=$(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$SCEPCTL_BIN" init -d "$O" 2>&1)
	isnt "$?" 0 "scepctl init (as nobody) refuses an existing folder owned by another user"
	like "$out" "owned by uid 0, not by you: init refuses" "... saying whose it is"
	O=$(new_dir forservice)
	mkdir -m 0755 "$O"
	chown nobody "$O"
	out=$("$SCEPCTL_BIN" init -d "$O" 2>&1)
	is "$?" 0 "scepctl init as root into a folder the service user owns (as systemd-tmpfiles makes it)"
	is "$(mode "$O")" 700 "... tightened to 0700"
else
	skip "not root or no setpriv: init into another user's folder"
fi

# --- 2. strict modes: scepd -t and start
is "$(t_check "$D")" rc=0 "scepd -t accepts the private state folder (silently)"
chmod 0644 "$D/scepd.db"
out=$(t_check "$D")
like "$out" "database $D/scepd.db: accessible by group or others \(mode 0644\); chmod 600 it" \
	"scepd -t names a group-readable database"
like "$out" 'rc=1$' "... and exits 1"
scepd_env "$D"
timeout 20 "$SCEPD_BIN" -f "$D/scepd.conf" 2>"$T/start-refused.log"
is "$?" 1 "scepd refuses to start with a group-readable database"
like "$(cat "$T/start-refused.log")" "cannot start: database $D/scepd.db: accessible by group.*event=2" \
	"... logging why (event 2), naming the file"
chmod 0600 "$D/scepd.db"
chmod 0750 "$D"
like "$(t_check "$D")" "state_dir $D: accessible by group or others \(mode 0750\); chmod 700 it" \
	"scepd -t names a group-accessible state folder"
chmod 0700 "$D"
chmod 0640 "$D/ra-enc.key"
like "$(t_check "$D")" "ra.enc_key $D/ra-enc.key: accessible by group or others \(mode 0640\)" \
	"scepd -t names a group-readable key"
chmod 0600 "$D/ra-enc.key"
chown nobody "$D/ca.key"
like "$(t_check "$D")" "ca.key $D/ca.key: owned by uid [0-9]+, neither root nor the user scepd runs as" \
	"scepd -t names a key owned by another user"
chown root "$D/ca.key"

# --- 3. root without user, 2. reload with a now-bad mode
check "challenge.max_failures 3" python3 "$HELPERS/conf_set.py" "$D/scepd.conf" challenge max_failures 3
check "admin.max_failures 2" python3 "$HELPERS/conf_set.py" "$D/scepd.conf" admin max_failures 2
run_scepd "$D" || bail "scepd starts on the private state folder"
check_log 0 'running as root: no user is set.*event=1006' "started as root without user: event 1006"
chmod 0644 "$D/scepd.db"
mark=$(log_mark)
kill -HUP "$SCEPD_PID"
check_log "$mark" "reload refused: database $D/scepd.db: accessible by group or others.*event=1002" \
	"SIGHUP with a group-readable database: reload refused, logged (event 1002)"
check_serving "after the refused reload"
chmod 0600 "$D/scepd.db"
mark=$(log_mark)
kill -HUP "$SCEPD_PID"
check_log "$mark" 'reloaded .*event=1001' "SIGHUP once the database is private again: reloaded"

# --- 4. the challenge rate limiter across a reload
# enroll NAME PASSWORD: pki --scep against the running scepd; pki's status
enroll() {
	local key=$T/$1.key
	[ -s "$key" ] || new_rsa_key "$key"
	timeout 60 pki --scep --url "$SCEPD_URL" --in "$key" --dn "CN=$1" --password "$2" \
		--cacert-enc "$SCEPD_DIR/ra-enc.crt" --cacert-sig "$SCEPD_DIR/ra-sign.crt" \
		--cacert "$SCEPD_DIR/ca.crt" --maxpolltime 1 --interval 1 --outform pem \
		>"$T/$1.pem" 2>"$T/$1.err"
}
if have_cmd pki; then
	enroll wrong1 0000000000000001; isnt "$?" 0 "a wrong password is refused (1 of 3)"
	enroll wrong2 0000000000000002; isnt "$?" 0 "a wrong password is refused (2 of 3)"
	mark=$(log_mark)
	kill -HUP "$SCEPD_PID"
	check_log "$mark" 'reloaded .*event=1001' "SIGHUP between the rejections: reloaded"
	enroll wrong3 0000000000000003; isnt "$?" 0 "a wrong password is refused (3 of 3, after the reload)"
	otp=$(new_otp) || fail "scepctl challenge new"
	mark=$(log_mark)
	enroll blocked "$otp"
	isnt "$?" 0 "the address is blocked after challenge.max_failures rejections across a reload, even with a good password"
	check_log "$mark" 'event=29.*too many rejected challenge passwords' \
		"log: refused for too many rejected passwords (the reload reset nothing)"
else
	skip "pki (strongswan-pki) not installed: the rate limiter test needs a client"
fi
# sign_in PASSWORD: the HTTP status of the admin page for alice (NTLM)
sign_in() {
	curl -s -o /dev/null --max-time 20 -w '%{http_code}' --ntlm -u "alice:$1" \
		"$SCEPD_BASE/certsrv/mscep_admin/" 2>/dev/null
}
is "$(sign_in wrong-1)" 401 "a failed sign-in (1 of 2)"
mark=$(log_mark)
kill -HUP "$SCEPD_PID"
check_log "$mark" 'reloaded .*event=1001' "SIGHUP between the failed sign-ins: reloaded"
is "$(sign_in wrong-2)" 401 "a failed sign-in (2 of 2, after the reload)"
is "$(sign_in 'Passw0rd!')" 429 "after admin.max_failures failed sign-ins across a reload: 429, even with the right password"
stop_scepd

# --- 5. the service user
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	ngroup=$(id -gn nobody)
	nuid=$(id -u nobody) ngid=$(id -g nobody)
	chmod 0711 "$TEST_TMP"
	U=$(new_dir svcuser)
	init_scepd "$U" || bail "scepctl init (service user)"
	check "user = nobody" python3 "$HELPERS/conf_set.py" "$U/scepd.conf" - user '"nobody"'
	check "group = $ngroup" python3 "$HELPERS/conf_set.py" "$U/scepd.conf" - group "\"$ngroup\""
	out=$(t_check "$U")
	like "$out" "state_dir $U: owned by uid 0, but scepd uses it as user nobody after dropping privileges; chown nobody it" \
		"scepd -t (as root): a state folder the service user cannot write is named"
	chown -R "nobody:$ngroup" "$U"
	is "$(t_check "$U")" rc=0 "scepd -t accepts the folder once it belongs to the service user"
	run_scepd "$U" || bail "scepd starts as root with user = nobody"
	status=$(cat "/proc/$SCEPD_PID/status")
	like "$status" "Uid:[[:space:]]+$nuid[[:space:]]+$nuid[[:space:]]+$nuid[[:space:]]+$nuid" \
		"every uid of the running scepd is nobody's ($nuid)"
	like "$status" "Gid:[[:space:]]+$ngid[[:space:]]+$ngid[[:space:]]+$ngid[[:space:]]+$ngid" \
		"every gid is $ngroup's ($ngid)"
	like "$status" "^Groups:[[:space:]]*($ngid)?[[:space:]]*\$" "no supplementary group but $ngroup"
	like "$status" "^CapEff:[[:space:]]+0+\$" "no capability left"
	check_log 0 "running as user nobody \(uid $nuid, gid $ngid\)" "log: the user it runs as"
	check_serving "as nobody"
	if have_cmd pki; then
		otp=$(new_otp) || fail "scepctl challenge new (as root, database owned by nobody)"
		enroll asnobody "$otp"
		is "$?" 0 "an enrollment is served by scepd running as nobody"
		is "$(stat -c %U "$U/scepd.db")" nobody "the database still belongs to nobody"
	else
		skip "pki (strongswan-pki) not installed"
	fi
	stop_scepd
	V=$(new_dir owner)
	init_scepd "$V" --owner "nobody:$ngroup" || fail "scepctl init --owner nobody:$ngroup"
	is "$(find "$V" ! -user nobody ! -name .test-port | wc -l)" 0 "init --owner: the folder and every file in it are nobody's"
	is "$(find "$V" -name '*.key' -perm /077 | wc -l)" 0 "... and the keys stay 0600"
	check "user = nobody" python3 "$HELPERS/conf_set.py" "$V/scepd.conf" - user '"nobody"'
	is "$(t_check "$V")" rc=0 "scepd -t (as root, user nobody) accepts what init --owner made"
	check "user = an unknown user" python3 "$HELPERS/conf_set.py" "$U/scepd.conf" - user '"no-such-user-scepd"'
	out=$(t_check "$U")
	like "$out" 'user no-such-user-scepd: no such user' "scepd -t: an unknown user is named"
	timeout 20 "$SCEPD_BIN" -f "$U/scepd.conf" 2>"$T/nouser.log"
	is "$?" 1 "scepd refuses to start with a user it cannot become"
else
	skip "not root, or no user nobody: the service user test needs both"
fi

# --- 6. secrets stay out of -T and the log
S=$(new_dir secret)
init_scepd "$S" --challenge Top-S3cret-pw || bail "scepctl init --challenge"
out=$("$SCEPD_BIN" -T -f "$S/scepd.conf" 2>&1)
is "$?" 0 "scepd -T exits 0"
unlike "$out" 'Top-S3cret-pw' "scepd -T does not print the static challenge password"
like "$out" '# SinglePassword is set \(a secret: not shown\)' "... it says that it is set"
run_scepd "$S" || bail "scepd starts (static password)"
stop_scepd
unlike "$(cat "$SCEPD_LOG")" 'Top-S3cret-pw' "the log does not hold the password"

done_testing

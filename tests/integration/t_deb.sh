#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_deb.sh: the Debian package (debian/).
#  - dpkg-buildpackage -us -uc -b builds scepd_VERSION_amd64.deb in a copy of
#    the tree under tests/tmp (nothing else in the tree is written to);
#    lintian reports no error and no warning; the binaries are hardened.
#  - The package holds the binaries, units, sysusers/tmpfiles/logrotate files,
#    man pages, the SQL migrations and /etc/scepd/scepd.conf as a conffile.
#  - apt-get install ./scepd_*.deb on THIS machine: the scepd user and
#    /var/lib/scepd (0700, owned by scepd) exist; then, as README.Debian says,
#    `scepctl init -d /var/lib/scepd --owner scepd`, the installed
#    /usr/sbin/scepd started as root (no systemd runs here) with the packaged
#    configuration on a free loopback port, dropping to the scepd user, a
#    challenge from the installed scepctl and a pki --scep enrollment.
#  - apt-get remove keeps /etc/scepd/scepd.conf and /var/lib/scepd; apt-get
#    purge removes /etc/scepd and keeps /var/lib/scepd (the CA key).
# It changes the machine (a package, a user, /etc/scepd, /var/lib/scepd) and
# puts it back as it found it: it runs only as root, only when no scepd is
# installed here (or one left by an interrupted run of this test, which it
# removes first), one at a time (a lock), and it purges, removes the folders
# and the user it made on exit, also when it fails midway.
set -u
. "$(dirname "$0")/service_lib.sh"

T=$TEST_TMP
chmod 0755 "$T"   # the scepd user reads its configuration and the notify socket here
MARK=/run/lock/scepd-t_deb.installed   # set while this test's package may be installed
STATE=/var/lib/scepd

done_skip() { skip "$1"; done_testing; exit 0; }
# apt-get without questions, waiting (rather than failing) while another
# apt or dpkg on this machine holds the lock
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }

[ "$(id -u)" = 0 ] || done_skip "t_deb.sh installs a package: run as root"
for c in dpkg-buildpackage dh lintian fakeroot apt-get flock setpriv runuser; do
	have_cmd "$c" || done_skip "$c not installed (dpkg-dev debhelper lintian fakeroot apt util-linux)"
done
if [ ! -x "$SCEPD_TOP/debian/rules" ]; then
	fail "the tree has a Debian package (debian/rules)"; done_testing; exit 0
fi

# --- one run at a time; leave alone any scepd this test did not install
exec 9>/run/lock/scepd-t_deb.lock
flock -w 900 9 || done_skip "another t_deb.sh holds /run/lock/scepd-t_deb.lock"
made_user=0
restore_machine() {
	if dpkg-query -W -f='${Status}' scepd 2>/dev/null | grep -qv 'not-installed'; then
		apt_get purge -y scepd >/dev/null 2>&1 ||
			dpkg --purge scepd >/dev/null 2>&1
	fi
	rm -rf /var/lib/scepd /var/log/scepd /etc/scepd
	if [ $made_user = 1 ] && getent passwd scepd >/dev/null; then
		# fails while a process of an interrupted run still runs as scepd:
		# then the mark stays, and the next run tries again
		userdel scepd >/dev/null 2>&1 || return 1
	fi
	[ $made_user = 1 ] && getent group scepd >/dev/null && groupdel scepd >/dev/null 2>&1
	rm -f "$MARK"
}
if [ -e "$MARK" ]; then
	diag "a previous t_deb.sh run was interrupted: removing what it installed"
	made_user=$(cat "$MARK"); [ "$made_user" = 1 ] || made_user=0
	restore_machine || done_skip "cannot remove the user scepd of an interrupted run (a process still runs as scepd)"
fi
if dpkg-query -W -f='${Status}' scepd 2>/dev/null | grep -q 'installed'; then
	done_skip "a scepd package is installed on this machine: t_deb.sh does not touch it"
fi
for d in /var/lib/scepd /etc/scepd /var/log/scepd; do
	[ -e "$d" ] && done_skip "$d exists on this machine: t_deb.sh does not touch it"
done
getent passwd scepd >/dev/null || made_user=1
trap 'restore_machine; _cleanup' EXIT

# --- build in a copy of the tree, under tests/tmp (ignored by git)
mkdir -p "$SCEPD_TOP/tests/tmp"
B=$(mktemp -d "$SCEPD_TOP/tests/tmp/t_deb.XXXXXX") || bail "a build folder under tests/tmp"
chmod 0755 "$B"   # apt's download user reads the .deb from here
trap 'restore_machine; rm -rf "$B"; _cleanup' EXIT
mkdir -p "$B/scepd"
(cd "$SCEPD_TOP" && git ls-files -z --cached --others --exclude-standard 2>/dev/null |
	grep -zv '^tests/tmp/' | xargs -0 tar -cf - --no-recursion 2>/dev/null) | tar -xf - -C "$B/scepd"
check "the copy of the tree has debian/rules" test -x "$B/scepd/debian/rules"
tree_state() { (cd "$SCEPD_TOP" && git status --porcelain --ignored -- . ':!tests/tmp' 2>/dev/null | md5sum); }
before=$(tree_state)
(cd "$B/scepd" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
is "$rc" 0 "dpkg-buildpackage -us -uc -b"
[ $rc = 0 ] || bail "dpkg-buildpackage" "$(tail -n 15 "$T/build.log")"
version=$(cd "$B/scepd" && dpkg-parsechangelog -S Version)
deb=$B/scepd_${version}_$(dpkg --print-architecture).deb
check "it writes $(basename "$deb")" test -s "$deb"
is "$(tree_state)" "$before" "the source tree is left as it was (tests/tmp aside)"
out=$(grep -i 'dpkg-buildflags\|_FORTIFY_SOURCE' "$T/build.log" | grep -c -- '-D_FORTIFY_SOURCE=2')
isnt "$out" 0 "the build uses dpkg-buildflags (-D_FORTIFY_SOURCE=2 reaches the compiler)"

out=$(lintian "$B"/scepd_"${version}"_*.changes 2>&1 | grep -E '^[EW]: ')
is "$out" "" "lintian: no errors, no warnings"

# hardening from dpkg-buildflags reaches the binaries
mkdir -p "$T/x" && dpkg-deb -x "$deb" "$T/x"
if have_cmd readelf && have_cmd nm; then
	for b in scepd scepctl; do
		f=$T/x/usr/sbin/$b
		like "$(readelf -d "$f")" 'FLAGS_1.*NOW.*PIE' "$b: position-independent, bound now"
		like "$(readelf -lW "$f")" 'GNU_RELRO' "$b: read-only relocations"
		like "$(nm -D "$f")" '__[a-z]+_chk' "$b: fortified functions (_FORTIFY_SOURCE)"
	done
else
	skip "readelf/nm (binutils) not installed"
fi

list=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
for f in /usr/sbin/scepd /usr/sbin/scepctl /lib/systemd/system/scepd.service \
	/lib/systemd/system/scepd.socket /usr/lib/sysusers.d/scepd.conf /usr/lib/tmpfiles.d/scepd.conf \
	/etc/logrotate.d/scepd /etc/scepd/scepd.conf /usr/share/man/man8/scepd.8.gz \
	/usr/share/man/man8/scepctl.8.gz /usr/share/man/man5/scepd.conf.5.gz \
	/usr/share/scepd/sql/001_initial.sql /usr/share/doc/scepd/README.Debian; do
	like "$list" "^$f\$" "the package holds $f"
done
like "$(dpkg-deb -f "$deb" Depends)" 'libmicrohttpd' "Depends: the shared libraries (shlibs)"
conffiles=$(dpkg-deb -I "$deb" conffiles)
like "$conffiles" '^/etc/scepd/scepd.conf$' "/etc/scepd/scepd.conf is a conffile"

# --- install it here
echo "$made_user" >"$MARK"
out=$(apt_get install -y "$deb" 2>&1)
rc=$?
is "$rc" 0 "apt-get install ./$(basename "$deb")"
[ $rc = 0 ] || bail "apt-get install" "$(printf '%s\n' "$out" | tail -n 15)"
like "$(getent passwd scepd)" '^scepd:x:[0-9]+:[0-9]+:scepd SCEP server:/var/lib/scepd:/usr/sbin/nologin$' \
	"the package creates the system user scepd"
is "$(stat -c '%a %U:%G' /var/lib/scepd 2>/dev/null)" "700 scepd:scepd" "/var/lib/scepd is 0700, owned by scepd"
is "$(stat -c '%a %U' /var/log/scepd 2>/dev/null)" "750 scepd" "/var/log/scepd is 0750, owned by scepd"
is "$(/usr/sbin/scepd --version 2>&1)" "scepd $version" "the installed scepd --version"

# --- README.Debian: scepctl init -d /var/lib/scepd, then start it
out=$(/usr/sbin/scepctl init -d "$STATE" --owner scepd 2>&1)
is "$?" 0 "scepctl init -d /var/lib/scepd --owner scepd (README.Debian)"
[ -s "$STATE/ca.key" ] || bail "scepctl init" "$out"
is "$(stat -c %U "$STATE/ca.key")" scepd "the CA key belongs to the scepd user"
port=$(free_port)
conf=$T/scepd.conf   # the packaged configuration, on a free port
sed "s|\"127.0.0.1:8080\"|\"127.0.0.1:$port\"|" /etc/scepd/scepd.conf >"$conf"
chmod 0644 "$conf"
isnt "$(grep -c "127.0.0.1:$port" "$conf")" 0 "the packaged configuration listens where the test says"
as_scepd=(setpriv --reuid=scepd --regid=scepd --clear-groups)
out=$("${as_scepd[@]}" /usr/sbin/scepd -t -f "$conf" 2>&1)
is "$?:$out" "0:" "scepd -t, as the scepd user, accepts the packaged configuration after init"
SCEPD_LOG=$T/scepd.log
NOTIFY_LOG=$T/notify.log NOTIFY_MARK=0
start_listener "$T/notify.sock" "$NOTIFY_LOG" || bail "notify listener"
chmod 0777 "$T/notify.sock" 2>/dev/null
# as README.Debian says without systemd: started as root, it drops to scepd
(cd / && NOTIFY_SOCKET=$T/notify.sock exec /usr/sbin/scepd -f "$conf") 2>"$SCEPD_LOG" &
SCEPD_PID=$!
track_pid "$SCEPD_PID"
if wait_notify '^READY=1' 30; then pass "the installed /usr/sbin/scepd sends READY=1"
else fail "the installed /usr/sbin/scepd sends READY=1" "$(tail -n 5 "$SCEPD_LOG")"; fi
is "$(ps -o user= -p "$SCEPD_PID" 2>/dev/null | tr -d ' ')" scepd "started as root, it runs as the scepd user"
URL=http://127.0.0.1:$port$NDES_PATH
is "$(http_code "$URL?operation=GetCACaps")" 200 "GetCACaps answers"
if have_cmd pki; then
	otp=$(cd / && runuser -u scepd -- /usr/sbin/scepctl -f "$conf" challenge new 2>&1)
	like "$otp" '^[0-9A-F]{16}$' "runuser -u scepd -- scepctl challenge new: a one-time password"
	new_keys "$T/keys" 1
	timeout 60 pki --scep --url "$URL" --in "$T/keys/k1.pem" --dn "CN=deb-installed" --password "$otp" \
		--cacert-enc "$STATE/ca.crt" --cacert-sig "$STATE/ca.crt" \
		--maxpolltime 5 --interval 1 --outform pem >"$T/device.pem" 2>"$T/device.err"
	rc=$?
	is "$rc" 0 "pki --scep enrolls against the installed scepd (the packaged configuration: the CA is the RA)"
	[ $rc = 0 ] || diag "$(tail -n 5 "$T/device.err")"
	check "the certificate verifies against the CA scepctl init made" issued_by_ca "$T/device.pem" "$STATE/ca.crt"
	like "$(runuser -u scepd -- /usr/sbin/scepctl -f "$conf" cert list 2>&1)" 'CN=deb-installed' \
		"the installed scepctl lists the certificate"
else
	for i in 1 2 3 4; do skip "pki (strongswan-pki) not installed"; done
fi
stop_pid "$SCEPD_PID" TERM
is "$STOPPED_RC" 0 "the installed scepd stops with exit status 0"

# --- remove keeps everything; purge removes the configuration, never the CA key
echo '# edited by the administrator' >>/etc/scepd/scepd.conf
out=$(apt_get remove -y scepd 2>&1)
is "$?" 0 "apt-get remove scepd"
check "after remove, /usr/sbin/scepd is gone" test ! -e /usr/sbin/scepd
like "$(tail -n 1 /etc/scepd/scepd.conf 2>/dev/null)" 'edited by the administrator' \
	"after remove, /etc/scepd/scepd.conf is kept"
check "after remove, the CA key is kept" test -s "$STATE/ca.key"
out=$(apt_get purge -y scepd 2>&1)
is "$?" 0 "apt-get purge scepd"
check "after purge, /etc/scepd is gone" test ! -e /etc/scepd
check "after purge, /var/log/scepd is gone" test ! -e /var/log/scepd
check "after purge, /var/lib/scepd/ca.key is still there (README.Debian says so)" test -s "$STATE/ca.key"
like "$(cat "$B/scepd/debian/scepd.README.Debian")" 'NEVER /var/lib/scepd' \
	"README.Debian says that purge keeps the CA key"

done_testing

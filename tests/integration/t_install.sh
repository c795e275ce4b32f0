#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_install.sh: `make install DESTDIR=...` and `make dist`.
#  - install puts the binaries, man pages, sample configuration (and
#    scepd.conf when there is none; an existing one is never replaced), unit
#    files (with the installed paths), sysusers, tmpfiles and logrotate files
#    in place; the installed man pages lint clean.
#  - systemd-sysusers and systemd-tmpfiles accept the installed files (run
#    with --root on the DESTDIR), systemd-analyze verify the installed units.
#  - The installed unit runs the installed daemon: after `scepctl init` in
#    the state folder, its ExecStartPre and ExecStart lines (paths moved
#    under DESTDIR) run as an unprivileged user with the sample configuration
#    and a notification socket: READY=1, a one-time password from scepctl and
#    a pki --scep enrollment, ExecReload, and a clean stop.
#  - make dist: the tarball builds by itself, without autoconf, and the
#    programs it builds work. Everything above is installed from that tree,
#    so the repository's own build (maybe with sanitizers) is left alone.
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries

R=$TEST_TMP/root
T=$TEST_TMP
chmod 0755 "$TEST_TMP"

# --- make dist; the rest installs from the tree the tarball builds (so the
# repository's objects, perhaps built with sanitizers, are left alone)
if ! { [ -d "$SCEPD_TOP/.git" ] || [ -f "$SCEPD_TOP/.git" ]; }; then
	skip "not a git checkout: make dist lists the files git knows"
	done_testing; exit 0
fi
out=$(cd "$SCEPD_TOP" && make -s dist 2>&1)
tarball=$SCEPD_TOP/$(printf '%s\n' "$out" | grep -E '^scepd-.*\.tar\.gz$' | tail -n 1)
[ -s "$tarball" ] && pass "make dist writes a tarball" || bail "make dist writes a tarball" "$out"
mkdir -p "$T/dist/bin"
mv "$tarball" "$T/dist/"
tar -xzf "$T/dist/$(basename "$tarball")" -C "$T/dist"
src=$T/dist/$(basename "$tarball" .tar.gz)
for f in configure Makefile config.mk.in src/scepd.c etc/scepd.service etc/scepd.socket \
	etc/scepd.sysusers etc/scepd.tmpfiles etc/scepd.logrotate man/scepd.8; do
	check "the tarball has $f" test -s "$src/$f"
done
printf '#!/bin/sh\necho "autoconf must not be needed" >&2\nexit 1\n' >"$T/dist/bin/autoconf"
chmod +x "$T/dist/bin/autoconf"
out=$(cd "$src" && PATH=$T/dist/bin:$PATH make -j2 2>&1)
rc=$?
is "$rc" 0 "the tarball builds by itself, without autoconf"
[ $rc = 0 ] || bail "tarball build" "$(printf '%s\n' "$out" | tail -n 8)"
# The sample names user = "scepd": as root, -t looks that user up; where it
# does not exist, check as nobody (what User=scepd amounts to).
as_nobody=()
if [ "$(id -u)" = 0 ] && ! getent passwd scepd >/dev/null && have_cmd setpriv; then
	as_nobody=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi
out=$("${as_nobody[@]}" "$src/scepd" -t -f "$src/etc/scepd.conf" 2>&1)
is "$?:$out" "0:" "the scepd built from the tarball checks the sample configuration"

# --- make install
out=$(make -s -C "$src" install DESTDIR="$R" prefix=/usr sysconfdir=/etc localstatedir=/var 2>&1)
is "$?" 0 "make install DESTDIR=... prefix=/usr sysconfdir=/etc (from the tarball's tree)"
[ -n "$out" ] && diag "$out"
for f in usr/sbin/scepd usr/sbin/scepctl; do
	is "$(stat -c %a "$R/$f" 2>/dev/null)" 755 "installed $f (mode 755)"
done
for f in usr/share/man/man8/scepd.8 usr/share/man/man8/scepctl.8 usr/share/man/man5/scepd.conf.5 \
	etc/scepd/scepd.conf.sample etc/scepd/scepd.conf usr/lib/systemd/system/scepd.service \
	usr/lib/systemd/system/scepd.socket usr/lib/sysusers.d/scepd.conf usr/lib/tmpfiles.d/scepd.conf \
	etc/logrotate.d/scepd; do
	check "installed $f" test -s "$R/$f"
done
check "the installed sample is etc/scepd.conf" cmp -s "$R/etc/scepd/scepd.conf.sample" "$SCEPD_TOP/etc/scepd.conf"
like "$(grep '^Exec' "$R/usr/lib/systemd/system/scepd.service")" '^ExecStartPre=/usr/sbin/scepd -t -f /etc/scepd/scepd.conf' \
	"installed unit names the installed daemon and configuration"
if have_cmd mandoc; then
	out=$(mandoc -Tlint -W warning "$R"/usr/share/man/man*/* 2>&1)
	is "$out" "" "installed man pages: mandoc -Tlint reports nothing"
else
	skip "mandoc not installed"
fi
echo '# edited by the administrator' >>"$R/etc/scepd/scepd.conf"
make -s -C "$src" install DESTDIR="$R" prefix=/usr sysconfdir=/etc localstatedir=/var >/dev/null 2>&1
like "$(tail -n 1 "$R/etc/scepd/scepd.conf")" 'edited by the administrator' "a second install keeps an existing scepd.conf"
sed -i '$d' "$R/etc/scepd/scepd.conf"

# --- sysusers, tmpfiles, systemd-analyze verify
if have_cmd systemd-sysusers && have_cmd systemd-tmpfiles; then
	systemd-sysusers --root="$R" "$R/usr/lib/sysusers.d/scepd.conf" >/dev/null 2>&1
	like "$(grep '^scepd:' "$R/etc/passwd" 2>/dev/null)" '^scepd:x:[0-9]+:[0-9]+:scepd SCEP server:/var/lib/scepd:/usr/sbin/nologin$' \
		"systemd-sysusers creates the scepd user from the installed file"
	systemd-tmpfiles --root="$R" --create "$R/usr/lib/tmpfiles.d/scepd.conf" >/dev/null 2>&1
	uid=$(awk -F: '$1 == "scepd" { print $3 }' "$R/etc/passwd")
	is "$(stat -c '%a %u' "$R/var/lib/scepd" 2>/dev/null)" "700 $uid" "systemd-tmpfiles makes /var/lib/scepd 0700 owned by scepd"
	is "$(stat -c '%a %u' "$R/var/log/scepd" 2>/dev/null)" "750 $uid" "systemd-tmpfiles makes /var/log/scepd 0750 owned by scepd"
else
	for i in 1 2 3; do skip "systemd-sysusers / systemd-tmpfiles not installed"; done
fi
if have_cmd systemd-analyze; then
	mkdir -p "$T/units"
	sed "s|/usr/sbin/|$R/usr/sbin/|g" "$R/usr/lib/systemd/system/scepd.service" >"$T/units/scepd.service"
	cp "$R/usr/lib/systemd/system/scepd.socket" "$T/units/"
	out=$(MANPATH=$R/usr/share/man systemd-analyze verify "$T/units/scepd.service" "$T/units/scepd.socket" 2>&1)
	is "$?:$out" "0:" "systemd-analyze verify: the installed units (binaries and man pages found)"
else
	skip "systemd-analyze not installed"
fi

# --- the installed unit runs the installed daemon
S=$R/var/lib/scepd
mkdir -p "$S"
port=$(free_port)
sed -i -e "s|\"/var/lib/scepd\"|\"$S\"|" -e "s|\"127.0.0.1:8080\"|\"127.0.0.1:$port\"|" "$R/etc/scepd/scepd.conf"
out=$("$R/usr/sbin/scepctl" init -d "$S" 2>&1)
is "$?" 0 "installed scepctl init -d <StateDirectory>"
unit=$R/usr/lib/systemd/system/scepd.service
under_root() { sed -e "s|^/usr/sbin/|$R/usr/sbin/|" -e "s| /etc/scepd/| $R/etc/scepd/|g"; }
pre=$(sed -n 's/^ExecStartPre=//p' "$unit" | under_root)
start=$(sed -n 's/^ExecStart=//p' "$unit" | under_root)
as_user=()
if have_cmd setpriv && [ "$(id -u)" = 0 ]; then
	# what User=scepd, StateDirectory= and AmbientCapabilities= amount to
	chown -R nobody:nogroup "$S"
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+net_bind_service
		--ambient-caps=+net_bind_service --bounding-set=-all,+net_bind_service)
fi
out=$("${as_user[@]}" $pre 2>&1)
is "$?:$out" "0:" "ExecStartPre ($pre) accepts the installed configuration"
SCEPD_LOG=$T/installed.log
NOTIFY_LOG=$T/installed-notify.log NOTIFY_MARK=0
start_listener "$T/installed.sock" "$NOTIFY_LOG" || bail "notify listener"
NOTIFY_SOCKET=$T/installed.sock "${as_user[@]}" $start 2>"$SCEPD_LOG" &
SCEPD_PID=$!
track_pid "$SCEPD_PID"
if wait_notify '^READY=1' 10; then pass "ExecStart: the installed daemon sends READY=1"
else fail "ExecStart: the installed daemon sends READY=1"; fi
URL=http://127.0.0.1:$port$NDES_PATH
is "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$URL?operation=GetCACert")" \
	"200 application/x-x509-ca-cert" "the sample configuration (no ra group): GetCACert is the CA certificate"
if have_cmd pki; then
	otp=$(cd / && "${as_user[@]}" "$R/usr/sbin/scepctl" -f "$R/etc/scepd/scepd.conf" challenge new 2>&1)
	like "$otp" '^[0-9A-F]{16}$' "installed scepctl challenge new: a one-time password"
	new_keys "$T/keys" 1
	timeout 60 pki --scep --url "$URL" --in "$T/keys/k1.pem" --dn "CN=installed" --password "$otp" \
		--cacert-enc "$S/ca.crt" --cacert-sig "$S/ca.crt" --maxpolltime 5 --interval 1 --outform pem \
		>"$T/installed.pem" 2>"$T/installed.err"
	is "$?" 0 "pki --scep enrolls against the installed daemon"
	check "the certificate verifies against the CA scepctl init made" issued_by_ca "$T/installed.pem" "$S/ca.crt"
else
	for i in 1 2 3; do skip "pki (strongswan-pki) not installed"; done
fi
reload=$(sed -n 's/^ExecReload=//p' "$unit" | sed "s/\$MAINPID/$SCEPD_PID/")
notify_mark
$reload
wait_notify '^READY=1' 10 && pass "ExecReload ($(sed -n 's/^ExecReload=//p' "$unit")): READY=1 after the reload" ||
	fail "ExecReload: READY=1 after the reload"
stop_pid "$SCEPD_PID" TERM
is "$STOPPED_RC" 0 "the installed daemon stops with exit status 0"

done_testing

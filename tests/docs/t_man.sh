#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/docs/t_man.sh: the man pages lint clean with mandoc (warnings and worse;
# STYLE notes about pages not installed yet are ignored), and every option the
# programs' usage messages name is documented in their page.
set -u
cd "$(dirname "$0")/../.."
n=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
if ! command -v mandoc >/dev/null; then
	echo "ok 1 # SKIP mandoc is not installed (apt-get install mandoc)"; echo "1..1"; exit 0
fi
for page in man/scepd.8 man/scepctl.8 man/scepd.conf.5; do
	out=$(mandoc -Tlint -W warning "$page" 2>&1); rc=$?
	[ -n "$out" ] && echo "$out" | sed 's/^/# /'
	t $([ $rc = 0 ] && [ -z "$out" ] && echo 0 || echo 1) "mandoc -Tlint $page"
done
for opt in -f -t -T -h --help --version; do
	grep -qE "^\.It (Fl [a-zA-Z-]+ , )?Fl ${opt#-}\b" man/scepd.8; t $? "scepd.8 documents $opt"
done
for page in man/scepd.8 man/scepctl.8; do
	grep -q '^\.Fl h | -help | -version$' "$page"; t $? "$page: -h, --help and --version in the SYNOPSIS"
	# EXIT STATUS lists each status the program uses, with what it means
	for st in 0 1 2; do
		sed -n '/^\.Sh EXIT STATUS$/,/^\.Sh /p' "$page" | grep -q "^\.It $st\$"
		t $? "$page: EXIT STATUS explains status $st"
	done
done
for word in init challenge cert revoke request approve reject crl rollover -listen -ca-key \
    -ca-subject -import-ca -challenge -reason -all -out -at -in ra -days; do
	grep -qE "(Cm|Fl) ((cert|request|ca) )?${word}\b" man/scepctl.8; t $? "scepctl.8 documents $word"
done
# scepd.8: signals, systemd, logs and monitoring (issue 5)
for sect in SIGNALS SYSTEMD LOGGING MONITORING "RA RENEWAL" ENVIRONMENT FILES "EXIT STATUS" EXAMPLES \
	"SEE ALSO" STANDARDS; do
	grep -q "^\.Sh $sect\$" man/scepd.8; t $? "scepd.8 has a $sect section"
done
for sig in SIGHUP SIGTERM SIGUSR1; do
	grep -qE "^\.It Dv $sig\b" man/scepd.8; t $? "scepd.8 SIGNALS lists $sig"
done
# every event number scepd logs (log.h) is in scepd.8's table, and only those
want=$(sed -n 's/^\t[A-Z_]*EVENT_[A-Z_]* = \([0-9]*\),.*/\1/p' src/log.h | grep -v '^0$' | sort -n | tr '\n' ' ')
got=$(sed -n '/^\.Bl -tag -width 1005 -compact/,/^\.El/s/^\.It \([0-9]*\)$/\1/p' man/scepd.8 | sort -n | tr '\n' ' ')
[ "$want" = "$got" ]; t $? "scepd.8 lists the event numbers of log.h ($want)"
[ "$want" = "$got" ] || echo "# log.h: $want; scepd.8: $got"
echo "1..$n"

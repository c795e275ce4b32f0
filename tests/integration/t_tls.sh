#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_tls.sh: HTTPS listeners (libmicrohttpd + GnuTLS) beside plain HTTP.
#  - One HTTP and three HTTPS listeners at once (127.0.0.1 twice and ::1),
#    with a chain (leaf + intermediate in tls.cert) that clients verify up
#    to a root they trust.
#  - No client certificate is requested (no CertificateRequest in the TLS 1.3
#    or the TLS 1.2 handshake).
#  - tls.min_version: 1.2 accepts TLS 1.2; 1.3 refuses it.
#  - Real clients over HTTPS: certmonger's scep-submit (-R, the CA for the
#    TLS connection) for GetCACaps/GetCACert, and a strongSwan `pki --scep`
#    enrollment. pki's curl fetcher trusts only the system bundle, so it runs
#    in a private mount namespace with the test root bind-mounted over
#    /etc/ssl/certs/ca-certificates.crt; without that it refuses the server.
#  - A renewed TLS certificate is served after SIGHUP (no restart); a key
#    readable by others is refused on reload and the old certificate stays.
#  - The TLS certificate's expiry warning (event 1003, STATUS).
set -u
. "$(dirname "$0")/service_lib.sh"
need_binaries

D=$(new_dir lab)
T=$TEST_TMP
init_scepd "$D" --challenge s3cret || bail "scepctl init"

# A test PKI for TLS: root -> intermediate -> leaf for 127.0.0.1 and ::1.
P=$T/tlspki
mkdir -p "$P"
mkcert() {   # mkcert NAME SUBJECT ISSUER-NAME DAYS EXT...
	local name=$1 subj=$2 issuer=$3 days=$4; shift 4
	openssl req -new -newkey rsa:2048 -nodes -keyout "$P/$name.key" -subj "$subj" \
		-out "$P/$name.csr" 2>/dev/null || return 1
	if [ "$issuer" = self ]; then
		openssl x509 -req -in "$P/$name.csr" -signkey "$P/$name.key" -days "$days" \
			-out "$P/$name.crt" "$@" 2>/dev/null
	else
		openssl x509 -req -in "$P/$name.csr" -CA "$P/$issuer.crt" -CAkey "$P/$issuer.key" \
			-CAcreateserial -days "$days" -out "$P/$name.crt" "$@" 2>/dev/null
	fi
}
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$P/ca.ext"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1\n' >"$P/leaf.ext"
mkcert root "/CN=scepd test TLS root" self 30 -extfile "$P/ca.ext" &&
	mkcert inter "/CN=scepd test TLS intermediate" root 30 -extfile "$P/ca.ext" &&
	mkcert leaf "/CN=127.0.0.1" inter 20 -extfile "$P/leaf.ext" &&
	mkcert leaf2 "/CN=127.0.0.1" inter 25 -extfile "$P/leaf.ext" || bail "test TLS certificates"
cat "$P/leaf.crt" "$P/inter.crt" >"$D/tls.crt"
cp "$P/leaf.key" "$D/tls.key"; chmod 600 "$D/tls.key"

t1=$(free_port); t2=$(free_port); t3=$(free_port)
conf_set "$D" tls listen "[ \"127.0.0.1:$t1\", \"127.0.0.1:$t2\", \"[::1]:$t3\" ]" &&
	conf_set "$D" tls cert '"tls.crt"' && conf_set "$D" tls key '"tls.key"' || bail "configure tls"
start_notified "$D" || bail "scepd starts with three HTTPS listeners"
H1=https://127.0.0.1:$t1$NDES_PATH H2=https://127.0.0.1:$t2$NDES_PATH H3=https://[::1]:$t3$NDES_PATH

is "$(http_code "$SCEPD_URL?operation=GetCACaps")" 200 "plain HTTP listener answers"
for u in "$H1" "$H2" "$H3"; do
	is "$(http_code "$u?operation=GetCACaps" --cacert "$P/root.crt")" 200 "HTTPS $u answers (chain verified to the root)"
done
like "$(notify_messages | head -n 1)" "STATUS=serving on http://127\.0\.0\.1:[0-9]+ https://127\.0\.0\.1:$t1 https://127\.0\.0\.1:$t2 https://\[::1\]:$t3" \
	"STATUS lists all four listeners"
is "$(http_code "$H1?operation=GetCACaps")" 000 "without the root, curl refuses the server (real verification)"

# --- no client certificate requested
for v in tls1_3 tls1_2; do
	out=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$t1" -"$v" -msg -CAfile "$P/root.crt" 2>&1)
	like "$out" 'Verify return code: 0 \(ok\)' "s_client -$v: handshake verified"
	unlike "$out" 'CertificateRequest|certificate request' "s_client -$v: the server requests no client certificate"
done

# --- tls.min_version
is "$(http_code "$H1?operation=GetCACaps" --cacert "$P/root.crt" --tls-max 1.2)" 200 "min_version 1.2: TLS 1.2 accepted"
conf_set "$D" tls min_version '"1.3"'
notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
is "$(http_code "$H1?operation=GetCACaps" --cacert "$P/root.crt" --tls-max 1.2)" 000 "min_version 1.3: TLS 1.2 refused"
is "$(http_code "$H1?operation=GetCACaps" --cacert "$P/root.crt")" 200 "min_version 1.3: TLS 1.3 accepted"

# --- real clients over HTTPS
SCEP_SUBMIT=/usr/lib/certmonger/scep-submit
if [ -x "$SCEP_SUBMIT" ]; then
	out=$(timeout 30 "$SCEP_SUBMIT" -u "$H1" -R "$P/root.crt" -c 2>&1); rc=$?
	is "$rc" 0 "scep-submit -c over HTTPS (-R root) exits 0"
	like "$out" 'POSTPKIOperation' "scep-submit -c over HTTPS prints the capabilities"
	timeout 30 "$SCEP_SUBMIT" -u "$H2" -R "$P/root.crt" -C >"$T/C.out" 2>&1
	is "$(grep -c 'BEGIN CERTIFICATE' "$T/C.out")" 3 "scep-submit -C over HTTPS gets the CA and both RA certificates"
else
	for i in 1 2 3; do skip "certmonger's scep-submit not installed"; done
fi
# The HTTPS enrollment trusts the test root in a private mount namespace only;
# where one cannot be made (no root, or a chroot whose / is not a mount point),
# the check is skipped with that reason.
if have_cmd pki && [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	new_keys "$T/keys" 2
	enroll "$H1" "$T/keys/k1.pem" tls-unverified s3cret "$D" "$T/unverified.pem"
	rc=$?
	[ "$rc" != 0 ] && pass "pki --scep over HTTPS refuses a server its system bundle does not trust" ||
		fail "pki must verify the TLS server" "exit $rc"
	mark=$(log_mark)
	unshare -m sh -c 'mount --bind "$1" /etc/ssl/certs/ca-certificates.crt && shift && exec "$@"' sh \
		"$P/root.crt" timeout 60 pki --scep --url "$H1" --in "$T/keys/k2.pem" --dn "CN=over-https" \
		--password s3cret --cacert-enc "$D/ra-enc.crt" --cacert-sig "$D/ra-sign.crt" --cacert "$D/ca.crt" \
		--maxpolltime 5 --interval 1 --outform pem >"$T/https.pem" 2>"$T/https.err"
	rc=$?
	is "$rc" 0 "pki --scep enrolls over HTTPS (root trusted in a private mount namespace)"
	check "the certificate enrolled over HTTPS verifies against the SCEP CA" issued_by_ca "$T/https.pem" "$D/ca.crt"
	check_log "$mark" 'op=PKIOperation type=PKCSReq .*outcome=SUCCESS .*subject="CN=over-https"' "log: the HTTPS enrollment succeeded"
	like "$(grep -v '^#' "$D/access.log" | grep ' POST ' | tail -n 1)" " $t1 - 127\.0\.0\.1 " "access log: the POST came in on the HTTPS port"
else
	for i in 1 2 3 4 5; do
		skip "HTTPS enrollment needs pki (strongswan-pki), root and a private mount namespace (unshare -m)"
	done
fi

# --- TLS certificate renewal on reload
serial() { echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -CAfile "$P/root.crt" 2>/dev/null |
	openssl x509 -noout -serial 2>/dev/null | cut -d= -f2; }
is "$(serial "$t2")" "$(openssl x509 -in "$P/leaf.crt" -noout -serial | cut -d= -f2)" "the first leaf certificate is served"
cat "$P/leaf2.crt" "$P/inter.crt" >"$D/tls.crt"; cp "$P/leaf2.key" "$D/tls.key"
m=$(log_mark); notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
is "$(serial "$t2")" "$(openssl x509 -in "$P/leaf2.crt" -noout -serial | cut -d= -f2)" "after SIGHUP the renewed certificate is served"
check_log "$m" "https://127\.0\.0\.1:$t2: replaced" "log: the HTTPS listener was replaced on its socket"
is "$(http_code "$H3?operation=GetCACaps" --cacert "$P/root.crt")" 200 "HTTPS on ::1 still answers"
chmod 644 "$D/tls.key"
m=$(log_mark); notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
check_log "$m" 'reload refused: tls.key .*(readable|accessible) by group or others' "a TLS key readable by others is refused on reload"
is "$(serial "$t2")" "$(openssl x509 -in "$P/leaf2.crt" -noout -serial | cut -d= -f2)" "the running certificate stays"
chmod 600 "$D/tls.key"

# --- TLS certificate expiry warning (the leaf is valid 25 days, under the default 60)
like "$(cat "$SCEPD_LOG")" 'the TLS certificate /CN=127\.0\.0\.1 \(serial [0-9A-F]+\) expires in 2[45] days.*event=1003' \
	"event 1003: the TLS certificate expires within monitor.expiry_warning_days"
like "$(notify_messages | grep '^READY=1' | tail -n 1)" 'WARNING: the TLS certificate expires in 2[45] days' "STATUS carries the warning"
conf_set "$D" monitor expiry_warning_days 10
m=$(log_mark); notify_mark; kill -HUP "$SCEPD_PID"; wait_notify '^READY=1' 10
unlike "$(tail -n +"$((m + 1))" "$SCEPD_LOG")" 'event=1003' "expiry_warning_days = 10: no warning for 25 days"
unlike "$(notify_messages | tail -n 1)" 'WARNING' "expiry_warning_days = 10: STATUS without warning"

stop_pid "$SCEPD_PID" TERM
is "$STOPPED_RC" 0 "scepd with HTTPS listeners exits 0"
done_testing

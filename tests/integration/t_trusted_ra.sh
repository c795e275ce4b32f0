#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_trusted_ra.sh: an upstream scepd that trusts a front scepd as a registration
# authority (trusted_ra), with strongSwan `pki --scep` enrolling on 127.0.0.1:
#   - the upstream hands out one-time passwords; the front is made with
#     `scepctl init --upstream` (its RA certificates issued by the upstream with
#     two of them) and has one-time passwords of its own; init prints the
#     trusted_ra line to add on the upstream;
#   - without trusted_ra on the upstream, a device with a front password gets
#     FAILURE (the upstream wants its own challenge);
#   - with the front's RA certificate in trusted_ra (loaded by SIGHUP), the same
#     flow gives a certificate that verifies against the upstream CA, the
#     upstream's log names the RA, the front password is spent (a second use
#     fails), and no upstream password was used;
#   - straight to the upstream, a PKCSReq signed by a self-signed certificate
#     without a challenge is FAILURE; through a second front whose RA
#     certificate the upstream issued but does not list, FAILURE too;
#   - a profile with trusted_ra = [ ] trusts no RA although the top level does;
#   - scepd -t refuses, naming the file, a trusted_ra certificate that is
#     self-signed, issued by another CA, expired or not yet valid.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries
T=$TEST_TMP

if ! have_cmd pki; then
	skip "pki (strongswan-pki) is not installed: trusted RA not exercised with a real client"
	done_testing
	exit 0
fi

# enroll URL DIR KEY CN PASSWORD OUT: pki --scep against URL with DIR's RA and CA
# certificates ("-" as PASSWORD sends none)
enroll() {
	local url=$1 dir=$2 key=$3 cn=$4 pw=$5 out=$6 pwopt=()
	[ "$pw" != - ] && pwopt=(--password "$pw")
	timeout 60 pki --scep --url "$url" --in "$key" \
		--dn "C=CH, O=scepd trusted ra, CN=$cn" "${pwopt[@]}" \
		--cacert-enc "$dir/ra-enc.crt" --cacert-sig "$dir/ra-sign.crt" \
		--cacert "$dir/ca.crt" --interval 1 --maxpolltime 5 --outform pem \
		>"$out" 2>"$out.err"
}

declare -A D_PID
use() { scepd_env "$T/$1"; SCEPD_PID=${D_PID[$1]:-}; }
start() { run_scepd "$T/$1" && D_PID[$1]=$SCEPD_PID; }

# set_trusted DIR LIST [PROFILE-LIST]: the top-level trusted_ra of DIR/scepd.conf
set_trusted() {
	sed -i -E "0,/^trusted_ra = .*;/s//trusted_ra = $2;/" "$1/scepd.conf" &&
	    grep -Fq "trusted_ra = $2;" "$1/scepd.conf"
}

# reload NAME: SIGHUP and wait for the new generation's log line
reload() {
	local mark line
	use "$1"
	mark=$(log_mark)
	kill -HUP "$SCEPD_PID" || return 1
	line=$(log_wait "$mark" 'is serving|reload refused' 30) || return 1
	case $line in *"reload refused"*) diag "$line"; return 1 ;; esac
}

# ------------------------------------------------------------ the upstream

init_scepd "$T/up" || bail "scepctl init (upstream)"
start up || bail "upstream scepd starts"
pass "upstream scepd (local CA, one-time passwords) starts"
UP_URL=$SCEPD_URL
UP_OTP1=$(new_otp) && UP_OTP2=$(new_otp) || bail "two upstream one-time passwords"
# up_unused: how many unused one-time passwords the upstream holds
up_unused() { scepctl_cmd challenge list 2>/dev/null | awk 'NR > 1' | wc -l; }

# ------------------------------------------------------------ the front

port=$(free_port)
check "front: scepctl init --upstream, RA certificates from the upstream" \
    "$SCEPCTL_BIN" init -d "$T/front" --upstream "$UP_URL" --upstream-challenge "$UP_OTP1" \
    --upstream-challenge "$UP_OTP2" --listen "127.0.0.1:$port"
echo "$port" >"$T/front/.test-port"
check "front: its RA signing certificate is issued by the upstream CA" \
    openssl verify -CAfile "$T/up/ca.crt" "$T/front/ra-sign.crt"
# init's output, from a second front
"$SCEPCTL_BIN" init -d "$T/front2" --upstream "$UP_URL" \
    --upstream-challenge "$(use up; new_otp)" --upstream-challenge "$(use up; new_otp)" \
    --listen "127.0.0.1:$(free_port)" >"$T/front2.out" 2>&1
like "$(cat "$T/front2.out")" 'trusted_ra = \[ "front-ra-sign.crt" \];' \
    "scepctl init --upstream prints the trusted_ra line for the upstream"
like "$(cat "$T/front2.out")" "copy $T/front2/ra-sign.crt" \
    "scepctl init --upstream names the certificate to copy"
start front || bail "front scepd (backend scep) starts"
FRONT_URL=$SCEPD_URL

# ------------------------------------------------------------ not trusted yet

use front
F_OTP1=$(new_otp) || bail "a front one-time password"
new_rsa_key "$T/a.key"
enroll "$FRONT_URL" "$T/front" "$T/a.key" tra-a "$F_OTP1" "$T/a0.crt"
isnt "$?" 0 "without trusted_ra on the upstream: a front password alone gives FAILURE"
use up
like "$(cat "$SCEPD_LOG")" 'PKCSReq.*(FAILURE|challenge)' \
    "the upstream refused for want of its own challenge"

# ------------------------------------------------------------ trusted

cp "$T/front/ra-sign.crt" "$T/up/front-ra-sign.crt"
check "upstream: trusted_ra = [ \"front-ra-sign.crt\" ]" set_trusted "$T/up" '[ "front-ra-sign.crt" ]'
check "upstream: scepd -t accepts it" "$SCEPD_BIN" -t -f "$T/up/scepd.conf"
check "upstream: reloaded (SIGHUP)" reload up
use up
up_mark=$(log_mark)
new_otp >/dev/null || bail "an upstream one-time password"
UP_UNUSED_BEFORE=$(up_unused)
use front
F_OTP2=$(new_otp) || bail "a front one-time password"
enroll "$FRONT_URL" "$T/front" "$T/a.key" tra-a "$F_OTP2" "$T/a.crt"
is "$?" 0 "with trusted_ra: pki --scep through the front with a front password: SUCCESS"
check "the certificate verifies against the upstream CA, for the device's key" \
    verify_issued "$T/a.crt" "$T/a.key" "$T/up/ca.crt"
use up
RA_CN=$(cert_cn "$T/front/ra-sign.crt")
check_log "$up_mark" "vouched for by RA \".*CN=$RA_CN.*\"" "the upstream's log names the RA that vouched"
check "the upstream's store records the certificate" in_cert_list "$T/a.crt"
is "$(up_unused)" "$UP_UNUSED_BEFORE" \
    "no upstream one-time password was spent for the device"

use front
new_rsa_key "$T/b.key"
enroll "$FRONT_URL" "$T/front" "$T/b.key" tra-b "$F_OTP2" "$T/b.crt"
isnt "$?" 0 "the front password, spent, does not work a second time"

# ------------------------------------------------------------ straight to the upstream

use up
mark=$(log_mark)
new_rsa_key "$T/c.key"
enroll "$UP_URL" "$T/up" "$T/c.key" tra-c - "$T/c.crt"
isnt "$?" 0 "straight to the upstream, self-signed signer, no challenge: FAILURE"
check_log "$mark" 'PKCSReq.*FAILURE' "the upstream logs that FAILURE"
unlike "$(tail -n +"$((mark + 1))" "$SCEPD_LOG")" 'vouched for' "and nothing vouched for it"

# another front, whose RA certificates the upstream issued but does not list
echo "$(sed -n 's/.*"127.0.0.1:\([0-9]*\)".*/\1/p' "$T/front2/scepd.conf" | head -1)" \
    >"$T/front2/.test-port"
start front2 || bail "a second front starts"
F2_OTP=$(new_otp) || bail "a password of the second front"
use up
mark=$(log_mark)
new_rsa_key "$T/d.key"
enroll "http://127.0.0.1:$(cat "$T/front2/.test-port")$NDES_PATH" "$T/front2" "$T/d.key" \
    tra-d "$F2_OTP" "$T/d.crt"
isnt "$?" 0 "through a front whose RA certificate the upstream issued but does not list: FAILURE"
check_log "$mark" 'PKCSReq.*FAILURE.*CN=tra-d.*challenge password is wrong' \
    "the upstream asked that front's request for its own challenge"
unlike "$(tail -n +"$((mark + 1))" "$SCEPD_LOG")" 'vouched for' "and nothing vouched for it"

# a profile that trusts no RA although the top level does
cat >>"$T/up/scepd.conf" <<'EOF'
profiles = ( { name = "closed"; path = "/closed/pkiclient.exe"; trusted_ra = [ ]; } );
EOF
check "upstream: a profile with trusted_ra = [ ], reloaded" reload up
use front
F_OTP3=$(new_otp) || bail "a front one-time password"
sed -i -E "s#^(\s*url = \").*(\";)#\1${UP_URL%/certsrv/mscep/mscep.dll}/closed/pkiclient.exe\2#" \
    "$T/front/scepd.conf"
grep -q "/closed/pkiclient.exe" "$T/front/scepd.conf" || diag "the front's backend.url was not changed"
check "front: forwards to the closed profile, reloaded" reload front
new_rsa_key "$T/e.key"
enroll "$FRONT_URL" "$T/front" "$T/e.key" tra-e "$F_OTP3" "$T/e.crt"
isnt "$?" 0 "the upstream profile with trusted_ra = [ ] does not take the RA's word: FAILURE"

# ------------------------------------------------------------ scepd -t refusals

# t_refuses NAME CERT ERE: upstream scepd -t with trusted_ra = CERT fails naming it
t_refuses() {
	local name=$1 cert=$2 re=$3 d=$T/t-$1 out
	mkdir -p "$d"
	cp "$T/up/scepd.conf" "$d/scepd.conf"
	cp "$cert" "$T/up/bad-$name.crt"
	set_trusted "$d" "[ \"bad-$name.crt\" ]" || { diag "trusted_ra not set"; return 1; }
	if out=$("$SCEPD_BIN" -t -f "$d/scepd.conf" 2>&1); then
		diag "scepd -t accepted it"; return 1
	fi
	printf '%s\n' "$out" | grep -q "bad-$name.crt" || { diag "$out"; return 1; }
	printf '%s\n' "$out" | grep -Eq -- "$re" || { diag "$out"; return 1; }
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/self.key" -subj "/CN=self ra" \
    -days 30 -out "$T/self.crt" 2>/dev/null
check "scepd -t refuses a self-signed trusted_ra certificate, naming it" \
    t_refuses self "$T/self.crt" 'self-signed'
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/other-ca.key" -subj "/CN=other ca" \
    -days 30 -out "$T/other-ca.crt" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/other.key" -subj "/CN=other ra" \
    -out "$T/other.csr" 2>/dev/null
openssl x509 -req -in "$T/other.csr" -CA "$T/other-ca.crt" -CAkey "$T/other-ca.key" \
    -CAcreateserial -days 30 -out "$T/other.crt" 2>/dev/null
check "scepd -t refuses a trusted_ra certificate of another CA, naming it" \
    t_refuses other "$T/other.crt" 'not issued by this server'

# openssl ca with explicit dates, signed by the upstream CA
mini_ca() {
	local start=$1 end=$2 out=$3 d=$T/mini
	mkdir -p "$d"; : >"$d/index"; echo 1000 >"$d/serial"
	cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = mini
[ mini ]
database = $d/index
serial = $d/serial
new_certs_dir = $d
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
[ anything ]
commonName = supplied
EOF
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/k.key" -subj "/CN=dated ra" \
	    -out "$d/r.csr" 2>/dev/null &&
	openssl ca -batch -config "$d/ca.cnf" -cert "$T/up/ca.crt" -keyfile "$T/up/ca.key" \
	    -startdate "$start" -enddate "$end" -in "$d/r.csr" -out "$out" >/dev/null 2>&1
}
if mini_ca 20200101000000Z 20200201000000Z "$T/expired.crt"; then
	check "scepd -t refuses an expired trusted_ra certificate, naming it" \
	    t_refuses expired "$T/expired.crt" 'expired'
else
	fail "openssl ca made the expired certificate"
fi
if mini_ca 20900101000000Z 20900201000000Z "$T/future.crt"; then
	check "scepd -t refuses a not yet valid trusted_ra certificate, naming it" \
	    t_refuses future "$T/future.crt" 'not valid yet'
else
	fail "openssl ca made the future certificate"
fi
check "scepd -t refuses a trusted_ra file that holds no certificate, naming it" \
    t_refuses empty /dev/null 'not a PEM certificate'

done_testing

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/capture/capture.sh: re-records the client request fixtures of
# tests/data/clients from the SCEP clients Debian ships, with our capture server
# (capture_server.py, next to this script):
#   scepclient-*   scepclient (Debian scep)
#   strongswan-*   pki --scep (Debian strongswan-pki)
#   certmonger-*   a private certmonger daemon driven by getcert (Debian certmonger)
# sscep-* and jscep-* come from clients Debian does not ship (sscep 0.10.0, jscep
# 2.5.7 on OpenJDK 17): those fixtures are kept as they were captured.
#
# Usage: tests/capture/capture.sh [-o OUTDIR] [FIXTURE...]
#   (default OUTDIR tests/tmp/capture; default: every fixture it can re-record)
# Each capture goes to OUTDIR/FIXTURE/ (request.der, request.query for GET,
# request.json, client.key, old.crt/old.key where the fixture has them), then is
# checked and completed: the pkcsPKIEnvelope must decrypt with lab/ra-enc.key
# (request.csr.der) and the CSR's public key must be client.key's. facts.json is
# the fixture's, with the values that change on every capture refreshed
# (transactionID, signingTime, sizes, the signer's validity, the port in the
# commands); its structural facts (algorithms, encodings, attributes) are kept,
# and test_pkimsg checks them against the new request. To adopt a capture:
#   cp OUTDIR/FIXTURE/* tests/data/clients/FIXTURE/   (then run tests/run test_pkimsg)
# The clients run against 127.0.0.1 only, on ports the kernel picks, with the
# challenge password fixture-secret; the keys made are throwaway lab keys.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DATA=$TOP/tests/data/clients
SERVER=$HERE/capture_server.py
OUT=$TOP/tests/tmp/capture
NDES=/certsrv/mscep/mscep.dll
DN_SWAN="C=CH, O=strongSwan, CN=fixture-strongswan"

while getopts o: opt; do
	case $opt in
	o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-o OUTDIR] [FIXTURE...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
ALL=(scepclient-pkcsreq scepclient-pkcsreq-get scepclient-renewalreq
	strongswan-aes-sha256 strongswan-aes-sha1 strongswan-des3-sha256 strongswan-des3-sha1
	strongswan-aes-sha256-pss strongswan-renewalreq
	certmonger-pkcsreq certmonger-resubmit certmonger-rekey)
[ $# -gt 0 ] && WANT=("$@") || WANT=("${ALL[@]}")

# the commands run from OUT, naming lab/... and FIXTURE/... as facts.json records
cd "$OUT" || exit 1
ln -sfn "$DATA/lab" lab
WORK=$(mktemp -d "$OUT/.work.XXXXXX") || exit 1
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { say "skipped $2: $1 is not installed"; return 1; }; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds
wait_for() {
	local end=$(( $(date +%s) + $1 )); shift
	until "$@"; do [ "$(date +%s)" -lt $end ] || return 1; sleep 0.1; done
}

# serve LABEL [PORT] [capture_server options]: start the capture server for
# LABEL (PORT 0: the kernel picks one); sets PORT, SPID, URL
serve() {
	local label=$1 want=$2; shift 2
	rm -f "$WORK/port"
	python3 "$SERVER" "$label" --port "$want" --port-file "$WORK/port" --dir "$OUT" "$@" \
		2>>"$WORK/server-$label.log" &
	SPID=$!; PIDS+=("$SPID")
	wait_for 30 test -s "$WORK/port" || { say "$label: the capture server did not start"; return 1; }
	PORT=$(cat "$WORK/port")
	URL=http://127.0.0.1:$PORT$NDES
}
unserve() { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; return 0; }

# run LABEL CMD...: a client command, logged (the client fails on the HTTP 500)
run() {
	local label=$1; shift
	printf '%s\n' "$*" >>"$WORK/$label.commands"
	timeout 120 "$@" >>"$WORK/$label.client.log" 2>&1
	return 0
}

rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# old_cert KEY SUBJECT OUT: a one-year certificate from the lab CA (extensions old_client)
old_cert() {
	openssl req -new -key "$1" -subj "$2" |
		openssl x509 -req -CA lab/ca.crt -CAkey lab/ca.key -set_serial "0x$(openssl rand -hex 8)" \
		-days 365 -sha256 -extfile lab/lab.cnf -extensions old_client -out "$3" 2>/dev/null
}

# ---------------------------------------------------------------- the clients

scepclient_one() {
	local f=$1 extra=()
	need scepclient "$f" || return 1
	mkdir -p "$f"
	case $f in
	*-get) serve "$f" 0 --no-post || return 1 ;;
	*) serve "$f" 0 || return 1 ;;
	esac
	if [ "$f" = scepclient-renewalreq ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null |
			openssl rsa -traditional -out "$f/client.key" 2>/dev/null
		old_cert "$f/client.key" "/C=US/O=scep-client/OU=MDM/CN=fixture-scepclient" "$f/old.crt"
		extra=(-certificate "$f/old.crt")
	else
		extra=(-certificate "$f/issued.pem")
	fi
	run "$f" scepclient -server-url "$URL" -challenge fixture-secret -private-key "$f/client.key" \
		"${extra[@]}" -cn fixture-scepclient -debug
	unserve
	rm -f "$f/issued.pem" "$f/csr.pem" "$f/self.pem"
}

strongswan_one() {
	local f=$1 opts=()
	need pki "$f" || return 1
	mkdir -p "$f"
	serve "$f" 0 || return 1
	case $f in
	strongswan-aes-sha256) opts=(--cipher aes --digest sha256) ;;
	strongswan-aes-sha1) opts=(--cipher aes --digest sha1) ;;
	strongswan-des3-sha256) opts=(--cipher des3 --digest sha256) ;;
	strongswan-des3-sha1) opts=(--cipher des3 --digest sha1) ;;
	strongswan-aes-sha256-pss) opts=(--cipher aes --digest sha256 --rsa-padding pss) ;;
	strongswan-renewalreq)
		rsa_key "$f/old.key"
		old_cert "$f/old.key" "/C=CH/O=strongSwan/CN=fixture-strongswan" "$f/old.crt"
		opts=(--cert "$f/old.crt" --key "$f/old.key" --cipher aes --digest sha256) ;;
	esac
	rsa_key "$f/client.key"
	run "$f" pki --scep --url "$URL" --in "$f/client.key" --dn "$DN_SWAN" \
		--san fixture-strongswan.example.org --password fixture-secret \
		--cacert-enc lab/ra-enc.crt --cacert-sig lab/ra-sign.crt --cacert lab/ca.crt \
		"${opts[@]}" --maxpolltime 1 --outform pem
	unserve
}

# one private certmonger daemon (its own state folders and socket) for all three
CM_PORT=0 CM_UP=0
certmonger_up() {
	local s=$WORK/certmonger
	[ $CM_UP = 1 ] && return 0
	mkdir -p "$s/requests" "$s/cas" "$s/tmp" "$s/local" "$s/config"
	(
		export CERTMONGER_REQUESTS_DIR=$s/requests CERTMONGER_CAS_DIR=$s/cas \
			CERTMONGER_TMPDIR=$s/tmp CERTMONGER_LOCAL_CA_DIR=$s/local \
			CERTMONGER_CONFIG_DIR=$s/config CERTMONGER_SYSTEM_LOCK_FILE=$s/lock
		exec certmonger -n -L -P "$s/sock" -d 3
	) >"$s/certmonger.log" 2>&1 &
	PIDS+=($!)
	export CERTMONGER_PVT_ADDRESS=unix:path=$s/sock
	wait_for 30 eval 'getcert list-cas >/dev/null 2>&1' || { say "the private certmonger did not start"; return 1; }
	run certmonger getcert add-scep-ca -c fixture-lab -u "$URL" -v
	CM_UP=1
}
captured() { test -s "$OUT/$1/request.der"; }

certmonger_one() {
	local f=$1 abs
	need certmonger "$f" && need getcert "$f" || return 1
	mkdir -p "$f"; abs=$OUT/$f
	# the CA entry names one URL: every capture server after the first takes its port
	serve "$f" "$CM_PORT" || return 1
	CM_PORT=$PORT
	certmonger_up || { unserve; return 1; }
	case $f in
	certmonger-pkcsreq)
		run "$f" getcert request -c fixture-lab -k "$abs/client.key" -f "$abs/issued.pem" \
			-N CN=fixture-certmonger -D fixture-certmonger.example.org -L fixture-secret \
			-I "fixture-certmonger-$$" -v ;;
	certmonger-resubmit)
		rsa_key "$f/client.key"
		old_cert "$f/client.key" "/CN=fixture-certmonger" "$f/old.crt"
		cp "$f/old.crt" "$f/cert.pem"
		run "$f" getcert start-tracking -c fixture-lab -k "$abs/client.key" -f "$abs/cert.pem" \
			-I "fixture-certmonger-resubmit-$$" -L fixture-secret
		run "$f" getcert resubmit -i "fixture-certmonger-resubmit-$$" ;;
	certmonger-rekey)
		rsa_key "$f/client.key"; cp "$f/client.key" "$f/old.key"
		old_cert "$f/old.key" "/CN=fixture-certmonger" "$f/old.crt"
		cp "$f/old.crt" "$f/cert.pem"
		run "$f" getcert start-tracking -c fixture-lab -k "$abs/client.key" -f "$abs/cert.pem" \
			-I "fixture-certmonger-rekey-$$" -L fixture-secret
		run "$f" getcert rekey -i "fixture-certmonger-rekey-$$" ;;
	esac
	wait_for 90 captured "$f" || say "$f: certmonger sent no PKIOperation within 90 s"
	unserve
	rm -f "$f/issued.pem" "$f/cert.pem"
	keep_csr_key "$f"
}

# keep_csr_key FIXTURE: certmonger writes new keys next to client.key
# (client.key.XXXXXXXX.key: the one it rekeys to, and one made ahead for the next
# rekey): the one in the CSR becomes client.key, the others go (the key a rekey
# replaced is kept as old.key)
keep_csr_key() {
	local f=$1 k want
	ls "$f"/client.key.*.key >/dev/null 2>&1 || return 0
	want=$(csr_pubkey "$f") || return 0
	for k in "$f"/client.key.*.key; do
		[ "$(openssl pkey -in "$k" -pubout 2>/dev/null)" = "$want" ] && mv "$k" "$f/client.key"
	done
	rm -f "$f"/client.key.*.key
}

# csr_pubkey FIXTURE: the public key of the CSR inside the captured request
csr_pubkey() {
	local d=$OUT/$1
	openssl cms -verify -noverify -binary -inform DER -in "$d/request.der" -out "$WORK/$1.env" 		2>/dev/null &&
	openssl cms -decrypt -binary -inform DER -in "$WORK/$1.env" -inkey lab/ra-enc.key 		-recip lab/ra-enc.crt -provider default -provider legacy 2>/dev/null |
		openssl req -inform DER -noout -pubkey 2>/dev/null
}

# ---------------------------------------------------------------- checks

# complete FIXTURE: decrypt the envelope into request.csr.der, check its key,
# write facts.json with the values of this capture
complete() {
	local f=$1 d=$OUT/$1 a b
	[ -s "$d/request.der" ] || { say "$f: FAILED: no request captured (see $WORK/$f.client.log)"; return 1; }
	if ! openssl cms -verify -noverify -binary -inform DER -in "$d/request.der" \
	    -out "$WORK/$f.env" 2>"$WORK/$f.verify.err"; then
		say "$f: FAILED: the signature does not verify: $(head -n 2 "$WORK/$f.verify.err")"; return 1
	fi
	if ! openssl cms -decrypt -binary -inform DER -in "$WORK/$f.env" -inkey lab/ra-enc.key \
	    -recip lab/ra-enc.crt -provider default -provider legacy -out "$d/request.csr.der" \
	    2>"$WORK/$f.decrypt.err"; then
		say "$f: FAILED: the envelope does not open with lab/ra-enc.key: $(head -n 2 "$WORK/$f.decrypt.err")"
		return 1
	fi
	a=$(openssl req -inform DER -in "$d/request.csr.der" -noout -pubkey 2>/dev/null)
	b=$(openssl pkey -in "$d/client.key" -pubout 2>/dev/null)
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		say "$f: FAILED: the CSR's public key is not client.key's"; return 1
	fi
	python3 "$HERE/refresh_facts.py" "$DATA/$f/facts.json" "$d" "$WORK/$f.commands" \
		>"$d/facts.json" || { say "$f: FAILED: facts.json not refreshed"; return 1; }
	say "$f: captured in $d"
}

rc=0
for f in "${WANT[@]}"; do
	case $f in */*|.*) say "$f: no such fixture"; rc=1; continue ;; esac
	rm -rf "${OUT:?}/$f"
	case $f in
	scepclient-*) scepclient_one "$f" ;;
	strongswan-*) strongswan_one "$f" ;;
	certmonger-*) certmonger_one "$f" ;;
	sscep-*|jscep-*) say "$f: kept as captured (the client is not in Debian)"; continue ;;
	*) say "$f: no such fixture"; rc=1; continue ;;
	esac || { rc=1; continue; }
	complete "$f" || rc=1
done
exit $rc

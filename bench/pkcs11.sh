#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/pkcs11.sh [N] [P]: enrollments per second with the CA and RA keys in
# files and with the same kind of keys in a SoftHSM token (through libp11), in
# the same run: two scepd on loopback, N strongSwan `pki --scep` enrollments
# against each, P at a time (default 20 and 4; keys made beforehand, one per
# enrollment). Each enrollment costs the server three private-key operations
# (decrypt the envelope with the RA key, issue with the CA key, sign the
# CertRep with the RA key). Needs softhsm2 and strongswan-pki. Not part of
# `make check`.
set -eu
cd "$(dirname "$0")/.."
N=${1:-20}
P=${2:-4}
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -e "$MODULE" ] || { echo "bench/pkcs11.sh: $MODULE missing (apt-get install -y softhsm2)" >&2; exit 1; }
command -v pki >/dev/null || { echo "bench/pkcs11.sh: pki missing (strongswan-pki)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# a SoftHSM of its own
mkdir -p "$tmp/hsm/tokens"
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$tmp" >"$tmp/hsm/softhsm2.conf"
export SOFTHSM2_CONF=$tmp/hsm/softhsm2.conf
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
printf '1234\n' >"$tmp/hsm/pin"; chmod 600 "$tmp/hsm/pin"
q="module-path=$MODULE&pin-source=$tmp/hsm/pin"

# start NAME [init options]: a scepd with the static challenge "bench"
start() {
	local name=$1 port; shift
	port=$(free_port)
	./scepctl init -d "$tmp/$name" --listen "127.0.0.1:$port" --challenge bench "$@" >/dev/null
	./scepd -f "$tmp/$name/scepd.conf" 2>"$tmp/$name.log" & pids+=($!)
	echo "http://127.0.0.1:$port/certsrv/mscep/mscep.dll" >"$tmp/$name.url"
	for _ in $(seq 100); do curl -fs "$(cat "$tmp/$name.url")?operation=GetCACaps" >/dev/null && return 0; sleep 0.1; done
	echo "bench/pkcs11.sh: scepd $name did not start" >&2; exit 1
}
start files
start token --ca-key "pkcs11:token=bench;object=ca?$q" --ra-key "pkcs11:token=bench;object=ra?$q"

# pki derives the transactionID from the key: a key per enrollment
for i in $(seq "$N"); do pki --gen --type rsa --size 2048 >"$tmp/k$i.der" 2>/dev/null; done

# run NAME: N enrollments, P at a time; prints enrollments/s
run() {
	local name=$1 url t0 t1 ok
	url=$(cat "$tmp/$name.url")
	t0=$(date +%s%N)
	seq "$N" | xargs -P "$P" -I{} sh -c 'pki --scep --url "$1" --in "$2/k$3.der" --dn "CN=b$3" \
		--password bench --cacert-enc "$2/$4/ra-enc.crt" --cacert-sig "$2/$4/ra-sign.crt" \
		--cacert "$2/$4/ca.crt" >"$2/$4-c$3.der" 2>/dev/null || true' _ "$url" "$tmp" {} "$name"
	t1=$(date +%s%N)
	ok=$(grep -c 'outcome=SUCCESS' "$tmp/$name.log" || true)
	awk -v n="$ok" -v ns=$((t1 - t0)) -v name="$name" -v p="$P" \
		'BEGIN { printf "%-6s keys: %3d enrollments in %6.2f s = %6.1f enrollments/s (%d at a time)\n", name, n, ns / 1e9, n / (ns / 1e9), p }'
}
run files
run token
echo "(the same machine, the same client; pki's own work is in both figures)"

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/signer.sh [N] [P]: enrollment rate with and without the signer process,
# same machine, same run. For each of signer.process = true and false: a fresh
# scepd (static challenge), then N enrollments by strongSwan `pki --scep`, P at
# a time (keys made beforehand, one per enrollment), wall clock for all of
# them. Prints enrollments per second for both. The client's own work is in
# both figures alike. Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
N=${1:-40}
P=${2:-4}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

for i in $(seq "$N"); do pki --gen --type rsa --size 2048 >"$tmp/k$i.der" 2>/dev/null; done

run() {
	local mode=$1 port dir url t0 t1 ok
	dir=$tmp/$mode
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	./scepctl init -d "$dir" --listen "127.0.0.1:$port" --challenge bench >/dev/null
	sed -i -E "s/^([[:space:]]*)process = [a-z]+;/\1process = $mode;/" "$dir/scepd.conf"
	./scepd -f "$dir/scepd.conf" 2>"$dir/log" & pid=$!
	url="http://127.0.0.1:$port/certsrv/mscep/mscep.dll"
	for _ in $(seq 100); do curl -fs "$url?operation=GetCACaps" >/dev/null && break; sleep 0.1; done
	t0=$(date +%s%N)
	for w in $(seq "$P"); do
		for i in $(seq "$w" "$P" "$N"); do
			pki --scep --url "$url" --in "$tmp/k$i.der" --dn "CN=bench$i" --password bench \
			    --cacert-enc "$dir/ra-enc.crt" --cacert-sig "$dir/ra-sign.crt" \
			    --cacert "$dir/ca.crt" >"$dir/c$i.der" 2>/dev/null || true
		done &
	done
	wait $(jobs -p | grep -v "^$pid\$")
	t1=$(date +%s%N)
	ok=$(grep -c 'outcome=SUCCESS' "$dir/log" || true)
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
	awk -v n="$ok" -v ns=$((t1 - t0)) -v m="$mode" -v p="$P" 'BEGIN {
	    printf "signer.process = %-5s  %d enrollments, %d at a time: %.2f s, %.1f enrollments/s\n",
	        m, n, p, ns / 1e9, n / (ns / 1e9) }'
}
run true
run false

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/enroll.sh [N]: measures enrollment time against a local scepd.
#  1. N enrollments with strongSwan `pki --scep` (real client: keys already made,
#     one each, so the time is the client's SCEP work plus the server's),
#     wall clock each;
#  2. N GetCACaps with curl (the HTTP path without crypto).
# Prints min / median / mean in milliseconds. Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
N=${1:-20}
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./scepctl init -d "$tmp/s" --listen "127.0.0.1:$port" --challenge bench >/dev/null
./scepd -f "$tmp/s/scepd.conf" 2>"$tmp/log" & pid=$!
url="http://127.0.0.1:$port/certsrv/mscep/mscep.dll"
for i in $(seq 50); do curl -fs "$url?operation=GetCACaps" >/dev/null && break; sleep 0.1; done

stats() { sort -n | awk '{a[NR]=$1; s+=$1} END {printf "min %.1f  median %.1f  mean %.1f ms (n=%d)\n", a[1], a[int((NR+1)/2)], s/NR, NR}'; }
ms() { date +%s%N; }

# A key each: pki derives the transactionID from the key, and a second PKCSReq
# of one transactionID is answered with the certificate already issued.
for i in $(seq "$N"); do pki --gen --type rsa --size 2048 > "$tmp/k$i.der" 2>/dev/null; done
for i in $(seq "$N"); do
	t0=$(ms)
	pki --scep --url "$url" --in "$tmp/k$i.der" --dn "CN=bench$i" --password bench \
	    --cacert-enc "$tmp/s/ra-enc.crt" --cacert-sig "$tmp/s/ra-sign.crt" \
	    --cacert "$tmp/s/ca.crt" > "$tmp/c$i.der" 2>/dev/null
	echo $(( ($(ms) - t0) / 1000 ))
done | awk '{print $1/1000}' | { printf 'pki --scep enrollment:        '; stats; }

for i in $(seq "$N"); do
	t0=$(ms); curl -fs "$url?operation=GetCACaps" >/dev/null; echo $(( ($(ms) - t0) / 1000 ))
done | awk '{print $1/1000}' | { printf 'GetCACaps (curl):             '; stats; }
echo "server log: $(grep -c 'outcome=SUCCESS' "$tmp/log") enrollments succeeded"

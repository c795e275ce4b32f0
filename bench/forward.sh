#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/forward.sh [N]: the latency forwarding adds to one enrollment.
# An upstream scepd (local CA) and a front scepd made with
# `scepctl init --upstream` (backend scep) run on loopback; N enrollments with
# strongSwan `pki --scep` (a key each, made beforehand, since pki derives
# the transactionID from the key; so each is GetCACaps + GetCACert + PKCSReq
# and the client's own work) go
#   1. directly to the upstream,
#   2. through the front (the front checks, forwards with its RA key, opens
#      the upstream's CertRep, records and re-envelopes the certificate),
# interleaved so that both see the same machine load. Prints min / median /
# mean in milliseconds and the difference of the medians. Not part of
# `make check`.
set -eu
cd "$(dirname "$0")/.."
N=${1:-20}
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 50); do curl -fs "$1?operation=GetCACaps" >/dev/null && return 0; sleep 0.1; done; return 1; }

up_port=$(free_port)
./scepctl init -d "$tmp/up" --listen "127.0.0.1:$up_port" --challenge bench >/dev/null
./scepd -f "$tmp/up/scepd.conf" 2>"$tmp/up.log" & pids+=($!)
up_url="http://127.0.0.1:$up_port/certsrv/mscep/mscep.dll"
wait_up "$up_url"
front_port=$(free_port)
./scepctl init -d "$tmp/front" --listen "127.0.0.1:$front_port" --challenge bench \
    --upstream "$up_url" --upstream-challenge bench >/dev/null
./scepd -f "$tmp/front/scepd.conf" 2>"$tmp/front.log" & pids+=($!)
front_url="http://127.0.0.1:$front_port/certsrv/mscep/mscep.dll"
wait_up "$front_url"

stats() { sort -n | awk '{a[NR]=$1; s+=$1} END {printf "min %.1f  median %.1f  mean %.1f ms (n=%d)\n", a[1], a[int((NR+1)/2)], s/NR, NR}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { date +%s%N; }
# enroll URL DIR CN: one enrollment, prints its wall time in ms
enroll() {
	local t0; t0=$(ms)
	pki --scep --url "$1" --in "$tmp/$3.key" --dn "CN=$3" --password bench \
	    --cacert-enc "$2/ra-enc.crt" --cacert-sig "$2/ra-sign.crt" \
	    --cacert "$2/ca.crt" >"$tmp/$3.der" 2>/dev/null
	awk -v d=$(( ($(ms) - t0) / 1000 )) 'BEGIN {print d / 1000}'
}

for cn in warm-d warm-f $(seq -f 'direct%g' "$N") $(seq -f 'front%g' "$N"); do
	pki --gen --type rsa --size 2048 >"$tmp/$cn.key" 2>/dev/null
done
enroll "$up_url" "$tmp/up" warm-d >/dev/null
enroll "$front_url" "$tmp/front" warm-f >/dev/null
for i in $(seq "$N"); do
	enroll "$up_url" "$tmp/up" "direct$i" >>"$tmp/direct"
	enroll "$front_url" "$tmp/front" "front$i" >>"$tmp/front.ms"
done
printf 'pki --scep, direct to the upstream:  '; stats <"$tmp/direct"
printf 'pki --scep, through the front:       '; stats <"$tmp/front.ms"
awk -v a="$(median <"$tmp/front.ms")" -v b="$(median <"$tmp/direct")" \
    'BEGIN {printf "added by forwarding (medians):      %.1f ms\n", a - b}'
echo "front log: $(grep -c 'outcome=SUCCESS' "$tmp/front.log") enrollments succeeded;" \
    "upstream log: $(grep -c 'outcome=SUCCESS' "$tmp/up.log") (direct, forwarded, and the front's two RA certificates)"

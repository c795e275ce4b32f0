#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/connections.sh [C]: the memory scepd's network process keeps for each
# open connection. A fresh lab scepd (`scepctl init`, defaults, all of the load
# from 127.0.0.1) gets C (default 256) keep-alive connections from scepbench,
# each making 20 GetCACaps requests; prints VmRSS before, the peak (VmHWM)
# while they were open, and the peak's growth per connection. libmicrohttpd
# keeps each connection's memory pool (http.max_url + 16 KiB) for as long as
# the connection is open, and touches all of it after every request. Not part
# of `make check`.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
C=${1:-256}
lab_setup
sed -i -E "s/^([[:space:]]*)max_connections = [0-9]+;/\1max_connections = $((C + 16));/" \
    "$tmp/d/scepd.conf"
./scepd -f "$tmp/d/scepd.conf" 2>"$tmp/log" & pid=$!
wait_up "$url" || { cat "$tmp/log" >&2; exit 1; }
status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
before=$(status VmRSS)
bench/scepbench -u "$url" -O GetCACaps -n $((C * 20)) -c "$C" >"$tmp/bench" ||
	{ cat "$tmp/bench" >&2; exit 1; }
peak=$(status VmHWM)
awk -v c="$C" -v b="$before" -v p="$peak" 'BEGIN { printf "connections %d: VmRSS " \
    "before %d kB, peak %d kB, %.1f kB per connection\n", c, b, p, (p - b) / c }'

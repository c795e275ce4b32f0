#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/crash_audit.sh [KILLS] [WORKERS]: crash safety under load (issue 10).
# One scepd (local CA, one-time passwords, PasswordMax 1000) on loopback;
# WORKERS (default 16) strongSwan `pki --scep` clients enroll without pause,
# each attempt with a fresh RSA key, two workers racing on each one-time
# password. Meanwhile scepd is killed with SIGKILL KILLS times (default 20)
# at random moments (0.3 to 2 s apart) and started again. At every restart
# the store must pass `PRAGMA integrity_check`; at the end:
#   - every certificate a client received (a SUCCESS) is in the store, once;
#   - no serial number appears twice, among the clients' certificates or in
#     the store;
#   - no one-time password gave more than one certificate, and the store has
#     no more certificates than passwords were spent;
#   - every certificate received verifies against the CA, for its key.
# Prints the figures and exits non-zero on any violation. Takes a few
# minutes; not part of `make check` (it needs no network beyond loopback).
set -u
cd "$(dirname "$0")/.."
KILLS=${1:-20}
WORKERS=${2:-16}
# attempts per worker: enough for the kills (about 6 per kill), every password used twice
ROUNDS=$(( KILLS * 6 ))
[ "$ROUNDS" -gt $(( 1000 / (WORKERS / 2) )) ] && ROUNDS=$(( 1000 / (WORKERS / 2) ))
tmp=$(mktemp -d)
scepd_pid=
worker_pids=()
cleanup() {
	kill "${worker_pids[@]}" 2>/dev/null
	[ -n "$scepd_pid" ] && kill -9 "$scepd_pid" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
command -v pki >/dev/null && command -v sqlite3 >/dev/null ||
	{ echo "crash_audit: needs pki (strongswan-pki) and sqlite3" >&2; exit 2; }

port=$(free_port)
d=$tmp/s
./scepctl init -d "$d" --listen "127.0.0.1:$port" >/dev/null
sed -i -E 's/^(\s*)PasswordMax = [0-9]+;/\1PasswordMax = 1000;/' "$d/scepd.conf"
url=http://127.0.0.1:$port/certsrv/mscep/mscep.dll
conf=$d/scepd.conf

start_scepd() {
	./scepd -f "$conf" 2>>"$tmp/scepd.log" &
	scepd_pid=$!
	for _ in $(seq 200); do
		curl -fs -o /dev/null "$url?operation=GetCACaps" && return 0
		sleep 0.05
	done
	echo "crash_audit: scepd did not come back" >&2
	return 1
}

NOTP=$(( ROUNDS * (WORKERS / 2) ))
echo "making $NOTP one-time passwords (each worker makes its key before each attempt)..."
mkdir -p "$tmp/keys" "$tmp/out"
for _ in $(seq "$NOTP"); do ./scepctl -f "$conf" challenge new; done >"$tmp/otps" 2>/dev/null
[ "$(wc -l <"$tmp/otps")" = "$NOTP" ] || { echo "crash_audit: could not mint $NOTP passwords" >&2; exit 2; }

# worker W: attempt I uses password (I * WORKERS/2 + W/2): its neighbour races for it
worker() {
	local w=$1 i n pw
	for i in $(seq 0 $((ROUNDS - 1))); do
		n=$(( i * (WORKERS / 2) + w / 2 + 1 ))
		pw=$(sed -n "${n}p" "$tmp/otps")
		[ -n "$pw" ] && [ ! -e "$tmp/stop" ] || return 0
		openssl genrsa -out "$tmp/keys/$w-$i.key" 2048 2>/dev/null || return 0
		if timeout 30 pki --scep --url "$url" --in "$tmp/keys/$w-$i.key" \
		    --dn "CN=audit-$w-$i" --password "$pw" --cacert-enc "$d/ra-enc.crt" \
		    --cacert-sig "$d/ra-sign.crt" --cacert "$d/ca.crt" --interval 1 \
		    --maxpolltime 2 --outform pem >"$tmp/out/$w-$i.crt" 2>/dev/null &&
		    [ -s "$tmp/out/$w-$i.crt" ]; then
			echo "$w-$i $n ok"
		else
			rm -f "$tmp/out/$w-$i.crt"
			echo "$w-$i $n fail"
		fi
	done >"$tmp/worker-$w.log"
}

start_scepd || exit 1
for w in $(seq 0 $((WORKERS - 1))); do worker "$w" & worker_pids+=($!); done

bad=0
integrity_fail=0
t0=$(date +%s)
for k in $(seq "$KILLS"); do
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.3 + (r % 171) / 100 }')"
	kill -9 "$scepd_pid"; wait "$scepd_pid" 2>/dev/null
	ic=$(sqlite3 "$d/scepd.db" 'PRAGMA integrity_check;' 2>&1)
	if [ "$ic" != ok ]; then
		echo "kill $k: integrity_check: $ic"; integrity_fail=$((integrity_fail + 1))
	fi
	start_scepd || { bad=1; break; }
done
# the workers finish the attempt in flight against the running scepd
touch "$tmp/stop"
wait "${worker_pids[@]}" 2>/dev/null
worker_pids=()
secs=$(( $(date +%s) - t0 ))
kill -9 "$scepd_pid"; wait "$scepd_pid" 2>/dev/null; scepd_pid=

# --- the audit
cat "$tmp"/worker-*.log >"$tmp/attempts"
attempts=$(wc -l <"$tmp/attempts")
successes=$(grep -c ' ok$' "$tmp/attempts")
awk '$3 == "ok" { print $1 }' "$tmp/attempts" >"$tmp/received"
while read -r a; do
	openssl x509 -in "$tmp/out/$a.crt" -noout -serial | sed 's/^serial=//; s/^0*//' | tr a-f A-F
done <"$tmp/received" | sort >"$tmp/received-serials"
sqlite3 "$d/scepd.db" "SELECT upper(serial) FROM certificates ORDER BY 1;" | sed 's/^0*//' |
    sort >"$tmp/store-serials"
stored=$(wc -l <"$tmp/store-serials")

missing=$(comm -23 "$tmp/received-serials" "$tmp/store-serials" | wc -l)
dup_received=$(uniq -d "$tmp/received-serials" | wc -l)
dup_store=$(uniq -d "$tmp/store-serials" | wc -l)
otp_twice=$(awk '$3 == "ok" { n[$2]++ } END { c = 0; for (k in n) if (n[k] > 1) c++; print c }' \
    "$tmp/attempts")
spent=$(sqlite3 "$d/scepd.db" "SELECT count(*) FROM challenges WHERE used_at IS NOT NULL;" \
    2>/dev/null || echo "?")
unverified=0
while read -r a; do
	f=$tmp/out/$a.crt k=$tmp/keys/$a.key
	if ! openssl verify -CAfile "$d/ca.crt" "$f" >/dev/null 2>&1 ||
	    [ "$(openssl x509 -in "$f" -noout -pubkey)" != "$(openssl pkey -in "$k" -pubout)" ]; then
		unverified=$((unverified + 1))
	fi
done <"$tmp/received"

echo "crash audit: $KILLS kill -9 in ${secs}s under $WORKERS workers"
echo "  enrollment attempts          $attempts"
echo "  SUCCESS received by clients  $successes"
echo "  certificates in the store    $stored"
echo "  one-time passwords consumed  $spent (store)"
echo "  integrity_check failures     $integrity_fail"
echo "  received but not in store    $missing"
echo "  serials repeated (received)  $dup_received"
echo "  serials repeated (store)     $dup_store"
echo "  passwords that worked twice  $otp_twice"
echo "  certificates not verifying   $unverified"
if [ "$spent" != "?" ] && [ "$stored" -gt "$spent" ]; then
	echo "  VIOLATION: more certificates ($stored) than passwords consumed ($spent)"; bad=1
fi
[ $((integrity_fail + missing + dup_received + dup_store + otp_twice + unverified)) -eq 0 ] || bad=1
[ "$bad" = 0 ] && echo "crash audit: PASS" || echo "crash audit: FAIL"
exit "$bad"

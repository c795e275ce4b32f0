#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/validators.sh [N]: the latency each challenge validator adds to one
# enrollment. One scepd on loopback with four profiles:
#   none    the static password (no validator), the baseline;
#   webhook type webhook, to tests/integration/helpers/webhook_receiver.py
#           (step-ca's SCEPCHALLENGE protocol, HMAC checked; allows "bench");
#   exec    type exec, a shell script reading the JSON document;
#   intune  type intune, to tests/integration/helpers/intune_standin.py (token,
#           discovery, validateRequest, successNotification), a challenge
#           minted per enrollment (it names the subject).
# N enrollments per profile with strongSwan `pki --scep` (a key each, made
# beforehand), interleaved so that every profile sees the same machine load.
# Prints, per profile, the wall time of an enrollment and the validator's own
# latency as scepd logs it (latency_ms: the call to the service or program),
# and the difference of the medians against none. Not part of `make check`.
set -eu
cd "$(dirname "$0")/.."
N=${1:-20}
H=tests/integration/helpers
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { date +%s%N; }
stats() { sort -n | awk '{a[NR]=$1; s+=$1} END {if (NR) printf "min %6.1f  median %6.1f  mean %6.1f ms (n=%d)", a[1], a[int((NR+1)/2)], s/NR, NR; else printf "no data"}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }

# --- the services
secret=$(openssl rand -base64 32)
wport=$(free_port)
echo '{ "bench": "allow" }' >"$tmp/rules.json"
python3 "$H/webhook_receiver.py" --port "$wport" --secret "$secret" --id bench \
    --rules "$tmp/rules.json" --log "$tmp/calls.jsonl" 2>"$tmp/webhook.err" & pids+=($!)
tenant=contoso.onmicrosoft.com client=11111111-2222-3333-4444-555555555555
printf 'bench~secret\n' >"$tmp/intune.secret"; chmod 600 "$tmp/intune.secret"
python3 "$H/intune_standin.py" --tenant "$tenant" --client-id "$client" \
    --client-secret-file "$tmp/intune.secret" >"$tmp/standin.port" 2>"$tmp/standin.err" & pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/standin.port" ] && break; sleep 0.1; done
sb=http://127.0.0.1:$(head -n 1 "$tmp/standin.port")

# --- scepd
port=$(free_port)
d=$tmp/s
./scepctl init -d "$d" --listen "127.0.0.1:$port" --challenge bench >/dev/null
printf '%s\n' "$secret" >"$d/hook.secret"; chmod 600 "$d/hook.secret"
printf '#!/bin/sh\ncase "$(cat)" in *\x27"scepChallenge":"bench"\x27*) exit 0 ;; esac\necho no >&2\nexit 1\n' \
    >"$d/check"
chmod 755 "$d/check"
cat >>"$d/scepd.conf" <<EOF
validators = (
	{ name = "webhook"; type = "webhook"; url = "http://127.0.0.1:$wport/challenge";
	  id = "bench"; secret_file = "hook.secret"; timeout = 10; },
	{ name = "exec"; type = "exec"; program = "check"; timeout = 10; },
	{ name = "intune"; type = "intune"; tenant = "$tenant"; client_id = "$client";
	  client_secret_file = "$tmp/intune.secret"; authority_url = "$sb/"; graph_url = "$sb/";
	  timeout = 20; }
);
profiles = (
	{ name = "webhook"; path = "/webhook/pkiclient.exe"; validator = "webhook"; },
	{ name = "exec"; path = "/exec/pkiclient.exe"; validator = "exec"; },
	{ name = "intune"; path = "/intune/pkiclient.exe"; validator = "intune"; }
);
EOF
./scepd -f "$d/scepd.conf" 2>"$tmp/scepd.log" & pids+=($!)
base=http://127.0.0.1:$port
for _ in $(seq 50); do curl -fs "$base/certsrv/mscep/mscep.dll?operation=GetCACaps" >/dev/null && break; sleep 0.1; done

# enroll PROFILE I: one enrollment, prints its wall time in ms
enroll() {
	local p=$1 i=$2 url pw=bench t0
	case $p in
	none) url=$base/certsrv/mscep/mscep.dll ;;
	*) url=$base/$p/pkiclient.exe ;;
	esac
	if [ "$p" = intune ]; then
		pw=$(curl -s "$sb/_test/mint?subject=CN%3Dbench-$p-$i&minkey=2048")
	fi
	t0=$(ms)
	pki --scep --url "$url" --in "$tmp/k-$p-$i.der" --dn "CN=bench-$p-$i" --password "$pw" \
	    --cacert-enc "$d/ra-enc.crt" --cacert-sig "$d/ra-sign.crt" --cacert "$d/ca.crt" \
	    >"$tmp/c-$p-$i.der" 2>"$tmp/e-$p-$i" || { echo "enrollment $p $i failed" >&2; return 1; }
	echo $(( ($(ms) - t0) / 1000000 ))
}

profiles="none webhook exec intune"
for p in $profiles; do
	for i in $(seq "$N"); do pki --gen --type rsa --size 2048 >"$tmp/k-$p-$i.der" 2>/dev/null; done
done
for p in $profiles; do enroll "$p" 0 >/dev/null 2>&1 || true; done   # warm up (Intune token)
for i in $(seq "$N"); do
	for p in $profiles; do
		t=$(enroll "$p" "$i") && echo "$t" >>"$tmp/wall-$p"
	done
done

echo "Validator latency, $N enrollments per profile with pki --scep ($(nproc) cores):"
base_median=$(median <"$tmp/wall-none")
for p in $profiles; do
	printf '  %-8s enrollment  %s' "$p" "$(stats <"$tmp/wall-$p")"
	[ "$p" != none ] && printf '  (%+d ms median)' $(( $(median <"$tmp/wall-$p") - base_median ))
	echo
	if [ "$p" != none ]; then
		grep -o "validator=$p type=[a-z]* outcome=allow latency_ms=[0-9]*" "$tmp/scepd.log" |
		    sed 's/.*latency_ms=//' | tail -n "$N" >"$tmp/lat-$p" || true
		printf '  %-8s validator   %s\n' "" "$(stats <"$tmp/lat-$p")"
	fi
done

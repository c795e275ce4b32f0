# SPDX-License-Identifier: ISC
# bench/lib.sh: shell helpers of the benchmark scripts (sourced, not run).
# The caller sets pid (the server it started) and tmp, or lab_setup does.

# stop: ends the server the script started, if any.
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }

# one_address CONF: all the load comes from 127.0.0.1, so lift
# http.per_ip_connections (32 by default) in a scepd.conf made by scepctl init.
one_address() { sed -i 's/^\([[:space:]]*per_ip_connections = \).*/\10;/' "$1"; }

# lab_init DIR PORT: a lab scepd's state folder (scepctl init: RSA-2048 CA and
# RA, the static challenge "bench") listening on 127.0.0.1:PORT, for load from
# that one address.
lab_init() {
	./scepctl init -d "$1" --listen "127.0.0.1:$2" --challenge bench >/dev/null || return 1
	one_address "$1/scepd.conf"
}

# lab_setup: for a script that runs one lab scepd: a temporary folder $tmp
# (removed at exit, the server stopped first), a free port $port, the SCEP
# URL on it $url, and the state folder $tmp/d (lab_init).
lab_setup() {
	tmp=$(mktemp -d)
	pid=
	trap 'stop; rm -rf "$tmp"' EXIT
	port=$(free_port)
	url="http://127.0.0.1:$port/certsrv/mscep/mscep.dll"
	lab_init "$tmp/d" "$port"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_up URL: until the SCEP server at URL answers GetCACaps (60 s at most),
# or the server process is gone.
wait_up() {
	local i
	for i in $(seq 600); do
		curl -fs -o /dev/null "$1?operation=GetCACaps" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# field NAME FILE: the first number after NAME at the start of a scepbench line.
field() { sed -n "s/^$1 *\([0-9.]*\).*/\1/p" "$2"; }

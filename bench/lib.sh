# SPDX-License-Identifier: ISC
# bench/lib.sh: shell helpers of the benchmark scripts (sourced, not run).
# The caller sets pid (the server it started) and tmp.

# stop: ends the server the script started, if any.
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }

# one_address CONF: all the load comes from 127.0.0.1, so lift
# http.per_ip_connections (32 by default) in a scepd.conf made by scepctl init.
one_address() { sed -i 's/^\([[:space:]]*per_ip_connections = \).*/\10;/' "$1"; }

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

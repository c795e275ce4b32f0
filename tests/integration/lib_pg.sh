# SPDX-License-Identifier: ISC
# tests/integration/lib_pg.sh: a real PostgreSQL server for the t_pg*.sh tests,
# sourced after lib.sh. pg_start makes a cluster (initdb) in a folder of the
# script's temporary folder and starts it (pg_ctl) on a free port, listening
# only on a unix socket in that folder; as root it runs as the unprivileged user
# nobody (PostgreSQL refuses root). Every server started is stopped on exit.
#
# Environment: PG_BIN (PostgreSQL's programs; default: the newest
# /usr/lib/postgresql/*/bin, else initdb from PATH).

_pg_dirs=()

# pg_find: sets PG_BIN; 1 (with PG_MISSING set to the reason) when there is none
pg_find() {
	local d
	if [ -z "${PG_BIN:-}" ]; then
		d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
		if [ -n "$d" ] && [ -x "$d/initdb" ]; then
			PG_BIN=$d
		elif command -v initdb >/dev/null 2>&1; then
			PG_BIN=$(dirname "$(command -v initdb)")
		fi
	fi
	if [ -z "${PG_BIN:-}" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
		PG_MISSING="PostgreSQL server programs (initdb, pg_ctl) not found: apt-get install postgresql"
		return 1
	fi
	if [ "$(id -u)" = 0 ] && ! id nobody >/dev/null 2>&1; then
		PG_MISSING="running as root without a user nobody to run PostgreSQL as"
		return 1
	fi
	return 0
}

# _pg_as CMD...: runs CMD as the server's user (nobody when we are root)
_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"
	else
		"$@"
	fi
}

# pg_start DIR: a new cluster in DIR with a database "scepd" owned by role scepd
# (trust on the socket); sets PG_DIR, PG_PORT and PG_URI (the scepd database
# setting). 1 on failure, with the server's log in diag.
pg_start() {
	local dir=$1 d
	mkdir -p "$dir" || return 1
	if [ "$(id -u)" = 0 ]; then
		# nobody must reach the folder: let it through the parents we made
		d=$dir
		while [ "$d" != / ] && [ "$d" != "$(dirname "$TEST_TMP")" ]; do
			chmod o+x "$d" 2>/dev/null
			d=$(dirname "$d")
		done
		chown nobody "$dir" || return 1
	fi
	chmod 0711 "$dir"
	PG_DIR=$dir
	PG_PORT=$(free_port) || return 1
	if ! _pg_as "$PG_BIN/initdb" -D "$dir/data" -U scepd --auth=trust -E UTF8 \
	    --no-instructions >"$dir/initdb.log" 2>&1; then
		diag "initdb failed:"; sed 's/^/#   /' "$dir/initdb.log" | tail -20
		return 1
	fi
	_pg_dirs+=("$dir")
	pg_resume "$dir" || return 1
	if ! _pg_as "$PG_BIN/psql" -qX -h "$dir" -p "$PG_PORT" -U scepd -d postgres \
	    -c "CREATE DATABASE scepd" >"$dir/createdb.log" 2>&1; then
		diag "CREATE DATABASE failed:"; sed 's/^/#   /' "$dir/createdb.log"
		return 1
	fi
	PG_URI="postgresql:///scepd?host=$dir&port=$PG_PORT&user=scepd"
}

# pg_resume DIR: start the (stopped) server of DIR again on PG_PORT, waiting until
# it accepts connections (at most 120 s)
pg_resume() {
	local dir=$1
	if ! _pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
	    -o "-k $dir -p $PG_PORT -c listen_addresses=''" start >"$dir/pg_ctl.log" 2>&1; then
		diag "pg_ctl start failed:"; sed 's/^/#   /' "$dir/pg_ctl.log" "$dir/server.log" | tail -20
		return 1
	fi
}

# pg_halt DIR [MODE]: stop the server of DIR (default mode fast), waiting for it
pg_halt() {
	_pg_as "$PG_BIN/pg_ctl" -D "$1/data" -m "${2:-fast}" -w -t 120 stop >/dev/null 2>&1
}

# pg_sql SQL: runs SQL in the scepd database, prints the rows unaligned (a|b)
pg_sql() {
	_pg_as "$PG_BIN/psql" -qAtX -h "$PG_DIR" -p "$PG_PORT" -U scepd -d scepd -c "$1"
}

_pg_cleanup() {
	local d
	for d in "${_pg_dirs[@]}"; do
		pg_halt "$d" immediate
	done
}

# stops the servers before lib.sh removes the temporary folder
trap '_pg_cleanup; _cleanup' EXIT

# pg_use DIR URI: the scepd of DIR keeps its state in the database URI
pg_use() {
	local f=$1/scepd.conf t
	t=$(grep -Ev '^[[:space:]]*database[[:space:]]*=' "$f") || return 1
	{ printf '%s\n' "$t"; printf 'database = "%s";\n' "$2"; } >"$f"
}

# pg_createdb NAME: another empty database on the server; prints its URI
pg_createdb() {
	_pg_as "$PG_BIN/psql" -qX -h "$PG_DIR" -p "$PG_PORT" -U scepd -d postgres \
	    -c "CREATE DATABASE $1" >/dev/null 2>&1 || return 1
	printf 'postgresql:///%s?host=%s&port=%s&user=scepd' "$1" "$PG_DIR" "$PG_PORT"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_cli.sh: the command lines of scepd and scepctl.
#  - -h, --help and --version print to standard output and exit 0 without
#    reading any configuration (a -f naming an unreadable file is not opened);
#    scepctl without arguments prints the usage to standard error, exit 2.
#  - Usage errors name the option, argument or command at fault and exit 2,
#    before any configuration is read; a configuration that cannot be read is
#    named, exit 1 (the statuses of scepd(8) and scepctl(8) EXIT STATUS).
#    An unknown command is refused before the configuration is read; a
#    command's own arguments are checked after it.
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

T=$TEST_TMP
version=$(sed -n 's/^AC_INIT(\[scepd\], \[\([^]]*\)\].*/\1/p' "$SCEPD_TOP/configure.ac")
missing=$T/no-such-folder/scepd.conf
# a real state folder, for the commands' own argument errors (a command reads
# the configuration before its arguments)
S=$(new_dir state)
init_scepd "$S" || bail "scepctl init"

# run NAME CMD...: sets RC, OUT (stdout) and ERR (stderr)
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# --- help and version
for prog in "$SCEPD_BIN" "$SCEPCTL_BIN"; do
	name=$(basename "$prog")
	for opt in -h --help; do
		run "$prog" $opt
		is "$RC:$ERR" "0:" "$name $opt exits 0, nothing on stderr"
		like "$OUT" "^usage: $name " "$name $opt prints the usage on stdout"
		like "$OUT" '--version' "$name $opt mentions --version"
	done
	run "$prog" --version
	is "$RC:$OUT:$ERR" "0:$name $version:" "$name --version prints '$name $version'"
done
run "$SCEPD_BIN" -f "$missing" -h
is "$RC:$ERR" "0:" "scepd -f MISSING -h: the configuration is not read"
run "$SCEPCTL_BIN" -f "$missing" --help
is "$RC:$ERR" "0:" "scepctl -f MISSING --help: the configuration is not read"
run "$SCEPCTL_BIN" -f "$missing" cert --help
is "$RC:$ERR" "0:" "scepctl -f MISSING cert --help: the configuration is not read"
like "$OUT" '^usage: scepctl ' "scepctl COMMAND --help prints the usage"
run "$SCEPCTL_BIN"
is "$RC:$OUT" "2:" "scepctl without arguments: exit 2, nothing on stdout"
like "$ERR" '^usage: scepctl ' "scepctl without arguments: the usage on stderr"

# --- usage errors name what is wrong and exit 2
for c in "-x|invalid option -- 'x'" "--bogus|unrecognized option '--bogus'" \
	"extra|unexpected argument 'extra'"; do
	arg=${c%%|*} want=${c#*|}
	run "$SCEPD_BIN" -f "$missing" $arg
	is "$RC" 2 "scepd $arg: exit 2"
	like "$ERR" "$want" "scepd $arg: the message names it"
	unlike "$ERR" 'no-such-folder' "scepd $arg: the configuration is not read"
done
for c in "frobnicate|unknown command 'frobnicate'" "cert frob|cert: expected list or revoke SERIAL, not 'frob'" \
	"challenge|challenge: expected new, list or purge" "request list --bogus|request list: unexpected argument '--bogus'" \
	"ra renew --days|ra renew: unexpected argument, or a value missing after it: '--days'" \
	"ca rollover --later|ca rollover: unexpected argument, or a value missing after it: '--later'" \
	"user add|user add: the account name is missing" "crl --outfile|crl: unexpected argument, or a value missing after it: '--outfile'" \
	"init --dir x|init: unknown option, or a value missing after it: '--dir'" "init|init: -d dir is required"; do
	args=${c%%|*} want=${c#*|}
	run "$SCEPCTL_BIN" -f "$S/scepd.conf" $args
	is "$RC" 2 "scepctl $args: exit 2"
	like "$ERR" "^scepctl: $want" "scepctl $args: '$want'"
done
run "$SCEPCTL_BIN" -f "$missing" frobnicate
is "$RC:$(printf '%s' "$ERR" | head -n 1)" "2:scepctl: unknown command 'frobnicate'" \
	"scepctl -f MISSING frobnicate: the unknown command, before reading the configuration"
run "$SCEPCTL_BIN" -f
is "$RC" 2 "scepctl -f: exit 2"
like "$ERR" '^scepctl: -f needs a file name' "scepctl -f: says the file name is missing"

run "$SCEPCTL_BIN" init -d "$T/quoted" --listen '127.0.0.1:80"80'
is "$RC" 1 "scepctl init --listen with a quote: exit 1"
like "$ERR" "^scepctl: --listen 127.0.0.1:80\"80: " "scepctl init --listen with a quote: names the value"

# --- a configuration that cannot be read: named, exit 1
run "$SCEPD_BIN" -t -f "$missing"
is "$RC" 1 "scepd -t -f MISSING: exit 1"
like "$ERR" "no-such-folder/scepd.conf" "scepd -t -f MISSING: names the file"
run "$SCEPCTL_BIN" -f "$missing" challenge new
is "$RC" 1 "scepctl -f MISSING challenge new: exit 1"
like "$ERR" "no-such-folder/scepd.conf" "scepctl -f MISSING challenge new: names the file"

done_testing

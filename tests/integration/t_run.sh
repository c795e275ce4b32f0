#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_run.sh: tests/run itself, on a tree of made-up test programs in a temporary
# folder (a copy of tests/run next to them): with -j 2 two programs really run
# at once (one waits for a file only the other writes); each log is kept apart;
# the summary lines come in the fixed order (integration, unit, fuzz, docs, then
# the serial ones) and the counts and the last line "N passed, N failed, N
# skipped" are right; a program that exits non-zero without a failing line
# counts as one failure; a fuzz replayer gets its corpus folder; t_install.sh
# runs alone; a hung program is stopped after TEST_TIMEOUT; CI=1 prints the log
# tail of a failing program; the exit status says whether anything failed.
set -u
. "$(dirname "$0")/lib.sh"

R=$TEST_TMP/tree
mkdir -p "$R/tests/unit" "$R/tests/fuzz/corpus/x" "$R/tests/integration" "$R/tests/docs"
cp "$SCEPD_TOP/tests/run" "$R/tests/run"
M=$TEST_TMP/marks
mkdir -p "$M"

# prog PATH BODY: a made-up test program (sh); while it runs, $M/running.NAME exists
prog() {
	local name
	name=$(basename "$1")
	printf '#!/bin/sh\ntouch "%s/running.%s"\n(\n%s\n)\nrc=$?\nrm -f "%s/running.%s"\nexit $rc\n' \
		"$M" "$name" "$2" "$M" "$name" >"$R/$1"
	chmod +x "$R/$1"
}
# test_a_wait passes only if test_z_go (started after it: list order) runs while it waits
prog tests/unit/test_a_wait "i=0; while [ ! -e '$M/go' ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
if [ -e '$M/go' ]; then echo 'ok 1 - ran alongside test_z_go'; else echo 'not ok 1 - ran alone'; fi; echo 1..1"
prog tests/unit/test_z_go "touch '$M/go'; echo 'ok 1 - go'; echo 'ok 2 - two'; echo 1..2"
prog tests/unit/test_mixed "echo 'ok 1 - a'; echo 'not ok 2 - b'; echo 'ok 3 # SKIP c'; echo 1..3"
prog tests/unit/test_status "echo 'ok 1 - a'; echo 'tail line of test_status'; exit 3"
prog tests/fuzz/fuzz_x "[ \"\$1\" = tests/fuzz/corpus/x ] && echo 'ok 1 - corpus folder given' || echo 'not ok 1 - got \$1'"
prog tests/docs/t_doc.sh "echo 'ok 1 - doc'"
prog tests/integration/t_a.sh "echo 'ok 1 - a'; echo 'ok 2 - b'"
prog tests/integration/t_install.sh "others=\$(ls '$M' | grep running. | grep -v running.t_install.sh)
[ -z \"\$others\" ] && echo 'ok 1 - alone' || echo \"not ok 1 - ran with \$others\""

out=$(cd "$R" && CI=1 tests/run -j 2 2>&1)
rc=$?
printf '%s\n' "$out" >"$TEST_TMP/run.out"
is "$rc" 1 "exit status 1 when something failed"
is "$(printf '%s\n' "$out" | tail -n 1)" "10 passed, 2 failed, 1 skipped" "the last line counts every program's results"
is "$(printf '%s\n' "$out" | grep -E '^tests/' | awk '{ print $1 }' | tr '\n' ' ')" \
	"tests/integration/t_a.sh tests/unit/test_a_wait tests/unit/test_mixed tests/unit/test_status tests/unit/test_z_go tests/fuzz/fuzz_x tests/docs/t_doc.sh tests/integration/t_install.sh " \
	"summary lines in the fixed order: integration, unit, fuzz, docs, then the serial ones"
like "$(printf '%s\n' "$out" | grep '^tests/unit/test_a_wait ')" ' 1 passed +0 failed' \
	"with -j 2 two programs run at once"
like "$(printf '%s\n' "$out" | grep '^tests/integration/t_install.sh ')" ' 1 passed +0 failed' \
	"t_install.sh runs with nothing else running"
like "$(printf '%s\n' "$out" | grep '^tests/unit/test_mixed ')" ' 1 passed +1 failed +1 skipped' \
	"passed, failed and skipped counted per program"
like "$(printf '%s\n' "$out" | grep '^tests/unit/test_status ')" ' 1 passed +1 failed' \
	"a non-zero exit without a failing line is one failure"
like "$out" 'not ok - tests/unit/test_status exited with status 3' "the exit status is named"
like "$out" 'tail line of test_status' "CI=1: the log tail of a failing program is printed"
like "$(printf '%s\n' "$out" | grep '^tests/fuzz/fuzz_x ')" ' 1 passed +0 failed' "a fuzz replayer gets its corpus folder"
check "each program has its own log" test -s "$R/tests/tmp/logs/tests_unit_test_z_go.log"
is "$(grep -c '^ok' "$R/tests/tmp/logs/tests_unit_test_z_go.log")" 2 "a log holds only its program's output"

# patterns, -j 1, a hung program
prog tests/unit/test_hang "echo 'ok 1 - started'; sleep 60"
out=$(cd "$R" && TEST_TIMEOUT=2 tests/run -j1 test_hang t_doc 2>&1)
rc=$?
is "$rc" 1 "a hung program fails the run"
like "$out" 'test_hang exited with status 124' "a program running past TEST_TIMEOUT is stopped (status 124)"
is "$(printf '%s\n' "$out" | tail -n 1)" "2 passed, 1 failed, 0 skipped" "patterns select the programs"
out=$(cd "$R" && tests/run -j 0 2>&1)
is "$?" 2 "-j 0 is refused with status 2"
out=$(cd "$R" && tests/run t_doc 2>&1)
is "$?:$(printf '%s\n' "$out" | tail -n 1)" "0:1 passed, 0 failed, 0 skipped" "exit status 0 when all passed"

done_testing

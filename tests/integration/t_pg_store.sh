#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_pg_store.sh: tests/unit/test_store_drivers against a real PostgreSQL server
# (lib_pg.sh; skipped when it is missing): the same store.h checks the unit test
# runs on SQLite, on an empty PostgreSQL database, reported here as one test per
# unit check.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_pg.sh"
UNIT=$SCEPD_TOP/tests/unit/test_store_drivers
[ -x "$UNIT" ] || bail "tests/unit/test_store_drivers is built" "run make build-tests"
if ! pg_find; then
	skip "$PG_MISSING"
	done_testing
	exit 0
fi
if pg_start "$TEST_TMP/pg"; then pass "PostgreSQL starts in the test folder"
else bail "PostgreSQL starts in the test folder"; fi
SCEPD_TEST_PG_URI=$PG_URI "$UNIT" >"$TEST_TMP/unit.tap" 2>&1
rc=$?
is "$rc" 0 "test_store_drivers exits 0 with SCEPD_TEST_PG_URI set"
n=$(grep -c '^ok [0-9]* - postgresql:' "$TEST_TMP/unit.tap")
diag "$n checks on PostgreSQL"
[ "$n" -gt 50 ] && pass "the PostgreSQL checks ran ($n)" || fail "the PostgreSQL checks ran" "$n"
while IFS= read -r line; do
	case $line in
	"not ok "*) fail "${line#not ok * - }" ;;
	esac
done <"$TEST_TMP/unit.tap"
done_testing

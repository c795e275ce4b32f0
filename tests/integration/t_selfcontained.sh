#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_selfcontained.sh: the suite needs nothing outside the repository. It copies the
# tree (the files git knows, or the whole tree without tests/tmp when this is not
# a git checkout) into a fresh temporary folder with nothing next to it (not
# the lead's shared folder beside the repository), adds the binaries already built here (scepd, scepctl and the test
# programs: they read their data relative to the top of the tree, which tests/run
# makes the working folder, so built elsewhere they behave the same), and runs
# every test that reads the client fixtures there, with SCEPD_FIXTURES unset:
# they must pass with no test skipped. It also checks that no test, script or
# Makefile names the shared folder or its fixtures (the names are put together
# below, so that this script does not name them either).
set -u
. "$(dirname "$0")/lib.sh"
need_binaries

# the programs that read tests/data/clients (and, in lib.sh, the capture server)
FIXTURE_TESTS=(test_pkimsg test_certrep test_ca t_init.sh t_negative.sh t_logs.sh)

C=$TEST_TMP/island
Q=$C/scepd
mkdir -p "$C"
if git -C "$SCEPD_TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked files plus new ones not yet committed (not the ignored build products)
	(cd "$SCEPD_TOP" && git ls-files -z --cached --others --exclude-standard) >"$TEST_TMP/files"
	how="git ls-files"
else
	(cd "$SCEPD_TOP" && find . -path ./tests/tmp -prune -o \( -type f -o -type l \) -print0) >"$TEST_TMP/files"
	how="find (not a git checkout)"
fi
mkdir -p "$Q"
(cd "$SCEPD_TOP" && xargs -0 cp -P --parents -t "$Q" 2>"$TEST_TMP/cp.err") <"$TEST_TMP/files"
check "the tree is copied ($how) to a folder with nothing next to it" test -x "$Q/tests/run"
is "$(ls -A "$C")" scepd "the copy's parent folder holds nothing but the copy (no shared folder)"

# built products, copied as they are
(cd "$SCEPD_TOP" && for b in scepd scepctl tests/unit/test_* tests/integration/*.c; do
	b=${b%.c}
	case "$b" in *.h) continue ;; esac
	[ -f "$b" ] && [ -x "$b" ] && cp -p "$b" "$Q/$b"
done)
for t in "${FIXTURE_TESTS[@]}"; do
	case "$t" in
	t_*) check "the copy has tests/integration/$t" test -x "$Q/tests/integration/$t" ;;
	*) check "the copy has the built tests/unit/$t" test -x "$Q/tests/unit/$t" ;;
	esac
done
check "the copy has the fixtures (tests/data/clients)" test -s "$Q/tests/data/clients/lab/ca.crt"

# nothing in the copy refers to the lead's shared folder (beside the
# repository, or by its absolute path) or to its fixture folder
folder=shared fixtures=fixtures
refs=$(cd "$Q" && grep -rInF -e "../$folder" -e "/work/$folder" -e "$folder/$fixtures" \
	tests Makefile .ci 2>/dev/null | head -5)
is "$refs" "" "no test, script or Makefile names the shared folder or its fixtures"

# the fixture tests, run from the copy, with nothing pointing back here
out=$(cd "$Q" && env -u SCEPD_FIXTURES -u SCEPD_TOP -u KEEP_TMP \
	tests/run -j 2 "${FIXTURE_TESTS[@]}" 2>&1)
rc=$?
printf '%s\n' "$out" >"$TEST_TMP/run.out"
last=$(printf '%s\n' "$out" | tail -n 1)
is "$rc" 0 "tests/run ${FIXTURE_TESTS[*]} passes in the copy"
like "$last" '^[1-9][0-9]* passed, 0 failed, 0 skipped$' "the fixture tests in the copy: nothing failed, nothing skipped"
for t in "${FIXTURE_TESTS[@]}"; do
	line=$(printf '%s\n' "$out" | grep -E "^tests/[a-z]+/$t " | head -n 1)
	like "$line" ' [1-9][0-9]* passed +0 failed +0 skipped' "$t ran in the copy with no failure and no skip"
done
if [ "$rc" != 0 ] || ! printf '%s' "$last" | grep -q ' 0 failed, 0 skipped$'; then
	diag "tests/run in the copy said:" "$(printf '%s\n' "$out" | head -n 40)"
fi

done_testing

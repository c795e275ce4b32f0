#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/fuzz/campaign.sh [-r RUNS] [-t SECONDS] [-j JOBS] [TARGET...]: a fuzzing
# campaign with libFuzzer under ASan and UBSan (clang, Debian clang and
# libclang-rt-14-dev). Builds the library and every target (or the TARGETs
# named, e.g. pkimsg route) out of tree in tests/fuzz/lf-build, runs each until
# RUNS executions (default 10^7) or SECONDS (default 3600) have passed, JOBS
# targets at a time (default 1), starting from the committed corpus
# tests/fuzz/corpus/NAME, then merges what grew coverage back into that
# corpus (-merge=1, so only inputs that add coverage are kept). A crash stops
# that target and leaves its input in tests/fuzz/lf-build/NAME/ (the script
# exits non-zero). Prints, per target: executions, seconds, executions per
# second, corpus size before and after. Not part of `make check`, which
# replays the corpora (tests/fuzz/replay.c).
set -u
cd "$(dirname "$0")/../.."
RUNS=10000000
SECS=3600
JOBS=1
while getopts r:t:j: o; do
	case $o in
	r) RUNS=$OPTARG ;;
	t) SECS=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	*) echo "usage: $0 [-r RUNS] [-t SECONDS] [-j JOBS] [TARGET...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
command -v clang >/dev/null || { echo "campaign: clang is not installed" >&2; exit 2; }
# config.mk and the generated headers come from the Makefile
make config.mk src/schema_sql.h src/schema_pg_sql.h src/lab_assets.h >/dev/null || exit 1
B=tests/fuzz/lf-build
mkdir -p "$B/obj"
CPP="-D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED -DSCEPD_VERSION=\"fuzz\" -Isrc \
$(sed -n 's/^CPPFLAGS_EXT = //p' config.mk)"
LIBS=$(sed -n 's/^LIBS_EXT = //p' config.mk)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

# --- build: the library once, then each target
objs=()
for c in src/*.c; do
	case $c in src/scepd.c|src/scepctl.c) continue ;; esac
	o=$B/obj/$(basename "$c" .c).o
	if [ ! -e "$o" ] || [ "$c" -nt "$o" ]; then
		# shellcheck disable=SC2086
		clang -std=c11 -g -O1 $SAN -fsanitize=fuzzer-no-link $CPP -c "$c" -o "$o" || exit 1
	fi
	objs+=("$o")
done
targets=("$@")
[ ${#targets[@]} -gt 0 ] || for f in tests/fuzz/fuzz_*.c; do
	n=$(basename "$f" .c); targets+=("${n#fuzz_}")
done
for t in "${targets[@]}"; do
	# shellcheck disable=SC2086
	clang -std=c11 -g -O1 $SAN -fsanitize=fuzzer $CPP "tests/fuzz/fuzz_$t.c" "${objs[@]}" \
	    $LIBS -o "$B/fuzz_$t" || exit 1
done

# --- run one target
run_one() {
	local t=$1 corpus=tests/fuzz/corpus/$1 work=$B/$1 before after t0 secs execs
	mkdir -p "$work/new" "$corpus"
	before=$(ls "$corpus" | wc -l)
	t0=$(date +%s)
	(cd "$work" && "../fuzz_$t" -runs="$RUNS" -max_total_time="$SECS" -print_final_stats=1 \
	    -rss_limit_mb=2048 -timeout=10 new "../../corpus/$t" >log 2>&1)
	rc=$?
	secs=$(( $(date +%s) - t0 ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
	# keep only what adds coverage to the committed corpus
	"$B/fuzz_$t" -merge=1 "$corpus" "$work/new" >"$work/merge.log" 2>&1
	after=$(ls "$corpus" | wc -l)
	printf '%-10s %s %12s executions %6ss %8s/s  corpus %s -> %s\n' "$t" \
	    "$([ $rc = 0 ] && echo ok || echo CRASH)" "${execs:-?}" "$secs" \
	    "$([ -n "$execs" ] && [ "$secs" -gt 0 ] && echo $((execs / secs)) || echo ?)" \
	    "$before" "$after"
	return $rc
}

status=0
running=0
for t in "${targets[@]}"; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || status=1
		running=$((running - 1))
	fi
done
while [ "$running" -gt 0 ]; do
	wait -n || status=1
	running=$((running - 1))
done
exit $status

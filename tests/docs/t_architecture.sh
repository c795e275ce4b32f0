#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/docs/t_architecture.sh: doc/architecture.md names every src/*.c in its
# module map (as `name.c` in a table row), names no file that does not exist,
# and has the sections the project asks of it.
set -u
cd "$(dirname "$0")/../.."
n=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
doc=doc/architecture.md
if [ ! -f "$doc" ]; then
	echo "not ok 1 - $doc exists"; echo "1..1"; exit 0
fi
t 0 "$doc exists"
# the module map: table rows "| `name.c` | what it owns |"
mapped=$(sed -n 's/^| `\([a-z0-9_]*\.c\)` | .* |$/\1/p' "$doc" | sort -u)
for f in src/*.c; do
	b=$(basename "$f")
	printf '%s\n' "$mapped" | grep -qx "$b"; t $? "the module map names $b"
done
for b in $mapped; do
	[ -f "src/$b" ]; t $? "the module map's $b exists in src/"
done
for sect in "Module map" "The flow of one enrollment" "Where state lives" "Processes" \
	"A challenge mode" "A CA backend" "A store driver" "systemd and libsystemd"; do
	grep -qE "^#+ ([0-9]+\. )?$sect\$" "$doc"; t $? "$doc has a section \"$sect\""
done
echo "1..$n"

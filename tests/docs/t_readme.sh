#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# tests/docs/t_readme.sh: README opens with the two set-up commands, and
# .ci/run runs README command 2 exactly (CI installs nothing else).
set -u
cd "$(dirname "$0")/../.."
n=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
# The indented command lines of README, in order.
mapfile -t cmds < <(sed -n '1,/^What scepd is/p' README | grep -E '^    apt-get ')
t $([ "${#cmds[@]}" = 2 ] && echo 0 || echo 1) "README opens with two commands (found ${#cmds[@]})"
c1=${cmds[0]:-} c2=${cmds[1]:-}
c1=${c1#    } c2=${c2#    }
case "$c1" in *"./scepd -f lab/scepd.conf") r=0 ;; *) r=1 ;; esac
t $r "command 1 ends by starting the lab server"
case "$c2" in *"make check && make check-sanitizers") r=0 ;; *) r=1 ;; esac
t $r "command 2 runs the suite, normal and with sanitizers"
ci=$(grep -E '^apt-get ' .ci/run)
t $([ -n "$c2" ] && [ "$ci" = "$c2" ] && echo 0 || echo 1) ".ci/run runs README command 2 exactly"
[ "$ci" = "$c2" ] || printf '# README:  %s\n# .ci/run: %s\n' "$c2" "$ci"
# Every package command 1 installs, command 2 installs too.
for p in $(printf '%s\n' "$c1" | sed -n 's/.*apt-get install -y \([^&]*\)&&.*/\1/p'); do
	case " $(printf '%s\n' "$c2" | sed -n 's/.*apt-get install -y \([^&]*\)&&.*/\1/p') " in
	*" $p "*) r=0 ;; *) r=1 ;; esac
	t $r "command 2 installs $p, as command 1 does"
done
echo "1..$n"

#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# t_lab_certmonger.sh: lab mode's delay before answering, seen by the certmonger
# daemon (0.79, private instance) against the real scepd on 127.0.0.1: a lab rule
# added with `scepctl lab rule add` while scepd runs delays its PKCSReq by 3 s and
# issues without a challenge check; certmonger still reaches MONITORING with the
# certificate, and the log says the answer was scripted and delayed. A second
# rule scripts FAILURE badRequest, which certmonger ends in CA_REJECTED.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_lifecycle.sh"
need_binaries

if ! have_cmd certmonger || ! have_cmd getcert; then
	skip "certmonger daemon / getcert not installed"
	done_testing
	exit 0
fi

D=$(new_dir cm-lab)
init_scepd "$D" || bail "scepctl init"
sed -i -E '/^lab = \{/,/^\};/ s/^([[:space:]]*)enabled = false;/\1enabled = true;/' "$D/scepd.conf"
check "lab.enabled = true" sh -c "grep -A3 '^lab = {' '$D/scepd.conf' | grep -q 'enabled = true;'"
run_scepd "$D" || bail "scepd starts in lab mode"
pass "scepd starts in lab mode"
cm_start || bail "private certmonger daemon answers getcert" "$(tail -n 5 "$CM_DIR/certmonger.log")"
pass "private certmonger daemon answers getcert"
W=$CM_DIR/work

out=$(scepctl_cmd lab rule add 'subject=*CN=it-cm-delay*' outcome=success delay=3)
like "$out" '^lab rule 1 added' "scepctl lab rule add: a 3-second delay for CN=it-cm-delay"
getcert add-scep-ca -c it-lab -u "$SCEPD_URL" >"$W/add-scep-ca.out" 2>&1
is "$?" 0 "getcert add-scep-ca -c it-lab -u URL"

mark=$(log_mark)
getcert request -c it-lab -k "$W/d.key" -f "$W/d.crt" -N CN=it-cm-delay \
	-L not-a-password -I it-delay >"$W/req-delay.out" 2>&1
is "$?" 0 "getcert request (with a password no store knows) is accepted"
check "certmonger reaches MONITORING after the delayed answer (within 90 s)" \
	cm_wait it-delay '^MONITORING$' 90
check "certmonger's certificate is issued by our CA for its key" verify_issued "$W/d.crt" "$W/d.key"
line=$(log_wait "$mark" 'type=PKCSReq.*outcome="?SUCCESS')
like "$line" 'lab rule 1: scripted outcome=success after a delay' \
	"log: the SUCCESS says it is scripted by rule 1, after a delay"
check_log "$mark" 'lab rule 1: scripted outcome=success.*\(delay 3 s\)' "log: the delay of 3 s is named"

scepctl_cmd lab rule add 'subject=*CN=it-cm-refused*' outcome=failure >/dev/null
mark=$(log_mark)
getcert request -c it-lab -k "$W/r.key" -f "$W/r.crt" -N CN=it-cm-refused \
	-L not-a-password -I it-refused >"$W/req-refused.out" 2>&1
check "a scripted FAILURE ends in CA_REJECTED within 60 s" cm_wait it-refused '^CA_REJECTED$' 60
check "no certificate is saved" test ! -s "$W/r.crt"
check_log "$mark" 'outcome="?FAILURE"? failInfo="?badRequest.*lab rule 2' \
	"log: FAILURE badRequest scripted by rule 2"
check_serving "after the certmonger lab tests"

getcert stop-tracking -i it-delay >/dev/null 2>&1
getcert stop-tracking -i it-refused >/dev/null 2>&1
stop_pid "$CM_PID"
stop_scepd
done_testing

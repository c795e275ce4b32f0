/* SPDX-License-Identifier: ISC */
/*
 * fuzz_lab.c: fuzz target for lab_rule_parse (the rule text of lab.rules and
 * `scepctl lab rule add`). Besides not crashing, a parsed rule must keep the
 * promises of lab.h (a known outcome, values in range, status only with
 * http, polls only with pending) and match or not without crashing; a
 * refusal must say why. Replayed by replay.c, or run under libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lab.h"
#include "scep_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lab_rule *r;
	int64_t nb = 0, na = 0;
	char err[256];

	err[0] = '\0';
	if ((r = lab_rule_parse((const char *)data, size, 1000000000, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	if ((unsigned)r->outcome > LAB_WRONGKEY || r->delay > LAB_MAX_DELAY ||
	    r->polls > LAB_MAX_POLLS || (r->outcome == LAB_PENDING) != (r->polls > 0) ||
	    (r->outcome == LAB_HTTP) != (r->http_status != 0) ||
	    r->failinfo < SCEP_FAIL_BADALG || r->failinfo > SCEP_FAIL_BADCERTID)
		abort();
	if (lab_validity_window(r->validity, 1000000000, &nb, &na) == 0 && na <= nb)
		abort();
	(void)lab_rule_matches(r, "default", "challenge", "CN=device,O=Example");
	(void)lab_outcome_name(r->outcome);
	lab_rule_free(r);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pkimsg.c: fuzz target for pkimsg_parse (and envelope_inspect on the
 * envelope it returns). Besides not crashing, a result must keep the
 * promises of pkimsg.h; a broken promise aborts. Replayed by replay.c, or run
 * under libFuzzer (see replay.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "oids.h"
#include "pkimsg.h"
#include "scep_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	struct envelope_info ei;
	struct pkimsg *m;
	char err[256];

	if (!registered) {
		if (oids_register() != 0)
			abort();
		registered = 1;
	}
	err[0] = '\0';
	if ((m = pkimsg_parse(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();	/* NULL always comes with a reason */
		return 0;
	}
	if (m->sender_nonce_len < 1 || m->sender_nonce_len > PKIMSG_MAX_NONCE ||
	    strlen(m->transaction_id) < 1 ||
	    strlen(m->transaction_id) > PKIMSG_MAX_TRANSACTION_ID ||
	    (m->envelope == NULL) != (m->envelope_len == 0) ||
	    m->envelope_len > size ||
	    (m->failinfo == SCEP_FAIL_NONE && (m->signer == NULL || m->reason[0] != '\0')) ||
	    (m->failinfo != SCEP_FAIL_NONE && m->reason[0] == '\0') ||
	    strnlen(m->reason, sizeof(m->reason)) == sizeof(m->reason))
		abort();
	if (m->envelope != NULL)
		(void)envelope_inspect(m->envelope, m->envelope_len, &ei, err, sizeof(err));
	pkimsg_free(m);
	return 0;
}

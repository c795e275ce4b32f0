/* SPDX-License-Identifier: ISC */
/*
 * crl.c: keeps each CA's CRL current. It reads the revoked certificates of the
 * CA from the store, compares them and the clock with the newest CRL stored,
 * and when that one is missing, half-way through its validity or behind the
 * revocations, has the signer sign a new one with the next CRL number and
 * stores it. Two makers racing (scepd threads, scepctl) cannot reuse a number:
 * the store refuses the second, which then serves the first one's CRL. It
 * holds no key (signing goes through signer.h) and keeps nothing in memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "crl.h"
#include "signer.h"
#include "store.h"
#include "util.h"

#define CRL_TRIES 3

/* 1 when c can still be served at now with n revoked certificates. */
static int fresh(const struct store_crl *c, size_t n, int64_t now)
{
	return c->revoked_count == n && now >= c->this_update &&
	    now < c->this_update + (c->next_update - c->this_update) / 2;
}

int crl_current(struct store *st, const struct signer *s, int legacy,
    unsigned validity_hours, int64_t now, int force, unsigned char **der, size_t *len,
    char *err, size_t errlen)
{
	struct store_revoked *revoked = NULL;
	struct signer_crl_entry *entries = NULL;
	struct store_crl *latest = NULL, made;
	char key_id[41];
	size_t n = 0, i;
	int64_t number;
	int tries, result = -1;

	*der = NULL;
	*len = 0;
	memset(&made, 0, sizeof(made));
	if (signer_key_id(signer_ca_cert(s), key_id) == -1) {
		errorf(err, errlen, "the CA certificate has no usable public key");
		goto out;
	}
	for (tries = 0; tries < CRL_TRIES; tries++) {
		free(revoked);
		revoked = NULL;
		store_crl_free(latest);
		latest = NULL;
		if (store_revoked_list(st, key_id, legacy, &revoked, &n) != STORE_OK) {
			errorf(err, errlen, "store: %s", store_errmsg(st));
			goto out;
		}
		switch (store_crl_latest(st, key_id, &latest)) {
		case STORE_OK:
			if (!force && fresh(latest, n, now)) {
				*der = latest->der;
				*len = latest->der_len;
				latest->der = NULL;
				result = 0;
				goto out;
			}
			break;
		case STORE_NOT_FOUND:
			break;
		default:
			errorf(err, errlen, "store: %s", store_errmsg(st));
			goto out;
		}
		if ((number = store_crl_next_number(st, key_id)) <= 0) {
			errorf(err, errlen, "store: %s", store_errmsg(st));
			goto out;
		}
		free(entries);
		entries = xcalloc(n ? n : 1, sizeof(*entries));
		for (i = 0; i < n; i++) {
			entries[i].serial = revoked[i].serial;
			entries[i].revoked_at = revoked[i].revoked_at;
			entries[i].reason = revoked[i].reason;
		}
		free(made.der);
		made.der = NULL;
		made.number = number;
		made.this_update = now;
		made.next_update = now + (int64_t)validity_hours * 3600;
		made.revoked_count = n;
		if ((made.der = signer_sign_crl(s, entries, n, number, made.this_update,
		    made.next_update, &made.der_len, err, errlen)) == NULL)
			goto out;
		switch (store_crl_put(st, key_id, &made)) {
		case STORE_OK:
			*der = made.der;
			*len = made.der_len;
			made.der = NULL;
			result = 0;
			goto out;
		case STORE_CONFLICT:
			force = 0;   /* someone else made one just now: use it if it is fresh */
			continue;
		default:
			errorf(err, errlen, "store: %s", store_errmsg(st));
			goto out;
		}
	}
	errorf(err, errlen, "the CRL number kept being taken by another process");
out:
	free(made.der);
	free(entries);
	free(revoked);
	store_crl_free(latest);
	return result;
}

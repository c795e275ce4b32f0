/* SPDX-License-Identifier: ISC */
/*
 * trustedra.h: the registration authorities this server trusts to vouch for
 * requests (trusted_ra). A front scepd forwards a device's request inside a
 * pkiMessage signed with its RA certificate; a PKCSReq signed by one of the
 * certificates listed needs no challenge, because that RA checked it. Each
 * certificate is loaded once, must chain to one of this server's CA
 * certificates and be within its validity; a request's signer matches by
 * its exact DER encoding. Public data only: no keys, no store, no I/O after
 * loading. Built once per configuration generation, then read-only.
 */
#ifndef TRUSTEDRA_H
#define TRUSTEDRA_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

struct trusted_ra_set;

/*
 * Loads the PEM certificates files[0..n) (absolute paths) and checks each
 * against cas[0..n_cas) at time now: it must chain to one of them (directly
 * or as a partial chain), not be a CA certificate, not be self-signed, and be
 * valid now. NULL with a reason naming the file otherwise. n = 0 gives an
 * empty set (nothing is vouched for).
 */
struct trusted_ra_set *trusted_ra_load(char *const *files, size_t n, X509 *const *cas,
    size_t n_cas, int64_t now, char *err, size_t errlen);
void trusted_ra_free(struct trusted_ra_set *s);
size_t trusted_ra_count(const struct trusted_ra_set *s);

/*
 * The subject (one line, RFC 2253) of the RA in s whose certificate is signer,
 * when it is valid at now; NULL when signer is none of them. The string lives
 * as long as s. When signer is listed but outside its validity, NULL and a
 * reason in why (else why is set to "").
 */
const char *trusted_ra_vouching(const struct trusted_ra_set *s, X509 *signer, int64_t now,
    char *why, size_t whylen);

#endif

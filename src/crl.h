/* SPDX-License-Identifier: ISC */
/*
 * crl.h: a CA's current CRL. The newest CRL of the CA is kept in the store;
 * it is made again, signed through signer.h, when there is none, when half
 * of its validity has passed, or when the store holds a different number of
 * revoked certificates than it lists (a revocation by scepctl, or a renewal
 * that revoked the certificate it replaced). scepd uses it for the HTTP CRL
 * and GetCRL, scepctl after a revocation.
 */
#ifndef CRL_H
#define CRL_H

#include <stddef.h>
#include <stdint.h>

struct signer;
struct store;

/*
 * The CRL of the CA of s as DER in *der (malloc'd). legacy: the CA is the one
 * in ca.cert, so certificates recorded without an issuer are its. force makes
 * a new one whatever the newest says. 0, or -1 with a reason in err.
 */
int crl_current(struct store *st, const struct signer *s, int legacy,
    unsigned validity_hours, int64_t now, int force, unsigned char **der, size_t *len,
    char *err, size_t errlen);

#endif

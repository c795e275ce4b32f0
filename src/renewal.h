/* SPDX-License-Identifier: ISC */
/*
 * renewal.h: decides whether a pkiMessage signer may renew: a RenewalReq, or
 * a PKCSReq signed by a certificate this CA issued (RFC 8894 §2.3; scep.md
 * §1.4.6). The signer must chain to one of this server's CA certificates
 * (current and rollover), be within its validity (plus a grace period), be in
 * the renewal window, not be a CA, and the new request must name the same
 * subject and SANs unless the template allows a change. Whether it is revoked
 * is the store's to say (the caller looks it up). Built once, then read-only.
 */
#ifndef RENEWAL_H
#define RENEWAL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

struct csr;
struct renewal;

struct renewal_rules {
	unsigned grace_days;      /* a signer expired less than this long ago may renew */
	unsigned window_days;     /* renewal only this many days before expiry; 0 = any time */
	int allow_key_reuse;      /* the new request may keep the signer's key */
	int allow_subject_change; /* from the template */
};

/* A verifier trusting only cas[0..n) (this server's CA certificates). NULL on error. */
struct renewal *renewal_new(X509 *const *cas, size_t n);
void renewal_free(struct renewal *r);

/*
 * 1 when signer looks issued by one of the CAs (issuer name and key
 * identifier match, not self-signed): a PKCSReq signed by it is a renewal.
 */
int renewal_signed_by_us(const struct renewal *r, X509 *signer);

/*
 * Full check at time now: SCEP_FAIL_NONE, or SCEP_FAIL_BADREQUEST with a
 * reason in plain words ("the signer certificate expired ...").
 */
int renewal_check(const struct renewal *r, X509 *signer, const struct csr *csr,
    const struct renewal_rules *rules, int64_t now, char *reason, size_t len);

#endif

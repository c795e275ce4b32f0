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

/* What renewal_check found: RENEWAL_OK, or the rule the renewal breaks. */
enum renewal_verdict {
	RENEWAL_OK = 0,
	RENEWAL_NO_SIGNER,          /* the message has no signer certificate */
	RENEWAL_SELF_SIGNED,        /* signed by a self-signed certificate (or the CA's own) */
	RENEWAL_NOT_OURS,           /* the signer does not chain to this server's CAs */
	RENEWAL_IS_CA,              /* the signer is a CA certificate */
	RENEWAL_NOT_YET_VALID,
	RENEWAL_EXPIRED,            /* expired, grace period (renewal.grace_days) included */
	RENEWAL_TOO_EARLY,          /* before the renewal window (renewal.window_days) */
	RENEWAL_SUBJECT_CHANGED,    /* and the template does not allow it */
	RENEWAL_SAN_CHANGED,        /* likewise */
	RENEWAL_KEY_REUSED,         /* and renewal.allow_key_reuse is false */
	RENEWAL_ERROR,              /* the check itself failed (memory, unreadable dates) */
};

/*
 * Full check at time now: RENEWAL_OK, or the verdict with a reason in plain
 * words ("the signer certificate expired ..."). Every verdict but RENEWAL_OK
 * is answered with failInfo badRequest; the verdict picks the HRESULT.
 */
enum renewal_verdict renewal_check(const struct renewal *r, X509 *signer,
    const struct csr *csr, const struct renewal_rules *rules, int64_t now, char *reason,
    size_t len);

#endif

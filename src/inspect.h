/* SPDX-License-Identifier: ISC */
/*
 * inspect.h: a SCEP pkiMessage or CertRep in plain words, for `scepctl
 * inspect` and the /lab/ page: message type, algorithms (digest, signature,
 * content cipher, key transport), signer certificate, envelope recipient,
 * the decrypted request when the RA keys are at hand (subject, SANs, key,
 * requested key usage and the template NDES would pick, the challenge
 * masked), and a reply's status and failInfo with what it means and what to
 * change in the MDM profile. It decodes through the project's parsers
 * (pkimsg, envelope, csr, certid, query) and owns no parser of its own.
 */
#ifndef INSPECT_H
#define INSPECT_H

#include <stddef.h>
#include <stdio.h>

struct config;
struct signer;
struct store_recording;

/*
 * The DER bytes of a file's content: DER as it is; PEM (any label); base64,
 * standard or URL-safe, with or without line breaks, percent escapes or a
 * whole GET query ("operation=PKIOperation&message=..."). A pure function of
 * (bytes, length): malloc'd bytes and *outlen, or NULL with a reason in err.
 */
unsigned char *inspect_input(const unsigned char *in, size_t len, size_t *outlen,
    char *err, size_t errlen);

/*
 * Writes the description of der (a pkiMessage or CertRep) to out. ra: the
 * RA keys that open a request's envelope, or NULL (then it is not opened);
 * cfg: for the template names, or NULL. 0, or -1 when der is not a
 * pkiMessage at all (the reason written to out too).
 */
int inspect_message(FILE *out, const unsigned char *der, size_t len,
    const struct signer *ra, const struct config *cfg);

/*
 * Writes a recorded exchange (lab.record) to out: when, from whom, how long,
 * its outcome, then its request and its reply each as inspect_message
 * describes them (an HTTP error reply as its text).
 */
void inspect_recording(FILE *out, const struct store_recording *r, const struct signer *ra,
    const struct config *cfg);

/* What failInfo means (RFC 8894 §3.2.1.4), in words; "" for an unknown value. */
const char *inspect_failinfo_meaning(int failinfo);

/* What to change in the MDM's SCEP profile (or the server) for a failInfo; "" if unknown. */
const char *inspect_failinfo_advice(int failinfo);

#endif

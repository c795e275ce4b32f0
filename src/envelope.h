/* SPDX-License-Identifier: ISC */
/*
 * envelope.h: reads the algorithms of a pkcsPKIEnvelope (CMS EnvelopedData)
 * without decrypting it, so policy can answer badAlg before any key is touched
 * and the reply can mirror what the client used. Pure function of (bytes, length).
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include <stddef.h>

struct envelope_info {
	int cipher_nid;        /* contentEncryptionAlgorithm (NID_undef when OpenSSL does not know it) */
	char cipher_oid[80];   /* its dotted OID, for messages */
	int n_recipients;      /* RecipientInfos of any kind */
	int n_ktri;            /* KeyTransRecipientInfos among them */
	int oaep;              /* 1 when a KTRI uses RSAES-OAEP key transport */
	/* the first KTRI's recipient, for messages: "" when it names a subjectKeyIdentifier */
	char recipient_issuer[256];  /* its issuer, RFC 2253 text */
	char recipient_serial[80];   /* its serial number, upper-case hex */
};

/* Returns 0, or -1 with a reason in err when the bytes are not a ContentInfo(envelopedData). */
int envelope_inspect(const unsigned char *der, size_t len, struct envelope_info *out,
    char *err, size_t errlen);

#endif

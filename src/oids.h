/* SPDX-License-Identifier: ISC */
/*
 * oids.h: registers the SCEP attribute OIDs with OpenSSL once at start-up and
 * exposes their NIDs. Call oids_register() before any other module runs; after
 * that the table is read-only.
 */
#ifndef OIDS_H
#define OIDS_H

struct scep_nids {
	int message_type;     /* 2.16.840.1.113733.1.9.2 */
	int pki_status;       /* 2.16.840.1.113733.1.9.3 */
	int fail_info;        /* 2.16.840.1.113733.1.9.4 */
	int sender_nonce;     /* 2.16.840.1.113733.1.9.5 */
	int recipient_nonce;  /* 2.16.840.1.113733.1.9.6 */
	int transaction_id;   /* 2.16.840.1.113733.1.9.7 */
	int fail_info_text;   /* 1.3.6.1.5.5.7.24.1 */
	int ms_scep_error;    /* 1.3.6.1.4.1.311.21.33 (NDES HRESULT) */
	int cert_request_agent; /* 1.3.6.1.4.1.311.20.2.1 (EKU of NDES RA certs) */
};

/* Returns 0 on success, -1 if OpenSSL refused an OID. Idempotent. */
int oids_register(void);
/* The NIDs; valid after oids_register() succeeded. */
const struct scep_nids *oids_nids(void);

#endif

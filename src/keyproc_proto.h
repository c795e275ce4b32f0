/* SPDX-License-Identifier: ISC */
/*
 * keyproc_proto.h: the messages between the network process and the signer
 * process (keyproc.c). One message is one SOCK_SEQPACKET packet: a 12-byte
 * header (version u16, type u16, sequence u32, body length u32, all big-endian)
 * and a body of fields (tag u16, length u32, value). Each message type has a
 * schema: which tags it may carry, which are required, how long each may be and
 * how often it may repeat. The parser is a pure function of (bytes, length) and
 * refuses unknown types, unknown or misplaced tags, truncation, trailing bytes,
 * oversized fields and missing required ones. There is no "sign these bytes":
 * every request names what is signed in typed fields.
 */
#ifndef KEYPROC_PROTO_H
#define KEYPROC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KEYPROC_VERSION     1
#define KEYPROC_HEADER      12
#define KEYPROC_MAX_MSG     (1024 * 1024)   /* one packet, header included */
#define KEYPROC_MAX_PATH    4096
#define KEYPROC_MAX_REPEAT  16384           /* EKU OIDs, attributes, CRL entries */

enum keyproc_type {
	KEYPROC_OPEN = 1,         /* load and check an identity (key files) */
	KEYPROC_DECRYPT,          /* open a pkcsPKIEnvelope: returns the plaintext */
	KEYPROC_ISSUE,            /* issue a certificate from a normalised request */
	KEYPROC_SIGN_MESSAGE,     /* sign a SCEP pkiMessage from typed attributes */
	KEYPROC_SIGN_NEXTCA,      /* sign a GetNextCACert certs-only structure as the CA */
	KEYPROC_SIGN_CRL,         /* sign a CRL from entries */
	KEYPROC_RELOAD,           /* re-read the configuration file (scepd reloaded it) */
	KEYPROC_REPLY = 64,       /* the answer to any request */
};

enum keyproc_tag {
	/* the identity: which key files, and the digest of the certificates the client holds */
	KP_T_CA_CERT = 1, KP_T_CA_KEY, KP_T_RA_SIGN_CERT, KP_T_RA_SIGN_KEY,
	KP_T_RA_ENC_CERT, KP_T_RA_ENC_KEY,
	KP_T_FLAGS,               /* u32: KEYPROC_F_* */
	KP_T_CERTS_DIGEST,        /* 32 bytes: SHA-256 over the three certificates' DER */
	/* decrypt */
	KP_T_ENVELOPE,
	/* issue */
	KP_T_SUBJECT,             /* Name DER */
	KP_T_SPKI,                /* SubjectPublicKeyInfo DER */
	KP_T_SAN,                 /* GeneralNames DER */
	KP_T_KEY_USAGE,           /* u32 */
	KP_T_EKU,                 /* OBJECT IDENTIFIER DER, repeated */
	KP_T_VALIDITY_DAYS,       /* u32 */
	KP_T_NOW,                 /* i64 */
	KP_T_CRL_URL,             /* string */
	/* sign message */
	KP_T_DIGEST_NID,          /* u32 */
	KP_T_ECONTENT,            /* a CMS EnvelopedData, empty (FAILURE, PENDING) or absent */
	KP_T_ATTR,                /* repeated: u8 keyproc_attr, u8 ASN.1 type, value */
	/* sign GetNextCACert */
	KP_T_CONTENT,             /* a degenerate certs-only PKCS#7 */
	/* sign CRL */
	KP_T_CRL_NUMBER,          /* i64 */
	KP_T_THIS_UPDATE,         /* i64 */
	KP_T_NEXT_UPDATE,         /* i64 */
	KP_T_CRL_ENTRY,           /* repeated: i64 revoked_at, i32 reason, serial hex */
	/* reply */
	KP_T_RESULT,              /* u32: 0, or a SCEP failInfo + 1 (see keyproc.h) */
	KP_T_BLOB,                /* the answer's bytes */
	KP_T_MATCHED,             /* u32: which certificate opened the envelope */
	KP_T_ERROR,               /* string: the reason */
	/* issue, lab mode only: the validity override (both or neither) */
	KP_T_NOT_BEFORE,          /* i64 */
	KP_T_NOT_AFTER,           /* i64 */
	KP_T_MAX
};

#define KEYPROC_F_FORWARD    1u
#define KEYPROC_F_ALLOW_DES  2u

/* The SCEP attributes a signed message may carry (KP_T_ATTR's first byte). */
enum keyproc_attr {
	KEYPROC_A_MESSAGE_TYPE = 1, KEYPROC_A_PKI_STATUS, KEYPROC_A_FAIL_INFO,
	KEYPROC_A_FAIL_INFO_TEXT, KEYPROC_A_MS_SCEP_ERROR, KEYPROC_A_TRANSACTION_ID,
	KEYPROC_A_SENDER_NONCE, KEYPROC_A_RECIPIENT_NONCE,
};

struct keyproc_field {
	const uint8_t *p;         /* points into the parsed buffer; NULL when absent */
	uint32_t len;
	uint32_t count;           /* occurrences (repeated tags) */
};

struct keyproc_msg {
	uint16_t type;
	uint32_t seq;
	const uint8_t *body;
	size_t body_len;
	struct keyproc_field f[KP_T_MAX];   /* the first occurrence of each tag */
};

/* Parses and checks one packet against its type's schema. 0, or -1 with a reason. */
int keyproc_msg_parse(const uint8_t *buf, size_t len, struct keyproc_msg *m, char *err,
    size_t errlen);

/* Walks the occurrences of a repeated tag: *pos starts at 0; 1 with a value, 0 at the end. */
int keyproc_msg_next(const struct keyproc_msg *m, uint16_t tag, size_t *pos,
    const uint8_t **val, uint32_t *len);

/* Typed reads of a present field: 0, or -1 when absent or of the wrong size. */
int keyproc_msg_u32(const struct keyproc_msg *m, uint16_t tag, uint32_t *v);
int keyproc_msg_i64(const struct keyproc_msg *m, uint16_t tag, int64_t *v);
/* A string field as a NUL-terminated copy (malloc'd), NULL when absent. */
char *keyproc_msg_str(const struct keyproc_msg *m, uint16_t tag);

/* Building a message: a growing buffer. Errors (size) stick and show at finish. */
struct keyproc_buf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

void keyproc_buf_start(struct keyproc_buf *b, uint16_t type, uint32_t seq);
void keyproc_buf_add(struct keyproc_buf *b, uint16_t tag, const void *val, size_t len);
void keyproc_buf_u32(struct keyproc_buf *b, uint16_t tag, uint32_t v);
void keyproc_buf_i64(struct keyproc_buf *b, uint16_t tag, int64_t v);
void keyproc_buf_str(struct keyproc_buf *b, uint16_t tag, const char *s);  /* NULL: absent */
/* Fills in the length; 0, or -1 when the message grew past KEYPROC_MAX_MSG. */
int keyproc_buf_finish(struct keyproc_buf *b);
void keyproc_buf_free(struct keyproc_buf *b);   /* wipes: it may hold a plaintext */

/* Big-endian helpers shared with keyproc.c. */
uint32_t keyproc_get32(const uint8_t *p);
void keyproc_put32(uint8_t *p, uint32_t v);

const char *keyproc_type_name(uint16_t type);

#endif

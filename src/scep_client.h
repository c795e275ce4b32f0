/* SPDX-License-Identifier: ISC */
/*
 * scep_client.h: scepd as a SCEP client (RFC 8894) of an upstream SCEP
 * server, for the scep CA backend and for `scepctl init --upstream`. It reads
 * the upstream's GetCACaps and GetCACert (kept for cache_time, then fetched
 * again; the upstream RA certificates picked by key usage as real clients
 * do), builds PKCSReq and CertPoll messages signed by the identity it is
 * given (scepd's RA signing key, through signer.h) and enveloped to the
 * upstream RA encryption certificate with the strongest cipher and digest the
 * upstream advertises, sends them by POST when the upstream allows it and by
 * GET otherwise, and checks the CertRep: signed by an upstream certificate,
 * our transactionID, our nonce as recipientNonce, then opened with our key.
 * HTTP and HTTPS go through libcurl with a timeout, a size limit and a bound
 * on concurrent exchanges. A client is safe to use from many threads.
 */
#ifndef SCEP_CLIENT_H
#define SCEP_CLIENT_H

#include <stddef.h>
#include <openssl/x509.h>

struct signer;
struct scep_client;

struct scep_client_options {
	const char *url;             /* http:// or https:// SCEP URL */
	const char *ca_identifier;   /* message= of GetCACaps/GetCACert; NULL: none */
	const char *ca_bundle;       /* https: PEM CA bundle; NULL: the system's */
	unsigned timeout;            /* seconds for one HTTP exchange (and a free place) */
	unsigned max_concurrent;     /* HTTP exchanges at once */
	unsigned cache_time;         /* seconds GetCACaps/GetCACert answers are kept */
	X509 *anchor;                /* the upstream RA certificates must chain to it (or be
	                              * it); NULL: accept what GetCACert says (first contact) */
	int allow_des;               /* accept single-DES replies (the signer's legacy provider) */
	/* Overrides for scepctl selftest, which speaks as one client family (0: choose). */
	int cipher_nid;              /* content cipher of requests instead of the strongest */
	int digest_nid;              /* digest of requests instead of the strongest */
	int force_get;               /* PKIOperation by GET even when POST is advertised */
	int get_encoding;            /* enum scep_client_get_encoding */
	const char *user_agent;      /* NULL: "scepd" */
};

/* How a GET PKIOperation carries the base64 of the message (scep.md §1.2.1). */
enum scep_client_get_encoding {
	SCEP_GET_RFC = 0,            /* no line breaks, every reserved character %-escaped (RFC 8894 §4.1) */
	SCEP_GET_LINES,              /* %0A every 64 characters, '+' as %2B, '/' and '=' raw (strongSwan) */
	SCEP_GET_RAW,                /* no line breaks, '+' and '/' raw, '=' as %3D (Apple) */
	SCEP_GET_URLSAFE,            /* the '-' '_' alphabet without padding (old micromdm client) */
};

/* One raw answer to a GET (scepctl selftest reads them as each client would). */
struct scep_client_answer {
	long status;                 /* HTTP status */
	char ctype[128];             /* Content-Type ("" when none) */
	unsigned char *body;         /* owned, NUL-terminated beyond len; at most 1 MiB */
	size_t len;
};

/* GetCACaps keywords understood (RFC 8894 §3.5.2). */
#define SCEP_CAP_POST      0x001
#define SCEP_CAP_AES       0x002
#define SCEP_CAP_DES3      0x004
#define SCEP_CAP_SHA1      0x008
#define SCEP_CAP_SHA224    0x010
#define SCEP_CAP_SHA256    0x020
#define SCEP_CAP_SHA384    0x040
#define SCEP_CAP_SHA512    0x080
#define SCEP_CAP_STANDARD  0x100
#define SCEP_CAP_RENEWAL   0x200

/* What the upstream said about itself (a snapshot; read-only). */
struct scep_upstream {
	unsigned caps;               /* SCEP_CAP_* */
	X509 *ca;                    /* the issuing CA certificate (the anchor when given) */
	X509 *ra_sign;               /* signs the upstream's CertReps (the CA when it has no RA) */
	X509 *ra_enc;                /* requests are enveloped to it */
	STACK_OF(X509) *certs;       /* everything GetCACert returned */
	int cipher_nid;              /* what requests use: AES-128-CBC or 3DES */
	int digest_nid;              /* SHA-512 ... SHA-1 */
	int post;                    /* PKIOperation by POST */
};

enum scep_client_status {
	SCEP_CLIENT_SUCCESS = 0,
	SCEP_CLIENT_FAILURE = 2,     /* the upstream refused: fail_info, reason */
	SCEP_CLIENT_PENDING = 3,
	SCEP_CLIENT_ERROR = -1,      /* no usable answer: unreachable, timeout, HTTP error,
	                              * a reply that does not verify or cannot be opened */
};

struct scep_client_reply {
	enum scep_client_status status;
	int fail_info;               /* FAILURE: the upstream's failInfo (-1 when absent) */
	char reason[512];            /* FAILURE: failInfoText or failInfo; ERROR: what went wrong */
	STACK_OF(X509) *certs;       /* SUCCESS: the certificates of the reply (owned) */
	int cipher_nid;              /* SUCCESS: the content cipher of the reply's envelope */
	long http_status;            /* of the PKIOperation exchange, 0 when none */
};

/* NULL with a reason on bad options. Does not contact the upstream. */
struct scep_client *scep_client_new(const struct scep_client_options *o, char *err,
    size_t errlen);
void scep_client_free(struct scep_client *c);

/* The configured URL. */
const char *scep_client_url(const struct scep_client *c);

/*
 * The upstream snapshot, fetched now when none is held, when it is older
 * than cache_time, or when force is set; a failed refresh keeps the one held.
 * Release it with scep_upstream_release. NULL with a reason when there is none.
 */
struct scep_upstream *scep_client_upstream(struct scep_client *c, int force, char *err,
    size_t errlen);
void scep_upstream_release(struct scep_client *c, struct scep_upstream *u);

/*
 * Sends csr (DER, forwarded byte for byte) in a PKCSReq with transactionID
 * tid, signed by id's RA signing certificate and key; the reply is opened
 * with id's keys. Returns rep->status.
 */
enum scep_client_status scep_client_pkcsreq(struct scep_client *c, const struct signer *id,
    const unsigned char *csr, size_t csr_len, const char *tid, struct scep_client_reply *rep);

/* Sends a CertPoll (IssuerAndSubject: the upstream CA, subject) for tid. */
enum scep_client_status scep_client_certpoll(struct scep_client *c, const struct signer *id,
    const X509_NAME *subject, const char *tid, struct scep_client_reply *rep);

void scep_client_reply_free(struct scep_client_reply *rep);

/*
 * A request built ahead and its reply checked later, for a load generator
 * (bench/): scep_client_build_request signs content as a message of type
 * msgtype (SCEP_MSG_*) with id and envelopes it to u's RA with u's cipher and
 * digest; DER (malloc'd) or NULL with a reason. scep_client_check_reply does
 * to reply what scep_client_pkcsreq does to the one it receives: parsed and
 * verified, signed by a certificate of u, tid and nonce echoed, opened with
 * id's keys. Returns rep->status.
 */
#define SCEP_CLIENT_NONCE_BYTES 16
unsigned char *scep_client_build_request(const struct signer *id,
    const struct scep_upstream *u, int msgtype, const unsigned char *content,
    size_t content_len, const char *tid, const unsigned char nonce[SCEP_CLIENT_NONCE_BYTES],
    size_t *outlen, char *err, size_t errlen);
enum scep_client_status scep_client_check_reply(const struct scep_upstream *u,
    const struct signer *id, int allow_des, const unsigned char *reply, size_t reply_len,
    const char *tid, const unsigned char nonce[SCEP_CLIENT_NONCE_BYTES],
    struct scep_client_reply *rep);

/*
 * GET ?operation=op[&message=message] (message escaped here) and the answer as
 * it came, whatever its status. 0, or -1 with a reason when no answer came.
 */
int scep_client_get(struct scep_client *c, const char *op, const char *message,
    struct scep_client_answer *a, char *err, size_t errlen);
void scep_client_answer_free(struct scep_client_answer *a);

/* 1 when s is a PrintableString (what a transactionID sent upstream must be), else 0. */
int scep_client_printable(const char *s);

/* Parses GetCACaps text into SCEP_CAP_* bits (keywords case-insensitive, one a line). */
unsigned scep_client_parse_caps(const char *text, size_t len);

/*
 * The certificates of a GetCACert answer: one DER certificate, or a degenerate
 * PKCS#7 SignedData (DER, no trailing bytes) holding at least one. NULL
 * otherwise. A pure function of (bytes, length).
 */
STACK_OF(X509) *scep_client_parse_cacert(const unsigned char *der, size_t len);

#endif

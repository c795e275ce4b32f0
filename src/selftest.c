/* SPDX-License-Identifier: ISC */
/*
 * selftest.c: `scepctl selftest URL` (selftest.h). It owns the table of client
 * family rules (how each family reads GetCACaps, which algorithms and which
 * transport it then picks, how it checks the GetCACert Content-Type and picks
 * its RA certificates), the pure judges that apply those rules to an answer,
 * and the run that fetches the answers, sends one PKCSReq per family through
 * scep_client.c and prints the table. Every rule names its source: a section
 * of the team's SCEP reference notes, scep.md (which cites the client's code), or, for
 * strongSwan 5.9, what Debian 12's strongswan-pki 5.9.8 was seen to do.
 * Answers are untrusted: they arrive bounded (scep_client.c, 1 MiB), are
 * parsed with exact lengths (der_decode_exact) and are printed only as
 * sanitised excerpts. It holds no keys but the throw-away ones it makes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "der.h"
#include "labca.h"
#include "scep_client.h"
#include "scep_types.h"
#include "selftest.h"
#include "signer.h"
#include "util.h"
#include "x509util.h"

#define CT_CA_CERT    "application/x-x509-ca-cert"
#define CT_CA_RA_CERT "application/x-x509-ca-ra-cert"

/* How a family reads the GetCACaps text. */
enum caps_syntax {
	/*
	 * strongSwan 5.9 (src/pki/scep/scep.c scep_parse_caps, scep.h): lines
	 * split on LF with a trailing CR dropped; a keyword matches when the line
	 * is a case-insensitive PREFIX of it (so an empty line matches every
	 * keyword); keyword i sets bit 1 << i, but src/pki/commands/scep.c tests
	 * the bits with the enum values 0..10 (SCEP_CAPS_AES = 0, SHA256 = 2,
	 * SHA384 = 3, SCEPSTANDARD = 8) as masks. Seen with Debian 12's
	 * strongswan-pki 5.9.8: "AES SHA-256 POSTPKIOperation" -> "sha256 digest
	 * algorithm not supported by CA"; "AES DES3 SHA-256" -> "AES_CBC
	 * encryption algorithm not supported by CA"; "SHA-256 SHA-384" works.
	 */
	CAPS_STRONGSWAN59,
	/* Apple: split on the CR/LF character set, exact case (scep.md §1.3.1). */
	CAPS_EXACT_CRLF,
	/* jscep: Java readLine, each line compared whole and exact, no trimming
	 * (jscep transport/response/GetCaCapsResponseHandler.java; scep.md §2.4). */
	CAPS_READLINE,
	/* certmonger and (undocumented, taken as lenient) Windows: per line,
	 * case-insensitive (scep.md §1.3.1, §2.6). */
	CAPS_NOCASE,
};

/* How a family checks the GetCACert Content-Type (scep.md §1.3). */
enum ct_rule {
	CT_ANY,        /* not checked: the body's form decides */
	CT_EXACT,      /* Apple: the bare string, exactly (scep.md §1.3, 22004) */
	CT_PREFIX,     /* jscep: startsWith, a missing header fails (scep.md §1.3) */
	CT_NOCASE,     /* certmonger: case-insensitive (scep.md §1.3, §2.6) */
};

/* How a family picks its RA certificates from GetCACert (scep.md §1.3.2). */
enum ra_rule {
	RA_ANY_RSA,    /* strongSwan (given as files; pki --scepca classifies), certmonger */
	RA_APPLE,      /* KU classes, RSA only, each RA chained to the CA (apple-SecSCEP) */
	RA_JSCEP,      /* first non-CA KE, else DE, else CA; RA issued directly by the CA */
	RA_WINDOWS,    /* sign + enc RA issued by the CA, KU and EKU (scep.md §2.3) */
};

enum transport {
	TR_POST_IF_CAP,   /* POST when its own reading of the caps allows it */
	TR_GET_ALWAYS,    /* certmonger: GET for everything (scep.md §2.6) */
};

struct family {
	const char *name;
	const char *message;          /* message= on GetCACaps/GetCACert */
	const char *user_agent;
	enum caps_syntax caps;
	size_t caps_max;              /* a larger GetCACaps body is refused (0: no limit) */
	int standard_implies;         /* SCEPStandard counts as AES + POST + SHA-256 */
	int needs_sha_keyword;        /* caps without any SHA-x keyword: refused */
	const int *ciphers;           /* preference, ending 0; the last one is the fallback */
	const int *digests;
	enum transport transport;
	int get_encoding;             /* enum scep_client_get_encoding */
	enum ct_rule ct;
	enum ra_rule ra;
	int first_cert_issued;        /* the issued certificate must come first in CertRep */
};

/* strongSwan 5.9: its defaults --cipher aes --digest sha256 (scep.md §2.7). */
static const int sw_ciphers[] = { NID_aes_128_cbc, 0 };
static const int sw_digests[] = { NID_sha256, 0 };
/* Apple: AES-128 else 3DES; SHA-512 > SHA-256 > SHA-1 (scep.md §2.2). */
static const int apple_ciphers[] = { NID_aes_128_cbc, NID_des_ede3_cbc, 0 };
static const int apple_digests[] = { NID_sha512, NID_sha256, NID_sha1, 0 };
/* Windows: the profile's HashAlgorithm (SHA-2 here), AES else 3DES (scep.md §2.3). */
static const int win_ciphers[] = { NID_aes_128_cbc, NID_des_ede3_cbc, 0 };
static const int win_digests[] = { NID_sha256, 0 };
/* jscep: AES > DESede > DES; SHA-512 > SHA-256 > SHA-1 > MD5 (scep.md §2.4). */
static const int jscep_ciphers[] = { NID_aes_128_cbc, NID_des_ede3_cbc, NID_des_cbc, 0 };
static const int jscep_digests[] = { NID_sha512, NID_sha256, NID_sha1, NID_md5, 0 };
/* certmonger: follows the caps (scep.md §2.1), strongest first. */
static const int cm_ciphers[] = { NID_aes_128_cbc, NID_des_ede3_cbc, NID_des_cbc, 0 };
static const int cm_digests[] = { NID_sha512, NID_sha384, NID_sha256, NID_sha224, NID_sha1,
	NID_md5, 0 };

static const struct family families[] = {
	{ .name = "strongSwan 5.9", .message = NULL, .user_agent = "strongSwan pki",
	  .caps = CAPS_STRONGSWAN59, .standard_implies = 0, .ciphers = sw_ciphers,
	  .digests = sw_digests, .transport = TR_POST_IF_CAP, .get_encoding = SCEP_GET_LINES,
	  .ct = CT_ANY, .ra = RA_ANY_RSA },
	/* Apple sends its payload Name as message (scep.md §1.2.1, §2.2). */
	{ .name = "Apple iOS/macOS", .message = "scepctl-selftest",
	  .user_agent = "scepctl-selftest (Apple rules)", .caps = CAPS_EXACT_CRLF,
	  .needs_sha_keyword = 1, .ciphers = apple_ciphers, .digests = apple_digests,
	  .transport = TR_POST_IF_CAP, .get_encoding = SCEP_GET_RAW, .ct = CT_EXACT,
	  .ra = RA_APPLE, .first_cert_issued = 1 },
	/* Windows sends message=default, not configurable (scep.md §1.2.1, §2.3). */
	{ .name = "Windows MDM", .message = "default",
	  .user_agent = "Mozilla/4.0 (compatible; Win32; NDES client; scepctl-selftest)",
	  .caps = CAPS_NOCASE, .standard_implies = 1, .ciphers = win_ciphers,
	  .digests = win_digests, .transport = TR_POST_IF_CAP, .get_encoding = SCEP_GET_RFC,
	  .ct = CT_ANY, .ra = RA_WINDOWS },
	/* jscep: GetCACert with an empty message (scep.md §2.4). */
	{ .name = "jscep", .message = "", .user_agent = "scepctl-selftest (jscep rules)",
	  .caps = CAPS_READLINE, .standard_implies = 1, .ciphers = jscep_ciphers,
	  .digests = jscep_digests, .transport = TR_POST_IF_CAP, .get_encoding = SCEP_GET_RFC,
	  .ct = CT_PREFIX, .ra = RA_JSCEP },
	/* certmonger: message=0, caps over 1024 bytes refused, GET only (scep.md §2.6). */
	{ .name = "certmonger", .message = "0", .user_agent = "scepctl-selftest (certmonger rules)",
	  .caps = CAPS_NOCASE, .caps_max = 1024, .standard_implies = 1, .ciphers = cm_ciphers,
	  .digests = cm_digests,
	  .transport = TR_GET_ALWAYS, .get_encoding = SCEP_GET_RFC, .ct = CT_NOCASE,
	  .ra = RA_ANY_RSA },
};
#define N_FAMILIES ((int)(sizeof(families) / sizeof(families[0])))

int selftest_families(void)
{
	return N_FAMILIES;
}

const char *selftest_family_name(int family)
{
	return family >= 0 && family < N_FAMILIES ? families[family].name : "?";
}

const char *selftest_family_message(int family)
{
	return family >= 0 && family < N_FAMILIES ? families[family].message : NULL;
}

/* --- verdicts -------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void note(struct selftest_verdict *v, enum selftest_level level, const char *fmt, ...)
{
	size_t used = strlen(v->why);
	va_list ap;

	if (level > v->level || v->level == SELFTEST_SKIPPED)
		v->level = level;
	if (used > 0 && used + 2 < sizeof(v->why)) {
		memcpy(v->why + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(v->why + used, sizeof(v->why) - used, fmt, ap);
	va_end(ap);
}

/* At most max bytes of untrusted text, control characters as '?', for messages. */
static void excerpt(const unsigned char *p, size_t len, char *out, size_t max)
{
	size_t i;

	for (i = 0; i < len && i + 1 < max; i++)
		out[i] = (p[i] < 0x20 || p[i] >= 0x7f) ? '?' : (char)p[i];
	out[i] = '\0';
}

/* --- GetCACaps --------------------------------------------------------------- */

static const struct {
	const char *word;
	unsigned bit;
} keywords[] = {
	{ "POSTPKIOperation", SCEP_CAP_POST }, { "AES", SCEP_CAP_AES }, { "DES3", SCEP_CAP_DES3 },
	{ "SHA-1", SCEP_CAP_SHA1 }, { "SHA-224", SCEP_CAP_SHA224 }, { "SHA-256", SCEP_CAP_SHA256 },
	{ "SHA-384", SCEP_CAP_SHA384 }, { "SHA-512", SCEP_CAP_SHA512 },
	{ "SCEPStandard", SCEP_CAP_STANDARD }, { "Renewal", SCEP_CAP_RENEWAL },
};
#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* The keyword bits of one line read by syntax (every syntax but strongSwan's). */
static unsigned line_caps(enum caps_syntax syntax, const char *s, size_t n)
{
	unsigned caps = 0;
	size_t k, wl;

	if (syntax == CAPS_NOCASE) {
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
	}
	for (k = 0; k < N_KEYWORDS; k++) {
		wl = strlen(keywords[k].word);
		if (n != wl)
			continue;
		if (syntax == CAPS_NOCASE ? strncasecmp(s, keywords[k].word, wl) == 0 :
		    memcmp(s, keywords[k].word, wl) == 0)
			caps |= keywords[k].bit;
	}
	return caps;
}

/* The strongSwan 5.9 reading (see CAPS_STRONGSWAN59), as the checks it does see it. */
static unsigned strongswan59_caps(const unsigned char *p, size_t len)
{
	static const char *const names[] = { "AES", "DES3", "SHA-256", "SHA-384", "SHA-512",
		"SHA-224", "SHA-1", "POSTPKIOperation", "SCEPStandard", "GetNextCACert", "Renewal" };
	enum { AES = 0, DES3 = 1, SHA256 = 2, SHA384 = 3, SCEPSTANDARD = 8, RENEWAL = 10,
	       POST = 7 };
	uint32_t f = 0;
	unsigned caps = 0;
	size_t i = 0, start, n, k;

	while (i < len) {
		start = i;
		while (i < len && p[i] != '\n')
			i++;
		n = i - start;
		if (i < len)
			i++;
		if (n > 0 && p[start + n - 1] == '\r')
			n--;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (n <= strlen(names[k]) &&
			    strncasecmp(names[k], (const char *)p + start, n) == 0)
				f |= 1u << k;
	}
	/* src/pki/commands/scep.c, with the enum values as masks */
	if ((f & SHA256) || (f & SCEPSTANDARD))
		caps |= SCEP_CAP_SHA256;
	if ((f & AES) || (f & SCEPSTANDARD))
		caps |= SCEP_CAP_AES;
	if (f & DES3)
		caps |= SCEP_CAP_DES3;
	if ((f & POST) || (f & SCEPSTANDARD))
		caps |= SCEP_CAP_POST;
	if (f & RENEWAL)
		caps |= SCEP_CAP_RENEWAL;
	return caps;
}

/* The caps as syntax reads them. */
static unsigned read_caps(enum caps_syntax syntax, const unsigned char *p, size_t len)
{
	unsigned caps = 0;
	size_t i = 0, start;

	if (syntax == CAPS_STRONGSWAN59)
		return strongswan59_caps(p, len);
	while (i < len) {
		start = i;
		while (i < len && p[i] != '\n' && p[i] != '\r')
			i++;
		caps |= line_caps(syntax, (const char *)p + start, i - start);
		/* readLine: CR, LF or CRLF ends one line; the CR/LF set and the
		 * per-line readers skip empty lines alike */
		if (i < len && p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			i++;
		if (i < len)
			i++;
	}
	return caps;
}

static int cap_of_cipher(int nid)
{
	return nid == NID_aes_128_cbc ? SCEP_CAP_AES : nid == NID_des_ede3_cbc ? SCEP_CAP_DES3 : 0;
}

static int cap_of_digest(int nid)
{
	switch (nid) {
	case NID_sha512: return SCEP_CAP_SHA512;
	case NID_sha384: return SCEP_CAP_SHA384;
	case NID_sha256: return SCEP_CAP_SHA256;
	case NID_sha224: return SCEP_CAP_SHA224;
	case NID_sha1: return SCEP_CAP_SHA1;
	default: return 0;
	}
}

/* The first of list the caps allow; the last entry when none is advertised. */
static int pick(const int *list, unsigned caps, int (*cap_of)(int))
{
	int i;

	for (i = 0; list[i] != 0; i++)
		if (cap_of(list[i]) != 0 && (caps & (unsigned)cap_of(list[i])) != 0)
			return list[i];
	return list[i - 1];
}

/* Keywords the lenient reading finds and the family does not: case, spaces, ... */
static void note_missed(const struct family *f, unsigned lenient, unsigned seen,
    struct selftest_verdict *v)
{
	char list[200] = "";
	size_t k;

	/* strongSwan 5.9 only ever asks about these (the others it does not use) */
	if (f->caps == CAPS_STRONGSWAN59)
		lenient &= SCEP_CAP_DES3 | SCEP_CAP_POST | SCEP_CAP_RENEWAL;
	for (k = 0; k < N_KEYWORDS; k++) {
		if (!(lenient & keywords[k].bit) || (seen & keywords[k].bit))
			continue;
		if (keywords[k].bit == SCEP_CAP_AES && f->caps == CAPS_STRONGSWAN59)
			continue;   /* explained on its own below */
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    list[0] ? ", " : "", keywords[k].word);
	}
	if (list[0] != '\0' && f->caps == CAPS_STRONGSWAN59)
		note(v, SELFTEST_WARN, "it does not see %s (it tests its caps with enum values as "
		    "bit masks: Renewal needs DES3 or SHA-384 listed, DES3 needs AES, POST needs "
		    "AES, DES3 or SHA-256)", list);
	else if (list[0] != '\0')
		note(v, SELFTEST_WARN, "it does not see %s as the server writes %s (exact RFC 8894 "
		    "case, one keyword a line, no spaces: RFC 8894 §3.5.2)", list,
		    strchr(list, ',') ? "them" : "it");
}

void selftest_judge_caps(int family, const struct scep_client_answer *a,
    struct selftest_caps_view *out)
{
	const struct family *f = &families[family];
	unsigned caps = 0, lenient = 0;
	char text[80];

	memset(out, 0, sizeof(*out));
	if (a->status != 200 || a->len == 0) {
		/* RFC 8894 §3.5.2: no caps; strongSwan stops (scep.md §2.7, its
		 * "did not receive a valid scep response"), the others fall back */
		if (f->caps == CAPS_STRONGSWAN59)
			note(&out->v, SELFTEST_REJECT, "GetCACaps answered HTTP %ld%s: \"did not "
			    "receive a valid scep response\"", a->status, a->len ? "" : " with no body");
		else
			note(&out->v, SELFTEST_WARN, "GetCACaps answered HTTP %ld%s: it falls back to "
			    "its oldest algorithms (scep.md §1.3.1)", a->status,
			    a->len ? "" : " with no body");
	} else {
		caps = read_caps(f->caps, a->body, a->len);
		/* what the server wrote, read leniently, without SCEPStandard's implications */
		lenient = read_caps(CAPS_NOCASE, a->body, a->len);
		if (f->standard_implies && (caps & SCEP_CAP_STANDARD))
			caps |= SCEP_CAP_AES | SCEP_CAP_POST | SCEP_CAP_SHA256;
		note_missed(f, lenient, caps, &out->v);
		/* RFC 8894 §3.5.2: what the server offers, SCEPStandard included */
		if (lenient & SCEP_CAP_STANDARD)
			lenient |= SCEP_CAP_AES | SCEP_CAP_POST | SCEP_CAP_SHA256;
	}
	if (f->caps_max != 0 && a->len > f->caps_max) {
		/* certmonger src/scep.c (scep.md §1.3.1) */
		note(&out->v, SELFTEST_REJECT, "the GetCACaps body is %zu bytes, over its limit "
		    "of %zu", a->len, f->caps_max);
		caps = 0;
	}
	if (a->status == 200 && strncasecmp(a->ctype, "text/plain", 10) != 0) {
		/* jscep warns, old sscep refused (scep.md §2.4, sscep#126) */
		excerpt((const unsigned char *)a->ctype, strlen(a->ctype), text, sizeof(text));
		note(&out->v, SELFTEST_WARN, "GetCACaps Content-Type is \"%s\", not text/plain",
		    text);
	}
	out->caps = caps;
	out->cipher_nid = pick(f->ciphers, caps, cap_of_cipher);
	out->digest_nid = pick(f->digests, caps, cap_of_digest);
	out->post = f->transport == TR_POST_IF_CAP && (caps & SCEP_CAP_POST) != 0;

	if (f->caps == CAPS_STRONGSWAN59 && a->status == 200) {
		/* scep.md §2.7: it stops unless the CA lists its digest and cipher */
		if (!(caps & SCEP_CAP_SHA256))
			note(&out->v, SELFTEST_REJECT, "\"sha256 digest algorithm not supported by "
			    "CA\"%s", (lenient & SCEP_CAP_SHA256) ? ": strongSwan 5.9 sees SHA-256 "
			    "only when DES3 or SHA-384 is listed too" : "");
		if (!(caps & SCEP_CAP_AES))
			note(&out->v, SELFTEST_REJECT, "\"AES_CBC encryption algorithm not supported "
			    "by CA\"%s", (lenient & SCEP_CAP_AES) ? ": the server lists AES, but "
			    "strongSwan 5.9 tests its caps with enum values as bit masks and sees AES "
			    "only when SHA-384 is listed: add SHA-384" : "");
	}
	if (f->needs_sha_keyword && a->status == 200 && a->len > 0 &&
	    !(caps & (SCEP_CAP_SHA1 | SCEP_CAP_SHA256 | SCEP_CAP_SHA512)))
		/* Apple 22006 SCEP_ERROR_INSUFFICIENT_CA_CAPS (scep.md §2.2, micromdm#23) */
		note(&out->v, SELFTEST_REJECT, "no SHA-1, SHA-256 or SHA-512 keyword: "
		    "\"insufficient CA capabilities\" (22006)");
	if (out->cipher_nid == NID_des_cbc)
		/* RFC 8894 §2.9; scepd and AWS refuse single DES (scep.md §1.4.7) */
		note(&out->v, SELFTEST_REJECT, "neither AES nor DES3 listed: it would envelope "
		    "with single DES, which RFC 8894 §2.9 forbids");
	else if (a->status == 200 && a->len > 0 && f->caps != CAPS_STRONGSWAN59 &&
	    !(lenient & (unsigned)cap_of_cipher(out->cipher_nid)))
		note(&out->v, SELFTEST_WARN, "it would envelope with %s, which the server does "
		    "not list", OBJ_nid2sn(out->cipher_nid));
	if (out->digest_nid == NID_md5)
		note(&out->v, SELFTEST_REJECT, "no SHA keyword it knows: it would sign with MD5, "
		    "which RFC 8894 §2.9 forbids");
	else if (a->status == 200 && a->len > 0 &&
	    !(lenient & (unsigned)cap_of_digest(out->digest_nid)))
		note(&out->v, SELFTEST_WARN, "it would sign with %s, which the server does not "
		    "list", OBJ_nid2sn(out->digest_nid));
	if (out->v.why[0] == '\0')
		snprintf(out->v.why, sizeof(out->v.why), "GetCACaps read as RFC 8894 §3.5.2 means");
}

/* --- GetCACert --------------------------------------------------------------- */

static int is_rsa(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);

	return k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA;
}

/* 1 when ca issued x (names and signature). */
static int issued_by(X509 *ca, X509 *x)
{
	EVP_PKEY *pub = X509_get0_pubkey(ca);
	int ok = pub != NULL && X509_check_issued(ca, x) == X509_V_OK && X509_verify(x, pub) == 1;

	ERR_clear_error();
	return ok;
}

/* The CA certificate in certs that issued x, or NULL. */
static X509 *issuer_in(STACK_OF(X509) *certs, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);

		if (c != x && X509_check_ca(c) >= 1 && issued_by(c, x))
			return c;
	}
	return NULL;
}

static int has_eku(X509 *x, const char *oid)
{
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	ASN1_OBJECT *want = OBJ_txt2obj(oid, 1);
	int i, found = 0;

	for (i = 0; eku != NULL && want != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0)
			found = 1;
	ASN1_OBJECT_free(want);
	EXTENDED_KEY_USAGE_free(eku);
	ERR_clear_error();
	return found;
}

static const char *subject_cn(X509 *x, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
	    (int)len) < 0)
		snprintf(buf, len, "(no CN)");
	ERR_clear_error();
	return buf;
}

/* The Content-Type rule of f against the body's form. */
static void judge_ctype(const struct family *f, const char *ctype, int single,
    struct selftest_verdict *v)
{
	const char *want = single ? CT_CA_CERT : CT_CA_RA_CERT;
	size_t wl = strlen(want), n = strcspn(ctype, ";");
	char text[80];
	int ok = 1;

	excerpt((const unsigned char *)ctype, strlen(ctype), text, sizeof(text));
	switch (f->ct) {
	case CT_EXACT:
		ok = strcmp(ctype, want) == 0;
		break;
	case CT_PREFIX:
		ok = strncmp(ctype, want, wl) == 0;
		break;
	case CT_NOCASE:
		ok = n == wl && strncasecmp(ctype, want, wl) == 0;
		break;
	case CT_ANY:
		if (n != wl || strncasecmp(ctype, want, wl) != 0)
			note(v, SELFTEST_WARN, "GetCACert Content-Type \"%s\" for %s (RFC 8894 "
			    "§4.2.1 says %s)", text, single ? "one certificate" :
			    "a degenerate PKCS#7", want);
		return;
	}
	if (!ok)
		note(v, SELFTEST_REJECT, "GetCACert Content-Type \"%s\" for %s: it wants \"%s\"%s",
		    text[0] ? text : "(none)", single ? "one certificate" : "a degenerate PKCS#7",
		    want, f->ct == CT_EXACT ? " exactly (22004, \"the SCEP server configuration is "
		    "not supported\")" : "");
}

/* Apple: RA candidates by key usage, RSA, chained to the CA (scep.md §1.3.2, §2.2). */
static void select_apple(STACK_OF(X509) *certs, int single, struct selftest_verdict *v)
{
	int i, ra = 0, good = 0, noku = 0;
	char cn[80];

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		uint32_t ku = X509_get_key_usage(x);

		if (X509_check_ca(x) >= 1)
			continue;
		ra++;
		if (!is_rsa(x)) {
			note(v, SELFTEST_WARN, "RA %s is not RSA: skipped", subject_cn(x, cn, sizeof(cn)));
			continue;
		}
		if (issuer_in(certs, x) == NULL) {
			note(v, SELFTEST_WARN, "RA %s does not chain to a CA in GetCACert: skipped",
			    subject_cn(x, cn, sizeof(cn)));
			continue;
		}
		if (ku == UINT32_MAX)
			noku++;   /* openxpki-config#14: macOS then encrypted to the CA */
		else if (!(ku & (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)))
			continue;
		good++;
	}
	ERR_clear_error();
	if (noku > 0)
		note(v, SELFTEST_WARN, "an RA certificate without keyUsage: macOS then encrypts to "
		    "the CA instead (openxpki-config#14)");
	if (!single && good == 0)
		note(v, SELFTEST_REJECT, "%s: no RSA RA certificate with digitalSignature or "
		    "keyEncipherment chained to the CA (22003 \"invalid RA response\")",
		    ra == 0 ? "a degenerate PKCS#7 without any RA certificate" : "no usable RA");
}

/* jscep DefaultCertStoreInspector (scep.md §1.3.2, §2.4). */
static void select_jscep(STACK_OF(X509) *certs, struct selftest_verdict *v)
{
	X509 *enc = NULL, *de = NULL, *sig = NULL;
	int i;

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		uint32_t ku = X509_get_key_usage(x);

		if (X509_check_ca(x) >= 1 || ku == UINT32_MAX)
			continue;
		if (enc == NULL && (ku & KU_KEY_ENCIPHERMENT))
			enc = x;
		if (de == NULL && (ku & KU_DATA_ENCIPHERMENT))
			de = x;
		if (sig == NULL && (ku & KU_DIGITAL_SIGNATURE))
			sig = x;
	}
	ERR_clear_error();
	if (enc == NULL)
		enc = de;
	if ((enc != NULL && issuer_in(certs, enc) == NULL) ||
	    (sig != NULL && issuer_in(certs, sig) == NULL))
		note(v, SELFTEST_REJECT, "\"RA not issued by CA\": its RA certificate is not "
		    "issued directly by a CA certificate of GetCACert");
	if (enc != NULL && !is_rsa(enc))
		note(v, SELFTEST_REJECT, "its recipient (the RA encryption certificate) is not RSA");
}

/* Windows: sign and encryption RA, KU and EKU (scep.md §1.3.2, §2.3). */
static void select_windows(STACK_OF(X509) *certs, struct selftest_verdict *v)
{
	int i, ra = 0, enc = 0, sig = 0;
	char cn[80];

	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		uint32_t ku = X509_get_key_usage(x);

		if (X509_check_ca(x) >= 1)
			continue;
		ra++;
		if (issuer_in(certs, x) == NULL)
			note(v, SELFTEST_REJECT, "RA %s is not signed by the CA (IX509SCEPEnrollment "
			    "wants both RA certificates signed by it)", subject_cn(x, cn, sizeof(cn)));
		if (ku != UINT32_MAX && (ku & KU_KEY_ENCIPHERMENT))
			enc++;
		if (ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE))
			sig++;
		if (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) {
			if (!has_eku(x, "1.3.6.1.5.5.7.3.1") && !has_eku(x, "1.3.6.1.4.1.311.20.2.1"))
				note(v, SELFTEST_REJECT, "RA %s has neither serverAuth nor Certificate "
				    "Request Agent in its EKU: 0x8010002c \"Requested certificate does "
				    "not exist\" (Intune-Resource-Access#87)",
				    subject_cn(x, cn, sizeof(cn)));
		}
	}
	ERR_clear_error();
	if (ra == 0)
		note(v, SELFTEST_WARN, "no RA certificate: Windows documents a signing and an "
		    "encryption RA certificate; a CA-only server was reported to work (fleet#38341)");
	else if (enc == 0 || sig == 0)
		note(v, SELFTEST_REJECT, "no RA certificate with %s (Windows wants digitalSignature "
		    "and keyEncipherment RA certificates)", enc == 0 ? "keyEncipherment" :
		    "digitalSignature");
}

/*
 * A certificate of the GetCACert answer outside its validity (RA or CA): every
 * CertRep the RA signs, or every chain to the CA, is out of date for any client
 * that checks it, whatever the family. NDES answers HTTP 500 in this state
 * (ndes.md §3.6); micromdm's scepclient (Debian scep) was seen to refuse the
 * CertRep with "signing time ... is outside of certificate validity".
 */
static void judge_validity(X509 *x, const char *role, struct selftest_verdict *v)
{
	int64_t from, until, now = (int64_t)time(NULL);
	char cn[64], when[32];
	time_t t;
	struct tm tm;

	if (x509util_time_seconds(X509_get0_notBefore(x), &from) != 0 ||
	    x509util_time_seconds(X509_get0_notAfter(x), &until) != 0) {
		note(v, SELFTEST_REJECT, "the %s certificate %s has an unreadable validity", role,
		    subject_cn(x, cn, sizeof(cn)));
		return;
	}
	if (now <= until && now >= from)
		return;
	t = (time_t)(now > until ? until : from);
	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(when, sizeof(when), "(unknown)");
	note(v, SELFTEST_REJECT, "the %s certificate %s %s %s: clients that check it refuse "
	    "every reply (NDES: HTTP 500, ndes.md §3.6)%s", role, subject_cn(x, cn, sizeof(cn)),
	    now > until ? "expired on" : "is not valid before", when,
	    strncmp(role, "RA", 2) == 0 ? "; scepd: `scepctl ra renew`, then reload" : "");
}

void selftest_judge_cacert(int family, const struct scep_client_answer *a,
    struct selftest_verdict *v)
{
	const struct family *f = &families[family];
	STACK_OF(X509) *certs = NULL;
	X509 *single = NULL, *ca = NULL;
	int i, ra = 0;
	uint32_t ku;

	memset(v, 0, sizeof(*v));
	if (a->status != 200) {
		note(v, SELFTEST_REJECT, "GetCACert answered HTTP %ld", a->status);
		goto out;
	}
	if ((certs = scep_client_parse_cacert(a->body, a->len)) == NULL) {
		note(v, SELFTEST_REJECT, "GetCACert is neither one DER certificate nor a "
		    "degenerate PKCS#7 (RFC 8894 §4.2.1)");
		goto out;
	}
	single = (X509 *)der_decode_exact(ASN1_ITEM_rptr(X509), a->body, a->len);
	ERR_clear_error();
	judge_ctype(f, a->ctype, single != NULL, v);
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_check_ca(x) >= 1) {
			if (ca == NULL)
				ca = x;
		} else {
			ra++;
		}
	}
	ERR_clear_error();
	if (ca == NULL && sk_X509_num(certs) > 1) {
		note(v, SELFTEST_REJECT, "GetCACert holds no CA certificate");
		goto out;
	}
	if (ca == NULL)
		ca = sk_X509_value(certs, 0);
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		ku = X509_get_key_usage(x);
		judge_validity(x, x == ca || X509_check_ca(x) >= 1 ? "CA" :
		    ku == UINT32_MAX || (ku & KU_DIGITAL_SIGNATURE && ku & KU_KEY_ENCIPHERMENT) ?
		    "RA" : ku & KU_DIGITAL_SIGNATURE ? "RA signing" : "RA encryption", v);
	}
	ERR_clear_error();
	if (ra == 0) {
		/* RFC 8894 §2.1.2 (scep.md checklist 22): a CA without RA decrypts and signs */
		ku = X509_get_key_usage(ca);
		if (ku != UINT32_MAX && (!(ku & KU_DIGITAL_SIGNATURE) || !(ku & KU_KEY_ENCIPHERMENT)))
			note(v, SELFTEST_WARN, "no RA, and the CA certificate's keyUsage lacks %s: "
			    "RFC 8894 §2.1.2 wants digitalSignature and keyEncipherment on a CA that "
			    "signs and decrypts SCEP messages", !(ku & KU_DIGITAL_SIGNATURE) ?
			    "digitalSignature" : "keyEncipherment");
		if (!is_rsa(ca))
			note(v, SELFTEST_REJECT, "no RA and the CA key is not RSA: no request can be "
			    "enveloped to it (scep.md §1.3.2)");
	}
	switch (f->ra) {
	case RA_APPLE:
		select_apple(certs, single != NULL, v);
		break;
	case RA_JSCEP:
		select_jscep(certs, v);
		break;
	case RA_WINDOWS:
		select_windows(certs, v);
		break;
	case RA_ANY_RSA:
		break;
	}
	if (v->why[0] == '\0')
		snprintf(v->why, sizeof(v->why), "%s", single != NULL ? "one CA certificate" :
		    "RA and CA certificates picked");
out:
	X509_free(single);
	sk_X509_pop_free(certs, X509_free);
}

/* --- the run ------------------------------------------------------------------- */

struct row {
	struct selftest_caps_view caps;
	struct selftest_verdict cacert;
	struct selftest_verdict pkiop;
};

static const char *level_word(enum selftest_level l)
{
	switch (l) {
	case SELFTEST_ACCEPT: return "accept";
	case SELFTEST_WARN: return "warn";
	case SELFTEST_REJECT: return "REJECT";
	default: return "-";
	}
}

static const char *encoding_name(int e)
{
	switch (e) {
	case SCEP_GET_LINES: return "GET %0A";
	case SCEP_GET_RAW: return "GET raw+/";
	case SCEP_GET_URLSAFE: return "GET -_";
	default: return "GET %2B";
	}
}

/* A CSR for key: CN=cn and the challenge (if any), as a new client sends. */
static unsigned char *make_csr(EVP_PKEY *key, const char *cn, const char *challenge,
    size_t *len)
{
	X509_REQ *req = NULL;
	X509_NAME *n = NULL;
	unsigned char *der = NULL, *result = NULL;
	int l;

	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    (n = X509_NAME_new()) == NULL || X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 || X509_REQ_set_subject_name(req, n) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	/* PrintableString where it fits: what NDES accepts (scep.md §1.4.5) */
	if (challenge != NULL && X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    scep_client_printable(challenge) ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8,
	    (const unsigned char *)challenge, (int)strlen(challenge)) != 1)
		goto out;
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0 || (l = i2d_X509_REQ(req, &der)) <= 0)
		goto out;
	*len = (size_t)l;
	result = der;
	der = NULL;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	X509_NAME_free(n);
	X509_REQ_free(req);
	return result;
}

/* 1 when the first certificate of the reply holds key (Apple: UCM#228, 22008). */
static int first_is_ours(STACK_OF(X509) *certs, EVP_PKEY *key)
{
	return sk_X509_num(certs) > 0 &&
	    EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, 0)), key) == 1;
}

/*
 * One PKCSReq as family f would send it (its algorithms, transport and GET
 * encoding; or by GET with get_encoding when that is not -1), judged as f
 * judges the CertRep. Without a challenge any signed
 * CertRep counts: the server read and answered the message.
 */
static void enroll(const struct selftest_options *o, int family, const struct row *r,
    const char *challenge, int get_encoding, struct selftest_verdict *v)
{
	const struct family *f = &families[family];
	struct scep_client_options co;
	struct scep_client_reply rep;
	struct scep_client *c = NULL;
	struct signer *id = NULL;
	EVP_PKEY *key = NULL;
	X509 *idcert = NULL;
	unsigned char *csr = NULL, *spki = NULL, h[20];
	size_t csr_len = 0;
	char cn[80], tid[41], err[512];
	int spki_len;

	memset(&rep, 0, sizeof(rep));
	memset(&co, 0, sizeof(co));
	snprintf(cn, sizeof(cn), "scepctl-selftest-%d", family);
	/* a new client: a fresh RSA key and a self-signed identity over it (RFC 8894 §2.3) */
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL ||
	    (idcert = labca_self_signed(key, cn, "critical,digitalSignature,keyEncipherment",
	    NULL, 2, err, sizeof(err))) == NULL ||
	    (id = signer_from_pair(idcert, key, 1, err, sizeof(err))) == NULL ||
	    (csr = make_csr(key, cn, challenge, &csr_len)) == NULL ||
	    (spki_len = i2d_PUBKEY(key, &spki)) <= 0 ||
	    EVP_Digest(spki, (size_t)spki_len, h, NULL, EVP_sha1(), NULL) != 1) {
		note(v, SELFTEST_REJECT, "scepctl cannot make its test key and request");
		goto out;
	}
	/* transactionID: hex SHA-1 of the public key, as Apple, jscep, strongSwan (scep.md §1.4.4) */
	hex_encode(h, sizeof(h), tid, 1);
	co.url = o->url;
	co.ca_identifier = f->message;
	co.ca_bundle = o->ca_bundle;
	co.timeout = o->timeout;
	co.allow_des = 1;   /* to open (and report) a single-DES reply */
	co.cipher_nid = r->caps.cipher_nid;
	co.digest_nid = r->caps.digest_nid;
	co.force_get = get_encoding >= 0 || !r->caps.post;
	co.get_encoding = get_encoding >= 0 ? get_encoding : f->get_encoding;
	co.user_agent = f->user_agent;
	if ((c = scep_client_new(&co, err, sizeof(err))) == NULL) {
		note(v, SELFTEST_REJECT, "%s", err);
		goto out;
	}
	switch (scep_client_pkcsreq(c, id, csr, csr_len, tid, &rep)) {
	case SCEP_CLIENT_SUCCESS:
		if (challenge == NULL)
			note(v, SELFTEST_WARN, "the server issued a certificate to a request "
			    "without a challenge");
		else
			note(v, SELFTEST_ACCEPT, "enrolled");
		if (rep.cipher_nid != 0 && rep.cipher_nid != r->caps.cipher_nid)
			/* micromdm#244: mirror the request's cipher (scep.md §1.4.7) */
			note(v, rep.cipher_nid == NID_des_cbc ? SELFTEST_REJECT : SELFTEST_WARN,
			    "the reply is enveloped with %s although the request used %s%s",
			    OBJ_nid2sn(rep.cipher_nid), OBJ_nid2sn(r->caps.cipher_nid),
			    rep.cipher_nid == NID_des_cbc ? ": OpenSSL 3 clients without the legacy "
			    "provider cannot open it (micromdm#244)" : "");
		if (!first_is_ours(rep.certs, key))
			note(v, f->first_cert_issued ? SELFTEST_REJECT : SELFTEST_WARN, "the issued "
			    "certificate is not the first of the reply%s", f->first_cert_issued ?
			    " (22008 \"mismatching public keys\", UCM#228)" : "");
		break;
	case SCEP_CLIENT_FAILURE:
		if (challenge != NULL)
			note(v, SELFTEST_REJECT, "refused: %s", rep.reason);
		else
			note(v, SELFTEST_ACCEPT, "signed CertRep FAILURE (%s) to a request without "
			    "a challenge: message read and answered", rep.reason);
		break;
	case SCEP_CLIENT_PENDING:
		note(v, challenge != NULL ? SELFTEST_WARN : SELFTEST_ACCEPT, "PENDING (manual "
		    "approval)%s", f->caps == CAPS_NOCASE && f->ra == RA_WINDOWS ?
		    ": Intune-driven flows do not poll (scep.md §2.1)" : "");
		break;
	default:
		note(v, SELFTEST_REJECT, "%s", rep.reason);
		if (rep.http_status == 500 && f->transport == TR_GET_ALWAYS)
			note(v, SELFTEST_REJECT, "certmonger takes HTTP 500 as \"CA unreachable\" and "
			    "retries for ever (scep.md §2.6)");
		break;
	}
out:
	scep_client_reply_free(&rep);
	scep_client_free(c);
	OPENSSL_free(spki);
	OPENSSL_free(csr);
	signer_free(id);
	X509_free(idcert);
	EVP_PKEY_free(key);
}

/* Server-wide checks of error answers (scep.md §4.14), printed as findings. */
static void probe_errors(struct scep_client *c, FILE *out)
{
	static const struct {
		const char *op, *message, *what;
	} probes[] = {
		{ "PKIOperation", "AAAA", "a GET PKIOperation whose message is not a pkiMessage" },
		{ "NoSuchOperation", NULL, "an unknown operation" },
	};
	struct scep_client_answer a;
	char err[512], text[80];
	size_t i;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (scep_client_get(c, probes[i].op, probes[i].message, &a, err, sizeof(err)) != 0) {
			fprintf(out, "  warn: %s: %s\n", probes[i].what, err);
			continue;
		}
		excerpt(a.body, a.len, text, sizeof(text));
		if (a.status != 400)
			fprintf(out, "  warn: %s is answered HTTP %ld (\"%s\"), not 400 (scep.md "
			    "§4.14)%s\n", probes[i].what, a.status, text, a.status >= 500 ?
			    ": certmonger retries HTTP 500 for ever, others show a server fault" : "");
		scep_client_answer_free(&a);
	}
}

/*
 * GET PKIOperation with each base64 variant of scep.md §1.2.1, as a
 * challenge-less PKCSReq (no one-time password is used up): any signed CertRep
 * means the server decoded it. A failing variant is a rejection when a family
 * uses it now (it would not POST), else a warning.
 */
static int probe_get_variants(const struct selftest_options *o, const struct row *rows,
    int only, FILE *out)
{
	static const struct {
		int encoding;
		const char *clients;
	} variants[] = {
		{ SCEP_GET_RFC, "RFC 8894 §4.1, certmonger, jscep < 2025" },
		{ SCEP_GET_LINES, "strongSwan, sscep, Cisco IOS" },
		{ SCEP_GET_RAW, "Apple, jscep 2025" },
		{ SCEP_GET_URLSAFE, "old micromdm scepclient" },
	};
	struct selftest_verdict v;
	size_t k;
	int i, used, bad = 0, ref = N_FAMILIES - 1;   /* certmonger: always GET, strongest caps */

	if (only >= 0)
		ref = only;
	if (rows[ref].pkiop.level == SELFTEST_SKIPPED || rows[ref].caps.v.level == SELFTEST_REJECT)
		return 0;
	for (k = 0; k < sizeof(variants) / sizeof(variants[0]); k++) {
		memset(&v, 0, sizeof(v));
		enroll(o, ref, &rows[ref], NULL, variants[k].encoding, &v);
		used = 0;
		for (i = 0; i < N_FAMILIES; i++)
			if ((only < 0 || i == only) && !rows[i].caps.post &&
			    families[i].get_encoding == variants[k].encoding &&
			    rows[i].pkiop.level != SELFTEST_SKIPPED)
				used = 1;
		if (v.level == SELFTEST_REJECT) {
			fprintf(out, "  %s: %s (%s) fails: %s\n", used ? "REJECT" : "warn",
			    encoding_name(variants[k].encoding), variants[k].clients, v.why);
			bad |= used;
		} else {
			fprintf(out, "  accept: %s (%s) decoded\n", encoding_name(variants[k].encoding),
			    variants[k].clients);
		}
	}
	return bad;
}

static int family_named(const char *name)
{
	int i;
	size_t n = strlen(name);

	for (i = 0; i < N_FAMILIES; i++)
		if (strncasecmp(families[i].name, name, n) == 0)
			return i;
	return -1;
}

static void algorithms(const struct family *f, const struct selftest_caps_view *cv,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s %s %s", OBJ_nid2sn(cv->cipher_nid), OBJ_nid2sn(cv->digest_nid),
	    cv->post ? "POST" : encoding_name(f->get_encoding));
}

int selftest_run(const struct selftest_options *o, FILE *out)
{
	struct scep_client_options co;
	struct scep_client *c = NULL;
	struct scep_client_answer a;
	struct row *rows = NULL;
	char err[512], alg[64];
	int i, only = -1, rc = 1, reject = 0;

	memset(&co, 0, sizeof(co));
	if (o->only != NULL && (only = family_named(o->only)) < 0) {
		fprintf(stderr, "scepctl: selftest: no client family named '%s'\n", o->only);
		return 2;
	}
	co.url = o->url;
	co.ca_bundle = o->ca_bundle;
	co.timeout = o->timeout;
	if ((c = scep_client_new(&co, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scepctl: selftest: %s\n", err);
		return 2;
	}
	rows = xcalloc((size_t)N_FAMILIES, sizeof(*rows));
	for (i = 0; i < N_FAMILIES; i++) {
		const char *challenge;

		if (only >= 0 && i != only)
			continue;
		/* each family asks with its own message= (scep.md §1.2.1) */
		if (scep_client_get(c, "GetCACaps", families[i].message, &a, err, sizeof(err)) != 0) {
			fprintf(stderr, "scepctl: selftest: %s\n", err);
			goto out;
		}
		selftest_judge_caps(i, &a, &rows[i].caps);
		scep_client_answer_free(&a);
		if (scep_client_get(c, "GetCACert", families[i].message, &a, err, sizeof(err)) != 0) {
			fprintf(stderr, "scepctl: selftest: %s\n", err);
			goto out;
		}
		selftest_judge_cacert(i, &a, &rows[i].cacert);
		scep_client_answer_free(&a);
		if (rows[i].caps.v.level == SELFTEST_REJECT || rows[i].cacert.level == SELFTEST_REJECT) {
			rows[i].pkiop.level = SELFTEST_SKIPPED;
			snprintf(rows[i].pkiop.why, sizeof(rows[i].pkiop.why), "not tried: it stops "
			    "before sending a request");
			continue;
		}
		challenge = o->n_challenges == 0 ? NULL : o->challenges[i < o->n_challenges ? i :
		    o->n_challenges - 1];
		enroll(o, i, &rows[i], challenge, -1, &rows[i].pkiop);
	}
	fprintf(out, "scepctl selftest %s%s\n", o->url, o->n_challenges ? "" :
	    " (no --challenge: PKIOperation checked with a request the server should refuse)");
	fprintf(out, "%-16s %-9s %-9s %-30s %-9s\n", "family", "GetCACaps", "GetCACert",
	    "would use", o->n_challenges ? "enroll" : "PKIOp");
	for (i = 0; i < N_FAMILIES; i++) {
		if (only >= 0 && i != only)
			continue;
		algorithms(&families[i], &rows[i].caps, alg, sizeof(alg));
		fprintf(out, "%-16s %-9s %-9s %-30s %-9s\n", families[i].name,
		    level_word(rows[i].caps.v.level), level_word(rows[i].cacert.level), alg,
		    level_word(rows[i].pkiop.level));
		if (rows[i].caps.v.level == SELFTEST_REJECT || rows[i].cacert.level == SELFTEST_REJECT ||
		    rows[i].pkiop.level == SELFTEST_REJECT)
			reject = 1;
	}
	fprintf(out, "why:\n");
	for (i = 0; i < N_FAMILIES; i++) {
		if (only >= 0 && i != only)
			continue;
		fprintf(out, "  %s: GetCACaps %s: %s\n", families[i].name,
		    level_word(rows[i].caps.v.level), rows[i].caps.v.why);
		fprintf(out, "  %s: GetCACert %s: %s\n", families[i].name,
		    level_word(rows[i].cacert.level), rows[i].cacert.why);
		fprintf(out, "  %s: PKIOperation %s: %s\n", families[i].name,
		    level_word(rows[i].pkiop.level), rows[i].pkiop.why);
	}
	fprintf(out, "server:\n");
	if (probe_get_variants(o, rows, only, out) != 0)
		reject = 1;
	probe_errors(c, out);
	fprintf(out, "result: %s\n", reject ? "at least one client family rejects this server" :
	    "every client family accepts this server");
	rc = reject ? 1 : 0;
out:
	free(rows);
	scep_client_free(c);
	return rc;
}

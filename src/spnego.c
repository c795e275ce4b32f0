/* SPDX-License-Identifier: ISC */
/*
 * spnego.c: a strict DER reader and writer for the SPNEGO tokens of HTTP
 * Negotiate (RFC 4178, RFC 4559) carrying NTLMSSP. The reader checks every
 * length against what encloses it, accepts definite lengths only, and ends
 * each structure exactly where its length says; results point into the
 * input. The writer builds a NegTokenResp. No state, no files, plain malloc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spnego.h"
#include "util.h"

/* 1.3.6.1.5.5.2 (SPNEGO) and 1.3.6.1.4.1.311.2.2.10 (NTLMSSP), as DER contents. */
static const unsigned char oid_spnego[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static const unsigned char oid_ntlm[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a
};
/* Kerberos V5: 1.2.840.113554.1.2.2 and Microsoft's 1.2.840.48018.1.2.2. */
static const unsigned char oid_krb5[] = {
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02
};
static const unsigned char oid_krb5_ms[] = {
	0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02
};

#define SPNEGO_MAX_MECHS 16

struct der {
	const unsigned char *p;
	size_t len;
};

/*
 * Reads one TLV from *in (single-byte tags only, definite lengths up to 4
 * bytes, minimal encoding). Advances *in past it. 0, or -1.
 */
static int der_read(struct der *in, unsigned char *tag, struct der *content)
{
	size_t i = 0, n, len = 0;

	if (in->len < 2)
		return -1;
	*tag = in->p[i++];
	if ((*tag & 0x1f) == 0x1f)
		return -1;
	n = in->p[i++];
	if (n & 0x80) {
		n &= 0x7f;
		if (n == 0 || n > 4 || n > in->len - i)
			return -1;
		if (in->p[i] == 0)
			return -1;        /* not minimal */
		while (n-- > 0)
			len = len << 8 | in->p[i++];
		if (len < 0x80)
			return -1;        /* not minimal */
	} else
		len = n;
	if (len > in->len - i)
		return -1;
	content->p = in->p + i;
	content->len = len;
	in->p += i + len;
	in->len -= i + len;
	return 0;
}

/* Reads a TLV that must have tag want. */
static int der_expect(struct der *in, unsigned char want, struct der *content)
{
	unsigned char tag;

	if (der_read(in, &tag, content) != 0 || tag != want)
		return -1;
	return 0;
}

static int is_ntlm_oid(const struct der *oid)
{
	return oid->len == sizeof(oid_ntlm) && memcmp(oid->p, oid_ntlm, sizeof(oid_ntlm)) == 0;
}

static int is_krb5_oid(const struct der *oid)
{
	return (oid->len == sizeof(oid_krb5) && memcmp(oid->p, oid_krb5, sizeof(oid_krb5)) == 0) ||
	    (oid->len == sizeof(oid_krb5_ms) &&
	    memcmp(oid->p, oid_krb5_ms, sizeof(oid_krb5_ms)) == 0);
}

int spnego_is_krb5(const unsigned char *in, size_t len)
{
	struct der all = { in, len }, body, oid;
	unsigned char tag;

	if (in == NULL || der_read(&all, &tag, &body) != 0 || all.len != 0 || tag != 0x60)
		return 0;
	return der_expect(&body, 0x06, &oid) == 0 && is_krb5_oid(&oid);
}

int spnego_is_spnego(const unsigned char *in, size_t len)
{
	return in != NULL && len >= 2 && (in[0] == 0x60 || in[0] == 0xa1);
}

static int parse_init(struct der *body, struct spnego_token *out, char *err, size_t errlen)
{
	struct der seq, item, mechs, oid, inner;
	unsigned char tag;
	int last = -1, n = 0;

	/* NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, ... } */
	if (der_expect(body, 0xa0, &inner) != 0 || body->len != 0 ||
	    der_expect(&inner, 0x30, &seq) != 0 || inner.len != 0) {
		errorf(err, errlen, "the SPNEGO token holds no NegTokenInit");
		return -1;
	}
	while (seq.len > 0) {
		if (der_read(&seq, &tag, &item) != 0 || tag < 0xa0 || tag > 0xa4 ||
		    (int)(tag - 0xa0) <= last) {
			errorf(err, errlen, "the NegTokenInit has a bad or repeated field");
			return -1;
		}
		last = tag - 0xa0;
		switch (tag) {
		case 0xa0:      /* mechTypes */
			if (der_expect(&item, 0x30, &mechs) != 0 || item.len != 0) {
				errorf(err, errlen, "the NegTokenInit mechTypes is not a SEQUENCE");
				return -1;
			}
			while (mechs.len > 0) {
				if (der_expect(&mechs, 0x06, &oid) != 0 || oid.len == 0 ||
				    ++n > SPNEGO_MAX_MECHS) {
					errorf(err, errlen, "the NegTokenInit mechTypes holds a bad OID");
					return -1;
				}
				if (is_ntlm_oid(&oid)) {
					out->ntlm_offered = 1;
					if (n == 1)
						out->ntlm_first = 1;
				}
				if (is_krb5_oid(&oid))
					out->krb5_offered = 1;
			}
			break;
		case 0xa2:      /* mechToken */
			if (der_expect(&item, 0x04, &oid) != 0 || item.len != 0) {
				errorf(err, errlen, "the NegTokenInit mechToken is not an OCTET STRING");
				return -1;
			}
			out->mech_token = oid.p;
			out->mech_token_len = oid.len;
			break;
		case 0xa3:      /* mechListMIC */
			out->has_mic = 1;
			break;
		default:        /* reqFlags [1], negHints [3] of NegTokenInit2: ignored */
			break;
		}
	}
	if (n == 0) {
		errorf(err, errlen, "the NegTokenInit lists no mechanism");
		return -1;
	}
	return 0;
}

static int parse_resp(struct der *body, struct spnego_token *out, char *err, size_t errlen)
{
	struct der seq, item, v;
	unsigned char tag;
	int last = -1;

	if (der_expect(body, 0x30, &seq) != 0 || body->len != 0) {
		errorf(err, errlen, "the NegTokenResp is not a SEQUENCE");
		return -1;
	}
	while (seq.len > 0) {
		if (der_read(&seq, &tag, &item) != 0 || tag < 0xa0 || tag > 0xa3 ||
		    (int)(tag - 0xa0) <= last) {
			errorf(err, errlen, "the NegTokenResp has a bad or repeated field");
			return -1;
		}
		last = tag - 0xa0;
		switch (tag) {
		case 0xa0:      /* negState ENUMERATED */
			if (der_expect(&item, 0x0a, &v) != 0 || item.len != 0 || v.len != 1 ||
			    v.p[0] > 3) {
				errorf(err, errlen, "the NegTokenResp negState is not valid");
				return -1;
			}
			out->neg_state = v.p[0];
			break;
		case 0xa1:      /* supportedMech */
			if (der_expect(&item, 0x06, &v) != 0 || item.len != 0 ||
			    (!is_ntlm_oid(&v) && !is_krb5_oid(&v))) {
				errorf(err, errlen, "the NegTokenResp names a mechanism other than "
				    "NTLM or Kerberos");
				return -1;
			}
			break;
		case 0xa2:      /* responseToken */
			if (der_expect(&item, 0x04, &v) != 0 || item.len != 0) {
				errorf(err, errlen, "the NegTokenResp responseToken is not an OCTET STRING");
				return -1;
			}
			out->mech_token = v.p;
			out->mech_token_len = v.len;
			break;
		default:        /* mechListMIC */
			out->has_mic = 1;
			break;
		}
	}
	return 0;
}

int spnego_parse(const unsigned char *in, size_t len, struct spnego_token *out,
    char *err, size_t errlen)
{
	struct der all = { in, len }, body, oid;
	unsigned char tag;

	memset(out, 0, sizeof(*out));
	out->neg_state = -1;
	if (in == NULL || der_read(&all, &tag, &body) != 0 || all.len != 0) {
		errorf(err, errlen, "the Negotiate token is not one DER value of its exact length");
		return -1;
	}
	if (tag == 0x60) {
		/* InitialContextToken ::= [APPLICATION 0] { thisMech OID, innerToken } */
		if (der_expect(&body, 0x06, &oid) != 0 || oid.len != sizeof(oid_spnego) ||
		    memcmp(oid.p, oid_spnego, sizeof(oid_spnego)) != 0) {
			errorf(err, errlen, "the GSS-API token is not SPNEGO");
			return -1;
		}
		out->kind = SPNEGO_INIT;
		return parse_init(&body, out, err, errlen);
	}
	if (tag == 0xa1) {
		out->kind = SPNEGO_RESP;
		return parse_resp(&body, out, err, errlen);
	}
	errorf(err, errlen, "the Negotiate token is neither a NegTokenInit nor a NegTokenResp");
	return -1;
}

/* DER length octets of n into p (NULL: only count). Returns how many. */
static size_t der_len_octets(size_t n, unsigned char *p)
{
	size_t k = 0, i;

	if (n < 0x80) {
		if (p != NULL)
			p[0] = (unsigned char)n;
		return 1;
	}
	for (i = n; i > 0; i >>= 8)
		k++;
	if (p != NULL) {
		p[0] = (unsigned char)(0x80 | k);
		for (i = 0; i < k; i++)
			p[1 + i] = (unsigned char)(n >> (8 * (k - 1 - i)));
	}
	return 1 + k;
}

/* Total size of a TLV with content length n. */
static size_t der_size(size_t n)
{
	return 1 + der_len_octets(n, NULL) + n;
}

/* Writes tag and length at p; returns the header size. */
static size_t der_header(unsigned char *p, unsigned char tag, size_t n)
{
	p[0] = tag;
	return 1 + der_len_octets(n, p + 1);
}

unsigned char *spnego_build_resp(int neg_state, int with_mech, const unsigned char *tok,
    size_t tok_len, size_t *len)
{
	size_t state_sz, mech_sz = 0, tok_sz = 0, seq_len, total, o = 0;
	unsigned char *out;

	*len = 0;
	if (neg_state < 0 || neg_state > 3 || tok_len > 0xffffff)
		return NULL;
	state_sz = der_size(der_size(1));
	if (with_mech)
		mech_sz = der_size(der_size(sizeof(oid_ntlm)));
	if (tok != NULL)
		tok_sz = der_size(der_size(tok_len));
	seq_len = state_sz + mech_sz + tok_sz;
	total = der_size(der_size(seq_len));
	if ((out = malloc(total)) == NULL)
		return NULL;
	o += der_header(out + o, 0xa1, der_size(seq_len));
	o += der_header(out + o, 0x30, seq_len);
	o += der_header(out + o, 0xa0, der_size(1));
	o += der_header(out + o, 0x0a, 1);
	out[o++] = (unsigned char)neg_state;
	if (with_mech) {
		o += der_header(out + o, 0xa1, der_size(sizeof(oid_ntlm)));
		o += der_header(out + o, 0x06, sizeof(oid_ntlm));
		memcpy(out + o, oid_ntlm, sizeof(oid_ntlm));
		o += sizeof(oid_ntlm);
	}
	if (tok != NULL) {
		o += der_header(out + o, 0xa2, der_size(tok_len));
		o += der_header(out + o, 0x04, tok_len);
		if (tok_len > 0)
			memcpy(out + o, tok, tok_len);
		o += tok_len;
	}
	*len = o;
	return out;
}

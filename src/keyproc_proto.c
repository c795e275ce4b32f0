/* SPDX-License-Identifier: ISC */
/*
 * keyproc_proto.c: the codec of the signer process's messages (keyproc_proto.h).
 * It owns the framing and the per-type schemas, nothing else: no keys, no
 * sockets, no OpenSSL. keyproc_msg_parse is a pure function of (bytes, length).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keyproc_proto.h"
#include "util.h"

#define REQ  1   /* required */
#define OPT  0
#define ONCE 1
#define MANY KEYPROC_MAX_REPEAT

struct rule {
	uint16_t tag;
	uint8_t required;
	uint32_t min, max;        /* value length */
	uint32_t repeat;          /* how many times it may appear */
};

#define IDENTITY \
	{ KP_T_CA_CERT, REQ, 1, KEYPROC_MAX_PATH, ONCE }, \
	{ KP_T_CA_KEY, OPT, 1, KEYPROC_MAX_PATH, ONCE }, \
	{ KP_T_RA_SIGN_CERT, OPT, 1, KEYPROC_MAX_PATH, ONCE }, \
	{ KP_T_RA_SIGN_KEY, OPT, 1, KEYPROC_MAX_PATH, ONCE }, \
	{ KP_T_RA_ENC_CERT, OPT, 1, KEYPROC_MAX_PATH, ONCE }, \
	{ KP_T_RA_ENC_KEY, OPT, 1, KEYPROC_MAX_PATH, ONCE }, \
	{ KP_T_FLAGS, REQ, 4, 4, ONCE }, \
	{ KP_T_CERTS_DIGEST, REQ, 32, 32, ONCE }

static const struct rule open_rules[] = { IDENTITY, { 0 } };
static const struct rule decrypt_rules[] = {
	IDENTITY,
	{ KP_T_ENVELOPE, REQ, 1, KEYPROC_MAX_MSG, ONCE },
	{ 0 } };
static const struct rule issue_rules[] = {
	IDENTITY,
	{ KP_T_SUBJECT, REQ, 2, 65536, ONCE },
	{ KP_T_SPKI, REQ, 2, 65536, ONCE },
	{ KP_T_SAN, OPT, 2, 65536, ONCE },
	{ KP_T_KEY_USAGE, REQ, 4, 4, ONCE },
	{ KP_T_EKU, OPT, 3, 128, 64 },
	{ KP_T_VALIDITY_DAYS, REQ, 4, 4, ONCE },
	{ KP_T_NOW, REQ, 8, 8, ONCE },
	{ KP_T_CRL_URL, OPT, 1, 2048, ONCE },
	{ KP_T_NOT_BEFORE, OPT, 8, 8, ONCE },
	{ KP_T_NOT_AFTER, OPT, 8, 8, ONCE },
	{ 0 } };
static const struct rule sign_message_rules[] = {
	IDENTITY,
	{ KP_T_DIGEST_NID, REQ, 4, 4, ONCE },
	{ KP_T_ECONTENT, OPT, 0, KEYPROC_MAX_MSG, ONCE },   /* empty: eContent "" */
	{ KP_T_ATTR, OPT, 3, 4096, 16 },
	{ 0 } };
static const struct rule sign_nextca_rules[] = {
	IDENTITY,
	{ KP_T_CONTENT, REQ, 1, 256 * 1024, ONCE },
	{ 0 } };
static const struct rule sign_crl_rules[] = {
	IDENTITY,
	{ KP_T_CRL_NUMBER, REQ, 8, 8, ONCE },
	{ KP_T_THIS_UPDATE, REQ, 8, 8, ONCE },
	{ KP_T_NEXT_UPDATE, REQ, 8, 8, ONCE },
	{ KP_T_CRL_ENTRY, OPT, 13, 12 + 64, MANY },
	{ 0 } };
static const struct rule reload_rules[] = { { 0 } };
static const struct rule reply_rules[] = {
	{ KP_T_RESULT, REQ, 4, 4, ONCE },
	{ KP_T_BLOB, OPT, 1, KEYPROC_MAX_MSG, ONCE },
	{ KP_T_MATCHED, OPT, 4, 4, ONCE },
	{ KP_T_ERROR, OPT, 1, 1024, ONCE },
	{ 0 } };

static const struct {
	uint16_t type;
	const char *name;
	const struct rule *rules;
} types[] = {
	{ KEYPROC_OPEN, "open", open_rules },
	{ KEYPROC_DECRYPT, "decrypt", decrypt_rules },
	{ KEYPROC_ISSUE, "issue", issue_rules },
	{ KEYPROC_SIGN_MESSAGE, "sign-message", sign_message_rules },
	{ KEYPROC_SIGN_NEXTCA, "sign-nextca", sign_nextca_rules },
	{ KEYPROC_SIGN_CRL, "sign-crl", sign_crl_rules },
	{ KEYPROC_RELOAD, "reload", reload_rules },
	{ KEYPROC_REPLY, "reply", reply_rules },
};

uint32_t keyproc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void keyproc_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static const struct rule *rules_of(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].rules;
	return NULL;
}

const char *keyproc_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return "unknown";
}

static const struct rule *rule_of(const struct rule *rules, uint16_t tag)
{
	for (; rules->tag != 0; rules++)
		if (rules->tag == tag)
			return rules;
	return NULL;
}

int keyproc_msg_parse(const uint8_t *buf, size_t len, struct keyproc_msg *m, char *err,
    size_t errlen)
{
	const struct rule *rules, *r;
	size_t off;
	uint32_t vlen;
	uint16_t tag;

	memset(m, 0, sizeof(*m));
	if (buf == NULL || len < KEYPROC_HEADER) {
		errorf(err, errlen, "message shorter than its %d-byte header", KEYPROC_HEADER);
		return -1;
	}
	if (len > KEYPROC_MAX_MSG) {
		errorf(err, errlen, "message of %zu bytes is over the %d-byte limit", len,
		    KEYPROC_MAX_MSG);
		return -1;
	}
	if (get16(buf) != KEYPROC_VERSION) {
		errorf(err, errlen, "message version %u is not %d", get16(buf), KEYPROC_VERSION);
		return -1;
	}
	m->type = get16(buf + 2);
	m->seq = keyproc_get32(buf + 4);
	if ((rules = rules_of(m->type)) == NULL) {
		errorf(err, errlen, "unknown message type %u", m->type);
		return -1;
	}
	if (keyproc_get32(buf + 8) != len - KEYPROC_HEADER) {
		errorf(err, errlen, "%s: body length %u does not match the %zu bytes received",
		    keyproc_type_name(m->type), keyproc_get32(buf + 8), len - KEYPROC_HEADER);
		return -1;
	}
	m->body = buf + KEYPROC_HEADER;
	m->body_len = len - KEYPROC_HEADER;
	for (off = 0; off < m->body_len; off += 6 + vlen) {
		if (m->body_len - off < 6) {
			errorf(err, errlen, "%s: truncated field header at offset %zu",
			    keyproc_type_name(m->type), off);
			return -1;
		}
		tag = get16(m->body + off);
		vlen = keyproc_get32(m->body + off + 2);
		if (vlen > m->body_len - off - 6) {
			errorf(err, errlen, "%s: field %u is truncated", keyproc_type_name(m->type), tag);
			return -1;
		}
		if (tag == 0 || tag >= KP_T_MAX || (r = rule_of(rules, tag)) == NULL) {
			errorf(err, errlen, "%s: field %u does not belong in this message",
			    keyproc_type_name(m->type), tag);
			return -1;
		}
		if (vlen < r->min || vlen > r->max) {
			errorf(err, errlen, "%s: field %u has %u bytes (allowed %u..%u)",
			    keyproc_type_name(m->type), tag, vlen, r->min, r->max);
			return -1;
		}
		if (m->f[tag].count >= r->repeat) {
			errorf(err, errlen, "%s: field %u appears more than %u time(s)",
			    keyproc_type_name(m->type), tag, r->repeat);
			return -1;
		}
		if (m->f[tag].count++ == 0) {
			m->f[tag].p = m->body + off + 6;
			m->f[tag].len = vlen;
		}
	}
	for (r = rules; r->tag != 0; r++) {
		if (r->required && m->f[r->tag].count == 0) {
			errorf(err, errlen, "%s: required field %u is missing",
			    keyproc_type_name(m->type), r->tag);
			return -1;
		}
	}
	return 0;
}

int keyproc_msg_next(const struct keyproc_msg *m, uint16_t tag, size_t *pos,
    const uint8_t **val, uint32_t *len)
{
	uint32_t vlen;

	/* the body was checked by keyproc_msg_parse: every field header is whole */
	while (*pos + 6 <= m->body_len) {
		vlen = keyproc_get32(m->body + *pos + 2);
		if (get16(m->body + *pos) == tag) {
			*val = m->body + *pos + 6;
			*len = vlen;
			*pos += 6 + vlen;
			return 1;
		}
		*pos += 6 + vlen;
	}
	return 0;
}

int keyproc_msg_u32(const struct keyproc_msg *m, uint16_t tag, uint32_t *v)
{
	if (tag >= KP_T_MAX || m->f[tag].p == NULL || m->f[tag].len != 4)
		return -1;
	*v = keyproc_get32(m->f[tag].p);
	return 0;
}

int keyproc_msg_i64(const struct keyproc_msg *m, uint16_t tag, int64_t *v)
{
	if (tag >= KP_T_MAX || m->f[tag].p == NULL || m->f[tag].len != 8)
		return -1;
	*v = (int64_t)((uint64_t)keyproc_get32(m->f[tag].p) << 32 |
	    keyproc_get32(m->f[tag].p + 4));
	return 0;
}

char *keyproc_msg_str(const struct keyproc_msg *m, uint16_t tag)
{
	char *s;

	if (tag >= KP_T_MAX || m->f[tag].p == NULL)
		return NULL;
	s = xmalloc((size_t)m->f[tag].len + 1);
	memcpy(s, m->f[tag].p, m->f[tag].len);
	s[m->f[tag].len] = '\0';
	return s;
}

static void reserve(struct keyproc_buf *b, size_t more)
{
	size_t cap;

	if (b->overflow || b->len + more > KEYPROC_MAX_MSG) {
		b->overflow = 1;
		return;
	}
	if (b->len + more <= b->cap)
		return;
	cap = b->cap == 0 ? 4096 : b->cap;
	while (cap < b->len + more)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void keyproc_buf_start(struct keyproc_buf *b, uint16_t type, uint32_t seq)
{
	memset(b, 0, sizeof(*b));
	reserve(b, KEYPROC_HEADER);
	b->p[0] = 0;
	b->p[1] = KEYPROC_VERSION;
	b->p[2] = (uint8_t)(type >> 8);
	b->p[3] = (uint8_t)type;
	keyproc_put32(b->p + 4, seq);
	keyproc_put32(b->p + 8, 0);
	b->len = KEYPROC_HEADER;
}

void keyproc_buf_add(struct keyproc_buf *b, uint16_t tag, const void *val, size_t len)
{
	if (len > KEYPROC_MAX_MSG) {
		b->overflow = 1;
		return;
	}
	reserve(b, 6 + len);
	if (b->overflow)
		return;
	b->p[b->len] = (uint8_t)(tag >> 8);
	b->p[b->len + 1] = (uint8_t)tag;
	keyproc_put32(b->p + b->len + 2, (uint32_t)len);
	if (len > 0)
		memcpy(b->p + b->len + 6, val, len);
	b->len += 6 + len;
}

void keyproc_buf_u32(struct keyproc_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t x[4];

	keyproc_put32(x, v);
	keyproc_buf_add(b, tag, x, sizeof(x));
}

void keyproc_buf_i64(struct keyproc_buf *b, uint16_t tag, int64_t v)
{
	uint8_t x[8];

	keyproc_put32(x, (uint32_t)((uint64_t)v >> 32));
	keyproc_put32(x + 4, (uint32_t)v);
	keyproc_buf_add(b, tag, x, sizeof(x));
}

void keyproc_buf_str(struct keyproc_buf *b, uint16_t tag, const char *s)
{
	if (s != NULL)
		keyproc_buf_add(b, tag, s, strlen(s));
}

int keyproc_buf_finish(struct keyproc_buf *b)
{
	if (b->overflow || b->p == NULL)
		return -1;
	keyproc_put32(b->p + 8, (uint32_t)(b->len - KEYPROC_HEADER));
	return 0;
}

void keyproc_buf_free(struct keyproc_buf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

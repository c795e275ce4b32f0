/* SPDX-License-Identifier: ISC */
/*
 * profile.c: builds the SCEP endpoints (profiles) and CA generations from
 * the configuration at start-up: loads the signers (the default RA, each
 * profile's own RA, the rollover CA and its RA), resolves each profile's
 * templates, turns its algorithm lists into bit masks, and builds the cached
 * GetCACaps, GetCACert and GetNextCACert bodies for both generations. After
 * profiles_new() returns nothing here changes; request threads only read.
 * Renewal and GetNextCACert are announced from this state, never typed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "certrep.h"
#include "config.h"
#include "pemfile.h"
#include "policy.h"
#include "profile.h"
#include "signer.h"
#include "util.h"
#include "x509util.h"

#define CT_CA "application/x-x509-ca-cert"
#define CT_CA_RA "application/x-x509-ca-ra-cert"

/* The built-in paths of the default profile; ndes marks the NDES ones. */
static const struct {
	const char *path;
	int ndes;
} builtin[] = {
	{ "/certsrv/mscep/mscep.dll", 1 },
	{ "/certsrv/mscep", 1 },
	{ "/cgi-bin/pkiclient.exe", 0 },
	{ "/scep", 0 },
};

static unsigned word_mask(char *const *list, size_t n, const char *const *names,
    const unsigned *bits, size_t n_names)
{
	unsigned mask = 0;
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n_names; j++)
			if (strcmp(list[i], names[j]) == 0)
				mask |= bits[j];
	return mask;
}

static unsigned digest_mask(char *const *list, size_t n)
{
	static const char *const names[] = {
		"MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"
	};
	static const unsigned bits[] = {
		PROFILE_MD_MD5, PROFILE_MD_SHA1, PROFILE_MD_SHA224, PROFILE_MD_SHA256,
		PROFILE_MD_SHA384, PROFILE_MD_SHA512
	};

	return word_mask(list, n, names, bits, 6);
}

static unsigned cipher_mask(char *const *list, size_t n)
{
	static const char *const names[] = { "DES", "DES3", "AES-128", "AES-192", "AES-256" };
	static const unsigned bits[] = {
		PROFILE_CIPHER_DES, PROFILE_CIPHER_DES3, PROFILE_CIPHER_AES128,
		PROFILE_CIPHER_AES192, PROFILE_CIPHER_AES256
	};

	return word_mask(list, n, names, bits, 5);
}

static unsigned transport_mask(char *const *list, size_t n)
{
	static const char *const names[] = { "rsaEncryption", "RSAES-OAEP" };
	static const unsigned bits[] = { PROFILE_KT_RSA, PROFILE_KT_OAEP };

	return word_mask(list, n, names, bits, 2);
}

/*
 * 1 when the endpoint accepts what keyword announces: an algorithm keyword
 * for an algorithm outside its allow-lists is left out of GetCACaps (AES is
 * AES-128-CBC; SCEPStandard needs AES-128 and SHA-256, RFC 8894 §3.5.2).
 */
static int keyword_allowed(const struct profile *p, const char *kw)
{
	static const struct {
		const char *kw;
		unsigned digests, ciphers;
	} need[] = {
		{ "SHA-1", PROFILE_MD_SHA1, 0 }, { "SHA-224", PROFILE_MD_SHA224, 0 },
		{ "SHA-256", PROFILE_MD_SHA256, 0 }, { "SHA-384", PROFILE_MD_SHA384, 0 },
		{ "SHA-512", PROFILE_MD_SHA512, 0 }, { "AES", 0, PROFILE_CIPHER_AES128 },
		{ "DES3", 0, PROFILE_CIPHER_DES3 },
		{ "SCEPStandard", PROFILE_MD_SHA256, PROFILE_CIPHER_AES128 },
	};
	size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (strcmp(kw, need[i].kw) == 0)
			return (p->digests & need[i].digests) == need[i].digests &&
			    (p->ciphers & need[i].ciphers) == need[i].ciphers;
	return 1;
}

/* The GetCACaps body: the configured keywords, then what scepd's state announces. */
static void build_caps(struct profile *p, char *const *caps, size_t n, int next_ca, size_t g)
{
	size_t i, len = 0;
	char *out;

	for (i = 0; i < n; i++)
		len += strlen(caps[i]) + 2;
	len += sizeof("Renewal\r\nGetNextCACert\r\n");
	p->caps[g] = out = xmalloc(len);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!keyword_allowed(p, caps[i]))
			continue;
		strcat(out, caps[i]);
		strcat(out, "\r\n");
	}
	if (p->renewal)
		strcat(out, "Renewal\r\n");
	if (next_ca)
		strcat(out, "GetNextCACert\r\n");
	p->caps_len[g] = strlen(out);
}

/*
 * RA signing, RA encryption (unless the same) of s, then ca, then its issuers
 * up to the root: NDES order (ndes.md 3.3, scep.md 1.3.2).
 */
static STACK_OF(X509) *ca_ra_certs(const struct signer *s, X509 *ca, STACK_OF(X509) *issuers)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *sign = signer_ra_sign_cert(s), *enc = signer_ra_enc_cert(s);
	int i;

	if (certs == NULL)
		return NULL;
	if ((signer_has_ra(s) && (!sk_X509_push(certs, sign) ||
	    (X509_cmp(sign, enc) != 0 && !sk_X509_push(certs, enc)))) ||
	    !sk_X509_push(certs, ca)) {
		sk_X509_free(certs);
		return NULL;
	}
	for (i = 0; i < sk_X509_num(issuers); i++) {
		if (!sk_X509_push(certs, sk_X509_value(issuers, i))) {
			sk_X509_free(certs);
			return NULL;
		}
	}
	return certs;
}

/*
 * The GetCACert body of p under generation g, whose CA is ca with issuers
 * above it: the bare CA certificate only without RA and issuers.
 */
static int build_cacert(struct profile *p, size_t g, X509 *ca, STACK_OF(X509) *issuers,
    char *err, size_t errlen)
{
	const struct signer *s = p->signer[g];
	STACK_OF(X509) *certs = NULL;
	unsigned char *der = NULL;
	int n, rc = -1;

	if (!signer_has_ra(s) && sk_X509_num(issuers) <= 0) {
		if ((n = i2d_X509(ca, &der)) <= 0) {
			snprintf(err, errlen, "cannot encode the CA certificate");
			goto out;
		}
		p->cacert[g] = xmalloc((size_t)n);
		memcpy(p->cacert[g], der, (size_t)n);
		p->cacert_len[g] = (size_t)n;
		p->cacert_type[g] = CT_CA;
		rc = 0;
		goto out;
	}
	if ((certs = ca_ra_certs(s, ca, issuers)) == NULL ||
	    (p->cacert[g] = certrep_degenerate(certs, &p->cacert_len[g])) == NULL) {
		snprintf(err, errlen, "cannot build the GetCACert response");
		goto out;
	}
	p->cacert_type[g] = CT_CA_RA;
	rc = 0;
out:
	OPENSSL_free(der);
	sk_X509_free(certs);
	return rc;
}

/* "/crl/ca.crl" -> "/crl/ca-next.crl": the rollover CA's CRL sits beside the first. */
static char *next_name(const char *s)
{
	const char *slash = strrchr(s, '/'), *dot = strrchr(s, '.');
	size_t at;
	char *out;

	if (dot == NULL || (slash != NULL && dot < slash) || dot == (slash ? slash + 1 : s))
		at = strlen(s);
	else
		at = (size_t)(dot - s);
	out = xmalloc(strlen(s) + sizeof("-next"));
	memcpy(out, s, at);
	memcpy(out + at, "-next", 5);
	strcpy(out + at + 5, s + at);
	return out;
}

/*
 * The certificates after the CA's own in its file (ca.cert, ca.next_cert):
 * its issuers up to the root, which GetCACert sends after it.
 */
static int load_issuers(struct profile_gen *gen, const char *path, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL;
	X509 *first = NULL;
	int rc = -1;

	if ((certs = pemfile_ca_chain(path, err, errlen)) == NULL)
		goto out;
	first = sk_X509_shift(certs);
	if (X509_cmp(first, signer_ca_cert(gen->signer)) != 0) {
		snprintf(err, errlen, "%s: the first certificate is not the CA's (the file "
		    "changed while it was read?)", path);
		goto out;
	}
	gen->issuers = certs;
	certs = NULL;
	rc = 0;
out:
	X509_free(first);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

static int load_gens(struct profiles *ps, const struct config *cfg, char *err, size_t errlen)
{
	struct signer_files f;
	char why[400];

	if ((ps->gen[0].signer = signer_load(cfg, err, errlen)) == NULL)
		return -1;
	ps->n_gen = 1;
	ps->gen[0].legacy = 1;
	if (cfg->next_ca_cert != NULL && access(cfg->next_ca_cert, F_OK) == 0) {
		memset(&f, 0, sizeof(f));
		f.ca_cert = cfg->next_ca_cert;
		f.ca_key = cfg->next_ca_key;
		if (cfg->ra_sign_cert != NULL) {
			f.ra_sign_cert = cfg->next_ra_sign_cert;
			f.ra_sign_key = cfg->next_ra_sign_key;
			f.ra_enc_cert = cfg->next_ra_enc_cert;
			f.ra_enc_key = cfg->next_ra_enc_key;
		}
		if ((ps->gen[1].signer = signer_load_files(&f, cfg->allow_des, why,
		    sizeof(why))) == NULL) {
			snprintf(err, errlen, "rollover CA (ca.next_cert): %s", why);
			return -1;
		}
		ps->n_gen = 2;
		if (x509util_time_seconds(X509_get0_notBefore(signer_ca_cert(ps->gen[1].signer)),
		    &ps->gen[1].starts) != 0 || ps->gen[1].starts < 0) {
			snprintf(err, errlen, "%s: unreadable notBefore", cfg->next_ca_cert);
			return -1;
		}
	}
	for (size_t g = 0; g < ps->n_gen; g++) {
		if (load_issuers(&ps->gen[g], g == 0 ? cfg->ca_cert : cfg->next_ca_cert, err,
		    errlen) == -1)
			return -1;
		if (signer_key_id(signer_ca_cert(ps->gen[g].signer), ps->gen[g].key_id) == -1) {
			snprintf(err, errlen, "the CA certificate has no usable public key");
			return -1;
		}
		if (cfg->crl_path != NULL && cfg->crl_path[0] != '\0')
			ps->gen[g].crl_path = g == 0 ? xstrdup(cfg->crl_path) : next_name(cfg->crl_path);
		if (cfg->crl_url != NULL && cfg->crl_url[0] != '\0')
			ps->gen[g].crl_url = g == 0 ? xstrdup(cfg->crl_url) : next_name(cfg->crl_url);
	}
	if (ps->n_gen == 2 && strcmp(ps->gen[0].key_id, ps->gen[1].key_id) == 0) {
		snprintf(err, errlen, "%s has the key of %s: a rollover CA needs a new key",
		    cfg->next_ca_cert, cfg->ca_cert);
		return -1;
	}
	return 0;
}

/* What one profile needs, from its settings (the default one's from the top level). */
struct profile_settings {
	const char *name, *path;
	struct challenge_mode challenge;
	const char *tmpl[3];
	int approval, renewal, renewal_challenge;
	unsigned digests, ciphers, transports;
	char *const *caps;
	size_t n_caps;
	const char *ra[4];        /* own RA: sign cert, sign key, enc cert, enc key; or NULLs */
	const char *backend;      /* name of the backend that issues */
};

static int build_profile(struct profiles *ps, struct profile *p, const struct profile_settings *in,
    const struct config *cfg, const struct policy *policy, char *err, size_t errlen)
{
	struct signer_files f;
	size_t g, i;
	char why[400];
	X509 *ca;

	p->name = xstrdup(in->name);
	p->backend = xstrdup(in->backend != NULL ? in->backend : "default");
	p->path = in->path != NULL ? xstrdup(in->path) : NULL;
	p->challenge = in->challenge;
	for (i = 0; i < 3; i++) {
		if ((p->tmpl[i] = policy_template_find(policy, in->tmpl[i])) == NULL) {
			snprintf(err, errlen, "profile %s: no template named %s", in->name, in->tmpl[i]);
			return -1;
		}
	}
	p->approval = in->approval;
	p->renewal = in->renewal;
	p->renewal_challenge = in->renewal_challenge;
	p->digests = in->digests;
	p->ciphers = in->ciphers;
	p->transports = in->transports;
	if (in->ra[0] != NULL) {
		/*
		 * A profile's own RA serves under each CA generation: after a
		 * switch-over the rollover CA issues, the profile's RA still signs
		 * and decrypts (as an NDES instance keeps its RA certificates).
		 */
		memset(&f, 0, sizeof(f));
		f.ca_cert = cfg->ca_cert;
		f.ca_key = cfg->ca_key;
		f.ra_sign_cert = in->ra[0];
		f.ra_sign_key = in->ra[1];
		f.ra_enc_cert = in->ra[2];
		f.ra_enc_key = in->ra[3];
		f.forward = !config_needs_ca_key(cfg);
		if ((p->signer[0] = signer_load_files(&f, cfg->allow_des, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "profile %s: %s", in->name, why);
			return -1;
		}
		p->own_signer = 1;
		/* Issuing is the generation's (scep.c); the RA operations stay this one's. */
		p->signer[1] = ps->n_gen == 2 ? p->signer[0] : NULL;
	} else {
		p->signer[0] = ps->gen[0].signer;
		/* After a switch-over such a profile uses the rollover CA's RA. */
		p->signer[1] = ps->n_gen == 2 ? ps->gen[1].signer : NULL;
	}
	for (g = 0; g < ps->n_gen; g++) {
		build_caps(p, in->caps, in->n_caps, ps->n_gen == 2 && g == 0, g);
		/* the generation's CA: a profile's own RA serves under both */
		ca = signer_ca_cert(ps->gen[g].signer);
		if (build_cacert(p, g, ca, ps->gen[g].issuers, err, errlen) == -1)
			return -1;
		if ((p->certrep_extra[g] = sk_X509_new_null()) == NULL ||
		    (cfg->include_ca_in_certrep && !sk_X509_push(p->certrep_extra[g], ca))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* The GetNextCACert body: the rollover CA (and RA) signed by the current CA. */
static int build_next_ca(struct profiles *ps, char *err, size_t errlen)
{
	STACK_OF(X509) *certs = NULL;
	unsigned char *inner = NULL;
	size_t inner_len = 0;
	int rc = -1;

	if ((certs = ca_ra_certs(ps->gen[1].signer, signer_ca_cert(ps->gen[1].signer),
	    ps->gen[1].issuers)) == NULL ||
	    (inner = certrep_degenerate(certs, &inner_len)) == NULL) {
		snprintf(err, errlen, "cannot build the GetNextCACert content");
		goto out;
	}
	if ((ps->next_ca = signer_sign_as_ca(ps->gen[0].signer, inner, inner_len,
	    &ps->next_ca_len, err, errlen)) == NULL)
		goto out;
	rc = 0;
out:
	free(inner);
	sk_X509_free(certs);
	return rc;
}

struct profiles *profiles_new(const struct config *cfg, const struct policy *policy,
    char *err, size_t errlen)
{
	struct profiles *ps = xcalloc(1, sizeof(*ps)), *result = NULL;
	struct profile_settings in;
	const struct config_profile *cp;
	size_t i;

	if (load_gens(ps, cfg, err, errlen) == -1)
		goto out;
	ps->p = xcalloc(cfg->n_profiles + 1, sizeof(*ps->p));

	memset(&in, 0, sizeof(in));
	in.name = "default";
	in.backend = "default";
	in.challenge.enforce_password = cfg->enforce_password;
	in.challenge.use_single_password = cfg->use_single_password;
	in.challenge.single_password = cfg->single_password;
	in.tmpl[0] = cfg->signature_template;
	in.tmpl[1] = cfg->encryption_template;
	in.tmpl[2] = cfg->general_purpose_template;
	in.renewal = cfg->renewal_enabled;
	in.renewal_challenge = cfg->renewal_require_challenge;
	in.digests = PROFILE_MD_SHA224 | PROFILE_MD_SHA256 | PROFILE_MD_SHA384 | PROFILE_MD_SHA512 |
	    (cfg->allow_sha1 ? PROFILE_MD_SHA1 : 0) | (cfg->allow_md5 ? PROFILE_MD_MD5 : 0);
	in.ciphers = PROFILE_CIPHER_DES3 | PROFILE_CIPHER_AES128 | PROFILE_CIPHER_AES192 |
	    PROFILE_CIPHER_AES256 | (cfg->allow_des ? PROFILE_CIPHER_DES : 0);
	in.transports = PROFILE_KT_RSA | PROFILE_KT_OAEP;
	in.caps = cfg->caps;
	in.n_caps = cfg->n_caps;
	ps->n = 1;
	if (build_profile(ps, &ps->p[0], &in, cfg, policy, err, errlen) == -1)
		goto out;
	for (i = 0; i < cfg->n_profiles; i++) {
		cp = &cfg->profiles[i];
		memset(&in, 0, sizeof(in));
		in.name = cp->name;
		in.path = cp->path;
		in.challenge.enforce_password = cp->enforce_password;
		in.challenge.use_single_password = cp->use_single_password;
		in.challenge.single_password = cp->single_password;
		in.tmpl[0] = cp->signature_template;
		in.tmpl[1] = cp->encryption_template;
		in.tmpl[2] = cp->general_purpose_template;
		in.approval = cp->approval;
		in.renewal = cp->renewal;
		in.renewal_challenge = cp->renewal_challenge;
		in.digests = digest_mask(cp->digests, cp->n_digests);
		in.ciphers = cipher_mask(cp->ciphers, cp->n_ciphers);
		in.transports = transport_mask(cp->key_transport, cp->n_key_transport);
		in.caps = cp->caps;
		in.n_caps = cp->n_caps;
		in.ra[0] = cp->ra_sign_cert;
		in.ra[1] = cp->ra_sign_key;
		in.ra[2] = cp->ra_enc_cert;
		in.ra[3] = cp->ra_enc_key;
		in.backend = cp->backend;
		ps->n++;
		if (build_profile(ps, &ps->p[i + 1], &in, cfg, policy, err, errlen) == -1)
			goto out;
	}
	if (ps->n_gen == 2 && build_next_ca(ps, err, errlen) == -1)
		goto out;
	result = ps;
	ps = NULL;
out:
	profiles_free(ps);
	return result;
}

void profiles_free(struct profiles *ps)
{
	size_t i, g;

	if (ps == NULL)
		return;
	for (i = 0; i < ps->n; i++) {
		for (g = 0; g < 2; g++) {
			free(ps->p[i].caps[g]);
			free(ps->p[i].cacert[g]);
			sk_X509_free(ps->p[i].certrep_extra[g]);
		}
		if (ps->p[i].own_signer)
			signer_free(ps->p[i].signer[0]);
		free(ps->p[i].name);
		free(ps->p[i].path);
		free(ps->p[i].backend);
	}
	free(ps->p);
	for (g = 0; g < 2; g++) {
		signer_free(ps->gen[g].signer);
		free(ps->gen[g].crl_path);
		free(ps->gen[g].crl_url);
		sk_X509_pop_free(ps->gen[g].issuers, X509_free);
	}
	free(ps->next_ca);
	free(ps);
}

size_t profiles_current(const struct profiles *ps, int64_t now)
{
	return ps->n_gen == 2 && now >= ps->gen[1].starts ? 1 : 0;
}

/* 1 when path is base, base + "/" or base + "/pkiclient.exe" (case-insensitive). */
static int path_is(const char *path, const char *base)
{
	size_t n = strlen(base);

	if (strncasecmp(path, base, n) != 0)
		return 0;
	return path[n] == '\0' || strcmp(path + n, "/") == 0 ||
	    strcasecmp(path + n, "/pkiclient.exe") == 0;
}

const struct profile *profiles_match(const struct profiles *ps, const char *path, int *ndes)
{
	size_t i;

	*ndes = 0;
	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (path_is(path, builtin[i].path)) {
			*ndes = builtin[i].ndes;
			return &ps->p[0];
		}
	}
	for (i = 1; i < ps->n; i++)
		if (ps->p[i].path != NULL && path_is(path, ps->p[i].path))
			return &ps->p[i];
	return NULL;
}

const struct profile *profiles_find(const struct profiles *ps, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < ps->n; i++)
		if (strcmp(ps->p[i].name, name) == 0)
			return &ps->p[i];
	return NULL;
}

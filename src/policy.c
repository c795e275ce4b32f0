/* SPDX-License-Identifier: ISC */
/*
 * policy.c: the rules between a parsed request and the signer: the digest
 * allow-list, the choice of certificate template by the key usage a request
 * asks for (NDES's SignatureTemplate / EncryptionTemplate /
 * GeneralPurposeTemplate, ndes.md §2.2), each template's rules on key type
 * and size, subject and subject alternative names, and what a certificate is
 * granted. Pure decisions over the configuration and the parsed request; no
 * keys, no store, no I/O. The templates are compiled once (EKU objects,
 * regular expressions) and then only read, by every request thread.
 */
#include <arpa/inet.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "csr.h"
#include "policy.h"
#include "scep_types.h"
#include "util.h"
#include "x509util.h"

/* DER of OID 1.3.6.1.4.1.311.20.2.3, the Microsoft UPN otherName. */
static const unsigned char upn_oid[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03
};

static int in_list(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* Compiles one template; 0, or -1 with a reason. */
static int template_build(struct policy_template *t, const struct config_template *ct,
    char *err, size_t errlen)
{
	static const struct {
		const char *name;
		unsigned bit;
	} sans[] = {
		{ "dns", POLICY_SAN_DNS }, { "ip", POLICY_SAN_IP }, { "email", POLICY_SAN_EMAIL },
		{ "uri", POLICY_SAN_URI }, { "upn", POLICY_SAN_UPN },
		{ "dirname", POLICY_SAN_DIRNAME }, { "other", POLICY_SAN_OTHER },
	};
	char buf[160];
	size_t i;
	int rc;

	t->name = xstrdup(ct->name != NULL ? ct->name : "default");
	t->validity_days = ct->validity_days;
	t->min_rsa_bits = ct->min_rsa_bits;
	t->key_usage = ct->key_usage;
	for (i = 0; i < ct->n_ext_key_usage && i < CONFIG_MAX_LIST; i++) {
		if ((t->eku[i] = OBJ_txt2obj(ct->ext_key_usage[i], 0)) == NULL) {
			snprintf(err, errlen, "template %s: extended_key_usage: unknown usage '%s'",
			    t->name, ct->ext_key_usage[i]);
			return -1;
		}
		t->n_eku++;
	}
	/* An empty list (only possible in a hand-made struct config) allows both. */
	t->allow_rsa = ct->n_key_types == 0 || in_list(ct->key_types, ct->n_key_types, "rsa");
	t->allow_ec = ct->n_key_types == 0 || in_list(ct->key_types, ct->n_key_types, "ec");
	if (ct->n_ec_curves == 0)
		t->ec_curves = POLICY_CURVE_P256 | POLICY_CURVE_P384 | POLICY_CURVE_P521;
	if (in_list(ct->ec_curves, ct->n_ec_curves, "P-256"))
		t->ec_curves |= POLICY_CURVE_P256;
	if (in_list(ct->ec_curves, ct->n_ec_curves, "P-384"))
		t->ec_curves |= POLICY_CURVE_P384;
	if (in_list(ct->ec_curves, ct->n_ec_curves, "P-521"))
		t->ec_curves |= POLICY_CURVE_P521;
	for (i = 0; i < sizeof(sans) / sizeof(sans[0]); i++)
		if (in_list(ct->san_types, ct->n_san_types, sans[i].name))
			t->san_types |= sans[i].bit;
	t->san_required = ct->san_required;
	t->allow_subject_change = ct->allow_subject_change;
	t->approval = ct->approval;
	if (ct->subject_pattern != NULL && ct->subject_pattern[0] != '\0') {
		if ((rc = regcomp(&t->subject_re, ct->subject_pattern, REG_EXTENDED | REG_NOSUB))
		    != 0) {
			regerror(rc, &t->subject_re, buf, sizeof(buf));
			snprintf(err, errlen, "template %s: subject_pattern: %s", t->name, buf);
			return -1;
		}
		t->has_subject_re = 1;
	}
	if (ct->san_pattern != NULL && ct->san_pattern[0] != '\0') {
		if ((rc = regcomp(&t->san_re, ct->san_pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
			regerror(rc, &t->san_re, buf, sizeof(buf));
			snprintf(err, errlen, "template %s: san_pattern: %s", t->name, buf);
			return -1;
		}
		t->has_san_re = 1;
	}
	return 0;
}

static void template_clear(struct policy_template *t)
{
	size_t i;

	for (i = 0; i < t->n_eku; i++)
		ASN1_OBJECT_free(t->eku[i]);
	if (t->has_subject_re)
		regfree(&t->subject_re);
	if (t->has_san_re)
		regfree(&t->san_re);
	free(t->name);
}

struct policy *policy_new(const struct config *cfg, char *err, size_t errlen)
{
	struct policy *p = xcalloc(1, sizeof(*p)), *result = NULL;
	struct config_template def;
	size_t i;

	p->cfg = cfg;
	/* The certificate group is the template "default" (same field names). */
	memset(&def, 0, sizeof(def));
	def.name = "default";
	def.validity_days = cfg->validity_days;
	def.min_rsa_bits = cfg->min_rsa_bits;
	def.key_usage = cfg->key_usage;
	memcpy(def.ext_key_usage, cfg->ext_key_usage, sizeof(def.ext_key_usage));
	def.n_ext_key_usage = cfg->n_ext_key_usage;
	memcpy(def.key_types, cfg->key_types, sizeof(def.key_types));
	def.n_key_types = cfg->n_key_types;
	memcpy(def.ec_curves, cfg->ec_curves, sizeof(def.ec_curves));
	def.n_ec_curves = cfg->n_ec_curves;
	memcpy(def.san_types, cfg->san_types, sizeof(def.san_types));
	def.n_san_types = cfg->n_san_types;
	def.san_required = cfg->san_required;
	def.subject_pattern = cfg->subject_pattern;
	def.san_pattern = cfg->san_pattern;
	def.allow_subject_change = cfg->allow_subject_change;
	def.approval = cfg->approval;
	p->templates = xcalloc(cfg->n_templates + 1, sizeof(*p->templates));
	p->n_templates = 1;
	if (template_build(&p->templates[0], &def, err, errlen) == -1)
		goto out;
	for (i = 0; i < cfg->n_templates; i++) {
		p->n_templates++;
		if (template_build(&p->templates[i + 1], &cfg->templates[i], err, errlen) == -1)
			goto out;
	}
	result = p;
	p = NULL;
out:
	policy_free(p);
	return result;
}

void policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_templates; i++)
		template_clear(&p->templates[i]);
	free(p->templates);
	free(p);
}

const struct policy_template *policy_template_find(const struct policy *p, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < p->n_templates; i++)
		if (strcmp(p->templates[i].name, name) == 0)
			return &p->templates[i];
	return NULL;
}

int policy_check_digest(const struct policy *p, int digest_nid, char *reason, size_t len)
{
	switch (digest_nid) {
	case NID_sha224:
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
		return SCEP_FAIL_NONE;
	case NID_sha1:
		if (p->cfg->allow_sha1)
			return SCEP_FAIL_NONE;
		snprintf(reason, len, "the message is signed with SHA-1, which scep.allow_sha1 disables");
		return SCEP_FAIL_BADALG;
	case NID_md5:
		if (p->cfg->allow_md5)
			return SCEP_FAIL_NONE;
		snprintf(reason, len, "the message is signed with MD5, which scep.allow_md5 disables");
		return SCEP_FAIL_BADALG;
	default:
		snprintf(reason, len, "the message digest algorithm %s is not supported",
		    digest_nid == NID_undef ? "(unknown)" : OBJ_nid2sn(digest_nid));
		return SCEP_FAIL_BADALG;
	}
}

int policy_check_csr(const struct policy *p, const struct csr *csr, char *reason, size_t len)
{
	if (!csr->self_signature_ok) {
		snprintf(reason, len, "the certificate request's own signature does not verify");
		return SCEP_FAIL_BADREQUEST;
	}
	switch (csr->key_type) {
	case EVP_PKEY_RSA:
		if ((unsigned)csr->key_bits < p->cfg->min_rsa_bits) {
			snprintf(reason, len, "the request's RSA key has %d bits; at least %u are required "
			    "(certificate.min_rsa_bits)", csr->key_bits, p->cfg->min_rsa_bits);
			return SCEP_FAIL_BADREQUEST;
		}
		return SCEP_FAIL_NONE;
	case EVP_PKEY_EC:
		if (csr->key_bits < 256) {
			snprintf(reason, len, "the request's EC key has %d bits; at least 256 are required",
			    csr->key_bits);
			return SCEP_FAIL_BADREQUEST;
		}
		return SCEP_FAIL_NONE;
	default:
		snprintf(reason, len, "the request's key type is not supported (RSA or EC only)");
		return SCEP_FAIL_BADREQUEST;
	}
}

enum policy_usage policy_usage_of(const struct csr *csr)
{
	const unsigned sig = X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_NON_REPUDIATION;
	const unsigned enc = X509v3_KU_KEY_ENCIPHERMENT | X509v3_KU_DATA_ENCIPHERMENT |
	    X509v3_KU_KEY_AGREEMENT;

	if (!csr->has_key_usage)
		return POLICY_USAGE_GENERAL;
	if ((csr->key_usage & sig) && !(csr->key_usage & enc))
		return POLICY_USAGE_SIGNATURE;
	if ((csr->key_usage & enc) && !(csr->key_usage & sig))
		return POLICY_USAGE_ENCRYPTION;
	return POLICY_USAGE_GENERAL;
}

const char *policy_usage_name(enum policy_usage u)
{
	switch (u) {
	case POLICY_USAGE_SIGNATURE:
		return "SignatureTemplate";
	case POLICY_USAGE_ENCRYPTION:
		return "EncryptionTemplate";
	case POLICY_USAGE_GENERAL:
		return "GeneralPurposeTemplate";
	}
	return "?";
}

/* The curve bit of an EC key, or 0 for another curve. */
static unsigned curve_of(const struct csr *csr)
{
	EVP_PKEY *key = csr->pubkey;
	char name[64];
	size_t len = 0;

	if (key == NULL || EVP_PKEY_get_utf8_string_param(key, "group", name, sizeof(name),
	    &len) != 1)
		return 0;
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
		return POLICY_CURVE_P256;
	if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return POLICY_CURVE_P384;
	if (strcmp(name, "secp521r1") == 0 || strcmp(name, "P-521") == 0)
		return POLICY_CURVE_P521;
	return 0;
}

/* The POLICY_SAN_* type of a name, its text for san_pattern (or NULL), in buf. */
static unsigned san_type(const GENERAL_NAME *gn, char *buf, size_t len, const char **text)
{
	const ASN1_STRING *str = NULL;
	const unsigned char *d;
	const ASN1_OBJECT *oid;
	const ASN1_TYPE *val;
	unsigned type;
	int n;

	*text = NULL;
	switch (gn->type) {
	case GEN_DNS:
		type = POLICY_SAN_DNS;
		str = gn->d.dNSName;
		break;
	case GEN_EMAIL:
		type = POLICY_SAN_EMAIL;
		str = gn->d.rfc822Name;
		break;
	case GEN_URI:
		type = POLICY_SAN_URI;
		str = gn->d.uniformResourceIdentifier;
		break;
	case GEN_IPADD:
		d = ASN1_STRING_get0_data(gn->d.iPAddress);
		n = ASN1_STRING_length(gn->d.iPAddress);
		if (n == 4)
			snprintf(buf, len, "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
		else if (n != 16 || inet_ntop(AF_INET6, d, buf, (socklen_t)len) == NULL)
			return POLICY_SAN_IP;
		*text = buf;
		return POLICY_SAN_IP;
	case GEN_DIRNAME:
		return POLICY_SAN_DIRNAME;
	case GEN_OTHERNAME:
		oid = gn->d.otherName->type_id;
		val = gn->d.otherName->value;
		if (OBJ_length(oid) != sizeof(upn_oid) ||
		    memcmp(OBJ_get0_data(oid), upn_oid, sizeof(upn_oid)) != 0)
			return POLICY_SAN_OTHER;
		type = POLICY_SAN_UPN;
		if (val != NULL && val->type == V_ASN1_UTF8STRING)
			str = val->value.utf8string;
		break;
	default:
		return POLICY_SAN_OTHER;
	}
	if (str != NULL) {
		d = ASN1_STRING_get0_data(str);
		n = ASN1_STRING_length(str);
		if (n >= 0 && (size_t)n < len && memchr(d, '\0', (size_t)n) == NULL) {
			memcpy(buf, d, (size_t)n);
			buf[n] = '\0';
			*text = buf;
		}
	}
	return type;
}

static const char *san_type_name(unsigned type)
{
	switch (type) {
	case POLICY_SAN_DNS:
		return "dns";
	case POLICY_SAN_IP:
		return "ip";
	case POLICY_SAN_EMAIL:
		return "email";
	case POLICY_SAN_URI:
		return "uri";
	case POLICY_SAN_UPN:
		return "upn";
	case POLICY_SAN_DIRNAME:
		return "dirname";
	default:
		return "other";
	}
}

int policy_check_template(const struct policy_template *t, const struct csr *csr,
    char *reason, size_t len)
{
	const GENERAL_NAME *gn;
	const char *text;
	char buf[1024];
	unsigned type;
	int i, n;

	if (!csr->self_signature_ok) {
		snprintf(reason, len, "the certificate request's own signature does not verify");
		return SCEP_FAIL_BADREQUEST;
	}
	switch (csr->key_type) {
	case EVP_PKEY_RSA:
		if (!t->allow_rsa) {
			snprintf(reason, len, "template %s does not accept RSA keys (key_types)",
			    t->name);
			return SCEP_FAIL_BADREQUEST;
		}
		if ((unsigned)csr->key_bits < t->min_rsa_bits) {
			snprintf(reason, len, "the request's RSA key has %d bits; template %s requires "
			    "at least %u (min_rsa_bits)", csr->key_bits, t->name, t->min_rsa_bits);
			return SCEP_FAIL_BADREQUEST;
		}
		break;
	case EVP_PKEY_EC:
		if (!t->allow_ec) {
			snprintf(reason, len, "template %s does not accept EC keys (key_types)", t->name);
			return SCEP_FAIL_BADREQUEST;
		}
		if ((curve_of(csr) & t->ec_curves) == 0) {
			snprintf(reason, len, "the request's EC curve is not one template %s accepts "
			    "(ec_curves)", t->name);
			return SCEP_FAIL_BADREQUEST;
		}
		break;
	default:
		snprintf(reason, len, "the request's key type is not supported (RSA or EC only)");
		return SCEP_FAIL_BADREQUEST;
	}
	if (t->has_subject_re && regexec(&t->subject_re, csr->subject, 0, NULL, 0) != 0) {
		snprintf(reason, len, "the subject \"%.200s\" does not match template %s's "
		    "subject_pattern", csr->subject, t->name);
		return SCEP_FAIL_BADREQUEST;
	}
	n = csr->san != NULL ? sk_GENERAL_NAME_num(csr->san) : 0;
	if (n == 0 && t->san_required) {
		snprintf(reason, len, "template %s requires a subject alternative name "
		    "(san_required)", t->name);
		return SCEP_FAIL_BADREQUEST;
	}
	for (i = 0; i < n; i++) {
		gn = sk_GENERAL_NAME_value(csr->san, i);
		type = san_type(gn, buf, sizeof(buf), &text);
		if ((t->san_types & type) == 0) {
			snprintf(reason, len, "template %s does not allow %s subject alternative "
			    "names (san_types)", t->name, san_type_name(type));
			return SCEP_FAIL_BADREQUEST;
		}
		if (t->has_san_re && (type & (POLICY_SAN_DNS | POLICY_SAN_IP | POLICY_SAN_EMAIL |
		    POLICY_SAN_URI | POLICY_SAN_UPN)) != 0 &&
		    (text == NULL || regexec(&t->san_re, text, 0, NULL, 0) != 0)) {
			snprintf(reason, len, "the %s name \"%.200s\" does not match template %s's "
			    "san_pattern", san_type_name(type), text != NULL ? text : "?", t->name);
			return SCEP_FAIL_BADREQUEST;
		}
	}
	return SCEP_FAIL_NONE;
}

static int eku_allowed(const struct policy_template *t, const ASN1_OBJECT *obj)
{
	size_t i;

	for (i = 0; i < t->n_eku; i++)
		if (OBJ_cmp(t->eku[i], obj) == 0)
			return (int)i;
	return -1;
}

/*
 * ekus' names as extended_key_usage writes them (short names, dotted OIDs for
 * unknown ones), comma-separated into out, cut at outlen; returns out.
 */
static const char *eku_names(const STACK_OF(ASN1_OBJECT) *ekus, char *out, size_t outlen)
{
	const ASN1_OBJECT *o;
	char oid[80];
	size_t used = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < sk_ASN1_OBJECT_num(ekus) && used + 1 < outlen; i++) {
		o = sk_ASN1_OBJECT_value(ekus, i);
		if (OBJ_obj2nid(o) != NID_undef)
			snprintf(oid, sizeof(oid), "%s", OBJ_nid2sn(OBJ_obj2nid(o)));
		else if (OBJ_obj2txt(oid, (int)sizeof(oid), o, 1) < 0)
			snprintf(oid, sizeof(oid), "(unreadable)");
		n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", oid);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return out;
}

int policy_grant_template(const struct policy_template *t, const struct csr *csr,
    struct policy_grant *out, char *reason, size_t len)
{
	unsigned allowed = t->key_usage;
	int i, n, k;
	size_t j;
	char names[160];

	memset(out, 0, sizeof(*out));
	if (csr->has_key_usage) {
		out->key_usage = csr->key_usage & allowed;
		if (csr->key_usage != 0 && out->key_usage == 0) {
			snprintf(reason, len, "the request asks for key usage %s, none of which "
			    "template %s allows (key_usage)", x509util_key_usage_names(csr->key_usage,
			    names, sizeof(names)), t->name);
			return SCEP_FAIL_BADREQUEST;
		}
	} else
		out->key_usage = allowed;

	n = csr->ext_key_usage ? sk_ASN1_OBJECT_num(csr->ext_key_usage) : 0;
	if (n > 0) {
		for (i = 0; i < n && out->n_eku < CONFIG_MAX_LIST; i++) {
			k = eku_allowed(t, sk_ASN1_OBJECT_value(csr->ext_key_usage, i));
			if (k >= 0)
				out->eku[out->n_eku++] = t->eku[k];
		}
		if (out->n_eku == 0) {
			snprintf(reason, len, "the request asks only for extended key usages "
			    "template %s does not allow (extended_key_usage): %s", t->name,
			    eku_names(csr->ext_key_usage, names, sizeof(names)));
			return SCEP_FAIL_BADREQUEST;
		}
	} else {
		for (j = 0; j < t->n_eku; j++)
			out->eku[out->n_eku++] = t->eku[j];
	}
	return SCEP_FAIL_NONE;
}

int policy_grant(const struct policy *p, const struct csr *csr, struct policy_grant *out,
    char *reason, size_t len)
{
	return policy_grant_template(&p->templates[0], csr, out, reason, len);
}

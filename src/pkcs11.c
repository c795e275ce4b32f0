/* SPDX-License-Identifier: ISC */
/*
 * pkcs11.c: the token glue. It owns the libp11 contexts of this process (one
 * per module path, opened on first use and kept: a module is initialised
 * once, and every key of one token shares its login and libp11's session
 * pool), finding the token and the key object an RFC 7512 URI names, reading
 * the PIN, and generating a key pair in a token for scepctl init. It must not
 * parse URIs (pkcs11uri.c) nor log: the PIN never leaves this file except
 * into the module, and is wiped after use.
 *
 * Why libp11 (OpenSC, Debian libp11-dev) rather than hand-written PKCS#11
 * calls or an OpenSSL provider: Debian 12 ships no pkcs11-provider, and libp11
 * already implements OpenSSL RSA and EC key methods over C_Sign/C_Decrypt, so
 * the EVP_PKEY it returns goes through the same CMS, X509_sign and
 * EVP_PKEY_decrypt calls as a key from a file. libp11 0.4.12 keeps a pool of
 * up to 16 sessions per slot behind a mutex (pkcs11_get_session), so request
 * threads share one key safely. What it does not do: it re-opens sessions only
 * after a fork, never after a token error; pkcs11_reset() lets the caller start
 * over with a fresh context.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
/*
 * libp11.h declares PKCS11_get_rsa_method() and PKCS11_get_ec_key_method() with
 * types that OPENSSL_NO_DEPRECATED hides; scepd calls neither, the names only
 * have to exist (C11 allows the same typedef twice).
 */
typedef struct rsa_meth_st RSA_METHOD;
typedef struct ec_key_method_st EC_KEY_METHOD;
#include <libp11.h>

#include "pemfile.h"
#include "pkcs11.h"
#include "pkcs11uri.h"
#include "util.h"

#define PKCS11_MAX_PIN 256

/* One loaded module and its slot list. */
struct pkcs11_module {
	char *path;
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned int nslots;
	EVP_PKEY **keys;            /* every key handed out (up-referenced), for pkcs11_probe */
	size_t n_keys;
	struct pkcs11_module *next;
};

/*
 * The process's modules: the one piece of state beyond the configuration,
 * because a PKCS#11 module may be initialised only once per process.
 * Guarded by modules_lock.
 */
static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pkcs11_module *modules;
/* Modules given up after a token error: their keys may still be in use by
 * requests in flight, so they are freed only by pkcs11_reset(). */
static struct pkcs11_module *retired;
static int keys_wanted;    /* a token key was loaded once: pkcs11_probe has work */

static void module_free(struct pkcs11_module *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_keys; i++)
		EVP_PKEY_free(m->keys[i]);
	free(m->keys);
	if (m->slots != NULL)
		PKCS11_release_all_slots(m->ctx, m->slots, m->nslots);
	if (m->ctx != NULL) {
		PKCS11_CTX_unload(m->ctx);
		PKCS11_CTX_free(m->ctx);
	}
	free(m->path);
	free(m);
}

/* The module at path, loading it on first use (modules_lock held). */
static struct pkcs11_module *module_get(const char *path, char *err, size_t errlen)
{
	struct pkcs11_module *m, *result = NULL;
	char ebuf[256];

	for (m = modules; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0)
			return m;
	m = xcalloc(1, sizeof(*m));
	m->path = xstrdup(path);
	if ((m->ctx = PKCS11_CTX_new()) == NULL) {
		errorf(err, errlen, "out of memory");
		goto out;
	}
	if (PKCS11_CTX_load(m->ctx, path) != 0) {
		errorf(err, errlen, "cannot load PKCS#11 module %s (%s)", path,
		    ossl_errors(ebuf, sizeof(ebuf)));
		PKCS11_CTX_free(m->ctx);
		m->ctx = NULL;
		goto out;
	}
	if (PKCS11_enumerate_slots(m->ctx, &m->slots, &m->nslots) != 0) {
		errorf(err, errlen, "PKCS#11 module %s: cannot list its slots (%s)", path,
		    ossl_errors(ebuf, sizeof(ebuf)));
		m->slots = NULL;
		goto out;
	}
	m->next = modules;
	modules = m;
	result = m;
	m = NULL;
out:
	module_free(m);
	return result;
}

static int text_matches(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

/* The one initialised token the URI's token and slot attributes select. */
static PKCS11_SLOT *find_slot(struct pkcs11_module *m, const struct pkcs11uri *u,
    char *err, size_t errlen)
{
	PKCS11_SLOT *slot, *found = NULL;
	PKCS11_TOKEN *t;
	unsigned int i, n = 0;

	for (i = 0; i < m->nslots; i++) {
		slot = &m->slots[i];
		if ((t = slot->token) == NULL || !t->initialized)
			continue;
		if (!text_matches(u->token, t->label) ||
		    !text_matches(u->manufacturer, t->manufacturer) ||
		    !text_matches(u->model, t->model) || !text_matches(u->serial, t->serialnr) ||
		    !text_matches(u->slot_description, slot->description) ||
		    !text_matches(u->slot_manufacturer, slot->manufacturer) ||
		    (u->has_slot_id && PKCS11_get_slotid_from_slot(slot) != u->slot_id))
			continue;
		found = slot;
		n++;
	}
	if (n == 1)
		return found;
	errorf(err, errlen, n == 0 ? "no initialised token of module %s matches (token "
	    "absent or removed?)" : "several tokens of module %s match; name one with token= "
	    "or serial=", m->path);
	return NULL;
}

/* The PIN: pin-value, or the first line of the pin-source file. NULL when none is given. */
static char *read_pin(const struct pkcs11uri *u, int *failed, char *err, size_t errlen)
{
	const char *path = u->pin_source;
	unsigned char *buf;
	size_t len = 0;
	char *pin;

	*failed = 0;
	if (u->pin_value != NULL)
		return xstrdup(u->pin_value);
	if (path == NULL)
		return NULL;
	if (strncmp(path, "file:", 5) == 0)
		path += 5;
	if (path[0] != '/') {
		errorf(err, errlen, "pin-source must be an absolute file path (file:/... or /...)");
		*failed = 1;
		return NULL;
	}
	if ((buf = pemfile_read_secret(path, &len, err, errlen)) == NULL) {
		*failed = 1;
		return NULL;
	}
	len = strcspn((char *)buf, "\r\n");
	if (len == 0 || len > PKCS11_MAX_PIN) {
		errorf(err, errlen, "pin-source %s: the first line must hold the PIN (1 to %d "
		    "characters)", path, PKCS11_MAX_PIN);
		*failed = 1;
		OPENSSL_clear_free(buf, strlen((char *)buf) + 1);
		return NULL;
	}
	pin = xmalloc(len + 1);
	memcpy(pin, buf, len);
	pin[len] = '\0';
	OPENSSL_cleanse(buf, len);
	free(buf);
	return pin;
}

/* Logs in as the user unless the token needs no login or is logged in already. */
static int login(PKCS11_SLOT *slot, const struct pkcs11uri *u, char *err, size_t errlen)
{
	char *pin = NULL, ebuf[256];
	int in = 0, failed, rc = -1;

	if (!slot->token->loginRequired ||
	    (PKCS11_is_logged_in(slot, 0, &in) == 0 && in))
		return 0;
	if ((pin = read_pin(u, &failed, err, errlen)) == NULL) {
		if (!failed)
			errorf(err, errlen, "token \"%s\" needs a PIN: pin-value or pin-source "
			    "in the URI, or pkcs11.pin_file / pkcs11.pin_credential",
			    slot->token->label);
		goto out;
	}
	if (PKCS11_login(slot, 0, pin) != 0) {
		errorf(err, errlen, "token \"%s\": login refused (%s)", slot->token->label,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	rc = 0;
out:
	if (pin != NULL)
		OPENSSL_clear_free(pin, strlen(pin));
	return rc;
}

/* The slot of the URI's token, logged in (modules_lock held). */
static PKCS11_SLOT *open_token(const struct pkcs11uri *u, int rw, struct pkcs11_module **mp,
    char *err, size_t errlen)
{
	struct pkcs11_module *m;
	PKCS11_SLOT *slot;

	if (u->module_path == NULL) {
		errorf(err, errlen, "no PKCS#11 module: give module-path in the URI or set "
		    "pkcs11.module");
		return NULL;
	}
	if ((m = module_get(u->module_path, err, errlen)) == NULL)
		return NULL;
	*mp = m;
	if ((slot = find_slot(m, u, err, errlen)) == NULL)
		return NULL;
	/* libp11 fixes a slot's session mode at its first session: key generation needs r/w */
	if (rw && PKCS11_open_session(slot, 1) != 0) {
		errorf(err, errlen, "token \"%s\": cannot open a read/write session",
		    slot->token->label);
		return NULL;
	}
	if (login(slot, u, err, errlen) != 0)
		return NULL;
	return slot;
}

static int key_matches(const PKCS11_KEY *k, const struct pkcs11uri *u)
{
	if (u->object != NULL && (k->label == NULL || strcmp(k->label, u->object) != 0))
		return 0;
	if (u->has_id && (k->id_len != u->id_len || memcmp(k->id, u->id, u->id_len) != 0))
		return 0;
	return 1;
}

/* The one private key of the token the URI's object and id select, or NULL. */
static PKCS11_KEY *find_key(PKCS11_SLOT *slot, const struct pkcs11uri *u, unsigned *count,
    char *err, size_t errlen)
{
	PKCS11_KEY *keys = NULL, *found = NULL;
	unsigned int i, n = 0;
	char ebuf[256];

	*count = 0;
	if (PKCS11_enumerate_keys(slot->token, &keys, &n) != 0) {
		errorf(err, errlen, "token \"%s\": cannot list its keys (%s)", slot->token->label,
		    ossl_errors(ebuf, sizeof(ebuf)));
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (keys[i].isPrivate && key_matches(&keys[i], u)) {
			found = &keys[i];
			(*count)++;
		}
	return *count == 1 ? found : NULL;
}

EVP_PKEY *pkcs11_key_load(const struct pkcs11uri *u, char *err, size_t errlen)
{
	struct pkcs11_module *m = NULL;
	PKCS11_SLOT *slot;
	PKCS11_KEY *key;
	EVP_PKEY *pkey = NULL;
	unsigned count;
	char ebuf[256];

	if (u->type != PKCS11URI_TYPE_ANY && u->type != PKCS11URI_TYPE_PRIVATE) {
		errorf(err, errlen, "the URI names type=%s objects, a key setting needs a "
		    "private key", u->type == PKCS11URI_TYPE_CERT ? "cert" : "non-private");
		return NULL;
	}
	if (u->object == NULL && !u->has_id) {
		errorf(err, errlen, "the URI must name the key with object= or id=");
		return NULL;
	}
	if (pthread_mutex_lock(&modules_lock) != 0) {
		errorf(err, errlen, "cannot lock the PKCS#11 module list");
		return NULL;
	}
	if ((slot = open_token(u, 0, &m, err, errlen)) == NULL)
		goto out;
	if ((key = find_key(slot, u, &count, err, errlen)) == NULL) {
		if (count == 0 && err[0] == '\0')
			errorf(err, errlen, "token \"%s\" has no private key with that %s",
			    slot->token->label, u->object != NULL ? "label" : "id");
		else if (count > 1)
			errorf(err, errlen, "token \"%s\" has %u private keys with that %s; name "
			    "one with id=", slot->token->label, count,
			    u->object != NULL ? "label" : "id");
		goto out;
	}
	if ((pkey = PKCS11_get_private_key(key)) == NULL) {
		errorf(err, errlen, "token \"%s\": cannot use key \"%s\" (%s)",
		    slot->token->label, key->label != NULL ? key->label : "",
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	if (EVP_PKEY_up_ref(pkey) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		goto out;
	}
	m->keys = xrealloc(m->keys, (m->n_keys + 1) * sizeof(*m->keys));
	m->keys[m->n_keys++] = pkey;
	keys_wanted = 1;
out:
	pthread_mutex_unlock(&modules_lock);
	return pkey;
}

/* libp11 0.4.12 generates RSA keys only through this call, deprecated for 0.5's PKCS11_keygen. */
static int generate_rsa(PKCS11_TOKEN *t, unsigned bits, char *label, unsigned char *id,
    size_t id_len)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	return PKCS11_generate_key(t, EVP_PKEY_RSA, bits, label, id, id_len);
#pragma GCC diagnostic pop
}

int pkcs11_key_generate(const struct pkcs11uri *u, const char *spec, int *made, char *err,
    size_t errlen)
{
	struct pkcs11_module *m = NULL;
	PKCS11_SLOT *slot;
	unsigned long bits;
	unsigned count;
	char *end, ebuf[256];
	int rc = -1;

	if (strncmp(spec, "rsa:", 4) != 0 || (errno = 0, bits = strtoul(spec + 4, &end, 10),
	    errno != 0) || *end != '\0' || bits < 2048 || bits > 8192) {
		errorf(err, errlen, "%s: a key generated in a token is rsa:BITS (2048 to 8192) "
		    "with libp11 0.4; make EC keys with the token's own tool and name them", spec);
		return -1;
	}
	if (u->object == NULL) {
		errorf(err, errlen, "the URI must give the new key's label with object=");
		return -1;
	}
	if (pthread_mutex_lock(&modules_lock) != 0) {
		errorf(err, errlen, "cannot lock the PKCS#11 module list");
		return -1;
	}
	if ((slot = open_token(u, 1, &m, err, errlen)) == NULL)
		goto out;
	*made = 0;
	err[0] = '\0';
	if (find_key(slot, u, &count, err, errlen) != NULL) {
		rc = 0;   /* there already: scepctl init uses it */
		goto out;
	}
	if (count > 1 || err[0] != '\0') {
		if (count > 1)
			errorf(err, errlen, "token \"%s\" has %u private keys \"%s\"; name one "
			    "with id=", slot->token->label, count, u->object);
		goto out;
	}
	if (generate_rsa(slot->token, (unsigned)bits, u->object, u->id, u->id_len) != 0) {
		errorf(err, errlen, "token \"%s\": key generation failed (%s)", slot->token->label,
		    ossl_errors(ebuf, sizeof(ebuf)));
		goto out;
	}
	*made = 1;
	rc = 0;
out:
	pthread_mutex_unlock(&modules_lock);
	return rc;
}

/* One private-key operation with key: a signature over a fixed digest. */
static int probe_key(EVP_PKEY *key)
{
	static const unsigned char digest[32] = { 0x5c, 0xe9 };
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *pc;
	int ok;

	if (EVP_PKEY_get_size(key) > (int)sizeof(sig) ||
	    (pc = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return -1;
	ok = EVP_PKEY_sign_init(pc) == 1 &&
	    (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1) &&
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_sign(pc, sig, &siglen, digest, sizeof(digest)) == 1;
	EVP_PKEY_CTX_free(pc);
	return ok ? 0 : -1;
}

int pkcs11_probe(char *err, size_t errlen)
{
	struct pkcs11_module *m;
	char ebuf[256];
	size_t i;
	int rc = 0, any = 0;

	if (pthread_mutex_lock(&modules_lock) != 0) {
		errorf(err, errlen, "cannot lock the PKCS#11 module list");
		return -1;
	}
	for (m = modules; m != NULL && rc == 0; m = m->next)
		for (i = 0; i < m->n_keys && rc == 0; i++) {
			any = 1;
			if (probe_key(m->keys[i]) != 0) {
				errorf(err, errlen, "PKCS#11 module %s: a key no longer signs (%s)",
				    m->path, ossl_errors(ebuf, sizeof(ebuf)));
				rc = -1;
			}
		}
	if (rc == 0 && keys_wanted && !any) {
		errorf(err, errlen, "the token keys are not loaded");
		rc = -1;
	}
	pthread_mutex_unlock(&modules_lock);
	ERR_clear_error();
	return rc;
}

int pkcs11_in_use(void)
{
	int used;

	if (pthread_mutex_lock(&modules_lock) != 0)
		return 1;
	used = keys_wanted;
	pthread_mutex_unlock(&modules_lock);
	return used;
}

void pkcs11_retire(void)
{
	struct pkcs11_module *m;

	if (pthread_mutex_lock(&modules_lock) != 0)
		return;
	while ((m = modules) != NULL) {
		modules = m->next;
		m->next = retired;
		retired = m;
	}
	pthread_mutex_unlock(&modules_lock);
}

void pkcs11_reset(void)
{
	struct pkcs11_module *m, *next;

	if (pthread_mutex_lock(&modules_lock) != 0)
		return;
	for (m = modules; m != NULL; m = next) {
		next = m->next;
		module_free(m);
	}
	for (m = retired; m != NULL; m = next) {
		next = m->next;
		module_free(m);
	}
	modules = retired = NULL;
	keys_wanted = 0;
	pthread_mutex_unlock(&modules_lock);
}

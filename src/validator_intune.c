/* SPDX-License-Identifier: ISC */
/*
 * validator_intune.c: the "intune" challenge validator type: the framework's
 * operations (validator_impl.h) over the Intune client (intune.h). It owns
 * the mapping of the configuration (validators entries of type intune) to
 * intune_settings, reading the client secret (a private file or a systemd
 * credential), and the mapping of Intune's answers to verdicts: only code
 * "Success" allows; every other code denies and the reason names Intune's
 * code, so that the log and `scepctl request show` carry it; a call that could
 * not be made is an error (refused too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config.h"
#include "intune.h"
#include "pemfile.h"
#include "util.h"
#include "validator_impl.h"

/* The client secret: client_secret_file, or $CREDENTIALS_DIRECTORY/client_secret_credential. */
static char *read_client_secret(const struct config_validator *c, char *err, size_t errlen)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *path = NULL, sub[256];
	unsigned char *s = NULL;
	size_t len = 0;

	if (c->client_secret_credential != NULL) {
		if (dir == NULL || dir[0] == '\0') {
			errorf(err, errlen, "client_secret_credential %s: $CREDENTIALS_DIRECTORY is "
			    "not set (LoadCredential= in the unit)", c->client_secret_credential);
			return NULL;
		}
		path = xasprintf("%s/%s", dir, c->client_secret_credential);
	} else {
		path = xstrdup(c->client_secret_file);
	}
	if ((s = pemfile_read_secret(path, &len, sub, sizeof(sub))) == NULL) {
		errorf(err, errlen, "client secret: %s", sub);
		free(path);
		return NULL;
	}
	free(path);
	/* One line: a final newline is not part of the secret. */
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (len == 0 || strlen((char *)s) != len) {
		OPENSSL_clear_free(s, len);
		errorf(err, errlen, "client secret: the file is empty or holds a NUL byte");
		return NULL;
	}
	return (char *)s;
}

static void *intune_create(const struct config_validator *c, char *err, size_t errlen)
{
	struct intune_settings s;
	struct intune *in;
	char *secret = NULL;

	memset(&s, 0, sizeof(s));
	if (c->client_secret_file != NULL || c->client_secret_credential != NULL) {
		if ((secret = read_client_secret(c, err, errlen)) == NULL)
			return NULL;
	}
	s.tenant = c->tenant;
	s.client_id = c->client_id;
	s.client_secret = secret;
	s.client_cert_file = c->client_certificate;
	s.client_key_file = c->client_key;
	s.authority_url = c->authority_url;
	s.graph_url = c->graph_url;
	s.intune_resource_url = c->intune_resource_url;
	s.proxy = c->proxy;
	s.ca_file = c->ca_file;
	s.provider = c->provider;
	s.timeout_ms = (long)c->timeout * 1000;
	in = intune_new(&s, err, errlen);
	if (secret != NULL)
		OPENSSL_clear_free(secret, strlen(secret));
	return in;
}

static enum validator_verdict intune_check(void *impl, const struct validator_request *rq,
    struct validator_result *res)
{
	struct intune_outcome out;

	if (intune_validate(impl, rq->transaction_id, rq->csr_der, rq->csr_len, &out) != 0)
		return validator_set_result(res, VALIDATOR_ERROR, "Intune validateRequest: %s",
		    out.reason);
	if (out.allowed)
		return validator_set_result(res, VALIDATOR_ALLOW, "Intune code Success");
	if (out.http_status != 200)
		return validator_set_result(res, VALIDATOR_ERROR, "Intune validateRequest: HTTP %d "
		    "(%s): %s", out.http_status, out.code[0] != '\0' ? out.code : "no code",
		    out.reason);
	return validator_set_result(res, VALIDATOR_DENY, "Intune code %s: %s", out.code,
	    out.reason);
}

static int intune_success(void *impl, const struct validator_request *rq, X509 *cert,
    char *why, size_t whylen)
{
	struct intune_outcome out;

	if (intune_notify_success(impl, rq->transaction_id, rq->csr_der, rq->csr_len, cert,
	    &out) != 0) {
		errorf(why, whylen, "Intune successNotification: %s", out.reason);
		return -1;
	}
	if (!out.allowed) {
		errorf(why, whylen, "Intune successNotification: HTTP %d, code %s: %s",
		    out.http_status, out.code[0] != '\0' ? out.code : "none", out.reason);
		return -1;
	}
	return 0;
}

static int intune_failure(void *impl, const struct validator_request *rq, int failinfo,
    int32_t hresult, const char *description, char *why, size_t whylen)
{
	struct intune_outcome out;

	if (intune_notify_failure(impl, rq->transaction_id, rq->csr_der, rq->csr_len, hresult,
	    description, &out) != 0 || !out.allowed) {
		errorf(why, whylen, "Intune failureNotification: %s%s%s", out.code,
		    out.code[0] != '\0' ? ": " : "", out.reason);
		return -1;
	}
	return 0;
}

static void intune_destroy(void *impl)
{
	intune_free(impl);
}

const struct validator_ops validator_intune_ops = {
	.type = "intune",
	.create = intune_create,
	.check = intune_check,
	.notify_success = intune_success,
	.notify_failure = intune_failure,
	.destroy = intune_destroy,
	.success_required = 1,
};

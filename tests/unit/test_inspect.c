/* SPDX-License-Identifier: ISC */
/*
 * test_inspect.c: inspect.c without keys: inspect_input on every form a
 * message file comes in (DER, base64 with and without line breaks, PEM, a
 * GET query, URL-safe base64) and its refusals with a reason, inspect_message
 * on every fixture request (messageType, transactionID, algorithms, the
 * envelope left closed), and the failInfo words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "tap.h"
#include "fixture.h"
#include "base64.h"
#include "inspect.h"
#include "oids.h"
#include "scep_types.h"

/* inspect_input(text) gives back exactly der. */
static void same_der(const char *what, const char *text, const unsigned char *der, size_t len)
{
	unsigned char *out;
	size_t outlen = 0;
	char err[256] = "";

	out = inspect_input((const unsigned char *)text, strlen(text), &outlen, err, sizeof(err));
	ok(out != NULL && outlen == len && memcmp(out, der, len) == 0, "input: %s decodes to the "
	    "DER (%s)", what, out == NULL ? err : "same bytes");
	free(out);
}

static void test_input(void)
{
	unsigned char *der, *out;
	size_t len = 0, outlen = 0, i, j;
	char *b64, *wrapped, *pem, *query, *urlsafe, err[256];

	der = fixture_read("strongswan-aes-sha256", "request.der", &len);
	ok(der != NULL, "input: fixture read");
	if (der == NULL)
		return;
	out = inspect_input(der, len, &outlen, err, sizeof(err));
	ok(out != NULL && outlen == len && memcmp(out, der, len) == 0, "input: DER as it is");
	free(out);
	b64 = base64_encode(der, len);
	same_der("base64", b64, der, len);
	wrapped = xmalloc(strlen(b64) * 2 + 8);
	for (i = j = 0; b64[i] != '\0'; i++) {
		wrapped[j++] = b64[i];
		if (i % 64 == 63)
			wrapped[j++] = '\n';
	}
	wrapped[j++] = '\n';
	wrapped[j] = '\0';
	same_der("base64 in 64-character lines", wrapped, der, len);
	pem = xasprintf("-----BEGIN PKCS7-----\n%s-----END PKCS7-----\n", wrapped);
	same_der("PEM", pem, der, len);
	query = xasprintf("operation=PKIOperation&message=%s", b64);
	same_der("a GET query", query, der, len);
	urlsafe = xstrdup(b64);
	for (i = 0; urlsafe[i] != '\0'; i++)
		urlsafe[i] = urlsafe[i] == '+' ? '-' : urlsafe[i] == '/' ? '_' :
		    urlsafe[i] == '=' ? '\0' : urlsafe[i];
	same_der("URL-safe base64 without padding", urlsafe, der, len);
	err[0] = '\0';
	ok(inspect_input((const unsigned char *)"", 0, &outlen, err, sizeof(err)) == NULL &&
	    err[0] != '\0', "input: empty refused with a reason (%s)", err);
	err[0] = '\0';
	ok(inspect_input((const unsigned char *)"not base64 at all!", 18, &outlen, err,
	    sizeof(err)) == NULL && err[0] != '\0', "input: junk refused with a reason (%s)", err);
	err[0] = '\0';
	ok(inspect_input((const unsigned char *)"A\0B", 3, &outlen, err, sizeof(err)) == NULL &&
	    err[0] != '\0', "input: a NUL byte refused with a reason (%s)", err);
	free(urlsafe);
	free(query);
	free(pem);
	free(wrapped);
	free(b64);
	free(der);
}

/* inspect_message on fixture name: its text, or NULL. */
static char *describe(const char *name, int *rc)
{
	unsigned char *der;
	size_t len = 0, tlen = 0;
	char *text = NULL;
	FILE *f;

	if ((der = fixture_read(name, "request.der", &len)) == NULL)
		return NULL;
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		*rc = inspect_message(f, der, len, NULL, NULL);
		fclose(f);
	}
	free(der);
	return text;
}

static void test_fixtures(void)
{
	char names[FIXTURE_MAX][FIXTURE_NAME], *json, *text, *mtype, *txid, want[400];
	size_t jlen, tlen = 0;
	FILE *f;
	int i, n, rc = -1;

	n = fixture_list(names, FIXTURE_MAX);
	ok(n >= 15, "fixtures: %d found", n);
	for (i = 0; i < n; i++) {
		if (!fixture_exists(names[i], "request.der"))
			continue;
		json = (char *)fixture_read(names[i], "facts.json", &jlen);
		mtype = json ? facts_get(json, "pki_message", "message_type") : NULL;
		txid = json ? facts_get(json, "pki_message", "transaction_id") : NULL;
		text = describe(names[i], &rc);
		ok(text != NULL && rc == 0, "%s: described", names[i]);
		snprintf(want, sizeof(want), "(%s)\n", mtype ? mtype : "?");
		ok(text != NULL && strstr(text, want) != NULL, "%s: messageType %s", names[i],
		    mtype ? mtype : "?");
		snprintf(want, sizeof(want), "transactionID      %s\n", txid ? txid : "?");
		ok(text != NULL && strstr(text, want) != NULL, "%s: transactionID", names[i]);
		ok(text != NULL && strstr(text, "verification       signature and messageDigest "
		    "verify\n") != NULL, "%s: signature verified", names[i]);
		ok(text != NULL && strstr(text, "content cipher     ") != NULL &&
		    strstr(text, "key transport      ") != NULL, "%s: envelope algorithms",
		    names[i]);
		ok(text != NULL && strstr(text, "content            not opened") != NULL,
		    "%s: without keys the envelope stays closed", names[i]);
		free(text);
		free(mtype);
		free(txid);
		free(json);
	}
	text = NULL;
	rc = 0;
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		rc = inspect_message(f, (const unsigned char *)"\x30\x03\x02\x01\x01", 5,
		    NULL, NULL);
		fclose(f);
	}
	ok(rc == -1 && text != NULL && strstr(text, "not a SCEP pkiMessage") != NULL,
	    "a DER value that is not a pkiMessage: -1, and said so");
	free(text);
}

static void test_words(void)
{
	int f;

	for (f = SCEP_FAIL_BADALG; f <= SCEP_FAIL_BADCERTID; f++)
		ok(inspect_failinfo_meaning(f)[0] != '\0' && inspect_failinfo_advice(f)[0] != '\0',
		    "failInfo %d (%s): meaning and advice", f, scep_failinfo_name(f));
	ok(inspect_failinfo_meaning(5)[0] == '\0' && inspect_failinfo_advice(-1)[0] == '\0',
	    "unknown failInfo: no words");
}

int main(void)
{
	if (oids_register() != 0) {
		printf("Bail out! oids_register\n");
		return 1;
	}
	test_input();
	test_fixtures();
	test_words();
	return done_testing();
}

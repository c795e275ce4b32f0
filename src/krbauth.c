/* SPDX-License-Identifier: ISC */
/*
 * krbauth.c: the Kerberos half of Negotiate sign-in on the challenge pages.
 * It owns the GSS-API acceptor credential (keytab and replay cache named in
 * the configuration, never the process defaults) and steps security contexts
 * with gss_accept_sec_context. All Kerberos and SPNEGO cryptography is MIT's:
 * ticket decryption, authenticator, clock skew, replay cache, mutual
 * authentication token, and the mechListMIC. It decides nothing about
 * accounts (admin.c maps the principal) and never reads the NTLM path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include "krbauth.h"
#include "util.h"

struct krbauth {
	gss_cred_id_t cred;
};

struct krbauth_ctx {
	gss_ctx_id_t ctx;
};

/* 1.3.6.1.5.5.2 */
static gss_OID_desc spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };

/* "what: major text; minor text" into err. */
static void gss_reason(char *err, size_t errlen, const char *what, OM_uint32 major,
    OM_uint32 minor, gss_OID mech)
{
	OM_uint32 st, ctx = 0;
	gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
	char maj[160] = "", min[200] = "";

	if (gss_display_status(&st, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &b) ==
	    GSS_S_COMPLETE) {
		snprintf(maj, sizeof(maj), "%.*s", (int)b.length, (const char *)b.value);
		gss_release_buffer(&st, &b);
	}
	ctx = 0;
	if (minor != 0 && gss_display_status(&st, minor, GSS_C_MECH_CODE, mech, &ctx, &b) ==
	    GSS_S_COMPLETE) {
		snprintf(min, sizeof(min), "%.*s", (int)b.length, (const char *)b.value);
		gss_release_buffer(&st, &b);
	}
	errorf(err, errlen, "%s: %s%s%s", what, maj, min[0] != '\0' ? "; " : "", min);
}

struct krbauth *krbauth_new(const char *keytab, const char *rcache, char *err, size_t errlen)
{
	struct krbauth *k = NULL, *result = NULL;
	gss_key_value_element_desc el[2];
	gss_key_value_set_desc store = { 2, el };
	gss_OID_desc mechs_spnego[2] = { spnego_oid, *gss_mech_krb5 };
	gss_OID_set_desc desired = { 2, mechs_spnego };
	gss_OID_set_desc neg = { 1, (gss_OID)gss_mech_krb5 };
	OM_uint32 major, minor = 0;
	char *rc_name = NULL;

	rc_name = xasprintf("file2:%s", rcache);
	el[0].key = "keytab";
	el[0].value = keytab;
	el[1].key = "rcache";
	el[1].value = rc_name;
	k = xcalloc(1, sizeof(*k));
	k->cred = GSS_C_NO_CREDENTIAL;
	/*
	 * Kerberos alone first: in a union with SPNEGO a keytab that is missing or
	 * holds no key would only fail at the first sign-in.
	 */
	major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &neg,
	    GSS_C_ACCEPT, &store, &k->cred, NULL, NULL);
	if (GSS_ERROR(major)) {
		gss_reason(err, errlen, "cannot use the keytab", major, minor,
		    (gss_OID)gss_mech_krb5);
		goto out;
	}
	gss_release_cred(&minor, &k->cred);
	major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &desired,
	    GSS_C_ACCEPT, &store, &k->cred, NULL, NULL);
	if (GSS_ERROR(major)) {
		gss_reason(err, errlen, "cannot use the keytab", major, minor, GSS_C_NO_OID);
		goto out;
	}
	/* SPNEGO may select Kerberos only: NTLM is ours (admin.c), never gss-ntlmssp's. */
	major = gss_set_neg_mechs(&minor, k->cred, &neg);
	if (GSS_ERROR(major)) {
		gss_reason(err, errlen, "cannot restrict SPNEGO to Kerberos", major, minor,
		    GSS_C_NO_OID);
		goto out;
	}
	result = k;
	k = NULL;
out:
	krbauth_free(k);
	free(rc_name);
	return result;
}

void krbauth_free(struct krbauth *k)
{
	OM_uint32 minor;

	if (k == NULL)
		return;
	if (k->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &k->cred);
	free(k);
}

void krbauth_ctx_free(struct krbauth_ctx *c)
{
	OM_uint32 minor;

	if (c == NULL)
		return;
	if (c->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &c->ctx, GSS_C_NO_BUFFER);
	free(c);
}

const char *krbauth_realm(const char *principal)
{
	const char *at = strrchr(principal, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* The client's name as "primary[/instance]@REALM" into principal. 0, or -1. */
static int display_principal(gss_name_t name, char principal[KRBAUTH_MAX_PRINCIPAL],
    char *err, size_t errlen)
{
	gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor = 0;
	int result = -1;

	major = gss_display_name(&minor, name, &b, NULL);
	if (GSS_ERROR(major)) {
		gss_reason(err, errlen, "cannot read the client's name", major, minor, GSS_C_NO_OID);
		goto out;
	}
	if (b.length == 0 || b.length >= KRBAUTH_MAX_PRINCIPAL ||
	    memchr(b.value, '\0', b.length) != NULL) {
		errorf(err, errlen, "the client's principal name is empty or too long");
		goto out;
	}
	memcpy(principal, b.value, b.length);
	principal[b.length] = '\0';
	result = 0;
out:
	gss_release_buffer(&minor, &b);
	return result;
}

enum krbauth_rc krbauth_accept(struct krbauth *k, struct krbauth_ctx **ctx,
    const unsigned char *tok, size_t len, unsigned char **out, size_t *out_len,
    char principal[KRBAUTH_MAX_PRINCIPAL], char *err, size_t errlen)
{
	gss_buffer_desc in = { len, (void *)tok }, reply = GSS_C_EMPTY_BUFFER;
	gss_name_t client = GSS_C_NO_NAME;
	gss_OID mech = GSS_C_NO_OID;
	OM_uint32 major, minor = 0, flags = 0;
	enum krbauth_rc result = KRBAUTH_FAIL;

	*out = NULL;
	*out_len = 0;
	principal[0] = '\0';
	if (*ctx == NULL) {
		*ctx = xcalloc(1, sizeof(**ctx));
		(*ctx)->ctx = GSS_C_NO_CONTEXT;
	}
	major = gss_accept_sec_context(&minor, &(*ctx)->ctx, k->cred, &in,
	    GSS_C_NO_CHANNEL_BINDINGS, &client, &mech, &reply, &flags, NULL, NULL);
	if (GSS_ERROR(major)) {
		gss_reason(err, errlen, "Kerberos sign-in refused", major, minor, mech);
		goto out;
	}
	if (reply.length > 0) {
		*out = xmalloc(reply.length);
		memcpy(*out, reply.value, reply.length);
		*out_len = reply.length;
	}
	if (major & GSS_S_CONTINUE_NEEDED) {
		result = KRBAUTH_CONTINUE;
		goto out;
	}
	if (display_principal(client, principal, err, errlen) != 0)
		goto out;
	result = KRBAUTH_DONE;
out:
	gss_release_buffer(&minor, &reply);
	if (client != GSS_C_NO_NAME)
		gss_release_name(&minor, &client);
	if (result != KRBAUTH_CONTINUE) {
		krbauth_ctx_free(*ctx);
		*ctx = NULL;
	}
	if (result == KRBAUTH_FAIL) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
	return result;
}

/* SPDX-License-Identifier: ISC */
/*
 * test_pkcs11uri.c: the RFC 7512 PKCS#11 URI parser (src/pkcs11uri.c): the
 * examples of RFC 7512 section 3, percent-decoding (binary id, text without
 * NUL), the characters each component allows unencoded, attributes given twice,
 * unknown and vendor attributes, the value syntax of library-version, slot-id
 * and type, the length ceiling, and the redaction of pin-value for logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11uri.h"
#include "tap.h"

static struct pkcs11uri *parse(const char *s, char *err, size_t errlen)
{
	err[0] = '\0';
	return pkcs11uri_parse((const unsigned char *)s, strlen(s), err, errlen);
}

/* 1 when s is refused with a reason that contains want. */
static int refused(const char *s, const char *want)
{
	char err[256];
	struct pkcs11uri *u = parse(s, err, sizeof(err));

	if (u != NULL) {
		pkcs11uri_free(u);
		return 0;
	}
	if (strstr(err, want) == NULL) {
		printf("# %s: reason \"%s\" lacks \"%s\"\n", s, err, want);
		return 0;
	}
	return 1;
}

static void test_rfc_examples(void)
{
	char err[256];
	struct pkcs11uri *u;
	static const unsigned char id[] = { 0x01, 0x02, 0x03, 0xba, 0xdd, 0xca, 0xfe, 0x04,
	    0x05, 0x06 };

	u = parse("pkcs11:", err, sizeof(err));
	ok(u != NULL && u->token == NULL && u->object == NULL && !u->has_id,
	    "pkcs11: alone names every object (%s)", err);
	pkcs11uri_free(u);

	u = parse("pkcs11:object=my-pubkey;type=public", err, sizeof(err));
	ok(u != NULL && strcmp(u->object, "my-pubkey") == 0 && u->type == PKCS11URI_TYPE_PUBLIC,
	    "object and type (%s)", err);
	pkcs11uri_free(u);

	u = parse("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer="
	    "Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;"
	    "id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin", err, sizeof(err));
	ok(u != NULL && strcmp(u->token, "The Software PKCS#11 Softtoken") == 0 &&
	    strcmp(u->manufacturer, "Snake Oil, Inc.") == 0 && strcmp(u->model, "1.0") == 0 &&
	    u->type == PKCS11URI_TYPE_CERT && u->id_len == 8 && u->id[0] == 0x69 &&
	    u->id[7] == 0x91 && strcmp(u->serial, "") == 0 &&
	    strcmp(u->pin_source, "file:/etc/token_pin") == 0, "RFC 7512 section 3 example (%s)",
	    err);
	pkcs11uri_free(u);

	u = parse("pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;"
	    "id=%01%02%03%Ba%dd%Ca%fe%04%05%06", err, sizeof(err));
	ok(u != NULL && strcmp(u->token, "My token% created by Joe") == 0 &&
	    u->has_library_version && u->library_version_major == 3 &&
	    u->library_version_minor == 0 && u->id_len == sizeof(id) &&
	    memcmp(u->id, id, sizeof(id)) == 0, "escapes in any case, binary id (%s)", err);
	pkcs11uri_free(u);

	u = parse("pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description="
	    "Soft;library-version=1.23", err, sizeof(err));
	ok(u != NULL && u->library_version_major == 1 && u->library_version_minor == 23 &&
	    strcmp(u->library_description, "Soft") == 0, "library attributes (%s)", err);
	pkcs11uri_free(u);

	u = parse("pkcs11:token=:[]@!$'()*+,=&?pin-value=:[]@!$'()*+,=/?|", err, sizeof(err));
	ok(u != NULL && strcmp(u->token, ":[]@!$'()*+,=&") == 0 &&
	    strcmp(u->pin_value, ":[]@!$'()*+,=/?|") == 0,
	    "the characters each component allows unencoded (%s)", err);
	pkcs11uri_free(u);

	u = parse("PKCS11:slot-id=42;slot-description=x;slot-manufacturer=y?module-path="
	    "/usr/lib/softhsm/libsofthsm2.so&module-name=softhsm2&pin-value=1234", err,
	    sizeof(err));
	ok(u != NULL && u->has_slot_id && u->slot_id == 42 &&
	    strcmp(u->module_path, "/usr/lib/softhsm/libsofthsm2.so") == 0 &&
	    strcmp(u->module_name, "softhsm2") == 0 && strcmp(u->pin_value, "1234") == 0 &&
	    strcmp(u->slot_description, "x") == 0, "slot and query attributes, scheme in "
	    "capitals (%s)", err);
	pkcs11uri_free(u);
}

static void test_refusals(void)
{
	char big[PKCS11URI_MAX + 64];

	ok(refused("pkcs12:token=a", "does not start"), "another scheme");
	ok(refused("pkcs11", "does not start"), "scheme cut short");
	ok(refused("pkcs11:token=a;token=b", "given twice"), "token twice");
	ok(refused("pkcs11:id=%01;id=%02", "given twice"), "id twice");
	ok(refused("pkcs11:?pin-value=1&pin-value=2", "given twice"), "pin-value twice");
	ok(refused("pkcs11:type=cert;type=cert", "given twice"), "type twice");
	ok(refused("pkcs11:slot-id=1;slot-id=1", "given twice"), "slot-id twice");
	ok(refused("pkcs11:token=a%2", "two hex digits"), "escape cut short");
	ok(refused("pkcs11:token=a%zz", "two hex digits"), "escape not hex");
	ok(refused("pkcs11:token=a%", "two hex digits"), "lone percent");
	ok(refused("pkcs11:token=a b", "percent-encoded"), "space unencoded");
	ok(refused("pkcs11:token=a/b", "percent-encoded"), "'/' unencoded in the path");
	ok(refused("pkcs11:?pin-value=a&&b", "name=value"), "empty query attribute");
	ok(refused("pkcs11:token=a;", "name=value"), "trailing ';'");
	ok(refused("pkcs11:token", "name=value"), "attribute without '='");
	ok(refused("pkcs11:=a", "name=value"), "attribute without a name");
	ok(refused("pkcs11:Token=a", "lower-case"), "attribute name in capitals");
	ok(refused("pkcs11:x-vendor=1", "unknown path attribute"), "vendor attribute");
	ok(refused("pkcs11:pin-value=1", "unknown path attribute"), "query attribute in the path");
	ok(refused("pkcs11:?token=a", "unknown query attribute"), "path attribute in the query");
	ok(refused("pkcs11:object=a%00b", "NUL"), "NUL in a text value");
	ok(refused("pkcs11:type=key", "type must be"), "unknown type");
	ok(refused("pkcs11:type=cert%00", "type must be"), "type with a NUL");
	ok(refused("pkcs11:library-version=1.", "library-version"), "version without minor");
	ok(refused("pkcs11:library-version=256", "library-version"), "version over 255");
	ok(refused("pkcs11:library-version=a", "library-version"), "version not a number");
	ok(refused("pkcs11:slot-id=-1", "slot-id"), "negative slot-id");
	ok(refused("pkcs11:slot-id=99999999999999999999999", "slot-id"), "slot-id overflow");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "pkcs11:object=", 14);
	ok(refused(big, "longer than"), "over PKCS11URI_MAX bytes");
	ok(!pkcs11uri_is_uri("/etc/scepd/ca.key") && pkcs11uri_is_uri("Pkcs11:token=a") &&
	    !pkcs11uri_is_uri(NULL), "a file path is not a URI");
}

static void test_redact(void)
{
	char *r;

	r = pkcs11uri_redact("pkcs11:token=a;object=b?module-path=/m.so&pin-value=1234");
	is_str(r, "pkcs11:token=a;object=b?module-path=/m.so&pin-value=***", "PIN at the end");
	free(r);
	r = pkcs11uri_redact("pkcs11:token=a?pin-value=12%2634&module-path=/m.so");
	is_str(r, "pkcs11:token=a?pin-value=***&module-path=/m.so", "PIN first");
	free(r);
	r = pkcs11uri_redact("pkcs11:token=pin-value=1?pin-source=/p");
	is_str(r, "pkcs11:token=pin-value=1?pin-source=/p", "no pin-value in the query");
	free(r);
	r = pkcs11uri_redact("/etc/scepd/ca.key");
	is_str(r, "/etc/scepd/ca.key", "a file path as is");
	free(r);
}

int main(void)
{
	test_rfc_examples();
	test_refusals();
	test_redact();
	return done_testing();
}

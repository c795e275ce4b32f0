/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c: fuzz target for the configuration parser (config_load_string),
 * which reads files an operator may have damaged by hand. Any input must give
 * either a configuration or error lines, never a crash or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "oids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int registered;
	struct config *cfg;
	char *text;
	FILE *errs;

	if (!registered) {
		if (oids_register() != 0)
			abort();
		registered = 1;
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((errs = fopen("/dev/null", "w")) == NULL)
		abort();
	cfg = config_load_string("/fuzz/scepd.conf", text, errs);
	config_free(cfg);
	fclose(errs);
	free(text);
	return 0;
}

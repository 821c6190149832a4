/*
 * fuzz_config.c - libFuzzer target for the configuration parser
 * (conf/config.c, docs/CONFIG.md) and the policy compiled from it
 * (core/policy.c: the ACL rules).
 *
 * The configuration is admin text, not peer input, but a parser that
 * crashes on a typo is still a bug, and `igdd -n` promises a normalised
 * print-out. Checks: a configuration that parses prints back as text
 * that parses again to the very same print-out (a fixed point); the
 * error message of one that does not is a single NUL-terminated line.
 */
#define _GNU_SOURCE             /* open_memstream */

#include "fuzz_env.h"

#include "conf/policy_conf.h"
#include "core/policy.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct config *c, size_t *ret_len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, ret_len);

	FUZZ_CHECK(f != NULL);
	config_print(c, f);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c1, c2;
	char err[256], *t1, *t2;
	struct policy *pol;
	size_t l1, l2;

	if (size > 65536)
		return 0;
	memset(err, 0x55, sizeof(err));
	if (config_parse("fuzz.conf", (const char *)data, size, &c1, err, sizeof(err)) < 0) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FUZZ_CHECK(strchr(err, '\n') == NULL);
		return 0;
	}
	t1 = print(&c1, &l1);
	if (config_parse("printed", t1, l1, &c2, err, sizeof(err)) < 0) {
		fprintf(stderr, "printed configuration does not parse: %s\n%s", err, t1);
		FUZZ_CHECK(!"printed configuration parses");
	}
	t2 = print(&c2, &l2);
	if (l1 != l2 || memcmp(t1, t2, l1) != 0) {
		fprintf(stderr, "print-out not a fixed point:\n%s---\n%s", t1, t2);
		FUZZ_CHECK(!"print-out is a fixed point");
	}
	pol = config_policy_new(&c1, err, sizeof(err));
	policy_free(pol);
	free(t1);
	free(t2);
	return 0;
}

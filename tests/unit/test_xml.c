/*
 * test_xml.c - proto/xml: the one escaping function (element text and
 * attribute values; XML 1.0 Char) and the small writers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "proto/xml.h"

struct escape_row {
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *out;
};

static const struct escape_row escape_rows[] = {
	{ "", 0, "" },
	{ "plain text 123", 0, "plain text 123" },
	{ "a&b", 0, "a&amp;b" },
	{ "<tag>", 0, "&lt;tag&gt;" },
	{ "say \"hi\" 'there'", 0, "say &quot;hi&quot; &apos;there&apos;" },
	{ "&amp;", 0, "&amp;amp;" },
	{ "tab\there\nnewline", 0, "tab\there\nnewline" },
	{ "cr\r\n", 0, "cr&#13;\n" },
	{ "bell\x07 esc\x1b", 0, "bell? esc?" },
	{ "nul\0x", 5, "nul?x" },
	{ "\x7f", 0, "\x7f" },                                     /* DEL is an XML Char */
	{ "caf\xc3\xa9", 0, "caf\xc3\xa9" },                       /* U+00E9 */
	{ "\xe2\x82\xac 5", 0, "\xe2\x82\xac 5" },                 /* U+20AC */
	{ "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80" },             /* U+1F600 */
	{ "\xc3", 0, "?" },                                       /* truncated */
	{ "\xc3(", 0, "?(" },                                     /* bad continuation */
	{ "\xc0\xaf", 0, "??" },                                  /* overlong '/' */
	{ "\xe0\x80\xaf", 0, "???" },                             /* overlong */
	{ "\xed\xa0\x80", 0, "???" },                             /* surrogate D800 */
	{ "\xef\xbf\xbe", 0, "???" },                             /* U+FFFE */
	{ "\xef\xbf\xbd", 0, "\xef\xbf\xbd" },                    /* U+FFFD is fine */
	{ "\xf4\x90\x80\x80", 0, "????" },                        /* above U+10FFFF */
	{ "\xff\xfe", 0, "??" },
	{ "\x80", 0, "?" },                                       /* lone continuation */
	{ "a<\xc3\xa9>&", 0, "a&lt;\xc3\xa9&gt;&amp;" },
};

static void test_escape_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(escape_rows) / sizeof(escape_rows[0]); i++) {
		const struct escape_row *r = &escape_rows[i];
		size_t len = r->len ? r->len : strlen(r->in);
		struct buf b;

		buf_init(&b, 1024);
		assert_int_equal(xml_escape(&b, r->in, len), 0);
		assert_int_equal(b.len, strlen(r->out));
		assert_memory_equal(b.len ? b.p : "", r->out, b.len);
		buf_free(&b);
	}
}

static void test_escape_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	buf_puts(&b, "x=");
	assert_int_equal(xml_escape(&b, "<1>", 3), 0);
	assert_string_equal(b.p, "x=&lt;1&gt;");
	buf_free(&b);
}

static void test_escape_bounded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	/* "&amp;&amp;" is 10 bytes: the buffer refuses, marks itself */
	assert_int_equal(xml_escape(&b, "&&", 2), -E2BIG);
	assert_true(b.toobig);
	buf_free(&b);
}

static void test_writers(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(xml_element(&b, "NewDescription", "a&b", 3), 0);
	assert_int_equal(xml_element_u32(&b, "NewPort", 65535), 0);
	assert_string_equal(b.p, "<NewDescription>a&amp;b</NewDescription><NewPort>65535</NewPort>");
	buf_reset(&b);
	assert_int_equal(xml_open(&b, 1, "device"), 0);
	assert_int_equal(xml_leaf(&b, 2, "friendlyName", "R&D <lab>"), 0);
	assert_int_equal(xml_leaf_u32(&b, 2, "minor", 1), 0);
	assert_int_equal(xml_close(&b, 1, "device"), 0);
	assert_string_equal(b.p,
			    "  <device>\n"
			    "    <friendlyName>R&amp;D &lt;lab&gt;</friendlyName>\n"
			    "    <minor>1</minor>\n"
			    "  </device>\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_appends),
		cmocka_unit_test(test_escape_bounded),
		cmocka_unit_test(test_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

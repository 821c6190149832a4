/*
 * xml.c - XML escaping and small writers (see xml.h). XML 1.0 section 2.2
 * (Char) and 2.4 (character data) decide what may be written raw;
 * used by UDA 1.1 sections 2 and 3 documents.
 */
#include "proto/xml.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/*
 * Length of the valid UTF-8 sequence starting at s[0] (at most n bytes
 * available) that XML 1.0 allows as a Char, or 0 when it is not one.
 * Only called for bytes >= 0x80.
 */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;              /* no overlongs */
		else if (c == 0xED)
			hi = 0x9F;              /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;              /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	/* U+FFFE and U+FFFF are not XML characters. */
	if (len == 3 && c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
		return 0;
	return len;
}

/* The replacement for one ASCII byte, or NULL when it is written raw. */
static const char *ascii_escape(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&apos;";
	case '\r': return "&#13;";
	case '\t':
	case '\n':
		return NULL;
	default:
		return c < 0x20 ? "?" : NULL;
	}
}

int xml_escape(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	int r = 0;

	while (i < len && r == 0) {
		const char *rep = NULL;
		size_t n = 1;

		if (p[i] < 0x80) {
			rep = ascii_escape(p[i]);
		} else {
			n = utf8_char_len(p + i, len - i);
			if (n == 0) {
				rep = "?";
				n = 1;
			}
		}
		if (!rep) {
			i += n;
			continue;
		}
		/* flush the raw run before the replacement */
		r = buf_append(b, s + run, i - run);
		if (r == 0)
			r = buf_puts(b, rep);
		i += n;
		run = i;
	}
	if (r == 0)
		r = buf_append(b, s + run, i - run);
	return r;
}

int xml_element(struct buf *b, const char *name, const char *value, size_t len)
{
	int r = buf_printf(b, "<%s>", name);

	if (r == 0)
		r = xml_escape(b, value, len);
	if (r == 0)
		r = buf_printf(b, "</%s>", name);
	return r;
}

int xml_element_u32(struct buf *b, const char *name, uint32_t value)
{
	return buf_printf(b, "<%s>%" PRIu32 "</%s>", name, value, name);
}

static int indent_to(struct buf *b, unsigned indent)
{
	static const char spaces[] = "                                ";
	size_t n = (size_t)indent * 2;

	if (n > sizeof(spaces) - 1)
		n = sizeof(spaces) - 1;
	return buf_append(b, spaces, n);
}

int xml_open(struct buf *b, unsigned indent, const char *name)
{
	int r = indent_to(b, indent);

	return r ? r : buf_printf(b, "<%s>\n", name);
}

int xml_close(struct buf *b, unsigned indent, const char *name)
{
	int r = indent_to(b, indent);

	return r ? r : buf_printf(b, "</%s>\n", name);
}

int xml_leaf(struct buf *b, unsigned indent, const char *name, const char *value)
{
	int r = indent_to(b, indent);

	if (r == 0)
		r = xml_element(b, name, value, strlen(value));
	return r ? r : buf_puts(b, "\n");
}

int xml_leaf_u32(struct buf *b, unsigned indent, const char *name, uint32_t value)
{
	int r = indent_to(b, indent);

	if (r == 0)
		r = xml_element_u32(b, name, value);
	return r ? r : buf_puts(b, "\n");
}

void xml_guard_stop(struct xml_guard *g)
{
	g->stopped = true;
	XML_StopParser(g->xp, XML_FALSE);
}

static void refuse_dtd(struct xml_guard *g)
{
	g->dtd = true;
	xml_guard_stop(g);
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
		       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	refuse_dtd(ud);
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
		      int value_len, const XML_Char *base, const XML_Char *sysid,
		      const XML_Char *pubid, const XML_Char *notation)
{
	(void)name; (void)is_param; (void)value; (void)value_len;
	(void)base; (void)sysid; (void)pubid; (void)notation;
	refuse_dtd(ud);
}

void xml_guard_init(struct xml_guard *g, XML_Parser xp)
{
	g->xp = xp;
	g->stopped = false;
	g->dtd = false;
	XML_SetUserData(xp, g);
	XML_SetStartDoctypeDeclHandler(xp, on_doctype);
	XML_SetEntityDeclHandler(xp, on_entity);
	XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
}

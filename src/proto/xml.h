/*
 * xml.h - XML output: one escaping function for element text and
 * attribute values, and small writers into a bounded struct buf.
 *
 * Used for description documents (UDA 1.1 section 2), SOAP responses
 * (UDA 1.1 section 3.2) and the A_ARG_TYPE_PortListing fragment
 * (WANIPConnection:2 section 2.3.25). There is no XML library on the
 * output side: templates plus this escaping.
 *
 * Every writer returns 0 or -E2BIG (the buffer's maximum was reached;
 * the buffer then stays marked toobig, so a caller may also check
 * b->toobig once at the end).
 */
#ifndef IGDD_XML_H
#define IGDD_XML_H

#include <expat.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/*
 * Append s[0..len) escaped so that it is safe both as element text and
 * inside a double- or single-quoted attribute value:
 *   & < > " '  become  &amp; &lt; &gt; &quot; &apos;
 *   CR         becomes &#13; (XML would otherwise fold it away)
 * Bytes XML 1.0 cannot carry at all (C0 controls other than TAB and LF,
 * invalid or overlong UTF-8, surrogates, U+FFFE/U+FFFF) are replaced by
 * '?' byte for byte, so the document stays well-formed whatever the
 * input (a friendly name from the config, a description from a peer).
 */
int xml_escape(struct buf *b, const char *s, size_t len);

/* Compact element: <name>escaped value</name> (no white space). */
int xml_element(struct buf *b, const char *name, const char *value, size_t len);
int xml_element_u32(struct buf *b, const char *name, uint32_t value);

/* Indented lines for documents (indent = depth, two spaces each):
 * "<name>\n", "</name>\n", "<name>escaped</name>\n". */
int xml_open(struct buf *b, unsigned indent, const char *name);
int xml_close(struct buf *b, unsigned indent, const char *name);
int xml_leaf(struct buf *b, unsigned indent, const char *name, const char *value);
int xml_leaf_u32(struct buf *b, unsigned indent, const char *name, uint32_t value);

/*
 * XML input (expat): the one refusal of a document type declaration. No
 * UPnP message has a DTD (UDA 1.1 sections 2 and 3.2), and a DTD is where
 * entity expansion attacks live, so a DOCTYPE or an ENTITY declaration
 * stops the parse before anything is expanded. The parser's user data is
 * a struct whose first member is the struct xml_guard.
 */
struct xml_guard {
	XML_Parser xp;
	bool stopped;                   /* a handler stopped the parse */
	bool dtd;                       /* ... because of a DOCTYPE or ENTITY declaration */
};

/* Guard xp (not NULL): g becomes the user data (g zeroed but for xp), DTD
 * handlers set, parameter entities never parsed. */
void xml_guard_init(struct xml_guard *g, XML_Parser xp);
/* Stop the parse from a handler (XML_Parse() then fails). */
void xml_guard_stop(struct xml_guard *g);

#endif

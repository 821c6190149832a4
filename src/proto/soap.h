/*
 * soap.h - parse a UPnP SOAP 1.1 control request (UDA 1.1 section 3.2.1):
 * the body with expat, namespace-aware, and the SOAPACTION header.
 *
 * Pure: bytes in, values out. What the request means (which service,
 * which action, whether the arguments fit the schema) is decided by
 * svc/action.c; this module only finds the action element and its
 * arguments, within the limits of util/limits.h.
 */
#ifndef IGDD_SOAP_H
#define IGDD_SOAP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/limits.h"
#include "util/str.h"

#define SOAP_ENVELOPE_NS "http://schemas.xmlsoap.org/soap/envelope/"

enum soap_status {
	SOAP_OK = 0,
	SOAP_E_SYNTAX,          /* not well-formed XML, or an encoding expat lacks */
	SOAP_E_DOCTYPE,         /* a DOCTYPE: refused before any entity is expanded */
	SOAP_E_DEPTH,           /* elements nested deeper than IGDD_SOAP_MAX_DEPTH */
	SOAP_E_NOT_SOAP,        /* no s:Envelope > s:Body > one action element */
	SOAP_E_TOO_MANY_ARGS,   /* more than IGDD_SOAP_MAX_ARGS arguments */
	SOAP_E_ARG_TOO_LONG,    /* an argument's text over IGDD_SOAP_MAX_ARG_LEN bytes */
	SOAP_E_ARG_NESTED,      /* an argument that has child elements */
	SOAP_E_NOMEM,
};

struct soap_arg {
	struct str name;        /* local name (any namespace prefix dropped) */
	struct str value;       /* entity-decoded UTF-8 text; "" for <X/> */
};

struct soap_request {
	struct str ns;          /* the action element's namespace URI ("" if none) */
	struct str action;      /* the action element's local name */
	unsigned nargs;
	struct soap_arg args[IGDD_SOAP_MAX_ARGS];   /* in document order */
	struct buf store;       /* owns the text every view above points into */
};

/*
 * Parse body[0..len). On SOAP_OK *ret holds the request (free it with
 * soap_request_free; its views live until then); on any error *ret is
 * untouched and nothing needs freeing.
 *
 * Accepted shape: Envelope (SOAP_ENVELOPE_NS) containing an optional
 * Header (ignored, still depth-bounded) and one Body holding exactly one
 * element, the action; the action's child elements are its arguments,
 * each holding text only. Attributes, comments, processing instructions
 * and white space between elements are ignored.
 */
enum soap_status soap_parse(const char *body, size_t len, struct soap_request *ret);
void soap_request_free(struct soap_request *r);

/* Short English name of a status, for debug logs. */
const char *soap_status_text(enum soap_status s);

/*
 * Split a SOAPACTION header value, quoted ("urn:...:WANIPConnection:2#X")
 * or not, surrounding spaces ignored, into the service type (before the
 * last '#') and the action name (after it). Both views point into hdr.
 * 0, or -EINVAL when either part is empty or a quote is unbalanced.
 */
int soap_parse_action_header(struct str hdr, struct str *ret_type, struct str *ret_action);

#endif

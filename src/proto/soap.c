/*
 * soap.c - SOAP control request parsing (UDA 1.1 section 3.2.1; SOAP 1.1
 * envelope). expat in namespace mode; a DOCTYPE aborts the parse in its
 * start handler, so no internal subset (and no entity expansion: the
 * "billion laughs" family) is ever processed.
 */
#include "proto/soap.h"

#include "proto/xml.h"

#include <errno.h>
#include <expat.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

/* expat joins "namespace-URI" NS_SEP "local-name"; '|' cannot occur in a
 * local name, so the last one found is the separator. */
#define NS_SEP '|'

/* Offsets into store while parsing (store may move when it grows). */
struct span {
	size_t off, len;
};

struct soap_parser {
	struct xml_guard g;             /* first: the parser's user data */
	enum soap_status status;
	struct buf store;
	unsigned depth;
	unsigned skip_to;            /* inside an ignored subtree (Header) until depth < skip_to */
	bool envelope, body, action, in_arg;
	struct span ns, name;
	unsigned nargs;
	struct span arg_name[IGDD_SOAP_MAX_ARGS];
	struct span arg_value[IGDD_SOAP_MAX_ARGS];
};

static void fail(struct soap_parser *sp, enum soap_status st)
{
	if (sp->status == SOAP_OK)
		sp->status = st;
	xml_guard_stop(&sp->g);
}

/* Split an expat name into namespace URI and local name (views). */
static void split_name(const XML_Char *name, struct str *ret_ns, struct str *ret_local)
{
	const char *sep = strrchr(name, NS_SEP);

	if (sep) {
		*ret_ns = str_from(name, (size_t)(sep - name));
		*ret_local = str_cstr(sep + 1);
	} else {
		*ret_ns = STR_LIT("");
		*ret_local = str_cstr(name);
	}
}

static int store_add(struct soap_parser *sp, struct str s, struct span *ret)
{
	size_t off = sp->store.len;

	if (buf_append(&sp->store, s.p, s.len) < 0)
		return -E2BIG;
	ret->off = off;
	ret->len = s.len;
	return 0;
}

/* Depths: 1 Envelope, 2 Header/Body, 3 the action, 4 its arguments. */
static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct soap_parser *sp = ud;
	struct str ns, local;

	(void)atts;
	sp->depth++;
	if (sp->depth > IGDD_SOAP_MAX_DEPTH) {
		fail(sp, SOAP_E_DEPTH);
		return;
	}
	if (sp->skip_to && sp->depth >= sp->skip_to)
		return;
	split_name(name, &ns, &local);
	switch (sp->depth) {
	case 1:
		if (!str_eq_cstr(ns, SOAP_ENVELOPE_NS) || !str_eq_cstr(local, "Envelope"))
			fail(sp, SOAP_E_NOT_SOAP);
		sp->envelope = true;
		break;
	case 2:
		if (str_eq_cstr(ns, SOAP_ENVELOPE_NS) && str_eq_cstr(local, "Header") && !sp->body)
			sp->skip_to = 3;
		else if (str_eq_cstr(ns, SOAP_ENVELOPE_NS) && str_eq_cstr(local, "Body") && !sp->body)
			sp->body = true;
		else
			fail(sp, SOAP_E_NOT_SOAP);
		break;
	case 3:
		if (sp->action)
			fail(sp, SOAP_E_NOT_SOAP);      /* one action per request */
		else if (store_add(sp, ns, &sp->ns) < 0 || store_add(sp, local, &sp->name) < 0)
			fail(sp, SOAP_E_NOMEM);
		sp->action = true;
		break;
	case 4:
		if (sp->nargs >= IGDD_SOAP_MAX_ARGS) {
			fail(sp, SOAP_E_TOO_MANY_ARGS);
			break;
		}
		if (store_add(sp, local, &sp->arg_name[sp->nargs]) < 0) {
			fail(sp, SOAP_E_NOMEM);
			break;
		}
		sp->arg_value[sp->nargs].off = sp->store.len;
		sp->arg_value[sp->nargs].len = 0;
		sp->in_arg = true;
		break;
	default:
		fail(sp, SOAP_E_ARG_NESTED);
		break;
	}
}

static void on_end(void *ud, const XML_Char *name)
{
	struct soap_parser *sp = ud;

	(void)name;
	if (sp->depth == 4 && sp->in_arg && !sp->skip_to) {
		sp->in_arg = false;
		sp->nargs++;
	}
	if (sp->skip_to && sp->depth == sp->skip_to - 1)
		sp->skip_to = 0;
	sp->depth--;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct soap_parser *sp = ud;
	struct span *v;

	if (!sp->in_arg || sp->depth != 4 || len <= 0)
		return;         /* white space between elements, mixed content */
	v = &sp->arg_value[sp->nargs];
	if (v->len + (size_t)len > IGDD_SOAP_MAX_ARG_LEN) {
		fail(sp, SOAP_E_ARG_TOO_LONG);
		return;
	}
	/* expat delivers one text node in pieces: they are contiguous here
	 * because nothing else is stored while an argument is open. */
	if (buf_append(&sp->store, s, (size_t)len) < 0) {
		fail(sp, SOAP_E_NOMEM);
		return;
	}
	v->len += (size_t)len;
}

static struct str view(const struct soap_parser *sp, struct span s)
{
	return str_from(sp->store.p + s.off, s.len);
}

/* Turn the offsets into views of the final store; hand it to ret. */
static void finish(struct soap_parser *sp, struct soap_request *ret)
{
	unsigned i;

	memset(ret, 0, sizeof(*ret));
	if (!sp->store.p)
		buf_append(&sp->store, "", 0);  /* views need a base pointer */
	ret->ns = view(sp, sp->ns);
	ret->action = view(sp, sp->name);
	ret->nargs = sp->nargs;
	for (i = 0; i < sp->nargs; i++) {
		ret->args[i].name = view(sp, sp->arg_name[i]);
		ret->args[i].value = view(sp, sp->arg_value[i]);
	}
	ret->store = sp->store;
	memset(&sp->store, 0, sizeof(sp->store));
}

/*
 * One expat parser for every request, reset between documents: creating
 * one (hash tables, namespace bindings) cost more than parsing a typical
 * control request. XML_ParserReset() keeps the namespace mode and clears
 * the handlers, which are set again for each document.
 */
static XML_Parser soap_xp;
static unsigned long soap_salt;  /* expat's hash salt, drawn once per process */

static XML_Parser parser_get(void)
{
	if (soap_xp && !XML_ParserReset(soap_xp, NULL)) {
		XML_ParserFree(soap_xp);
		soap_xp = NULL;
	}
	if (!soap_xp) {
		soap_xp = XML_ParserCreateNS(NULL, NS_SEP);
		if (soap_xp && soap_salt == 0 &&
		    getrandom(&soap_salt, sizeof(soap_salt), 0) != (ssize_t)sizeof(soap_salt))
			soap_salt = 0;
	}
	/* A reset parser would otherwise draw a new salt (one getrandom()
	 * per request); 0 leaves that to expat. */
	if (soap_xp && soap_salt)
		XML_SetHashSalt(soap_xp, soap_salt);
	return soap_xp;
}

enum soap_status soap_parse(const char *body, size_t len, struct soap_request *ret)
{
	struct soap_parser sp;
	enum XML_Status xs;
	XML_Parser xp;

	memset(&sp, 0, sizeof(sp));
	if (len > (size_t)IGDD_HTTP_MAX_BODY * 4)
		return SOAP_E_SYNTAX;   /* callers bound bodies far below this */
	/* Every stored byte comes from the body, at most doubled by expat's
	 * conversion of a Latin-1 or UTF-16 body to UTF-8. */
	buf_init(&sp.store, 2 * len + 16);
	xp = parser_get();
	if (!xp) {
		buf_free(&sp.store);
		return SOAP_E_NOMEM;
	}
	xml_guard_init(&sp.g, xp);
	XML_SetElementHandler(xp, on_start, on_end);
	XML_SetCharacterDataHandler(xp, on_text);

	xs = XML_Parse(xp, body, (int)len, XML_TRUE);
	if (sp.g.dtd && sp.status == SOAP_OK)
		sp.status = SOAP_E_DOCTYPE;
	if (xs != XML_STATUS_OK && sp.status == SOAP_OK)
		sp.status = SOAP_E_SYNTAX;
	if (sp.status == SOAP_OK && (!sp.envelope || !sp.body || !sp.action))
		sp.status = SOAP_E_NOT_SOAP;
	if (sp.status == SOAP_OK)
		finish(&sp, ret);
	buf_free(&sp.store);
	return sp.status;
}

void soap_request_free(struct soap_request *r)
{
	if (!r)
		return;
	buf_free(&r->store);
	memset(r, 0, sizeof(*r));
}

const char *soap_status_text(enum soap_status s)
{
	switch (s) {
	case SOAP_OK: return "ok";
	case SOAP_E_SYNTAX: return "not well-formed XML";
	case SOAP_E_DOCTYPE: return "DOCTYPE refused";
	case SOAP_E_DEPTH: return "nested too deep";
	case SOAP_E_NOT_SOAP: return "not a SOAP action request";
	case SOAP_E_TOO_MANY_ARGS: return "too many arguments";
	case SOAP_E_ARG_TOO_LONG: return "argument too long";
	case SOAP_E_ARG_NESTED: return "argument with child elements";
	case SOAP_E_NOMEM: return "out of memory";
	}
	return "unknown";
}

int soap_parse_action_header(struct str hdr, struct str *ret_type, struct str *ret_action)
{
	struct str s = str_trim(hdr);
	size_t i;

	if (s.len && s.p[0] == '"') {
		if (s.len < 2 || s.p[s.len - 1] != '"')
			return -EINVAL;
		s = str_trim(str_from(s.p + 1, s.len - 2));
	}
	for (i = s.len; i > 0; i--)
		if (s.p[i - 1] == '#')
			break;
	if (i <= 1 || i == s.len)
		return -EINVAL;
	*ret_type = str_from(s.p, i - 1);
	*ret_action = str_from(s.p + i, s.len - i);
	return 0;
}

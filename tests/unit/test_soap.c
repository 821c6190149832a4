/*
 * test_soap.c - proto/soap: SOAP request bodies (well-formed, odd and
 * malformed, UDA 1.1 3.2.1) and the SOAPACTION header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/soap.h"

#define NS2 "urn:schemas-upnp-org:service:WANIPConnection:2"
#define ENV_OPEN "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
#define ENV_CLOSE "</s:Body></s:Envelope>"
#define ACTION(body) ENV_OPEN "<u:X xmlns:u=\"" NS2 "\">" body "</u:X>" ENV_CLOSE

struct parse_row {
	const char *name;
	const char *body;
	enum soap_status status;
	const char *ns;                 /* for SOAP_OK */
	const char *action;
	const char *args;               /* "name=value;..." in document order */
};

static const struct parse_row parse_rows[] = {
	{ "no arguments", ACTION(""), SOAP_OK, NS2, "X", "" },
	{ "xml declaration and white space",
	  "<?xml version=\"1.0\"?>\n" ENV_OPEN "\n  <u:X xmlns:u=\"" NS2 "\">\n  </u:X>\n" ENV_CLOSE "\n",
	  SOAP_OK, NS2, "X", "" },
	{ "arguments in order", ACTION("<A>1</A><B>two</B>"), SOAP_OK, NS2, "X", "A=1;B=two;" },
	{ "empty element", ACTION("<A/><B></B><C />"), SOAP_OK, NS2, "X", "A=;B=;C=;" },
	{ "entities decoded", ACTION("<A>a&amp;b &lt;&#65;&#x42;&gt; &quot;&apos;</A>"),
	  SOAP_OK, NS2, "X", "A=a&b <AB> \"';" },
	{ "CDATA", ACTION("<A><![CDATA[<x>&]]></A>"), SOAP_OK, NS2, "X", "A=<x>&;" },
	{ "text kept as written", ACTION("<A> 8080 </A>"), SOAP_OK, NS2, "X", "A= 8080 ;" },
	{ "prefixed arguments", ACTION("<u:A>1</u:A>"), SOAP_OK, NS2, "X", "A=1;" },
	{ "attributes ignored", ACTION("<A xmlns:dt=\"urn:dt\" dt:dt=\"ui2\">5</A>"),
	  SOAP_OK, NS2, "X", "A=5;" },
	{ "comments and PIs ignored", ACTION("<!-- c --><A>1<!-- c -->2</A><?pi x?>"),
	  SOAP_OK, NS2, "X", "A=12;" },
	{ "default namespaces",
	  "<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><Body>"
	  "<GetX xmlns=\"" NS2 "\"><A>1</A></GetX></Body></Envelope>",
	  SOAP_OK, NS2, "GetX", "A=1;" },
	{ "action without namespace", ENV_OPEN "<X><A>1</A></X>" ENV_CLOSE, SOAP_OK, "", "X", "A=1;" },
	{ "header ignored",
	  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header><h:T "
	  "xmlns:h=\"urn:h\"><h:U>1</h:U></h:T></s:Header><s:Body><u:X xmlns:u=\"" NS2 "\"/>"
	  "</s:Body></s:Envelope>", SOAP_OK, NS2, "X", "" },
	{ "latin-1 body",
	  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" ACTION("<A>caf\xe9</A>"),
	  SOAP_OK, NS2, "X", "A=caf\xc3\xa9;" },

	{ "empty body", "", SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "not XML", "hello", SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "unclosed", ENV_OPEN "<u:X xmlns:u=\"" NS2 "\">", SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "mismatched tags", ACTION("<A>1</B>"), SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "unbound prefix", ENV_OPEN "<u:X/>" ENV_CLOSE, SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "undefined entity", ACTION("<A>&foo;</A>"), SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "trailing garbage", ACTION("") "<x/>", SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "unknown encoding", "<?xml version=\"1.0\" encoding=\"KOI8-R\"?>" ACTION(""),
	  SOAP_E_SYNTAX, NULL, NULL, NULL },
	{ "doctype", "<!DOCTYPE s:Envelope>" ACTION(""), SOAP_E_DOCTYPE, NULL, NULL, NULL },
	{ "billion laughs",
	  "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
	  "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
	  ACTION("<A>&c;</A>"), SOAP_E_DOCTYPE, NULL, NULL, NULL },
	{ "external entity", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	  ACTION("<A>&e;</A>"), SOAP_E_DOCTYPE, NULL, NULL, NULL },
	{ "wrong envelope namespace",
	  "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>"
	  "<u:X xmlns:u=\"" NS2 "\"/></s:Body></s:Envelope>", SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "no envelope", "<u:X xmlns:u=\"" NS2 "\"/>", SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "no body", "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"/>",
	  SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "empty body element", ENV_OPEN ENV_CLOSE, SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "two actions", ENV_OPEN "<X/><Y/>" ENV_CLOSE, SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "two bodies",
	  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><X/></s:Body>"
	  "<s:Body><Y/></s:Body></s:Envelope>", SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "other element in envelope",
	  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Foo/>"
	  "<s:Body><X/></s:Body></s:Envelope>", SOAP_E_NOT_SOAP, NULL, NULL, NULL },
	{ "nested argument", ACTION("<A><B>1</B></A>"), SOAP_E_ARG_NESTED, NULL, NULL, NULL },
	{ "too many arguments",
	  ACTION("<A1/><A2/><A3/><A4/><A5/><A6/><A7/><A8/><A9/><A10/><A11/><A12/><A13/><A14/>"
		 "<A15/><A16/><A17/>"), SOAP_E_TOO_MANY_ARGS, NULL, NULL, NULL },
	{ "sixteen arguments fit",
	  ACTION("<A1/><A2/><A3/><A4/><A5/><A6/><A7/><A8/><A9/><A10/><A11/><A12/><A13/><A14/>"
		 "<A15/><A16/>"), SOAP_OK, NS2, "X",
	  "A1=;A2=;A3=;A4=;A5=;A6=;A7=;A8=;A9=;A10=;A11=;A12=;A13=;A14=;A15=;A16=;" },
	{ "too deep in header",
	  "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header>"
	  "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></a></a>"
	  "</a></a></a></a></a></s:Header><s:Body><X/></s:Body></s:Envelope>",
	  SOAP_E_DEPTH, NULL, NULL, NULL },
};

/* "name=value;" for each argument */
static void format_args(const struct soap_request *req, char *out, size_t outsz)
{
	size_t n = 0;
	unsigned i;

	out[0] = '\0';
	for (i = 0; i < req->nargs && n < outsz; i++)
		n += (size_t)snprintf(out + n, outsz - n, "%.*s=%.*s;",
				      (int)req->args[i].name.len, req->args[i].name.p,
				      (int)req->args[i].value.len, req->args[i].value.p);
}

static void test_parse_table(void **state)
{
	char args[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];
		struct soap_request req;
		enum soap_status st;

		st = soap_parse(r->body, strlen(r->body), &req);
		if (st != r->status)
			fail_msg("%s: status %s, expected %s", r->name, soap_status_text(st),
				 soap_status_text(r->status));
		if (st != SOAP_OK)
			continue;
		assert_true(str_eq_cstr(req.ns, r->ns));
		assert_true(str_eq_cstr(req.action, r->action));
		format_args(&req, args, sizeof(args));
		if (strcmp(args, r->args) != 0)
			fail_msg("%s: args '%s', expected '%s'", r->name, args, r->args);
		soap_request_free(&req);
	}
}

/* An argument of exactly IGDD_SOAP_MAX_ARG_LEN bytes fits, one more does not
 * (the text arrives in pieces: entities split it). */
static void test_arg_length(void **state)
{
	static const char head[] = ENV_OPEN "<X><A>";
	static const char tail[] = "</A></X>" ENV_CLOSE;
	size_t n, len;
	char *body;

	(void)state;
	for (n = IGDD_SOAP_MAX_ARG_LEN; n <= IGDD_SOAP_MAX_ARG_LEN + 1; n++) {
		struct soap_request req;
		enum soap_status st;

		body = malloc(sizeof(head) + n * 5 + sizeof(tail));
		assert_non_null(body);
		memcpy(body, head, sizeof(head) - 1);
		len = sizeof(head) - 1;
		for (size_t i = 0; i < n; i++)
			len += (size_t)snprintf(body + len, 6, i % 2 ? "&amp;" : "x");
		len += (size_t)snprintf(body + len, sizeof(tail), "%s", tail);
		st = soap_parse(body, len, &req);
		if (n == IGDD_SOAP_MAX_ARG_LEN) {
			assert_int_equal(st, SOAP_OK);
			assert_int_equal(req.args[0].value.len, n);
			soap_request_free(&req);
		} else {
			assert_int_equal(st, SOAP_E_ARG_TOO_LONG);
		}
		free(body);
	}
}

struct header_row {
	const char *in;
	int ret;
	const char *type;
	const char *action;
};

static const struct header_row header_rows[] = {
	{ "\"" NS2 "#AddPortMapping\"", 0, NS2, "AddPortMapping" },
	{ NS2 "#AddPortMapping", 0, NS2, "AddPortMapping" },
	{ "  \"" NS2 "#GetStatusInfo\"\t", 0, NS2, "GetStatusInfo" },
	{ "\" " NS2 "#GetStatusInfo \"", 0, NS2, "GetStatusInfo" },
	{ "\"urn:a#b#C\"", 0, "urn:a#b", "C" },
	{ "", -EINVAL, NULL, NULL },
	{ "\"\"", -EINVAL, NULL, NULL },
	{ "\"", -EINVAL, NULL, NULL },
	{ "\"" NS2 "#X", -EINVAL, NULL, NULL },
	{ NS2, -EINVAL, NULL, NULL },
	{ NS2 "#", -EINVAL, NULL, NULL },
	{ "#X", -EINVAL, NULL, NULL },
};

static void test_action_header(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(header_rows) / sizeof(header_rows[0]); i++) {
		const struct header_row *r = &header_rows[i];
		struct str type = STR_NULL, action = STR_NULL;
		int ret = soap_parse_action_header(str_cstr(r->in), &type, &action);

		if (ret != r->ret)
			fail_msg("'%s': %d, expected %d", r->in, ret, r->ret);
		if (ret == 0) {
			assert_true(str_eq_cstr(type, r->type));
			assert_true(str_eq_cstr(action, r->action));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_arg_length),
		cmocka_unit_test(test_action_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

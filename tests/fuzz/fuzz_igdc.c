/*
 * fuzz_igdc.c - libFuzzer target for proto/igdc.c: what the upstream's
 * UPnP IGD sends a gateway behind another NAT, parsed by each of the
 * control point's parsers: an SSDP search response (UDA 1.3.3), an HTTP
 * response's framing (RFC 9112 6.3, with and without the close), a
 * device description (UDA 2.3) fetched from http://10.0.0.1:5000/rootDesc.xml,
 * and a SOAP response (UDA 3.2.2) to each action the client sends. The
 * input is the message (the same bytes go to every parser).
 *
 * Checks: a search response has an IPv4 LOCATION with a port and a path
 * starting with '/', and an ST of an IGD or WAN connection service; a
 * complete HTTP response's body lies inside the input and its status is
 * 100..999, and a response complete before the close is the same after
 * it; a chunked body decodes to no more than it takes and only once it
 * is complete; a description's control URL is on the location's host, with a
 * WAN connection service type; a SOAP answer is a fault or carries only
 * valid fields.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/igdc.h"
#include "util/str.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const actions[] = { "GetExternalIPAddress", "AddPortMapping",
					       "AddAnyPortMapping", "DeletePortMapping" };
	const char *p = (const char *)data;
	struct igdc_found f;
	struct igdc_service s;
	struct igdc_soap r;
	struct gena_url loc;
	int status, status2, a, b;
	size_t body, blen, body2, blen2, i;
	bool ch = false, ch2 = false;

	if (igdc_parse_search(p, size, &f) == 0) {
		CHECK(f.location.addr.family == AF_INET && f.location.port != 0);
		CHECK(f.location.path[0] == '/');
		CHECK(strncmp(f.st, "urn:schemas-upnp-org:", 21) == 0);
	}
	a = igdc_http_response(p, size, false, &status, &body, &blen, &ch);
	b = igdc_http_response(p, size, true, &status2, &body2, &blen2, &ch2);
	CHECK(a == 0 || a == 1 || a == -EINVAL || a == -ENOTSUP);
	if (b == 1) {
		CHECK(status2 >= 100 && status2 <= 999);
		CHECK(body2 <= size && blen2 <= size - body2);
	}
	if (a == 1) {
		CHECK(b == 1 && status == status2 && body == body2 && blen == blen2 && ch == ch2);
	}
	if (b == 1 && ch2) {
		char *copy = malloc(blen2 ? blen2 : 1);
		size_t d;

		CHECK(copy != NULL);
		memcpy(copy, p + body2, blen2);
		d = igdc_http_dechunk(copy, blen2);
		CHECK(d + 5 <= blen2);          /* at least "0" CRLF CRLF of framing */
		free(copy);
	}
	if (gena_parse_url(str_cstr("http://10.0.0.1:5000/rootDesc.xml"), &loc) != 0)
		abort();
	if (igdc_parse_description(p, size, &loc, &s) == 0) {
		CHECK(s.control.addr.family == AF_INET &&
		      s.control.addr.u.v4.s_addr == loc.addr.u.v4.s_addr);
		CHECK(s.version >= 1 && strstr(s.type, s.ppp ? "WANPPPConnection" : "WANIPConnection"));
	}
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (igdc_parse_soap(p, size, actions[i], &r) != 0)
			continue;
		if (r.fault)
			CHECK(!r.have_ext_ip && !r.have_port && r.error_code >= -1 && r.error_code <= 9999);
		if (r.have_port)
			CHECK(r.port != 0);
		if (r.have_ext_ip) {
			struct in_addr x;

			CHECK(inet_pton(AF_INET, r.ext_ip, &x) == 1);
		}
	}
	return 0;
}

/*
 * test_igdc.c - proto/igdc: the UPnP IGD control point's parsers and
 * builders (search response, description, SOAP response, HTTP framing),
 * with what miniupnpd 2.3.1 and igdd send (docs/POLICY.md "Behind
 * another NAT").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/igdc.h"
#include "util/str.h"

static const char search_ok[] =
	"HTTP/1.1 200 OK\r\n"
	"CACHE-CONTROL: max-age=120\r\n"
	"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
	"USN: uuid:6c0ffee0-0000-4000-8000-0000000000d1::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
	"EXT:\r\n"
	"SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
	"LOCATION: http://10.0.0.1:5000/rootDesc.xml\r\n"
	"OPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n"
	"01-NLS: 1796589054\r\n"
	"BOOTID.UPNP.ORG: 1796589054\r\n"
	"CONFIGID.UPNP.ORG: 1337\r\n"
	"\r\n";

static void test_search(void **state)
{
	struct igdc_found f;
	char ip[INET_ADDRSTRLEN];
	char buf[1024];

	(void)state;
	assert_int_equal(igdc_parse_search(search_ok, strlen(search_ok), &f), 0);
	inet_ntop(AF_INET, &f.location.addr.u.v4, ip, sizeof(ip));
	assert_string_equal(ip, "10.0.0.1");
	assert_int_equal(f.location.port, 5000);
	assert_string_equal(f.location.path, "/rootDesc.xml");
	assert_true(f.have_bootid);
	assert_int_equal(f.bootid, 1796589054u);
	assert_string_equal(f.st, "urn:schemas-upnp-org:device:InternetGatewayDevice:1");
	/* lower-case names, no BOOTID, a WANIPConnection ST */
	snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nlocation: http://10.0.0.1/d.xml\r\n"
		 "st: urn:schemas-upnp-org:service:WANIPConnection:2\r\n\r\n");
	assert_int_equal(igdc_parse_search(buf, strlen(buf), &f), 0);
	assert_false(f.have_bootid);
	assert_int_equal(f.location.port, 80);
	/* refused: another status, another ST, no LOCATION, a name in it, a
	 * NOTIFY, a repeated LOCATION, IPv6 */
	static const char *const bad[] = {
		"HTTP/1.1 404 Not Found\r\nLOCATION: http://10.0.0.1/d\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/d\r\nST: upnp:rootdevice\r\n\r\n",
		"HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLOCATION: http://router.lan/d\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"NOTIFY * HTTP/1.1\r\nLOCATION: http://10.0.0.1/d\r\nNT: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.1/d\r\nLOCATION: http://10.0.0.9/d\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nLOCATION: http://[2001:db8::1]/d\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"HTTP/1.1 2000 OK\r\nLOCATION: http://10.0.0.1/d\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (igdc_parse_search(bad[i], strlen(bad[i]), &f) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

static void test_msearch(void **state)
{
	char out[256];
	size_t n;

	(void)state;
	n = igdc_build_msearch(out, sizeof(out), "urn:schemas-upnp-org:device:InternetGatewayDevice:1");
	assert_true(n > 0);
	assert_non_null(strstr(out, "M-SEARCH * HTTP/1.1\r\n"));
	assert_non_null(strstr(out, "MAN: \"ssdp:discover\"\r\n"));
	assert_non_null(strstr(out, "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"));
	assert_int_equal(igdc_build_msearch(out, 20, "x"), 0);
}

static const char desc_v2[] =
	"<?xml version=\"1.0\"?>\n"
	"<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><specVersion><major>1</major><minor>1</minor></specVersion>"
	"<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType>"
	"<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
	"<controlURL>/ctl/L3F</controlURL></service></serviceList>"
	"<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType>"
	"<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>"
	"<serviceList>"
	"<service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>"
	"<controlURL>/ctl/PPP</controlURL></service>"
	"<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>"
	"<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>"
	"<controlURL> /ctl/IPConn </controlURL><eventSubURL>/evt/IPConn</eventSubURL></service>"
	"</serviceList></device></deviceList></device></deviceList></device></root>";

static struct gena_url url(const char *s)
{
	struct gena_url u;

	assert_int_equal(gena_parse_url(str_cstr(s), &u), 0);
	return u;
}

static void test_description(void **state)
{
	struct gena_url loc = url("http://10.0.0.1:5000/rootDesc.xml");
	struct igdc_service s;
	char doc[2048];

	(void)state;
	assert_int_equal(igdc_parse_description(desc_v2, strlen(desc_v2), &loc, &s), 0);
	assert_string_equal(s.type, "urn:schemas-upnp-org:service:WANIPConnection:2");
	assert_int_equal(s.version, 2);
	assert_false(s.ppp);
	assert_string_equal(s.control.path, "/ctl/IPConn");
	assert_int_equal(s.control.port, 5000);
	/* PPP only, a relative URL against the description's directory */
	snprintf(doc, sizeof(doc), "<root><device><serviceList><service>"
		 "<serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType>"
		 "<controlURL>ctl/ppp</controlURL></service></serviceList></device></root>");
	loc = url("http://10.0.0.1:80/igd/desc.xml");
	assert_int_equal(igdc_parse_description(doc, strlen(doc), &loc, &s), 0);
	assert_true(s.ppp);
	assert_string_equal(s.control.path, "/igd/ctl/ppp");
	/* URLBase honoured; an absolute URL on another host refused */
	snprintf(doc, sizeof(doc), "<root><URLBase>http://10.0.0.1:49000/</URLBase><device><serviceList><service>"
		 "<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
		 "<controlURL>upnp/control/wanip</controlURL></service></serviceList></device></root>");
	assert_int_equal(igdc_parse_description(doc, strlen(doc), &loc, &s), 0);
	assert_int_equal(s.control.port, 49000);
	assert_string_equal(s.control.path, "/upnp/control/wanip");
	snprintf(doc, sizeof(doc), "<root><device><serviceList><service>"
		 "<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
		 "<controlURL>http://192.0.2.9/x</controlURL></service></serviceList></device></root>");
	assert_int_equal(igdc_parse_description(doc, strlen(doc), &loc, &s), -ENOENT);
	/* no WAN connection service; a DOCTYPE; not well-formed */
	snprintf(doc, sizeof(doc), "<root><device><serviceList><service>"
		 "<serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
		 "<controlURL>/l3f</controlURL></service></serviceList></device></root>");
	assert_int_equal(igdc_parse_description(doc, strlen(doc), &loc, &s), -ENOENT);
	snprintf(doc, sizeof(doc), "<!DOCTYPE root [<!ENTITY a \"b\">]><root/>");
	assert_int_equal(igdc_parse_description(doc, strlen(doc), &loc, &s), -EINVAL);
	snprintf(doc, sizeof(doc), "<root><device>");
	assert_int_equal(igdc_parse_description(doc, strlen(doc), &loc, &s), -EINVAL);
}

static void test_soap(void **state)
{
	static const char ext[] =
		"<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
		"s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
		"<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
		"<NewExternalIPAddress>198.51.100.1</NewExternalIPAddress>"
		"</u:GetExternalIPAddressResponse></s:Body></s:Envelope>\r\n";
	static const char any[] =
		"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
		"<u:AddAnyPortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
		"<NewReservedPort>8091</NewReservedPort></u:AddAnyPortMappingResponse></s:Body></s:Envelope>";
	static const char fault[] =
		"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>"
		"<faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
		"<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>718</errorCode>"
		"<errorDescription>ConflictInMappingEntry</errorDescription></UPnPError>"
		"</detail></s:Fault></s:Body></s:Envelope>";
	struct igdc_soap r;

	(void)state;
	assert_int_equal(igdc_parse_soap(ext, strlen(ext), "GetExternalIPAddress", &r), 0);
	assert_false(r.fault);
	assert_true(r.have_ext_ip);
	assert_string_equal(r.ext_ip, "198.51.100.1");
	assert_int_equal(igdc_parse_soap(any, strlen(any), "AddAnyPortMapping", &r), 0);
	assert_true(r.have_port);
	assert_int_equal(r.port, 8091);
	assert_int_equal(igdc_parse_soap(fault, strlen(fault), "AddPortMapping", &r), 0);
	assert_true(r.fault);
	assert_int_equal(r.error_code, 718);
	/* the response of another action; an address that is not one; no envelope */
	assert_int_equal(igdc_parse_soap(ext, strlen(ext), "AddPortMapping", &r), -EINVAL);
	{
		char bad[1024];

		snprintf(bad, sizeof(bad), "%s", ext);
		memcpy(strstr(bad, "198.51.100.1"), "198.51.1000", 11);
		assert_int_equal(igdc_parse_soap(bad, strlen(bad), "GetExternalIPAddress", &r), -EINVAL);
	}
	assert_int_equal(igdc_parse_soap("<a/>", 4, "AddPortMapping", &r), -EINVAL);
}

static void test_http_response(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	static const char err[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/xml\r\n\r\n<x/>";
	int status;
	size_t body, blen;
	bool ch;

	(void)state;
	assert_int_equal(igdc_http_response(ok, strlen(ok), false, &status, &body, &blen, &ch), 1);
	assert_int_equal(status, 200);
	assert_int_equal(blen, 5);
	assert_memory_equal(ok + body, "hello", 5);
	assert_int_equal(igdc_http_response(ok, strlen(ok) - 1, false, &status, &body, &blen, &ch), 0);
	assert_int_equal(igdc_http_response(ok, strlen(ok) - 1, true, &status, &body, &blen, &ch), -EINVAL);
	assert_int_equal(igdc_http_response(err, strlen(err), false, &status, &body, &blen, &ch), 0);
	assert_int_equal(igdc_http_response(err, strlen(err), true, &status, &body, &blen, &ch), 1);
	assert_int_equal(status, 500);
	assert_int_equal(blen, 4);
	assert_false(ch);
	static const char gz[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
	assert_int_equal(igdc_http_response(gz, strlen(gz), true, &status, &body, &blen, &ch), -ENOTSUP);
	static const char twice[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nh";
	assert_int_equal(igdc_http_response(twice, strlen(twice), true, &status, &body, &blen, &ch), -EINVAL);
	static const char more[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nhh";
	assert_int_equal(igdc_http_response(more, strlen(more), true, &status, &body, &blen, &ch), -EINVAL);
	assert_int_equal(igdc_http_response("garbage\r\n\r\n", 11, true, &status, &body, &blen, &ch), -EINVAL);
}

/* text as a chunked HTTP/1.1 200 response: chunks of 1, 7, 100, ...
 * bytes (hex sizes, one with an extension), a trailer field */
static size_t chunked_response(char *out, size_t outsz, const char *text)
{
	static const size_t sizes[] = { 1, 7, 100, 0x1f, 500 };
	size_t len = strlen(text), off = 0, n, k = 0;
	int w = snprintf(out, outsz, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
			 "Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n");

	assert_true(w > 0 && (size_t)w < outsz);
	n = (size_t)w;
	while (off < len) {
		size_t c = sizes[k++ % 5];

		if (c > len - off)
			c = len - off;
		w = snprintf(out + n, outsz - n, k == 2 ? "%zx;name=value\r\n" : "%zX\r\n", c);
		assert_true(w > 0 && (size_t)w < outsz - n);
		n += (size_t)w;
		assert_true(c + 2 < outsz - n);
		memcpy(out + n, text + off, c);
		memcpy(out + n + c, "\r\n", 2);
		n += c + 2;
		off += c;
	}
	w = snprintf(out + n, outsz - n, "0\r\nX-Trailer: 1\r\n\r\n");
	assert_true(w > 0 && (size_t)w < outsz - n);
	return n + (size_t)w;
}

static void test_http_chunked(void **state)
{
	static const char soap[] =
		"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
		"<u:AddAnyPortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
		"<NewReservedPort>8091</NewReservedPort></u:AddAnyPortMappingResponse></s:Body></s:Envelope>";
	struct gena_url loc = url("http://10.0.0.1:5000/rootDesc.xml");
	static char resp[8192], bad[8192];
	struct igdc_service svc;
	struct igdc_soap r;
	size_t n, body, blen, i;
	int status;
	bool ch = false;

	(void)state;
	/* a description */
	n = chunked_response(resp, sizeof(resp), desc_v2);
	assert_int_equal(igdc_http_response(resp, n, false, &status, &body, &blen, &ch), 1);
	assert_true(ch);
	assert_int_equal(status, 200);
	assert_int_equal(body + blen, n);
	/* every shorter prefix: more needed before the close, malformed after */
	for (i = body; i < n; i++) {
		assert_int_equal(igdc_http_response(resp, i, false, &status, &body, &blen, &ch), 0);
		assert_int_equal(igdc_http_response(resp, i, true, &status, &body, &blen, &ch), -EINVAL);
	}
	assert_int_equal(igdc_http_response(resp, n, true, &status, &body, &blen, &ch), 1);
	blen = igdc_http_dechunk(resp + body, blen);
	assert_int_equal(blen, strlen(desc_v2));
	assert_memory_equal(resp + body, desc_v2, blen);
	assert_int_equal(igdc_parse_description(resp + body, blen, &loc, &svc), 0);
	assert_string_equal(svc.control.path, "/ctl/IPConn");
	/* a SOAP answer */
	n = chunked_response(resp, sizeof(resp), soap);
	assert_int_equal(igdc_http_response(resp, n, true, &status, &body, &blen, &ch), 1);
	blen = igdc_http_dechunk(resp + body, blen);
	assert_int_equal(igdc_parse_soap(resp + body, blen, "AddAnyPortMapping", &r), 0);
	assert_true(r.have_port);
	assert_int_equal(r.port, 8091);
	/* bytes after the last chunk; a size that is no hex number; a chunk
	 * shorter than its size; Content-Length beside chunked; two codings */
	n = chunked_response(resp, sizeof(resp), soap);
	memcpy(bad, resp, n);
	memcpy(bad + n, "x", 1);
	assert_int_equal(igdc_http_response(bad, n + 1, true, &status, &body, &blen, &ch), -EINVAL);
	static const char nohex[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n";
	assert_int_equal(igdc_http_response(nohex, strlen(nohex), false, &status, &body, &blen, &ch), -EINVAL);
	static const char shortc[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\r\n0\r\n\r\n";
	assert_int_equal(igdc_http_response(shortc, strlen(shortc), true, &status, &body, &blen, &ch), -EINVAL);
	static const char both[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	assert_int_equal(igdc_http_response(both, strlen(both), true, &status, &body, &blen, &ch), -EINVAL);
	static const char twice[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	assert_int_equal(igdc_http_response(twice, strlen(twice), true, &status, &body, &blen, &ch), -EINVAL);
	/* a size beyond the bound of an answer */
	static const char huge[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\nab";
	assert_int_equal(igdc_http_response(huge, strlen(huge), false, &status, &body, &blen, &ch), -EINVAL);
	/* an empty chunked body */
	static const char empty[] = "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
	assert_int_equal(igdc_http_response(empty, strlen(empty), false, &status, &body, &blen, &ch), 1);
	assert_int_equal(status, 500);
	assert_int_equal(igdc_http_dechunk((char *)resp, 0), 0);
}

static void test_build(void **state)
{
	struct gena_url u = url("http://10.0.0.1:5000/ctl/IPConn");
	const char *names[] = { "NewRemoteHost", "NewExternalPort", "NewPortMappingDescription" };
	const char *values[] = { "", "8080", "a<b" };
	struct buf b;
	const char *body;

	(void)state;
	buf_init(&b, 8192);
	assert_int_equal(igdc_build_soap(&b, &u, "urn:schemas-upnp-org:service:WANIPConnection:2",
					 "AddPortMapping", names, values, 3), 0);
	buf_append(&b, "", 1);
	assert_non_null(strstr(b.p, "POST /ctl/IPConn HTTP/1.1\r\nHost: 10.0.0.1:5000\r\n"));
	assert_non_null(strstr(b.p, "SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:2#AddPortMapping\"\r\n"));
	body = strstr(b.p, "\r\n\r\n") + 4;
	{
		char want[64];

		snprintf(want, sizeof(want), "Content-Length: %zu\r\n", strlen(body));
		assert_non_null(strstr(b.p, want));
	}
	assert_non_null(strstr(body, "<NewRemoteHost></NewRemoteHost><NewExternalPort>8080</NewExternalPort>"));
	assert_non_null(strstr(body, "<NewPortMappingDescription>a&lt;b</NewPortMappingDescription>"));
	buf_reset(&b);
	assert_int_equal(igdc_build_get(&b, &u), 0);
	buf_append(&b, "", 1);
	assert_string_equal(b.p, "GET /ctl/IPConn HTTP/1.1\r\nHost: 10.0.0.1:5000\r\nConnection: close\r\n"
			    "User-Agent: igdd UPnP/1.1\r\n\r\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_msearch),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_soap),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_http_chunked),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

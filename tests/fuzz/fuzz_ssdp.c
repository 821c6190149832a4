/*
 * fuzz_ssdp.c - libFuzzer target for proto/ssdp.c (UPnP Device
 * Architecture 1.1 section 1): the M-SEARCH parser (1.3.2), the answer
 * decision (1.3.3) and the response / NOTIFY builders, checking that
 * whatever arrives, the parser stays inside the datagram and every text
 * we would send is a bounded, well-formed message.
 *
 * The first input byte picks unicast or multicast and the DATE; the rest
 * is the datagram. Build with clang -fsanitize=fuzzer,address -Isrc,
 * this file, src/proto/ssdp.c and every src/util .c file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>

#include "proto/ssdp.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void check_line_safe(const char *s)
{
	CHECK(strlen(s) > 0);
	CHECK(strpbrk(s, "\r\n") == NULL);
}

static void check_message(const struct buf *b)
{
	CHECK(!b->toobig);
	CHECK(b->len > 4 && b->len <= IGDD_SSDP_MAX_DATAGRAM);
	CHECK(strlen(b->p) == b->len);
	CHECK(memcmp(b->p + b->len - 4, "\r\n\r\n", 4) == 0);
	/* Exactly one empty line: the end of the headers. */
	CHECK(strstr(b->p, "\r\n\r\n") == b->p + b->len - 4);
}

static void build_all(const struct ssdp_device *d, const struct ssdp_answer *a, size_t n,
		      time_t now)
{
	struct buf b;
	size_t i;

	buf_init(&b, IGDD_SSDP_MAX_DATAGRAM);
	for (i = 0; i < n; i++) {
		check_line_safe(a[i].st);
		check_line_safe(a[i].usn);
		CHECK(a[i].desc == SSDP_DESC_V1 || a[i].desc == SSDP_DESC_V2);
		CHECK(ssdp_build_response(d, &a[i], now, &b) == 0);
		check_message(&b);
		CHECK(ssdp_build_notify(d, &a[i], SSDP_NTS_ALIVE, &b) == 0);
		check_message(&b);
		CHECK(ssdp_build_notify(d, &a[i], SSDP_NTS_BYEBYE, &b) == 0);
		check_message(&b);
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssdp_answer a[SSDP_ANNOUNCE_COUNT];
	char server[SSDP_SERVER_MAX], release[65];
	struct ssdp_device d;
	struct ssdp_msearch m;
	const char *text;
	bool multicast;
	time_t now;
	size_t n, len;

	if (size < 1)
		return 0;
	multicast = data[0] & 1;
	now = (time_t)data[0] * 86400 * 365;
	text = (const char *)data + 1;
	len = size - 1;

	/* SERVER from an arbitrary OS token (server_os is validated; this is not). */
	n = len < sizeof(release) - 1 ? len : sizeof(release) - 1;
	memcpy(release, text, n);
	release[n] = '\0';
	ssdp_server_string(release, "0.1.0", server, sizeof(server));
	check_line_safe(server);
	CHECK(strstr(server, " UPnP/1.1 igdd/0.1.0") != NULL);

	memset(&d, 0, sizeof(d));
	d.uuid[SSDP_DEV_ROOT] = "2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a50";
	d.uuid[SSDP_DEV_WAN] = "2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a51";
	d.uuid[SSDP_DEV_WANCONN] = "2f0e8b3a-5c1d-4e6f-9a7b-0c1d2e3f4a52";
	/* The longest LOCATION host there is, IPv6 in brackets (bit 1 of the
	 * first byte), or an IPv4 address. */
	if (data[0] & 2) {
		struct in6_addr a6;

		inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", &a6);
		d.addr = ipaddr_from_v6(&a6, 0);
		d.notify_host = "[FF02::C]:1900";
	} else {
		d.addr = ipaddr_from_v4((struct in_addr){ htonl(0xc0a80101) });
	}
	d.http_port = 65535;
	d.boot_id = UINT32_MAX;
	d.config_id = 16777215;
	d.max_age = ssdp_max_age(UINT32_MAX);
	d.server = server;

	/* The decision alone, with the whole input as the search target. */
	n = ssdp_answers(&d, str_from(text, len), a);
	CHECK(n <= SSDP_MAX_ANSWERS);
	build_all(&d, a, n, now);

	/* The datagram path. */
	if (ssdp_parse(text, len, multicast, &m) == SSDP_PARSE_OK) {
		CHECK(m.st.len > 0 && m.st.p >= text && m.st.p + m.st.len <= text + len);
		CHECK(m.user_agent.len == 0 ||
		      (m.user_agent.p >= text && m.user_agent.p + m.user_agent.len <= text + len));
		CHECK(m.mx <= IGDD_SSDP_MAX_MX);
		CHECK(m.have_mx == multicast);
		CHECK(multicast || m.mx == 0);
		n = ssdp_answers(&d, m.st, a);
		CHECK(n <= SSDP_MAX_ANSWERS);
		CHECK(n == 0 || n == 1 || str_eq_cstr(m.st, "ssdp:all"));
		build_all(&d, a, n, now);
	}

	n = ssdp_announce_set(&d, a);
	CHECK(n == SSDP_ANNOUNCE_COUNT);
	if (data[0] == 0)
		build_all(&d, a, n, now);
	return 0;
}

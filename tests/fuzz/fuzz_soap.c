/*
 * fuzz_soap.c - libFuzzer target for SOAP control (UDA 1.1 section 3.2):
 * the body through proto/soap.c (expat) and the whole dispatcher of
 * svc/action.c into the port-mapping and connection actions, on the sim
 * backend, with a table that already holds a few mappings.
 *
 * Input: byte 0 selects the peer (bits 0-2), the service (bit 3: the
 * WANIPConnection or the WANCommonInterfaceConfig control URL), the
 * configuration (bits 4-5) and whether a SOAPACTION header is sent at all
 * (bit 6). The first line after it is the SOAPACTION value, the rest is
 * the body.
 *
 * Checks: the status is 200, 500 (a UPnPError fault) or 400 (no SOAP at
 * all, empty body); every body we send is well-formed XML; a request
 * that fails leaves the mapping table and SystemUpdateID as they were.
 */
#include "fuzz_env.h"

#include "core/mapping.h"
#include "svc/action.h"
#include "svc/wancommon.h"
#include "svc/wanipconn.h"
#include "util/buf.h"
#include "util/limits.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SOAPACTION_MAX 512

static const char add_fmt[] =
	"<?xml version=\"1.0\"?>"
	"<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
	"<u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:2\">"
	"<NewRemoteHost>%s</NewRemoteHost><NewExternalPort>%u</NewExternalPort>"
	"<NewProtocol>%s</NewProtocol><NewInternalPort>%u</NewInternalPort>"
	"<NewInternalClient>%s</NewInternalClient><NewEnabled>1</NewEnabled>"
	"<NewPortMappingDescription>seed</NewPortMappingDescription>"
	"<NewLeaseDuration>%u</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>";

/* A few mappings for the lookups, listings and deletions to find. */
static void populate(struct fuzz_env *env)
{
	static const struct {
		const char *remote, *proto, *client;
		unsigned port, lease, peer;
	} rows[] = {
		{ "", "TCP", "192.168.1.20", 4600, 3600, 0 },
		{ "", "UDP", "192.168.1.20", 5000, 0, 0 },
		{ "198.51.100.7", "TCP", "192.168.1.30", 4700, 60, 1 },
	};
	struct buf body, out;
	struct ipaddr peer;
	size_t i;

	buf_init(&body, 4096);
	buf_init(&out, IGDD_HTTP_MAX_RESPONSE);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		buf_reset(&body);
		buf_printf(&body, add_fmt, rows[i].remote, rows[i].port, rows[i].proto,
			   rows[i].port, rows[i].client, rows[i].lease);
		peer = fuzz_peer(rows[i].peer);
		action_dispatch(&env->e, wanipconn_service(),
				"\"urn:schemas-upnp-org:service:WANIPConnection:2#AddPortMapping\"",
				str_from(body.p, body.len), &peer, 0, &out);
		buf_reset(&out);
	}
	buf_free(&body);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1, *nl;
	const struct service *svc;
	struct fuzz_env env;
	struct ipaddr peer;
	char *soapaction = NULL, *body;
	size_t len, count;
	uint32_t update_id;
	struct buf out;
	int status;

	if (size < 1 || size > 4 * IGDD_HTTP_MAX_BODY)
		return 0;
	if (fuzz_env_init(&env, (enum fuzz_config)((data[0] >> 4) & 3), false) < 0)
		return 0;
	populate(&env);
	peer = fuzz_peer(data[0] & 7);
	svc = (data[0] & 8) ? wancommon_service() : wanipconn_service();
	len = size - 1;
	nl = memchr(text, '\n', len);
	if (nl && (size_t)(nl - text) <= SOAPACTION_MAX) {
		if (!(data[0] & 0x40))
			soapaction = fuzz_strndup(text, (size_t)(nl - text));
		len -= (size_t)(nl - text) + 1;
		text = nl + 1;
	}
	/* The body as the HTTP layer hands it over: exactly len bytes. */
	body = fuzz_strndup(text, len);

	count = map_count(env.e.maps);
	update_id = env.e.system_update_id;
	buf_init(&out, IGDD_HTTP_MAX_RESPONSE);
	status = action_dispatch(&env.e, svc, soapaction, str_from(body, len), &peer, 0, &out);
	FUZZ_CHECK(status == 200 || status == 500 || status == 400);
	FUZZ_CHECK(!out.toobig);
	if (status == 400)
		FUZZ_CHECK(out.len == 0);
	else
		FUZZ_CHECK(fuzz_xml_well_formed(out.p, out.len));
	if (status != 200) {
		FUZZ_CHECK(map_count(env.e.maps) == count);
		FUZZ_CHECK(env.e.system_update_id == update_id);
	}
	buf_free(&out);

	/* Let every lease and every link timer run out. */
	fuzz_env_advance(&env, 3601u * 1000u);
	fuzz_env_advance(&env, 604801u * 1000u);
	FUZZ_CHECK(map_count(env.e.maps) <= count + 2);

	free(body);
	free(soapaction);
	fuzz_env_fini(&env);
	return 0;
}

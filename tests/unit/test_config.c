/*
 * test_config.c - conf/config.c: the configuration parser (good and bad
 * rows, each error checked down to its "name:line: message"), the printer,
 * and the golden `igdd -n` cases in tests/data/config (FILE.conf ->
 * FILE.expected: the normalised output, or the error line).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"

#define BASE "lan_interface = lo\n"
#define NFT "backend = nft\nwan_interface = eth0\n"
#define LONG128 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *text, struct config *c, char *err, size_t errsz)
{
	return config_parse("t.conf", text, strlen(text), c, err, errsz);
}

/* config_print into a string (caller frees). */
static char *print_to_string(const struct config *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	config_print(c, f);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void test_defaults(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(parse(BASE, &c, err, sizeof(err)), 0);
	assert_int_equal(c.backend, CONFIG_BACKEND_SIM);
	assert_int_equal(c.nlans, 1);
	assert_string_equal(c.lan_interface[0], "lo");
	assert_string_equal(c.wan_interface, "");
	assert_false(c.have_external_ip);
	assert_false(c.have_uuid);
	assert_int_equal(c.http_port, 0);
	assert_string_equal(c.friendly_name, "igdd Internet Gateway");
	assert_int_equal(c.notify_interval, 900);
	assert_string_equal(c.state_dir, "/var/lib/igdd");
	assert_true(c.secure_mode);
	assert_int_equal(c.max_mappings, 131070);
	assert_int_equal(c.max_mappings_per_client, 4096);
	assert_int_equal(c.nacl, 0);
	assert_int_equal(c.http_max_connections, 128);
	assert_int_equal(c.http_max_per_ip, 8);
	assert_int_equal(c.http_timeout, 10);
	assert_int_equal(c.http_max_lifetime, 60);
	assert_int_equal(c.wan_public, CONFIG_WAN_PUBLIC_AUTO);
	assert_string_equal(c.server_os, "Linux");
	assert_false(c.connection_control_all);
	assert_int_equal(c.nconnection_control, 0);
	assert_false(c.connection_type_read_only);
	assert_int_equal(c.auto_disconnect_time, 0);
	assert_int_equal(c.idle_disconnect_time, 0);
	assert_int_equal(c.warn_disconnect_delay, 0);
	assert_int_equal(c.sim_connect_delay, 0);
	assert_int_equal(c.sim_disconnect_delay, 0);
	assert_false(c.sim_connect_fail);
	assert_false(c.sim_ip_bridged);
}

/* Good rows: BASE + line, then the printed output must contain want. */
struct good_row {
	const char *line;
	const char *want;
};

static const struct good_row good_rows[] = {
	{ "backend = nft\nwan_interface = eth0", "backend = nft\n" },
	{ "wan_interface = eth0.2", "wan_interface = eth0.2\n" },
	{ "wan_interface = abcdefghijklmno", "wan_interface = abcdefghijklmno\n" },
	{ "external_ip = 198.51.100.7", "external_ip = 198.51.100.7\n" },
	{ "http_port = 0", "http_port = 0\n" },
	{ "http_port = 65535", "http_port = 65535\n" },
	{ "http_port = 00080", "http_port = 80\n" },
	{ "uuid = 0123ABCD-4567-89ab-CDEF-0123456789AB",
	  "uuid = 0123abcd-4567-89ab-cdef-0123456789ab\n" },
	{ "friendly_name = My Router", "friendly_name = \"My Router\"\n" },
	{ "friendly_name = \"  My Router  \"", "friendly_name = \"  My Router  \"\n" },
	{ "friendly_name = \"Router #1\" # the first", "friendly_name = \"Router #1\"\n" },
	{ "friendly_name = \"a \\\"b\\\" \\\\c\"", "friendly_name = \"a \\\"b\\\" \\\\c\"\n" },
	{ "friendly_name = Routeur caf\xc3\xa9 \xe2\x82\xac", "friendly_name = \"Routeur caf\xc3\xa9 \xe2\x82\xac\"\n" },
	{ "friendly_name = 123456789012345678901234567890123456789012345678901234567890123",
	  "friendly_name = \"123456789012345678901234567890123456789012345678901234567890123\"\n" },
	{ "notify_interval = 30", "notify_interval = 30\n" },
	{ "notify_interval = 86400", "notify_interval = 86400\n" },
	{ "state_dir = /tmp/igdd state", "state_dir = /tmp/igdd state\n" },
	{ "state_dir = \"/tmp/a#b\"", "state_dir = \"/tmp/a#b\"\n" },
	{ "control_socket = /tmp/igdd.sock", "control_socket = /tmp/igdd.sock\n" },
	{ "control_socket = \"\"", "control_socket = \"\"\n" },
	{ "control_socket =", "control_socket = \"\"\n" },
	{ "secure_mode = no", "secure_mode = no\n" },
	{ "secure_mode = OFF", "secure_mode = no\n" },
	{ "secure_mode = 0", "secure_mode = no\n" },
	{ "secure_mode = False", "secure_mode = no\n" },
	{ "secure_mode = on", "secure_mode = yes\n" },
	{ "secure_mode = 1", "secure_mode = yes\n" },
	{ "secure_mode = true", "secure_mode = yes\n" },
	{ "max_mappings = 1", "max_mappings = 1\n" },
	{ "max_mappings_per_client = 131070", "max_mappings_per_client = 131070\n" },
	{ "http_max_connections = 4096", "http_max_connections = 4096\n" },
	{ "http_max_per_ip = 1", "http_max_per_ip = 1\n" },
	{ "http_timeout = 300", "http_timeout = 300\n" },
	{ "http_max_lifetime = 1", "http_max_lifetime = 1\n" },
	{ "http_max_lifetime = 86400", "http_max_lifetime = 86400\n" },
	{ "server_os = OpenWrt/23.05.2", "server_os = OpenWrt/23.05.2\n" },
	{ "server_os = \"Debian\"", "server_os = Debian\n" },
	{ "server_os = a#b", "server_os = a\n" },
	{ "server_os = \"a#b/1\"", "server_os = \"a#b/1\"\n" },
	{ "server_os = 1234567890123456789012345678901234567890123456789012345678901234",
	  "server_os = 1234567890123456789012345678901234567890123456789012345678901234\n" },
	{ "acl = allow 1024-65535 192.168.1.0/24 1024-65535",
	  "acl = allow 1024-65535 192.168.1.0/24 1024-65535\n" },
	{ "acl = deny 0-65535 0.0.0.0/0 0-65535", "acl = deny 0-65535 0.0.0.0/0 0-65535\n" },
	{ "acl =\tallow   80-80\t10.1.2.3   8080 ", "acl = allow 80 10.1.2.3/32 8080\n" },
	{ "acl = allow 22 192.168.1.77/24 22", "acl = allow 22 192.168.1.0/24 22\n" },
	{ "acl = allow 22 192.168.1.77/0 22", "acl = allow 22 0.0.0.0/0 22\n" },
	{ "acl = allow 22 192.168.1.77/31 22", "acl = allow 22 192.168.1.76/31 22\n" },
	/* several LANs, and rules naming one */
	{ "lan_interface = br-guest", "lan_interface = lo\nlan_interface = br-guest\n" },
	{ "lan_interface = \"a#b\"", "lan_interface = lo\nlan_interface = \"a#b\"\n" },
	{ "acl = deny 0-65535 0.0.0.0/0 0-65535 on lo",
	  "acl = deny 0-65535 0.0.0.0/0 0-65535 on lo\n" },
	{ "acl = allow 80-80 192.168.2.7/24 80\ton  vlan10\nlan_interface = vlan10",
	  "lan_interface = lo\nlan_interface = vlan10\n" },
	{ "acl = allow 80-80 192.168.2.7/24 80\ton  vlan10\nlan_interface = vlan10",
	  "acl = allow 80 192.168.2.0/24 80 on vlan10\n" },
	{ "lan_interface = \"a#b\"\nacl = \"allow 1 1.2.3.4 1 on a#b\"",
	  "acl = \"allow 1 1.2.3.4/32 1 on a#b\"\n" },
	{ "  # indented comment\n\t\n  http_port=8080  # trailing", "http_port = 8080\n" },
	{ "http_port = 8080\r", "http_port = 8080\n" },
	{ "connection_control = all", "connection_control = all\n" },
	{ "connection_control = 192.168.1.20", "connection_control = 192.168.1.20/32\n" },
	{ "connection_control = 192.168.1.77/24", "connection_control = 192.168.1.0/24\n" },
	{ "connection_control = 0.0.0.0/0", "connection_control = 0.0.0.0/0\n" },
	{ "connection_control = 10.0.0.1\nconnection_control = 10.0.0.2",
	  "connection_control = 10.0.0.1/32\nconnection_control = 10.0.0.2/32\n" },
	{ "connection_type_read_only = yes", "connection_type_read_only = yes\n" },
	{ "connection_type_read_only = off", "connection_type_read_only = no\n" },
	{ "auto_disconnect_time = 4294967295", "auto_disconnect_time = 4294967295\n" },
	{ "idle_disconnect_time = 600", "idle_disconnect_time = 600\n" },
	{ "warn_disconnect_delay = 0", "warn_disconnect_delay = 0\n" },
	{ "sim_connect_delay = 600000", "sim_connect_delay = 600000\n" },
	{ "sim_disconnect_delay = 1", "sim_disconnect_delay = 1\n" },
	{ "sim_connect_fail = TRUE", "sim_connect_fail = yes\n" },
	{ "sim_ip_bridged = 1", "sim_ip_bridged = yes\n" },
	{ "sim_router_ports = off", "sim_router_ports = no\n" },
	{ "sim_static_forward = tcp 8443", "sim_static_forward = TCP 8443\n" },
	{ "sim_static_forward = UDP\t51820-51830\nsim_static_forward = TCP 1-65535",
	  "sim_static_forward = UDP 51820-51830\nsim_static_forward = TCP 1-65535\n" },
	{ NFT "wan_up_command = /sbin/ifup wan", "wan_up_command = /sbin/ifup wan\n" },
	{ NFT "wan_up_command = \t/usr/local/bin/wan-up  \t-v  eth1 ",
	  "wan_up_command = /usr/local/bin/wan-up -v eth1\n" },
	{ NFT "wan_up_command = /bin/true\nwan_down_command = /sbin/ifdown wan",
	  "wan_up_command = /bin/true\nwan_down_command = /sbin/ifdown wan\n" },
	{ NFT "wan_up_command = /a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
	  "wan_up_command = /a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n" },
	/* The description's texts count characters, not bytes (31 x U+03A9). */
	{ "model_name = \xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9", "model_name = \"\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\"\n" },
	{ "serial_number = a#b", "serial_number = \"a\"\n" },
	{ "presentation_url = \"https://r.example/#x\"",
	  "presentation_url = \"https://r.example/#x\"\n" },
	{ "wan_upstream_bitrate = 4294967295", "wan_upstream_bitrate = 4294967295\n" },
	{ "wan_downstream_bitrate = 4G", "wan_downstream_bitrate = 4000000000\n" },
	{ "wan_downstream_bitrate = 1k", "wan_downstream_bitrate = 1000\n" },
	{ "wan_public = yes", "wan_public = yes\n" },
	{ "wan_public = no", "wan_public = no\n" },
	{ "wan_public = auto", "wan_public = auto\n" },
	{ "# nothing", "wan_public = auto\n" },
	{ "stun_server = 198.51.100.2", "stun_server = 198.51.100.2:3478\n" },
	{ "stun_server = 198.51.100.2:19302\nstun_server = 192.0.2.7:3478",
	  "stun_server = 198.51.100.2:19302\nstun_server = 192.0.2.7:3478\n" },
};

static void test_good_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_rows) / sizeof(good_rows[0]); i++) {
		char text[2048], err[256] = "";
		struct config c;
		char *out;

		snprintf(text, sizeof(text), "%s%s\n", BASE, good_rows[i].line);
		if (parse(text, &c, err, sizeof(err)) != 0)
			fail_msg("row %zu: '%s': %s", i, good_rows[i].line, err);
		out = print_to_string(&c);
		if (!strstr(out, good_rows[i].want))
			fail_msg("row %zu: '%s': want '%s' in:\n%s", i, good_rows[i].line,
				 good_rows[i].want, out);
		free(out);
	}
}

/* Bad rows: the whole text, and the message the error must start with. */
struct bad_row {
	const char *text;
	const char *err;
};

static const struct bad_row bad_rows[] = {
	{ "", "t.conf:0: lan_interface is required" },
	{ "# nothing\n\n", "t.conf:0: lan_interface is required" },
	{ BASE "wan_interface = lo\n", "t.conf:0: wan_interface must differ from lan_interface" },
	{ BASE "pcp_min_lifetime = 600\npcp_max_lifetime = 599\n",
	  "t.conf:0: pcp_min_lifetime must not exceed pcp_max_lifetime" },
	{ BASE "pcp_min_lifetime = 0\n", "t.conf:2: invalid pcp_min_lifetime '0'" },
	{ BASE "pcp_max_lifetime = 604801\n", "t.conf:2: invalid pcp_max_lifetime '604801'" },
	{ BASE "enable_pcp = maybe\n", "t.conf:2: invalid enable_pcp 'maybe' (expected yes or no)" },
	{ BASE "foo = bar\n", "t.conf:2: unknown key 'foo'" },
	{ BASE "Backend = sim\n", "t.conf:2: unknown key 'Backend'" },
	{ BASE "http_port 80\n", "t.conf:2: missing '=' after 'http_port'" },
	{ BASE "http_port\n", "t.conf:2: missing '=' after 'http_port'" },
	{ BASE "= 80\n", "t.conf:2: missing key before '='" },
	{ BASE "http_port =\n", "t.conf:2: missing value for 'http_port'" },
	{ BASE "http_port = # none\n", "t.conf:2: missing value for 'http_port'" },
	{ BASE "http_port = \"\"\n", "t.conf:2: missing value for 'http_port'" },
	{ "lan_interface = lo\nlan_interface = lo\n", "t.conf:2: lan_interface 'lo' given twice" },
	{ "lan_interface = a\nlan_interface = b\nlan_interface = c\nlan_interface = d\n"
	  "lan_interface = e\nlan_interface = f\nlan_interface = g\nlan_interface = h\n"
	  "lan_interface = i\n", "t.conf:9: too many lan_interface lines (at most 8)" },
	{ BASE "lan_interface = eth1\nwan_interface = eth1\n",
	  "t.conf:0: wan_interface must differ from lan_interface" },
	{ BASE "acl = allow 80 1.2.3.4 80 on eth9\n",
	  "t.conf:2: invalid acl 'allow 80 1.2.3.4/32 80 on eth9': 'eth9' is not a lan_interface" },
	{ BASE "\nacl = allow 80 1.2.3.4 80 on lo\nacl = deny 1 0.0.0.0/0 1 on wan0\nlan_interface = eth1\n",
	  "t.conf:4: invalid acl 'deny 1 0.0.0.0/0 1 on wan0': 'wan0' is not a lan_interface" },
	{ BASE "acl = allow 80 1.2.3.4 80 at lo\n",
	  "t.conf:2: invalid acl 'allow 80 1.2.3.4 80 at lo': expected 'on LAN_INTERFACE' after the internal ports" },
	{ BASE "acl = allow 80 1.2.3.4 80 on\n", "t.conf:2: invalid acl 'allow 80 1.2.3.4 80 on': expected 'allow|deny" },
	{ BASE "acl = allow 80 1.2.3.4 80 on lo x\n", "t.conf:2: invalid acl 'allow 80 1.2.3.4 80 on lo x': expected 'allow|deny" },
	{ BASE "acl = allow 80 1.2.3.4 80 on a/b\n",
	  "t.conf:2: invalid acl 'allow 80 1.2.3.4 80 on a/b': bad interface name after 'on'" },
	{ BASE "\nhttp_port = 1\n# x\nhttp_port = 1\n",
	  "t.conf:5: duplicate key 'http_port' (first set on line 3)" },
	{ BASE "backend = Sim\n", "t.conf:2: invalid backend 'Sim' (expected sim or nft)" },
	{ BASE "backend = miniupnpd\n", "t.conf:2: invalid backend 'miniupnpd'" },
	{ "lan_interface = abcdefghijklmnop\n", "t.conf:1: invalid lan_interface 'abcdefghijklmnop'" },
	{ "lan_interface = eth/0\n", "t.conf:1: invalid lan_interface 'eth/0'" },
	{ "lan_interface = eth 0\n", "t.conf:1: invalid lan_interface 'eth 0'" },
	{ "lan_interface = ..\n", "t.conf:1: invalid lan_interface '..'" },
	{ BASE "wan_interface = \"a\tb\"\n", "t.conf:2: invalid wan_interface 'a\\x09b'" },
	{ BASE "external_ip = 1.2.3\n", "t.conf:2: invalid external_ip '1.2.3' (expected an IPv4 address)" },
	{ BASE "external_ip = 2001:db8::1\n", "t.conf:2: invalid external_ip '2001:db8::1'" },
	{ BASE "external_ip = 1.2.3.256\n", "t.conf:2: invalid external_ip '1.2.3.256'" },
	{ BASE "http_port = 65536\n", "t.conf:2: invalid http_port '65536' (expected an integer 0..65535)" },
	{ BASE "http_port = -1\n", "t.conf:2: invalid http_port '-1'" },
	{ BASE "http_port = +80\n", "t.conf:2: invalid http_port '+80'" },
	{ BASE "http_port = 8 0\n", "t.conf:2: invalid http_port '8 0'" },
	{ BASE "http_port = 0x50\n", "t.conf:2: invalid http_port '0x50'" },
	{ BASE "http_port = 99999999999999999999999\n", "t.conf:2: invalid http_port '99999999999999999999999'" },
	{ BASE "uuid = 0123abcd-4567-89ab-cdef-0123456789a\n",
	  "t.conf:2: invalid uuid '0123abcd-4567-89ab-cdef-0123456789a' (expected 8-4-4-4-12 hexadecimal digits)" },
	{ BASE "uuid = 0123abcd-4567-89ab-cdef-0123456789ag\n", "t.conf:2: invalid uuid" },
	{ BASE "uuid = 0123abcd04567-89ab-cdef-0123456789ab\n", "t.conf:2: invalid uuid" },
	{ BASE "uuid = {0123abcd-4567-89ab-cdef-0123456789ab}\n", "t.conf:2: invalid uuid" },
	{ BASE "friendly_name = 1234567890123456789012345678901234567890123456789012345678901234\n",
	  "t.conf:2: invalid friendly_name (1..63 bytes of UTF-8 text, no control characters)" },
	{ BASE "friendly_name = \"a\x01" "b\"\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = \"a\x7f" "b\"\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = caf\xe9\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = \xc0\xaf\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = \xed\xa0\x80\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = \xc2\x85\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = \xe2\x82\n", "t.conf:2: invalid friendly_name" },
	{ BASE "friendly_name = My \"Router\"\n", "t.conf:2: stray '\"' in value (quote the whole value)" },
	{ BASE "friendly_name = \"My Router\n", "t.conf:2: unterminated quoted value" },
	{ BASE "friendly_name = \"My\" Router\n", "t.conf:2: unexpected text after the closing quote" },
	{ BASE "friendly_name = \"a\\nb\"\n", "t.conf:2: invalid escape in quoted value" },
	{ BASE "http_max_lifetime = 0\n",
	  "t.conf:2: invalid http_max_lifetime '0' (expected an integer 1..86400)" },
	{ BASE "server_os = Linux 6.1\n", "t.conf:2: invalid server_os 'Linux 6.1' (expected NAME" },
	{ BASE "server_os = /6.1\n", "t.conf:2: invalid server_os '/6.1' (expected NAME" },
	{ BASE "server_os = Linux/\n", "t.conf:2: invalid server_os 'Linux/' (expected NAME" },
	{ BASE "server_os = a/b/c\n", "t.conf:2: invalid server_os 'a/b/c' (expected NAME" },
	{ BASE "server_os = \"a(b)\"\n", "t.conf:2: invalid server_os 'a(b)' (expected NAME" },
	{ BASE "server_os = 12345678901234567890123456789012345678901234567890123456789012345\n",
	  "t.conf:2: invalid server_os '" },
	{ BASE "notify_interval = 29\n", "t.conf:2: invalid notify_interval '29' (expected an integer 30..86400)" },
	{ BASE "sim_router_ports = maybe\n", "t.conf:2: invalid sim_router_ports 'maybe' (expected yes or no)" },
	{ BASE "sim_static_forward = SCTP 80\n",
	  "t.conf:2: invalid sim_static_forward 'SCTP 80' (expected TCP|UDP PORT[-PORT], ports 1..65535)" },
	{ BASE "sim_static_forward = TCP 0\n", "t.conf:2: invalid sim_static_forward 'TCP 0'" },
	{ BASE "sim_static_forward = TCP 90-80\n", "t.conf:2: invalid sim_static_forward 'TCP 90-80'" },
	{ BASE "sim_static_forward = TCP 80 81\n", "t.conf:2: invalid sim_static_forward 'TCP 80 81'" },
	{ BASE "sim_static_forward = TCP\n", "t.conf:2: invalid sim_static_forward 'TCP'" },
	{ BASE "sim_static_forward = UDP 65536\n", "t.conf:2: invalid sim_static_forward 'UDP 65536'" },
	{ BASE "notify_interval = 86401\n", "t.conf:2: invalid notify_interval '86401'" },
	{ BASE "state_dir = var/lib/igdd\n", "t.conf:2: invalid state_dir 'var/lib/igdd' (expected an absolute path)" },
	{ BASE "control_socket = run/igdd.sock\n", "t.conf:2: invalid control_socket 'run/igdd.sock'" },
	{ BASE "control_socket = /run/igdd/\n", "t.conf:2: invalid control_socket '/run/igdd/'" },
	{ BASE "control_socket = /run/0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789/igdd.sock\n",
	  "t.conf:2: invalid control_socket" },
	{ BASE "secure_mode = maybe\n", "t.conf:2: invalid secure_mode 'maybe' (expected yes or no)" },
	{ BASE "max_mappings = 0\n", "t.conf:2: invalid max_mappings '0' (expected an integer 1..131070)" },
	{ BASE "max_mappings = 131071\n", "t.conf:2: invalid max_mappings '131071'" },
	{ BASE "max_mappings_per_client = 0\n", "t.conf:2: invalid max_mappings_per_client '0' (expected an integer 1..131070)" },
	{ BASE "http_max_connections = 4097\n", "t.conf:2: invalid http_max_connections '4097' (expected an integer 1..4096)" },
	{ BASE "http_max_per_ip = 1025\n", "t.conf:2: invalid http_max_per_ip '1025' (expected an integer 1..1024)" },
	{ BASE "http_timeout = 0\n", "t.conf:2: invalid http_timeout '0' (expected an integer 1..300)" },
	{ BASE "acl = allow 1-2 10.0.0.0/8\n",
	  "t.conf:2: invalid acl 'allow 1-2 10.0.0.0/8': expected 'allow|deny EXT_PORTS INT_ADDR[/PREFIX] INT_PORTS [on LAN_INTERFACE]'" },
	{ BASE "acl = allow 1-2 10.0.0.0/8 1-2 3\n", "t.conf:2: invalid acl 'allow 1-2 10.0.0.0/8 1-2 3': expected 'allow|deny" },
	{ BASE "acl = permit 1-2 10.0.0.0/8 1-2\n", "t.conf:2: invalid acl 'permit 1-2 10.0.0.0/8 1-2': expected allow or deny" },
	{ BASE "acl = allow 2-1 10.0.0.0/8 1-2\n", "t.conf:2: invalid acl 'allow 2-1 10.0.0.0/8 1-2': bad external port range" },
	{ BASE "acl = allow 1-65536 10.0.0.0/8 1-2\n", "t.conf:2: invalid acl 'allow 1-65536 10.0.0.0/8 1-2': bad external port range" },
	{ BASE "acl = allow 1- 10.0.0.0/8 1-2\n", "t.conf:2: invalid acl 'allow 1- 10.0.0.0/8 1-2': bad external port range" },
	{ BASE "acl = allow -1 10.0.0.0/8 1-2\n", "t.conf:2: invalid acl 'allow -1 10.0.0.0/8 1-2': bad external port range" },
	{ BASE "acl = allow 1-2 10.0.0.0/33 1-2\n", "t.conf:2: invalid acl 'allow 1-2 10.0.0.0/33 1-2': bad internal address" },
	{ BASE "acl = allow 1-2 10.0.0/8 1-2\n", "t.conf:2: invalid acl 'allow 1-2 10.0.0/8 1-2': bad internal address" },
	{ BASE "acl = allow 1-2 10.0.0.0/ 1-2\n", "t.conf:2: invalid acl 'allow 1-2 10.0.0.0/ 1-2': bad internal address" },
	{ BASE "acl = allow 1-2 10.0.0.0/8 1-2-3\n", "t.conf:2: invalid acl 'allow 1-2 10.0.0.0/8 1-2-3': bad internal port range" },
	{ BASE "http_port = 1\0\n", "t.conf:2: NUL byte in line" },
	{ BASE "connection_control = none\n",
	  "t.conf:2: invalid connection_control 'none' (expected all or A.B.C.D[/0..32])" },
	{ BASE "connection_control = ALL\n", "t.conf:2: invalid connection_control 'ALL'" },
	{ BASE "connection_control = 10.0.0.0/33\n", "t.conf:2: invalid connection_control '10.0.0.0/33'" },
	{ BASE "connection_control = 10.0.0.1 10.0.0.2\n",
	  "t.conf:2: invalid connection_control '10.0.0.1 10.0.0.2'" },
	{ BASE "connection_control = 255.255.255.255/32/32\n",
	  "t.conf:2: invalid connection_control '255.255.255.255/32/32'" },
	{ BASE "connection_control = all\nconnection_control = 10.0.0.1\n",
	  "t.conf:3: connection_control = all cannot be combined with other connection_control lines" },
	{ BASE "connection_control = 10.0.0.1\nconnection_control = all\n",
	  "t.conf:3: connection_control = all cannot be combined with other connection_control lines" },
	{ BASE "connection_control = all\nconnection_control = all\n",
	  "t.conf:3: connection_control = all cannot be combined" },
	{ BASE "connection_type_read_only = maybe\n",
	  "t.conf:2: invalid connection_type_read_only 'maybe' (expected yes or no)" },
	{ BASE "connection_type_read_only = yes\nconnection_type_read_only = no\n",
	  "t.conf:3: duplicate key 'connection_type_read_only' (first set on line 2)" },
	{ BASE "auto_disconnect_time = 4294967296\n",
	  "t.conf:2: invalid auto_disconnect_time '4294967296' (expected an integer 0..4294967295)" },
	{ BASE "idle_disconnect_time = -1\n", "t.conf:2: invalid idle_disconnect_time '-1'" },
	{ BASE "warn_disconnect_delay = 5s\n", "t.conf:2: invalid warn_disconnect_delay '5s'" },
	{ BASE "sim_connect_delay = 600001\n",
	  "t.conf:2: invalid sim_connect_delay '600001' (expected an integer 0..600000)" },
	{ BASE "sim_disconnect_delay = 1.5\n", "t.conf:2: invalid sim_disconnect_delay '1.5'" },
	{ BASE "sim_connect_fail = sometimes\n",
	  "t.conf:2: invalid sim_connect_fail 'sometimes' (expected yes or no)" },
	{ BASE "sim_ip_bridged = 2\n", "t.conf:2: invalid sim_ip_bridged '2' (expected yes or no)" },
	{ BASE NFT "wan_up_command = ifup wan\n",
	  "t.conf:4: invalid wan_up_command 'ifup wan': the program must be an absolute path" },
	{ BASE NFT "wan_down_command = \"/sbin/ifdown \\\"wan\\\"\"\n",
	  "t.conf:4: invalid wan_down_command '/sbin/ifdown \"wan\"': only printable ASCII" },
	{ BASE NFT "wan_up_command = \"/sbin/ifup #1\"\n",
	  "t.conf:4: invalid wan_up_command '/sbin/ifup #1': only printable ASCII" },
	{ BASE NFT "wan_up_command = /sbin/ifup w\xc3\xa9\n", "t.conf:4: invalid wan_up_command" },
	{ BASE NFT "wan_up_command = \"  \"\n", "t.conf:4: invalid wan_up_command '  ': no program" },
	{ BASE NFT "wan_up_command = /a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n",
	  "t.conf:4: invalid wan_up_command '/a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17': "
	  "too many words (at most 16)" },
	{ BASE NFT "wan_up_command = /" LONG128 LONG128 "\n",
	  "t.conf:4: invalid wan_up_command '/" },
	{ BASE NFT "wan_up_command = /bin/true\nwan_up_command = /bin/false\n",
	  "t.conf:5: duplicate key 'wan_up_command' (first set on line 4)" },
	{ BASE "wan_up_command = /sbin/ifup wan\n",
	  "t.conf:0: wan_up_command and wan_down_command need backend nft" },
	{ BASE NFT "wan_down_command = /sbin/ifdown wan\n",
	  "t.conf:0: wan_down_command needs wan_up_command" },
	{ BASE "model_name = \"\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\xce\xa9\"\n", "t.conf:2: invalid model_name (1..31 characters" },
	{ BASE "manufacturer = \"\"\n", "t.conf:2: missing value for 'manufacturer'" },
	{ BASE "serial_number = \"a\tb\"\n", "t.conf:2: invalid serial_number" },
	{ BASE "model_number = \"\xc3\"\n", "t.conf:2: invalid model_number" },
	{ BASE "presentation_url = \"http://a b/\"\n", "t.conf:2: invalid presentation_url" },
	{ BASE "manufacturer_url = http://\n", "t.conf:2: invalid manufacturer_url 'http://'" },
	{ BASE "model_url = https://r\xc3\xa9.example/\n", "t.conf:2: invalid model_url" },
	{ BASE "wan_upstream_bitrate = 0\n", "t.conf:2: invalid wan_upstream_bitrate '0'" },
	{ BASE "wan_upstream_bitrate = 4294967296\n", "t.conf:2: invalid wan_upstream_bitrate" },
	{ BASE "wan_upstream_bitrate = M\n", "t.conf:2: invalid wan_upstream_bitrate 'M'" },
	{ BASE "wan_upstream_bitrate = 10m\n", "t.conf:2: invalid wan_upstream_bitrate '10m'" },
	{ BASE "wan_access_type = dsl\n", "t.conf:2: invalid wan_access_type 'dsl'" },
	{ BASE "uptime_source = \n", "t.conf:2:" },
	{ BASE "enable_upnp = no\nenable_natpmp = no\nenable_pcp = no\n",
	  "t.conf:0: enable_upnp, enable_natpmp and enable_pcp are all no: nothing to serve" },
	{ BASE "pcp_third_party = always\n", "t.conf:2: invalid pcp_third_party 'always'" },
	{ BASE "wan_public = true\n",
	  "t.conf:2: invalid wan_public 'true' (expected auto, yes or no)" },
	{ BASE "stun_server = stun.example.org:3478\n",
	  "t.conf:2: invalid stun_server 'stun.example.org:3478' (expected an IPv4 address" },
	{ BASE "stun_server = 198.51.100.2:0\n", "t.conf:2: invalid stun_server '198.51.100.2:0'" },
	{ BASE "stun_server = 198.51.100.2:65536\n", "t.conf:2: invalid stun_server" },
	{ BASE "stun_server = 198.51.100.2:\n", "t.conf:2: invalid stun_server" },
	{ BASE "stun_server = 0.0.0.0\n", "t.conf:2: invalid stun_server" },
	{ BASE "stun_server = [2001:db8::1]:3478\n", "t.conf:2: invalid stun_server" },
	{ BASE "stun_server = 192.0.2.1\nstun_server = 192.0.2.2\nstun_server = 192.0.2.3\n"
	  "stun_server = 192.0.2.4\nstun_server = 192.0.2.5\n",
	  "t.conf:6: too many stun_server lines (at most 4)" },
	{ BASE "wan_public = yes\nwan_public = no\n",
	  "t.conf:3: duplicate key 'wan_public' (first set on line 2)" },
};

static void test_bad_rows(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const char *text = bad_rows[i].text;
		size_t len = strlen(text);
		char err[256] = "";
		struct config c;
		int r;

		/* the NUL row: take the bytes after the embedded NUL too */
		if (strstr(bad_rows[i].err, "NUL byte"))
			len += 2;
		memset(&c, 0xa5, sizeof(c));
		r = config_parse("t.conf", text, len, &c, err, sizeof(err));
		/* -ENODATA: valid but the LAN interface not named yet (igdd -c) */
		if (r != (strstr(bad_rows[i].err, "lan_interface is required") ? -ENODATA : -EINVAL))
			fail_msg("row %zu: '%s': returned %d", i, text, r);
		if (strncmp(err, bad_rows[i].err, strlen(bad_rows[i].err)) != 0)
			fail_msg("row %zu:\n got '%s'\nwant '%s'", i, err, bad_rows[i].err);
		/* *ret is written only on success */
		assert_int_equal(((unsigned char *)&c)[0], 0xa5);
	}
}

static void test_line_too_long(void **state)
{
	char text[IGDD_CONF_MAX_LINE + 64], err[256];
	struct config c;
	size_t n;

	(void)state;
	/* exactly IGDD_CONF_MAX_LINE bytes: fine (a comment) */
	n = (size_t)snprintf(text, sizeof(text), "%s", BASE);
	memset(text + n, '#', IGDD_CONF_MAX_LINE);
	text[n + IGDD_CONF_MAX_LINE] = '\n';
	assert_int_equal(config_parse("t.conf", text, n + IGDD_CONF_MAX_LINE + 1, &c, err, sizeof(err)), 0);
	/* one more byte: refused */
	memset(text + n, '#', IGDD_CONF_MAX_LINE + 1);
	assert_int_equal(config_parse("t.conf", text, n + IGDD_CONF_MAX_LINE + 1, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:2: line too long (at most 1024 bytes)");
}

static void test_acl_limit_and_order(void **state)
{
	static char text[IGDD_CONF_MAX_ACL * 64 + 128];
	char err[256];
	struct config c;
	size_t n, i;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%s", BASE);
	for (i = 0; i < IGDD_CONF_MAX_ACL; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "acl = %s %zu 10.0.0.%zu %zu\n",
				      i % 2 ? "deny" : "allow", i, i, 1000 + i);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nacl, IGDD_CONF_MAX_ACL);
	assert_string_equal(c.acl[0], "allow 0 10.0.0.0/32 1000");
	assert_string_equal(c.acl[1], "deny 1 10.0.0.1/32 1001");
	assert_string_equal(c.acl[63], "deny 63 10.0.0.63/32 1063");
	snprintf(text + n, sizeof(text) - n, "acl = allow 1 10.0.0.1 1\n");
	assert_int_equal(parse(text, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:66: too many acl rules (at most 64)");
}

static void test_connection_control_limit(void **state)
{
	static char text[IGDD_CONF_MAX_CONN_CONTROL * 48 + 128];
	char err[256], ip[INET_ADDRSTRLEN];
	struct config c;
	size_t n, i;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%s", BASE);
	for (i = 0; i < IGDD_CONF_MAX_CONN_CONTROL; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "connection_control = 10.1.%zu.9/%zu\n", i, 16 + i);
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_false(c.connection_control_all);
	assert_int_equal(c.nconnection_control, IGDD_CONF_MAX_CONN_CONTROL);
	assert_non_null(inet_ntop(AF_INET, &c.connection_control[0].addr, ip, sizeof(ip)));
	assert_string_equal(ip, "10.1.0.0");
	assert_int_equal(c.connection_control[0].plen, 16);
	assert_non_null(inet_ntop(AF_INET, &c.connection_control[15].addr, ip, sizeof(ip)));
	assert_string_equal(ip, "10.1.15.8");
	assert_int_equal(c.connection_control[15].plen, 31);
	snprintf(text + n, sizeof(text) - n, "connection_control = 10.2.0.1\n");
	assert_int_equal(parse(text, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:18: too many connection_control lines (at most 16)");
}

static void test_values_stored(void **state)
{
	const char *text =
		"backend = nft\n"
		"lan_interface = br-lan\n"
		"wan_interface = eth0\n"
		"external_ip = 203.0.113.9\n"
		"http_port = 5000\n"
		"uuid = 11111111-2222-3333-4444-55555555AAAA\n"
		"secure_mode = no\n";
	struct config c;
	char err[256], ip[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(parse(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.backend, CONFIG_BACKEND_NFT);
	assert_string_equal(c.lan_interface, "br-lan");
	assert_string_equal(c.wan_interface, "eth0");
	assert_true(c.have_external_ip);
	assert_non_null(inet_ntop(AF_INET, &c.external_ip, ip, sizeof(ip)));
	assert_string_equal(ip, "203.0.113.9");
	assert_int_equal(c.http_port, 5000);
	assert_true(c.have_uuid);
	assert_string_equal(c.uuid, "11111111-2222-3333-4444-55555555aaaa");
	assert_false(c.secure_mode);
}

static void test_load_errors(void **state)
{
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(config_load("/nonexistent/igdd.conf", &c, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/igdd.conf:0: No such file or directory");
	/* a tiny error buffer is never overrun */
	assert_int_equal(parse("foo = bar\n", &c, err, 8), -EINVAL);
	assert_string_equal(err, "t.conf:");
	assert_int_equal(parse("foo = bar\n", &c, NULL, 0), -EINVAL);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&p, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(p);
		return strdup("");
	}
	return p;
}

/* What `igdd -n -f NAME` prints: the normalised config, or the error. */
static char *check_output(const char *name, struct config *c, int *ret_rc)
{
	char err[512];
	int r = config_load(name, c, err, sizeof(err));
	char *out;

	*ret_rc = r;
	if (r == 0)
		return print_to_string(c);
	assert_true(asprintf(&out, "%s\n", err) > 0);
	return out;
}

/* The printed form parses back to the same printed form. */
static void check_round_trip(const char *name, const char *printed)
{
	struct config c;
	char err[512];
	char *again;

	if (config_parse(name, printed, strlen(printed), &c, err, sizeof(err)) != 0)
		fail_msg("%s: normalised output does not parse: %s", name, err);
	again = print_to_string(&c);
	if (strcmp(again, printed) != 0)
		fail_msg("%s: normalised output is not stable:\n%s\n---\n%s", name, printed, again);
	free(again);
}

static int golden_one(const char *name)
{
	char expected_name[512];
	char *got, *want;
	struct config c;
	size_t n = strlen(name);
	int rc, ok;

	snprintf(expected_name, sizeof(expected_name), "%.*s.expected", (int)(n - 5), name);
	want = slurp(expected_name);
	if (!want)
		fail_msg("%s: missing %s", name, expected_name);
	got = check_output(name, &c, &rc);
	ok = strcmp(got, want) == 0;
	if (!ok)
		print_error("%s: output differs\n--- want\n%s--- got\n%s", name, want, got);
	else if (rc == 0)
		check_round_trip(name, got);
	free(got);
	free(want);
	return ok;
}

static void test_golden(void **state)
{
	const char *data = getenv("IGDD_TESTDATA");
	char dir[4096], cwd[4096];
	struct dirent **ents;
	int n, i, ncases = 0, nfail = 0;

	(void)state;
	if (!data)
		skip();
	snprintf(dir, sizeof(dir), "%s/config", data);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* Messages name the file as given: run from the directory so the
	 * golden error lines do not depend on where the tree lives. */
	assert_int_equal(chdir(dir), 0);
	n = scandir(".", &ents, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);

		if (len > 5 && strcmp(ents[i]->d_name + len - 5, ".conf") == 0) {
			ncases++;
			if (!golden_one(ents[i]->d_name))
				nfail++;
		}
		free(ents[i]);
	}
	free(ents);
	assert_int_equal(chdir(cwd), 0);
	assert_true(ncases >= 5);
	assert_int_equal(nfail, 0);
}

/* The shipped examples parse. */
static void test_examples(void **state)
{
	static const char *const files[] = { "examples/igdd.conf", "examples/igdd-sim.conf" };
	const char *src = getenv("IGDD_SRCDIR");
	size_t i;

	(void)state;
	if (!src)
		skip();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4096], err[512];
		struct config c;

		snprintf(path, sizeof(path), "%s/%s", src, files[i]);
		if (config_load(path, &c, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good_rows),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_acl_limit_and_order),
		cmocka_unit_test(test_connection_control_limit),
		cmocka_unit_test(test_values_stored),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_docs.c - the configuration keys and their documentation never
 * drift apart. The key list comes from the parser's own table
 * (config_key_name()), so a key added to src/conf/config.c fails here
 * until docs/CONFIG.md has its row and man/igdd.conf.5 its entry with
 * the four lines Type:, Range:, Default: and Reload: (the default and the
 * reload as the key table says), and until this
 * file has a sample value for it. The Reload: line must agree with the
 * parser's table, and the table with config_reload_prepare(), which
 * the SIGHUP path uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"

/* The whole of IGDD_SRCDIR/rel, NUL-terminated (the test fails if not). */
static char *slurp(const char *rel)
{
	const char *dir = getenv("IGDD_SRCDIR");
	char path[4096];
	FILE *f;
	char *text;
	long n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "re");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

static size_t nkeys(void)
{
	size_t n = 0;

	while (config_key_name(n))
		n++;
	return n;
}

/* Every key has a row "| `key` |" in the table of docs/CONFIG.md. */
static void test_config_md(void **state)
{
	char *md = slurp("docs/CONFIG.md");
	size_t i, n = nkeys();

	(void)state;
	assert_true(n >= 30);
	for (i = 0; i < n; i++) {
		char row[128];

		snprintf(row, sizeof(row), "\n| `%s` |", config_key_name(i));
		if (!strstr(md, row))
			fail_msg("docs/CONFIG.md: no table row for key '%s'", config_key_name(i));
	}
	free(md);
}

/* The entry of key in the man page: from ".It Cm key" to the next ".It Cm"
 * or ".El" (NULL if none). */
static char *man_entry(const char *man, const char *key)
{
	char head[128];
	const char *s, *e, *e2;
	char *out;

	snprintf(head, sizeof(head), "\n.It Cm %s\n", key);
	s = strstr(man, head);
	if (!s)
		return NULL;
	s += strlen(head);
	e = strstr(s, "\n.It Cm ");
	e2 = strstr(s, "\n.El\n");
	if (!e || (e2 && e2 < e))
		e = e2;
	assert_non_null(e);
	out = strndup(s, (size_t)(e - s));
	assert_non_null(out);
	return out;
}

/* Every key has an entry in igdd.conf(5) with its type, range, default,
 * and whether a reload applies it, as the parser's table says. */
static void test_man_page(void **state)
{
	static const char *const fields[] = { "\nType:", "\nRange:", "\nDefault:", "\nReload:" };
	char *man = slurp("man/igdd.conf.5");
	size_t i, f, n = nkeys();

	(void)state;
	for (i = 0; i < n; i++) {
		const char *key = config_key_name(i);
		char *entry = man_entry(man, key), *body, *reload;
		int want = config_key_reloadable(key);

		if (!entry)
			fail_msg("man/igdd.conf.5: no '.It Cm %s' entry", key);
		body = malloc(strlen(entry) + 2);
		assert_non_null(body);
		snprintf(body, strlen(entry) + 2, "\n%s", entry);
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			if (!strstr(body, fields[f]))
				fail_msg("man/igdd.conf.5: key '%s' has no line '%s'", key, fields[f] + 1);
		}
		reload = strstr(body, "\nReload:");
		assert_true(want == 0 || want == 1);
		if (strncmp(reload, want ? "\nReload: applied" : "\nReload: next start",
			    want ? 16 : 19) != 0)
			fail_msg("man/igdd.conf.5: key '%s': the parser says a reload %s it",
				 key, want ? "applies" : "does not apply");
		free(body);
		free(entry);
	}
	/* ... and no entry for a key the parser does not know. */
	{
		const char *s = strstr(man, "\n.Sh KEYS\n"), *end;

		assert_non_null(s);
		end = strstr(s, "\n.El\n");
		assert_non_null(end);
		while ((s = strstr(s, "\n.It Cm ")) && s < end) {
			char name[64];
			size_t len;

			s += 8;
			len = strcspn(s, " \n");
			assert_true(len < sizeof(name));
			memcpy(name, s, len);
			name[len] = '\0';
			if (config_key_reloadable(name) == -ENOENT)
				fail_msg("man/igdd.conf.5: entry for '%s', which is not a key", name);
		}
	}
	free(man);
}

/* A value other than the default for every key (lines replacing that
 * key's line of the base), to see what a reload does with it. */
static const struct {
	const char *key;
	const char *lines;
} samples[] = {
	{ "backend", "backend = sim\n" },
	{ "lan_interface", "lan_interface = lan1\n" },
	{ "wan_interface", "wan_interface = wan1\n" },
	{ "external_ip", "external_ip = 192.0.2.1\n" },
	{ "http_port", "http_port = 5000\n" },
	{ "uuid", "uuid = 00000000-0000-4000-8000-000000000001\n" },
	{ "friendly_name", "friendly_name = Test\n" },
	{ "server_os", "server_os = OpenWrt/23.05\n" },
	{ "notify_interval", "notify_interval = 60\n" },
	{ "manufacturer", "manufacturer = \"A & B\"\n" },
	{ "manufacturer_url", "manufacturer_url = https://example.org/\n" },
	{ "model_name", "model_name = R1\n" },
	{ "model_number", "model_number = 2\n" },
	{ "model_url", "model_url = http://example.org/r1\n" },
	{ "serial_number", "serial_number = 42\n" },
	{ "presentation_url", "presentation_url = /\n" },
	{ "wan_access_type", "wan_access_type = DSL\n" },
	{ "wan_upstream_bitrate", "wan_upstream_bitrate = 1M\n" },
	{ "wan_downstream_bitrate", "wan_downstream_bitrate = 2M\n" },
	{ "uptime_source", "uptime_source = system\n" },
	{ "state_dir", "state_dir = /srv/igdd\n" },
	{ "persist_leases", "persist_leases = no\n" },
	{ "control_socket", "control_socket = \"\"\n" },
	{ "secure_mode", "secure_mode = no\n" },
	{ "max_mappings", "max_mappings = 100\n" },
	{ "max_mappings_per_client", "max_mappings_per_client = 10\n" },
	{ "acl", "acl = allow 1-2 10.0.0.0/8 1-2\n" },
	{ "enable_natpmp", "enable_natpmp = no\n" },
	{ "enable_pcp", "enable_pcp = no\n" },
	{ "enable_upnp", "enable_upnp = no\n" },
	{ "metrics_listen", "metrics_listen = 127.0.0.1:9655\n" },
	{ "pcp_third_party", "pcp_third_party = yes\n" },
	{ "pcp_min_lifetime", "pcp_min_lifetime = 300\n" },
	{ "pcp_max_lifetime", "pcp_max_lifetime = 3600\n" },
	{ "http_max_connections", "http_max_connections = 5\n" },
	{ "http_max_per_ip", "http_max_per_ip = 2\n" },
	{ "http_timeout", "http_timeout = 30\n" },
	{ "http_max_lifetime", "http_max_lifetime = 120\n" },
	{ "connection_control", "connection_control = all\n" },
	{ "connection_type_read_only", "connection_type_read_only = yes\n" },
	{ "auto_disconnect_time", "auto_disconnect_time = 60\n" },
	{ "idle_disconnect_time", "idle_disconnect_time = 60\n" },
	{ "warn_disconnect_delay", "warn_disconnect_delay = 5\n" },
	{ "sim_connect_delay", "sim_connect_delay = 10\n" },
	{ "sim_disconnect_delay", "sim_disconnect_delay = 10\n" },
	{ "sim_connect_fail", "sim_connect_fail = yes\n" },
	{ "sim_ip_bridged", "sim_ip_bridged = yes\n" },
	{ "sim_router_ports", "sim_router_ports = no\n" },
	{ "sim_static_forward", "sim_static_forward = TCP 8443\nsim_static_forward = UDP 51820-51830\n" },
	{ "user", "user = nobody\n" },
	{ "nft_hairpin", "nft_hairpin = yes\n" },
	{ "nft_table", "nft_table = igdd2\n" },
	{ "nft_table6", "nft_table6 = igdd2_v6\n" },
	{ "wan_up_command", "wan_up_command = /bin/true\n" },
	{ "wan_down_command", "wan_up_command = /bin/true\nwan_down_command = /bin/false\n" },
	{ "wan_public", "wan_public = yes\n" },
	{ "stun_server", "stun_server = 198.51.100.2:3478\n" },
	{ "upstream_pcp", "upstream_pcp = no\n" },
	{ "upstream_upnp", "upstream_upnp = no\n" },
	{ "unreachable_wan", "unreachable_wan = refuse\n" },
	{ "ipv6_firewall", "ipv6_firewall = no\n" },
	{ "pinholes", "pinholes = no\n" },
	{ "max_pinholes", "max_pinholes = 10\n" },
	{ "max_pinholes_per_client", "max_pinholes_per_client = 3\n" },
	{ "pinhole_acl", "pinhole_acl = allow 2001:db8:1::/64 1024-65535 on lan0\n" },
};

static const char base_text[] = "backend = nft\nlan_interface = lan0\nwan_interface = wan0\n";

static char *printed(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	config_print(c, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void parse_or_fail(const char *text, struct config *c)
{
	char err[256];

	if (config_parse("t.conf", text, strlen(text), c, err, sizeof(err)) < 0)
		fail_msg("%s\n%s", err, text);
}

static void with_sample(const char *key, char *text, size_t textsz);

/* Does text[0..len) hold needle? */
static bool span_has(const char *text, size_t len, const char *needle)
{
	char *span = strndup(text, len);
	bool r;

	assert_non_null(span);
	r = strstr(span, needle) != NULL;
	free(span);
	return r;
}

/* The default the key table gives each key is the one both documents
 * state: in the third column of its docs/CONFIG.md row and on the
 * Default: line of its igdd.conf(5) entry. */
static void test_defaults_documented(void **state)
{
	char *md = slurp("docs/CONFIG.md"), *man = slurp("man/igdd.conf.5");
	struct config_key_info k;
	size_t i;

	(void)state;
	for (i = 0; config_key_info(i, &k) == 0; i++) {
		char row[128], *entry, *def_line, *cell, *end;
		const char *r;
		int bars;

		if (!k.def)
			continue;
		snprintf(row, sizeof(row), "\n| `%s` |", k.name);
		r = strstr(md, row);
		assert_non_null(r);
		/* the default column: after the third '|' of the row, to the fourth */
		for (bars = 0, cell = (char *)r + 1; *cell && *cell != '\n' && bars < 3; cell++)
			bars += *cell == '|' && cell[-1] != '\\';
		end = strchr(cell, '\n');
		assert_non_null(end);
		if (!span_has(cell, (size_t)(end - cell), k.def))
			fail_msg("docs/CONFIG.md: the default of '%s' is '%s' (src/conf/config.c)",
				 k.name, k.def);
		entry = man_entry(man, k.name);
		assert_non_null(entry);
		def_line = strstr(entry, "Default:");
		assert_non_null(def_line);
		end = strstr(def_line, "\nReload:");
		if (!end || !span_has(def_line, (size_t)(end - def_line), k.def))
			fail_msg("man/igdd.conf.5: the default of '%s' is '%s' (src/conf/config.c)",
				 k.name, k.def);
		free(entry);
	}
	free(md);
	free(man);
}

/* config_reload_prepare()'s report: the keys named, with their reason. */
static void on_restart(const char *key, const char *why, void *arg)
{
	char *reported = arg;
	size_t n = strlen(reported);

	assert_non_null(why);
	assert_true(why[0] != '\0');
	snprintf(reported + n, 512 - n, " %s ", key);
}

/* A reload applies exactly the keys the table marks, and names the others. */
static void test_reloadable(void **state)
{
	static struct config base, fresh, probe;
	char reported[512], err[256], name[80];
	size_t i, n = nkeys();
	char *base_print;

	(void)state;
	parse_or_fail(base_text, &base);
	base_print = printed(&base);
	for (i = 0; i < n; i++) {
		const char *key = config_key_name(i);
		char text[1024], *fresh_print, *probe_print;

		with_sample(key, text, sizeof(text));
		parse_or_fail(text, &fresh);
		fresh_print = printed(&fresh);
		if (strcmp(fresh_print, base_print) == 0)
			fail_msg("sample of '%s' is its default: choose another", key);
		/* the file now says fresh, igdd runs base */
		probe = fresh;
		reported[0] = '\0';
		snprintf(name, sizeof(name), " %s ", key);
		if (config_reload_prepare(&probe, &base, on_restart, reported, err,
					  sizeof(err)) < 0)
			fail_msg("'%s': %s", key, err);
		probe_print = printed(&probe);
		if (config_key_reloadable(key) == 1 && strcmp(probe_print, fresh_print) != 0)
			fail_msg("'%s' is marked reloadable but a reload does not apply it", key);
		if (config_key_reloadable(key) == 0 && strcmp(probe_print, base_print) != 0)
			fail_msg("'%s' is not marked reloadable but a reload applies it", key);
		if (config_key_reloadable(key) == 0 && !strstr(reported, name))
			fail_msg("'%s' waits for the next start but the reload does not say so",
				 key);
		if (config_key_reloadable(key) == 1 && reported[0])
			fail_msg("'%s' is reloadable but the reload reported '%s'", key, reported);
		free(fresh_print);
		free(probe_print);
	}
	free(base_print);
}


/* The text of base_text with key's line replaced by its sample. */
static void with_sample(const char *key, char *text, size_t textsz)
{
	size_t j, klen = strlen(key);
	const char *line;
	int len = 0;

	for (j = 0; j < sizeof(samples) / sizeof(samples[0]); j++)
		if (strcmp(samples[j].key, key) == 0)
			break;
	if (j == sizeof(samples) / sizeof(samples[0]))
		fail_msg("tests/unit/test_docs.c: add a sample value for key '%s'", key);
	for (line = base_text; *line; line = strchr(line, '\n') + 1) {
		size_t l = (size_t)(strchr(line, '\n') - line) + 1;

		if (!(strncmp(line, key, klen) == 0 && line[klen] == ' '))
			len += snprintf(text + len, textsz - (size_t)len, "%.*s", (int)l, line);
	}
	snprintf(text + len, textsz - (size_t)len, "%s", samples[j].lines);
}

/*
 * Every key parsed, printed and read back: igdd -n prints a sample of
 * each key as a line the parser reads to the same configuration, and
 * the key's line is there; the table's defaults are what the parser
 * starts from, and each documented default parses as its key's value.
 */
static void test_round_trip(void **state)
{
	static struct config c, again, d;
	size_t i, n = nkeys();
	char text[1024], name[80];

	(void)state;
	config_defaults(&d);
	for (i = 0; i < n; i++) {
		struct config_key_info info;
		char *out, *out2;

		assert_int_equal(config_key_info(i, &info), 0);
		assert_string_equal(info.name, config_key_name(i));
		assert_non_null(info.doc);
		assert_true(info.reload == (config_key_reloadable(info.name) == 1));
		if (!info.reload && !info.restart)
			fail_msg("'%s' waits for the next start without saying why", info.name);
		with_sample(info.name, text, sizeof(text));
		parse_or_fail(text, &c);
		out = printed(&c);
		snprintf(name, sizeof(name), "\n%s = ", info.name);
		if (!strstr(out, name) && strncmp(out, name + 1, strlen(name + 1)) != 0)
			fail_msg("'%s' set to its sample is not printed:\n%s", info.name, out);
		parse_or_fail(out, &again);
		out2 = printed(&again);
		if (strcmp(out, out2) != 0)
			fail_msg("'%s' does not read back the same:\n%s\n---\n%s", info.name, out, out2);
		assert_false(config_key_changed(&c, &again, info.name));
		free(out);
		free(out2);
		/* the default, written as a value, is the default */
		if (info.def) {
			snprintf(text, sizeof(text), "%s%s = \"%s\"\n", base_text, info.name, info.def);
			if (strcmp(info.name, "backend") == 0)
				continue;       /* base_text sets it */
			parse_or_fail(text, &c);
			if (config_key_changed(&c, &d, info.name))
				fail_msg("'%s = %s' is not the default", info.name, info.def);
		}
	}
	assert_int_equal(config_key_info(n, &(struct config_key_info){ 0 }), -ENOENT);
}

/*
 * A reload whose result does not hold together as a whole is refused and
 * the running configuration is not touched: the file turns UPnP off and
 * NAT-PMP/PCP on, but NAT-PMP/PCP wait for the next start (off now), so
 * nothing would be served.
 */
static void test_reload_refused(void **state)
{
	static struct config running, next, copy;
	char reported[512] = "", err[256];

	(void)state;
	parse_or_fail("lan_interface = lan0\nenable_natpmp = no\nenable_pcp = no\n", &running);
	parse_or_fail("lan_interface = lan0\nenable_upnp = no\n", &next);
	copy = running;
	assert_int_equal(config_reload_prepare(&next, &running, on_restart, reported, err,
					       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nothing to serve"));
	assert_non_null(strstr(reported, " enable_natpmp "));
	assert_non_null(strstr(reported, " enable_pcp "));
	assert_memory_equal(&copy, &running, sizeof(running));
	/* ... and the same file with UPnP kept on is taken */
	parse_or_fail("lan_interface = lan0\nfriendly_name = x\n", &next);
	reported[0] = '\0';
	assert_int_equal(config_reload_prepare(&next, &running, on_restart, reported, err,
					       sizeof(err)), 0);
	assert_false(next.enable_natpmp);
	assert_string_equal(next.friendly_name, "x");
	assert_true(config_description_changed(&running, &next));
	assert_false(config_description_changed(&running, &running));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_md),
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_defaults_documented),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reload_refused),
		cmocka_unit_test(test_reloadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * config.h - the configuration file (`igdd -f FILE`), a contract:
 * key names are documented in docs/CONFIG.md and must not change.
 *
 * Syntax: one `key = value` per line; `#` starts a comment; blank lines
 * ignored; keys that may repeat (lan_interface, acl, connection_control)
 * keep their order. Unknown keys and bad values are errors naming file:line.
 */
#ifndef IGDD_CONFIG_H
#define IGDD_CONFIG_H

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/limits.h"

enum config_backend { CONFIG_BACKEND_SIM, CONFIG_BACKEND_NFT };
/* wan_public: is the WAN address reachable from the internet? */
enum config_wan_public { CONFIG_WAN_PUBLIC_AUTO, CONFIG_WAN_PUBLIC_YES, CONFIG_WAN_PUBLIC_NO };
/* unreachable_wan: new mappings while the internet cannot reach them. */
enum config_unreachable { CONFIG_UNREACHABLE_KEEP, CONFIG_UNREACHABLE_REFUSE };

#define CONFIG_USER_MAX 33                      /* a user name: 1..32 bytes */
#define CONFIG_WAN_COMMAND_MAX 256              /* a WAN command line: 1..255 bytes */
#define CONFIG_WAN_COMMAND_ARGS 16              /* its words: the program and 15 arguments */
#define CONFIG_CONTROL_SOCKET_MAX 108           /* sun_path: a path of at most 107 bytes */
#define CONFIG_SERVER_OS_MAX 65                 /* server_os: 1..64 bytes */
#define CONFIG_SIM_FORWARDS_MAX 16              /* sim_static_forward lines */
#define CONFIG_DEVICE_TEXT_MAX 256              /* manufacturer ...: 63 characters of UTF-8 */
#define CONFIG_URL_MAX 256                      /* manufacturer_url ...: 1..255 bytes */
#define CONFIG_NFT_TABLE_MAX 32                 /* nft_table, nft_table6: 1..31 bytes */

/* Ports of one protocol (IPPROTO_TCP or IPPROTO_UDP), lo..hi. */
struct config_ports {
	uint8_t proto;
	uint16_t lo, hi;
};

/* uptime_source: the Uptime clients see (GetStatusInfo). */
enum config_uptime {
	CONFIG_UPTIME_CONNECTION,               /* since the WAN connection came up (2.3.6) */
	CONFIG_UPTIME_IGDD,                     /* since igdd started */
	CONFIG_UPTIME_SYSTEM,                   /* since the system booted */
};

/* An IPv4 prefix, the address masked to its length. */
struct config_prefix {
	struct in_addr addr;
	unsigned plen;                          /* 0..32 */
};

struct config {
	enum config_backend backend;            /* backend = sim|nft (default sim) */
	size_t nlans;
	char lan_interface[IGDD_CONF_MAX_LANS][IF_NAMESIZE];
	                                        /* lan_interface = NAME (required; repeatable, at
	                                         * most IGDD_CONF_MAX_LANS: every LAN igdd serves) */
	char wan_interface[IF_NAMESIZE];        /* wan_interface = NAME (nft; default: the
	                                         * interface of the IPv4 default route) */
	bool have_external_ip;
	struct in_addr external_ip;             /* external_ip = A.B.C.D (sim: WAN address; default 203.0.113.1) */
	uint16_t http_port;                     /* http_port = N (0 = any free port; default 0) */
	bool have_uuid;
	char uuid[37];                          /* uuid = 8-4-4-4-12 hex (default: generated once, kept in state_dir) */
	char friendly_name[IGDD_FRIENDLY_NAME_MAX]; /* friendly_name = text (default "igdd Internet Gateway") */
	char server_os[CONFIG_SERVER_OS_MAX];   /* server_os = NAME[/VERSION], the OS token of the
	                                         * SERVER header (default "Linux", no release) */
	unsigned notify_interval;               /* notify_interval = seconds, 30..86400 (default 900) */

	/* What the device says about itself (UDA 1.1 2.3, the <device>
	 * fields): text of at most 63 (model_*: 31) characters, URLs of at
	 * most 255 bytes; "" = the default (names) or left out (the rest). */
	char manufacturer[CONFIG_DEVICE_TEXT_MAX];      /* default "igdd project" */
	char manufacturer_url[CONFIG_URL_MAX];
	char model_name[CONFIG_DEVICE_TEXT_MAX];        /* default "igdd" */
	char model_number[CONFIG_DEVICE_TEXT_MAX];      /* "" (default): igdd's version */
	char model_url[CONFIG_URL_MAX];
	char serial_number[CONFIG_DEVICE_TEXT_MAX];
	char presentation_url[CONFIG_URL_MAX];          /* a URL, or /PATH on the LAN address */

	/* WANCommonInterfaceConfig:1 2.2 and WANIPConnection:2 2.3.6. */
	char wan_access_type[16];               /* DSL|POTS|Cable|Ethernet ("" = the backend's) */
	uint32_t wan_upstream_bitrate;          /* bits/s (0 = the link speed) */
	uint32_t wan_downstream_bitrate;
	enum config_uptime uptime_source;       /* uptime_source = connection|igdd|system */
	char state_dir[PATH_MAX];               /* state_dir = PATH (default /var/lib/igdd) */
	bool persist_leases;                    /* persist_leases = yes|no (default: yes with nft,
	                                         * no with sim, which keeps mappings in memory only) */
	char control_socket[CONFIG_CONTROL_SOCKET_MAX]; /* control_socket = PATH | "" (off)
	                                         * (default /run/igdd/igdd.sock; docs/CLI.md) */
	bool have_metrics;
	struct in_addr metrics_addr;            /* metrics_listen = ADDR:PORT (default off): the
	                                         * Prometheus endpoint, a loopback address or the
	                                         * LAN address (checked at start; docs/MONITORING.md) */
	uint16_t metrics_port;
	bool enable_upnp;                       /* enable_upnp = yes|no: SSDP, HTTP (description,
	                                         * SOAP, GENA) (default yes; no: NAT-PMP/PCP only) */

	/* Port-mapping policy (WANIPConnection:2 section 1.2, IGD:2 security). */
	bool secure_mode;                       /* secure_mode = yes|no (default yes: own address only) */
	unsigned max_mappings;                  /* max_mappings = N (default 131070) */
	unsigned max_mappings_per_client;       /* max_mappings_per_client = N (default 4096) */
	size_t nacl;
	char acl[IGDD_CONF_MAX_ACL][IGDD_CONF_MAX_ACL_LEN]; /* acl = allow|deny EXT INT_ADDR[/PREFIX] INT
	                                         * [on LAN_INTERFACE] (repeatable, normalised) */

	/* NAT-PMP (RFC 6886) and PCP (RFC 6887) on UDP 5351 (docs/PCP.md). */
	bool enable_natpmp;                     /* enable_natpmp = yes|no (default yes) */
	bool enable_pcp;                        /* enable_pcp = yes|no (default yes) */
	bool pcp_third_party;                   /* pcp_third_party = yes|no: PCP THIRD_PARTY (RFC 6887
	                                         * 13.1) honoured, whatever secure_mode (default no) */
	unsigned pcp_min_lifetime;              /* pcp_min_lifetime = seconds (default 120) */
	unsigned pcp_max_lifetime;              /* pcp_max_lifetime = seconds (default 86400) */

	/* HTTP limits. */
	unsigned http_max_connections;          /* http_max_connections = N (default 128) */
	unsigned http_max_per_ip;               /* http_max_per_ip = N (default 8) */
	unsigned http_timeout;                  /* http_timeout = seconds (default 10) */
	unsigned http_max_lifetime;             /* http_max_lifetime = seconds a kept-alive connection
	                                         * may serve requests (default 60) */

	/* The WAN connection (WANIPConnection:2 2.3.3 - 2.3.10, 2.5.1 - 2.5.12). */
	bool connection_control_all;            /* connection_control = all */
	size_t nconnection_control;
	struct config_prefix connection_control[IGDD_CONF_MAX_CONN_CONTROL];
	                                        /* connection_control = ADDR[/PREFIX] (repeatable; default none) */
	bool connection_type_read_only;         /* connection_type_read_only = yes|no (default no) */
	unsigned auto_disconnect_time;          /* auto_disconnect_time = seconds (default 0 = off) */
	unsigned idle_disconnect_time;          /* idle_disconnect_time = seconds (default 0 = off) */
	unsigned warn_disconnect_delay;         /* warn_disconnect_delay = seconds (default 0) */

	/* The sim backend's simulated WAN link. */
	unsigned sim_connect_delay;             /* sim_connect_delay = ms, 0..600000 (default 0) */
	unsigned sim_disconnect_delay;          /* sim_disconnect_delay = ms, 0..600000 (default 0) */
	bool sim_connect_fail;                  /* sim_connect_fail = yes|no (default no) */
	bool sim_ip_bridged;                    /* sim_ip_bridged = yes|no (default no) */
	/* The ports the simulated gateway keeps for itself (docs/CONFIG.md). */
	bool sim_router_ports;                  /* sim_router_ports = yes|no (default yes): this
	                                         * host's own listening sockets count */
	size_t nsim_static_forward;
	struct config_ports sim_static_forward[CONFIG_SIM_FORWARDS_MAX];
	                                        /* sim_static_forward = TCP|UDP PORT[-PORT]
	                                         * (repeatable): ports forwarded statically */

	/* The nft backend and its privileged helper (docs/NFT.md). */
	bool have_user;
	char user[CONFIG_USER_MAX];             /* user = NAME (default igdd; nobody when igdd does not exist) */
	bool nft_hairpin;                       /* nft_hairpin = yes|no (default no) */
	/* nft_table = NAME, nft_table6 = NAME: igdd's table ip and table ip6
	 * (default igdd; a letter, then letters, digits, '_'): two instances
	 * with other names run side by side (docs/NFT.md). */
	char nft_table[CONFIG_NFT_TABLE_MAX];
	char nft_table6[CONFIG_NFT_TABLE_MAX];
	/* wan_up_command = /PATH [ARG...]; wan_down_command likewise (default
	 * none; nft only; down needs up): words split on spaces, no shell,
	 * stored with single spaces. Run by the helper (docs/NFT.md). */
	char wan_up_command[CONFIG_WAN_COMMAND_MAX];
	char wan_down_command[CONFIG_WAN_COMMAND_MAX];

	/* Behind another NAT (docs/CONFIG.md "Behind another NAT"). */
	enum config_wan_public wan_public;      /* wan_public = auto|yes|no (default auto: by
	                                         * the address's class, core/addrclass.h) */
	size_t nstun_server;                    /* stun_server = A.B.C.D[:PORT] (repeatable, */
	struct config_hostport {                /* at most 4; default none: no STUN) */
		struct in_addr addr;
		uint16_t port;                  /* default 3478 */
	} stun_server[IGDD_CONF_MAX_STUN_SERVERS];
	bool upstream_pcp;                      /* upstream_pcp = yes|no (default yes): mirror
	                                         * mappings on the upstream's PCP/NAT-PMP server
	                                         * when the WAN address is not public */
	bool upstream_upnp;                     /* upstream_upnp = yes|no (default yes): with
	                                         * upstream_pcp, a UPnP IGD on the WAN segment
	                                         * when neither PCP nor NAT-PMP answers */
	enum config_unreachable unreachable_wan; /* unreachable_wan = keep|refuse (default
	                                         * keep): new mappings while the WAN address
	                                         * is not public and no upstream mirrors them */
	/* IPv6 pinholes (WANIPv6FirewallControl:1, PCP MAP in firewall mode;
	 * docs/POLICY.md "IPv6 pinholes"). */
	bool ipv6_firewall;                     /* ipv6_firewall = yes|no: FirewallEnabled (default yes) */
	bool pinholes;                          /* pinholes = yes|no: InboundPinholeAllowed (default yes) */
	unsigned max_pinholes;                  /* max_pinholes = N, 0..16384 (default 1024) */
	unsigned max_pinholes_per_client;       /* max_pinholes_per_client = N (default 64) */
	size_t npinhole_acl;
	char pinhole_acl[IGDD_CONF_MAX_ACL][IGDD_CONF_MAX_ACL_LEN];
	                                        /* pinhole_acl = allow|deny ADDR6[/PREFIX] PORTS
	                                         * [on LAN_INTERFACE] (repeatable, normalised) */
};

void config_defaults(struct config *c);

/* The index of lan_interface name (0..nlans-1), or -1. */
int config_lan_index(const struct config *c, const char *name, size_t len);

/*
 * Parse FILE into *ret (defaults first). On error returns -EINVAL (or
 * -errno for I/O) and writes "FILE:LINE: message" into err; -ENODATA
 * when the file is valid but does not name the LAN interface yet (the
 * state a package installs it in: igdd -c).
 */
int config_load(const char *path, struct config *ret, char *err, size_t errsz);

/* Same, from a string in memory (name is used in messages). */
int config_parse(const char *name, const char *text, size_t len, struct config *ret,
		 char *err, size_t errsz);

/* The parser's keys, for the documentation checks: the name of key i,
 * or NULL past the last. */
const char *config_key_name(size_t i);
/* 1 when a reload applies key name, 0 when it waits for the next start,
 * -ENOENT for an unknown key. */
int config_key_reloadable(const char *name);

/* What the key table says about key i (0 or -ENOENT past the last). */
struct config_key_info {
	const char *name;
	const char *def;            /* the default as a value of the file, or NULL */
	const char *doc;            /* one line */
	const char *restart;        /* why a reload does not apply it (NULL: it does) */
	bool reload;
	bool repeat;
	bool describe;              /* in the description documents */
};
int config_key_info(size_t i, struct config_key_info *ret);

/* Did key name's value change from a to b? (false for an unknown key) */
bool config_key_changed(const struct config *a, const struct config *b, const char *name);
/* Did anything the description documents say change (UDA 1.1 1.2.2: CONFIGID)? */
bool config_description_changed(const struct config *a, const struct config *b);

/*
 * A reload (main.c, SIGHUP and igddctl reload): next is a configuration
 * just read from the file, to replace running whole. Every key a reload
 * does not apply takes its running value in next, and report(key, why)
 * is called for each such key whose value differed. Then next is checked
 * as a whole again: 0, or -EINVAL with the problem in err (running is
 * never touched).
 */
typedef void (*config_restart_fn)(const char *key, const char *why, void *arg);
int config_reload_prepare(struct config *next, const struct config *running,
			  config_restart_fn report, void *arg, char *err, size_t errsz);

/* Print the configuration back, normalised: every key, one per line,
 * in a fixed order, defaults included (`igdd -n`). */
void config_print(const struct config *c, FILE *out);

#endif

/*
 * ssdp.h - SSDP discovery text, without sockets or clocks (UPnP Device
 * Architecture 1.1 section 1): parse an incoming M-SEARCH (1.3.2),
 * decide which answers a search target receives (1.3.3), and build the
 * search response (1.3.3) and the NOTIFY ssdp:alive / ssdp:byebye
 * advertisements (1.2.2, 1.2.3).
 *
 * The device tree is IGD:2 (InternetGatewayDevice:2 > WANDevice:2 >
 * WANConnectionDevice:2, services WANCommonInterfaceConfig:1 and
 * WANIPConnection:2). The same device is also described as IGD:1 at
 * SSDP_DESC_PATH_V1 for clients that only understand version 1; searches
 * for the version 1 types (and the version 1 advertisements) point there.
 *
 * net/ssdp_io.c owns the sockets, the time and the randomness; everything
 * here is a function of its arguments, which is what the unit tests and
 * the fuzzer (tests/fuzz/fuzz_ssdp.c) rely on.
 */
#ifndef IGDD_PROTO_SSDP_H
#define IGDD_PROTO_SSDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/ipaddr.h"
#include "util/str.h"

#define SSDP_PORT                1900
#define SSDP_MCAST_ADDR          "239.255.255.250"
#define SSDP_MCAST_ADDR_HOST     0xeffffffaU   /* the same, host byte order */
/* IPv6 (UDA 1.1 Annex A, and UDA 2.0 Annex A A2.3): link-local scope,
 * site-local scope, and the global scope GUPnP's ULA and global
 * contexts search on (ipv6 notes: GLib counts only fec0::/10 as
 * site-local, so anything else goes to ff0e::c). */
#define SSDP_MCAST6_LINK         "ff02::c"
#define SSDP_MCAST6_SITE         "ff05::c"
#define SSDP_MCAST6_GLOBAL       "ff0e::c"

/* The description documents the HTTP server must serve. */
#define SSDP_DESC_PATH_V2        "/rootDesc.xml"
#define SSDP_DESC_PATH_V1        "/rootDesc1.xml"

/* CACHE-CONTROL max-age never below this (UDA 1.1 1.2.2: >= 1800 s). */
#define SSDP_MIN_MAX_AGE         1800

#define SSDP_NT_MAX              64    /* longest ST/NT we send, plus NUL */
#define SSDP_USN_MAX             128   /* "uuid:" UUID "::" NT, plus NUL */
#define SSDP_SERVER_MAX          128
#define SSDP_MAX_ANSWERS         9     /* ssdp:all */
#define SSDP_ANNOUNCE_COUNT      13    /* 9 for the v2 view + 4 for the v1 view */

/* Why a datagram is not answered (or SSDP_PARSE_OK when it is). */
enum ssdp_parse_status {
	SSDP_PARSE_OK,            /* a well-formed M-SEARCH */
	SSDP_PARSE_NOTIFY,        /* another device's NOTIFY: not ours to answer */
	SSDP_PARSE_NOT_MSEARCH,   /* a response, another method, not HTTP-like */
	SSDP_PARSE_MALFORMED,     /* bad request line or header syntax, NUL bytes, too long */
	SSDP_PARSE_BAD_MAN,       /* MAN missing or not "ssdp:discover" */
	SSDP_PARSE_BAD_ST,        /* ST missing or empty */
	SSDP_PARSE_BAD_MX,        /* multicast search with MX missing or not an integer */
};

/*
 * A parsed M-SEARCH. The views point into the datagram passed to
 * ssdp_parse() and live as long as it does.
 */
struct ssdp_msearch {
	struct str st;            /* search target, trimmed, not empty */
	struct str user_agent;    /* trimmed; empty when absent (for logs only) */
	bool have_mx;             /* multicast: always true (MX is required) */
	unsigned mx;              /* seconds, capped at IGDD_SSDP_MAX_MX; 0 for unicast */
};

/*
 * Parse one datagram of len bytes. multicast tells whether it was sent
 * to the SSDP group (then MX is required, UDA 1.1 1.3.2) or unicast to
 * us (MX is ignored). Header names are case-insensitive, values trimmed,
 * lines end in CRLF or LF, the final line terminator and the empty line
 * may be missing. A repeated ST, MAN or MX header is malformed (the
 * search would be ambiguous). MAN is accepted with or without quotes.
 * *ret is written only when SSDP_PARSE_OK is returned.
 */
enum ssdp_parse_status ssdp_parse(const char *data, size_t len, bool multicast,
				  struct ssdp_msearch *ret);

/* A short constant name for the status, for debug logs. */
const char *ssdp_parse_status_str(enum ssdp_parse_status st);

/* Which description document an answer or advertisement points at. */
enum ssdp_desc {
	SSDP_DESC_V2,             /* SSDP_DESC_PATH_V2: the IGD:2 view */
	SSDP_DESC_V1,             /* SSDP_DESC_PATH_V1: the IGD:1 view */
};

/* The devices of the tree, indexes into struct ssdp_device.uuid. */
enum ssdp_dev {
	SSDP_DEV_ROOT,            /* InternetGatewayDevice */
	SSDP_DEV_WAN,             /* WANDevice */
	SSDP_DEV_WANCONN,         /* WANConnectionDevice */
	SSDP_DEV_COUNT
};

/*
 * What the texts are built from. Borrowed: the strings must outlive every
 * call that is given the struct (ssdp_io keeps them in the engine).
 */
struct ssdp_device {
	const char *uuid[SSDP_DEV_COUNT];   /* 36-character UUIDs, without "uuid:" */
	struct ipaddr addr;                 /* LAN address, for LOCATION (IPv6: in
	                                     * brackets, never with a zone) */
	const char *notify_host;            /* NOTIFY's HOST: NULL for SSDP_MCAST_ADDR:1900,
	                                     * else e.g. "[FF02::C]:1900" */
	uint16_t http_port;
	uint32_t boot_id;                   /* BOOTID.UPNP.ORG */
	uint32_t config_id;                 /* CONFIGID.UPNP.ORG */
	unsigned max_age;                   /* CACHE-CONTROL, see ssdp_max_age() */
	const char *server;                 /* SERVER value, see ssdp_server_string() */
};

/* One search answer or one advertisement: ST (or NT), USN, document. */
struct ssdp_answer {
	char st[SSDP_NT_MAX];
	char usn[SSDP_USN_MAX];
	enum ssdp_desc desc;
};

/*
 * The answers to a search for st (UDA 1.1 1.3.3), written to out (room
 * for SSDP_MAX_ANSWERS). Returns how many (0: not ours, stay silent):
 *   ssdp:all            9: upnp:rootdevice, each device's uuid, each
 *                          device type and each service type (v2 view)
 *   upnp:rootdevice     1
 *   uuid:<one of ours>  1 (UUID compared case-insensitively)
 *   a device or service type of the tree, version 1 up to the version we
 *   implement: 1, with the asked version echoed in ST and USN; version 1
 *   of IGD, WANDevice, WANConnectionDevice and WANIPConnection points at
 *   the v1 description, everything else at the v2 one.
 */
size_t ssdp_answers(const struct ssdp_device *d, struct str st,
		    struct ssdp_answer out[SSDP_MAX_ANSWERS]);

/*
 * The advertisement set (UDA 1.1 1.2.2), written to out (room for
 * SSDP_ANNOUNCE_COUNT): the 9 of ssdp:all (v2 view), then the version 1
 * forms of IGD, WANDevice, WANConnectionDevice and WANIPConnection (v1
 * view) so that passive IGD:1 listeners find the v1 description.
 * Returns SSDP_ANNOUNCE_COUNT.
 */
size_t ssdp_announce_set(const struct ssdp_device *d,
			 struct ssdp_answer out[SSDP_ANNOUNCE_COUNT]);

/* CACHE-CONTROL max-age for a re-announcement period: max(1800, 2 x interval). */
unsigned ssdp_max_age(unsigned notify_interval);

/*
 * SERVER header value "<os> UPnP/1.1 igdd/<version>" (UDA 1.1 1.2.2,
 * "OS/version UPnP/1.1 product/version") into out; the HTTP server's
 * Server field is the same. os is the configuration's server_os: a
 * product token, "name" or "name/version" (default "Linux": the kernel
 * release is nobody's business on the LAN). Characters not allowed in a
 * token are replaced by '_' ('/' is kept in os); an empty os becomes
 * SSDP_SERVER_OS_DEFAULT, an empty version "unknown". -E2BIG if it does
 * not fit (out is then truncated).
 */
#define SSDP_SERVER_OS_DEFAULT "Linux"
int ssdp_server_string(const char *os, const char *version, char *out, size_t outsz);

/*
 * The search response for answer a (UDA 1.1 1.3.3), DATE from now (wall
 * clock, seconds since the epoch). out is reset first. 0 or -E2BIG/-ENOMEM.
 */
int ssdp_build_response(const struct ssdp_device *d, const struct ssdp_answer *a,
			time_t now, struct buf *out);

enum ssdp_nts {
	SSDP_NTS_ALIVE,           /* 1.2.2 */
	SSDP_NTS_BYEBYE,          /* 1.2.3: no CACHE-CONTROL, LOCATION or SERVER */
};

/* The NOTIFY for advertisement a (NT = a->st). out is reset first. */
int ssdp_build_notify(const struct ssdp_device *d, const struct ssdp_answer *a,
		      enum ssdp_nts nts, struct buf *out);

#endif

/*
 * limits.h - every resource a peer can grow has a hard limit, defined here
 * (defaults) and overridable in the configuration where noted.
 */
#ifndef IGDD_LIMITS_H
#define IGDD_LIMITS_H

/* Mapping table */
#define IGDD_MAX_MAPPINGS_DEFAULT        131070  /* 2 x 65535: conf max_mappings */
#define IGDD_MAX_MAPPINGS_PER_CLIENT     4096    /* conf max_mappings_per_client */
#define IGDD_MAX_PINHOLES_DEFAULT        1024    /* conf max_pinholes (IPv6 pinholes in total) */
#define IGDD_MAX_PINHOLES                16384   /* its highest value */
#define IGDD_MAX_PINHOLES_PER_CLIENT     64      /* conf max_pinholes_per_client */
#define IGDD_MAX_DESC_LEN                256     /* bytes of PortMappingDescription kept */
#define IGDD_LEASE_MAX                   604800  /* seconds (WANIPConnection:2 2.3.16) */

/*
 * HTTP (net/http_io.c, proto/http.c). A connection holds one input
 * buffer of IGDD_HTTP_MAX_HEAD bytes plus a little room for the body as
 * it passes through, the decoded body (up to IGDD_HTTP_MAX_BODY) and its
 * response: at most IGDD_HTTP_MAX_RESPONSE bytes, a longer body (a
 * listing of the whole table) being written in parts of about
 * IGDD_HTTP_STREAM_PART as the peer takes them. http_timeout bounds the
 * time to receive a request (from its first byte), an idle kept-alive
 * connection and a stuck write; http_max_lifetime and
 * IGDD_HTTP_MAX_REQUESTS a kept-alive connection's life.
 */
#define IGDD_HTTP_MAX_CONNECTIONS        128     /* conf http_max_connections */
#define IGDD_HTTP_MAX_PER_IP             8       /* conf http_max_per_ip: well under the total */
#define IGDD_HTTP_TIMEOUT_S              10      /* whole request, conf http_timeout */
#define IGDD_HTTP_MAX_LIFETIME_S         60      /* a connection's last request starts before, conf http_max_lifetime */
#define IGDD_HTTP_MAX_REQUESTS           1000    /* requests served on one connection */
#define IGDD_HTTP_MAX_BODY               16384   /* request body bytes (Content-Length or decoded chunks): 413 */
#define IGDD_HTTP_MAX_HEAD               8192    /* request line + header fields: 414 / 431 */
#define IGDD_HTTP_MAX_RESPONSE           (128u << 10) /* a response held whole, or one part of a long one */
#define IGDD_HTTP_STREAM_PART            (64u << 10)  /* a long body (a listing) is written in parts of this */
#define IGDD_HTTP_MAX_HEADERS            64      /* header fields in a request: 431 */

/* SOAP */
#define IGDD_SOAP_MAX_ARGS               16
#define IGDD_SOAP_MAX_ARG_LEN            1024    /* one argument's text */
#define IGDD_SOAP_MAX_DEPTH              16

/* SSDP */
#define IGDD_SSDP_MAX_DATAGRAM           2048
#define IGDD_SSDP_MAX_PENDING            256     /* delayed M-SEARCH answers queued */
#define IGDD_SSDP_MAX_MX                 5       /* seconds; UDA 1.1 caps MX at 5 */

/* GENA */
#define IGDD_GENA_MAX_SUBSCRIPTIONS      128
#define IGDD_GENA_MAX_PER_SOURCE         8       /* per subscriber address: well under the total */
#define IGDD_GENA_MAX_CALLBACK_LEN       512
#define IGDD_GENA_MAX_CALLBACK_URLS      4

/* Control socket (igddctl, docs/CLI.md) */
#define IGDD_CTL_MAX_CLIENTS             4       /* connections at once; more are refused */
#define IGDD_CTL_MAX_LINE                1024    /* one request line, without its newline */
#define IGDD_CTL_TIMEOUT_S               10      /* a connection's whole life */
#define IGDD_CTL_MAX_OUT                 65536   /* answer bytes buffered at once */

/* NAT-PMP / PCP (UDP 5351) */
#define IGDD_PCP_MIN_LIFETIME_DEFAULT    120     /* conf pcp_min_lifetime (RFC 6887 15) */
#define IGDD_PCP_MAX_LIFETIME_DEFAULT    86400   /* conf pcp_max_lifetime */
#define IGDD_PCP_MAX_DATAGRAM            2048    /* longer datagrams are dropped unanswered */
#define IGDD_PCP_RATE_SOURCES            64      /* sources tracked by the rate limit */
#define IGDD_PCP_RATE_BURST              32      /* requests a source may send at once, */
#define IGDD_PCP_RATE_PER_S              16      /* then this many per second */
#define IGDD_PCP_ANNOUNCE_COUNT          10      /* RFC 6886 3.2.1 */

/* LANs (core/lan.h) */
#define IGDD_LAN_MAX_ADDRS               16      /* addresses followed per interface; more are ignored */

/* Configuration */
#define IGDD_CONF_MAX_LINE               1024
#define IGDD_CONF_MAX_ACL                64
#define IGDD_CONF_MAX_ACL_LEN            128
#define IGDD_CONF_MAX_CONN_CONTROL       16      /* connection_control entries */
#define IGDD_CONF_MAX_LANS               8       /* lan_interface lines */
#define IGDD_FRIENDLY_NAME_MAX           64

/* STUN client on the WAN (net/stun_io.c; docs/LIMITS.md "Behind another NAT") */
#define IGDD_CONF_MAX_STUN_SERVERS       4       /* stun_server lines */
#define IGDD_STUN_RTO_MS                 500     /* RFC 8489 6.2.1 initial RTO */
#define IGDD_STUN_RC                     7       /* requests per transaction (6.2.1 Rc) */
#define IGDD_STUN_RC_BEHAVIOUR           4       /* the RFC 5780 tests, where silence is an answer */
#define IGDD_STUN_RM                     16      /* 6.2.1 Rm: the last wait, in RTOs */
#define IGDD_STUN_INTERVAL_S             600     /* a run every 10 minutes */
#define IGDD_STUN_RETRY_S                60      /* after a failed run, doubling up to the interval */
#define IGDD_STUN_MIN_GAP_S              10      /* between two runs, whatever triggers them */

/* The upstream PCP / NAT-PMP client (net/upstream_io.c; docs/LIMITS.md) */
#define IGDD_UPSTREAM_MAX_MAPPINGS       128     /* mappings mirrored upstream at once */
#define IGDD_UPSTREAM_IRT_MS             3000    /* RFC 6887 8.1.1 initial retransmission */
#define IGDD_UPSTREAM_SENDS              4       /* sends per request before a retry later */
#define IGDD_UPSTREAM_RETRY_S            60      /* a failed request or probe, again after */
#define IGDD_UPSTREAM_REPROBE_S          600     /* PCP/NAT-PMP not found: ask again after, */
#define IGDD_UPSTREAM_REPROBE_MAX_S      3600    /* ... doubling up to this */
#define IGDD_UPSTREAM_LIFETIME_S         3600    /* the lifetime asked for */
#define IGDD_UPSTREAM_GAP_MS             100     /* between two new requests (10 per second) */
#define IGDD_UPSTREAM_WALK_BATCH         2048    /* local mappings looked at per loop turn for a free slot */
#define IGDD_UPSTREAM_MAX_WAITERS        64      /* replies waiting for the upstream's answer */
#define IGDD_UPSTREAM_WAITERS_PER_HOST   8       /* ... of them for one internal client's mappings */
#define IGDD_UPSTREAM_REPLY_WAIT_MS      3000    /* how long one waits at most */
/* ... its UPnP IGD control point (net/upstream_upnp.c) */
#define IGDD_UPSTREAM_UPNP_WAIT_MS       2500    /* answers to M-SEARCH (MX 2) collected */
#define IGDD_UPSTREAM_UPNP_TIMEOUT_MS    5000    /* one HTTP exchange, connect to close */
#define IGDD_UPSTREAM_UPNP_CHECK_S       30      /* M-SEARCH again: BOOTID, gone, back */
#define IGDD_UPSTREAM_UPNP_DEVICES       4       /* devices that answered, considered */
#define IGDD_UPSTREAM_UPNP_MAX_BODY      65536   /* a response, head and body */
#define IGDD_UPSTREAM_UPNP_STOP_MS       2000    /* all deletes at shutdown */

#endif

/*
 * igddctl.c - the admin's client for igdd's control socket (docs/CLI.md):
 * one command per run, its answer on stdout, errors on stderr.
 * Exit status: 0 ok, 1 error (including igdd not running), 2 usage.
 *
 * An `add` carries a grant (priv/priv_msg.h): one end of a socketpair
 * this process made, holding the mapping it asks for. Run as root, that
 * lets the nft backend's privileged helper install an admin mapping
 * beyond its port policy; the daemon cannot make one itself.
 */
#include "conf/config.h"
#include "core/clock.h"
#include "priv/priv_msg.h"
#include "proto/ctl.h"
#include "util/buf.h"
#include "util/fdpass.h"
#include "util/limits.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
/* Longest wait for the whole answer: the daemon's own deadline and some. */
#define CLIENT_TIMEOUT_MS ((IGDD_CTL_TIMEOUT_S + 2) * 1000)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: igddctl [-s SOCKET | -f CONFIG] [--json] COMMAND [ARG...]\n"
		"       igddctl -h | -V\n"
		"\n"
		"Talk to the running igdd over its control socket.\n"
		"\n"
		"Options:\n"
		"  -s SOCKET  the control socket (default /run/igdd/igdd.sock)\n"
		"  -f CONFIG  read control_socket from igdd's configuration file\n"
		"  --json     JSON output (status, list, stats, pinholes), passed through as is\n"
		"  -h         this help\n"
		"  -V         print the version\n"
		"\n"
		"Commands:\n"
		"  status                      version, uptime, backend, LAN, external address,\n"
		"                              WAN connection, mappings by origin,\n"
		"                              SystemUpdateID, BOOTID/CONFIGID, subscribers\n"
		"  stats [--json]              counters: requests by protocol, action and\n"
		"                              result code, mappings by origin, events sent\n"
		"                              and failed, helper round trips, refusals\n"
		"  list [--json]               every mapping: protocol, external port, remote\n"
		"                              host, internal client:port, enabled, lease left\n"
		"                              (- = permanent), origin, owner, description\n"
		"  add TCP|UDP EXT-PORT INT-CLIENT INT-PORT [--lease SECONDS] [--remote HOST]\n"
		"      [--desc TEXT]           an admin (static) mapping; lease 0 (the default)\n"
		"                              is permanent; INT-CLIENT must be on the LAN;\n"
		"                              beyond the port policy (nft) only as root\n"
		"  del TCP|UDP EXT-PORT [--remote HOST]\n"
		"                              delete a mapping, whoever made it\n"
		"  flush [--client ADDR]       delete every mapping (of one internal client)\n"
		"  connect                     RequestConnection on the WAN connection\n"
		"  disconnect                  ForceTermination of the WAN connection\n"
		"  log-level debug|info|warn   change what igdd logs\n"
		"  reload                      read the configuration file again (as SIGHUP)\n"
		"  pinholes [--json]           every IPv6 pinhole: UniqueID, protocol, remote\n"
		"                              host and port (* = any), internal client and\n"
		"                              port, lease left, packets, origin, owner\n"
		"  pinhole-del UNIQUE-ID       close a pinhole, whoever made it\n"
		"\n"
		"Exit status: 0 ok, 1 error (igdd not running, refused, ...), 2 usage.\n"
		"Only root and igdd's own user may use the socket.\n");
}

/* The socket path from igdd's configuration: 0, or 1 (message printed). */
static int socket_from_config(const char *file, char *out, size_t outsz)
{
	struct config *c = malloc(sizeof(*c));
	char err[512];
	int r = 0;

	if (!c) {
		fprintf(stderr, "igddctl: out of memory\n");
		return 1;
	}
	if (config_load(file, c, err, sizeof(err)) < 0) {
		fprintf(stderr, "igddctl: %s\n", err);
		r = 1;
	} else if (!c->control_socket[0]) {
		fprintf(stderr, "igddctl: %s: control_socket is off (\"\")\n", file);
		r = 1;
	} else {
		snprintf(out, outsz, "%s", c->control_socket);
	}
	free(c);
	return r;
}

static int default_socket(char *out, size_t outsz)
{
	struct config *c = malloc(sizeof(*c));

	if (!c) {
		fprintf(stderr, "igddctl: out of memory\n");
		return 1;
	}
	config_defaults(c);
	snprintf(out, outsz, "%s", c->control_socket);
	free(c);
	return 0;
}

/* Connect to path: the fd, or -1 with the reason printed. */
static int connect_to(const char *path)
{
	struct sockaddr_un addr;
	int fd;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "igddctl: %s: path too long for a socket\n", path);
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("igddctl: socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		fprintf(stderr, "igddctl: %s does not exist: igdd is not running, or its "
			"control_socket is elsewhere (-s, -f)\n", path);
		break;
	case ECONNREFUSED:
		fprintf(stderr, "igddctl: nothing answers on %s: igdd is not running\n", path);
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr, "igddctl: %s: permission denied (root or igdd's user only)\n",
			path);
		break;
	default:
		fprintf(stderr, "igddctl: %s: %s\n", path, strerror(errno));
		break;
	}
	close(fd);
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One answer line: a data line goes to stdout; the status line ends it.
 * -1 not yet, 0 ok, 1 error. */
static int answer_line(const char *line, size_t len)
{
	if (len == 2 && memcmp(line, "ok", 2) == 0)
		return 0;
	if (len >= 6 && memcmp(line, "error ", 6) == 0) {
		const char *text = line + 6, *sp = memchr(text, ' ', len - 6);

		if (sp)
			fprintf(stderr, "igddctl: %.*s (error %.*s)\n", (int)(line + len - sp - 1),
				sp + 1, (int)(sp - text), text);
		else
			fprintf(stderr, "igddctl: error %.*s\n", (int)(len - 6), text);
		return 1;
	}
	fwrite(line, 1, len, stdout);
	fputc('\n', stdout);
	return -1;
}

/* The grant for an `add` (see the top): the end to send, or -1. */
static int make_grant(const struct ctl_req *r)
{
	struct priv_grant g;
	int sv[2];

	if (r->cmd != CTL_ADD || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	memset(&g, 0, sizeof(g));
	g.magic = PRIV_GRANT_MAGIC;
	g.version = PRIV_MSG_VERSION;
	g.created_ms = clock_monotonic_ms(NULL);
	g.e.remote_host = r->remote_host;
	g.e.internal = r->client;
	g.e.ext_port = r->ext_port;
	g.e.int_port = r->int_port;
	g.e.proto = r->proto == CTL_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	if (send(sv[0], &g, sizeof(g), MSG_NOSIGNAL) != (ssize_t)sizeof(g)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[0]);           /* what it holds stays readable at the other end */
	return sv[1];
}

/* Send the request (with grant: -1 none), print the answer: the exit
 * status. */
static int exchange(int fd, const char *req, size_t len, int grant)
{
	char in[8192];
	size_t have = 0, sent = 0;
	uint64_t end = now_ms() + CLIENT_TIMEOUT_MS;
	int status = -1;

	while (sent < len) {
		ssize_t n = fdpass_send(fd, req + sent, len - sent, sent == 0 ? grant : -1,
					MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;          /* refused at once: the answer says why */
		sent += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (status < 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t t = now_ms();
		char *nl;
		ssize_t n;
		int r;

		if (t >= end) {
			fprintf(stderr, "igddctl: no complete answer within %d s\n",
				CLIENT_TIMEOUT_MS / 1000);
			return 1;
		}
		r = poll(&p, 1, (int)(end - t));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = recv(fd, in + have, sizeof(in) - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "igddctl: igdd closed the connection without an answer%s%s\n",
				n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			return 1;
		}
		have += (size_t)n;
		while (status < 0 && (nl = memchr(in, '\n', have))) {
			size_t l = (size_t)(nl - in);

			status = answer_line(in, l);
			memmove(in, nl + 1, have - l - 1);
			have -= l + 1;
		}
		if (status < 0 && have == sizeof(in)) {
			/* A data line longer than the buffer: print it in pieces. */
			fwrite(in, 1, have, stdout);
			have = 0;
		}
	}
	if (fflush(stdout) != 0) {
		perror("igddctl: stdout");
		return 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	char path[CONFIG_CONTROL_SOCKET_MAX] = "";
	const char *sock = NULL, *conf = NULL;
	bool json = false;
	struct ctl_req *req;
	const char *err;
	struct buf line;
	int i, fd, r, grant;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "-V") == 0) {
			printf("igddctl %s\n", IGDD_VERSION);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if ((strcmp(a, "-s") == 0 || strcmp(a, "-f") == 0) && i + 1 < argc) {
			if (sock || conf) {
				fprintf(stderr, "igddctl: -s and -f: one of them, once\n");
				return EXIT_USAGE;
			}
			if (a[1] == 's')
				sock = argv[++i];
			else
				conf = argv[++i];
		} else {
			fprintf(stderr, "igddctl: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}

	/* The request line: the words quoted as the daemon reads them. */
	buf_init(&line, IGDD_CTL_MAX_LINE + 2);
	for (; i < argc; i++) {
		if (line.len)
			buf_puts(&line, " ");
		if (ctl_quote(&line, argv[i]) == -EINVAL) {
			fprintf(stderr, "igddctl: control characters cannot be sent\n");
			buf_free(&line);
			return EXIT_USAGE;
		}
	}
	if (json)
		buf_puts(&line, " --json");
	req = malloc(sizeof(*req));
	if (!req) {
		buf_free(&line);
		return 1;
	}
	r = line.toobig ? CTL_E_TOO_LONG : ctl_parse(line.p, line.len, req, &err);
	grant = r == 0 ? make_grant(req) : -1;
	free(req);
	if (r != 0) {
		fprintf(stderr, "igddctl: %s\n", r == CTL_E_TOO_LONG ? "command too long" : err);
		buf_free(&line);
		return EXIT_USAGE;
	}
	buf_puts(&line, "\n");

	if (conf)
		r = socket_from_config(conf, path, sizeof(path));
	else if (sock)
		r = snprintf(path, sizeof(path), "%s", sock) >= (int)sizeof(path) ? 1 : 0;
	else
		r = default_socket(path, sizeof(path));
	if (r == 0 && (fd = connect_to(path)) >= 0) {
		r = exchange(fd, line.p, line.len, grant);
		close(fd);
	} else {
		if (r != 0 && sock)
			fprintf(stderr, "igddctl: %s: path too long for a socket\n", sock);
		r = 1;
	}
	if (grant >= 0)
		close(grant);
	buf_free(&line);
	return r;
}

/*
 * main.c - igdd's entry point: arguments, the configuration (`-n` checks
 * and prints it), the device UUID kept in state_dir (UDA 1.1 section
 * 1.1.4: a UDN stays the same across restarts), start-up in dependency
 * order, the loop, and a clean shutdown (ssdp:byebye) on SIGTERM/SIGINT.
 */
#include "conf/config.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/ctl_io.h"
#include "net/gena_io.h"
#include "net/http_io.h"
#include "net/ifwatch.h"
#include "net/pcp_io.h"
#include "net/ssdp_io.h"
#include "priv/priv.h"
#include "svc/gena.h"
#include "util/ifaddr.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

struct options {
	const char *conf;
	bool foreground;
	bool verbose;
	bool check;
};

/* Everything one running daemon owns. */
struct igdd {
	struct config cfg;
	struct engine e;
	bool engine_up;
	struct loop *loop;
	struct http_io *http;
	struct gena *gena;
	struct gena_io *gena_io;
	struct ssdp_io *ssdp;
	struct ctl_io *ctl;             /* the control socket (igddctl) or NULL */
	struct pcp_io *pcp;             /* NAT-PMP / PCP; NULL when both are off */
	int64_t engine_timer;           /* the engine's timer (0: none) */
	uint64_t engine_when;           /* when it is due (0: nothing pending) */
	bool foreground;                /* -d */
	struct priv *helper;            /* backend nft: the privileged helper */
	bool helper_lost;               /* it exited under us: exit 1 */
	struct ifwatch *wanwatch;       /* backend nft: the WAN interface */
	char wan_ip[INET_ADDRSTRLEN];   /* ExternalIPAddress last evented */
	char conf_path[PATH_MAX];       /* -f, absolute: read again on SIGHUP */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: igdd [-d] [-v] [-n] -f FILE\n"
		"       igdd -h | -V\n"
		"  -f FILE  configuration file (see docs/CONFIG.md)\n"
		"  -n       check the configuration, print it normalised, exit\n"
		"  -d       stay in the foreground, log to stderr\n"
		"  -v       log debug messages too\n"
		"  -h       this help\n"
		"  -V       print the version\n");
}

/* 0: run; 1: exit 0 (help, version); -1: exit 1 (usage error). */
static int parse_args(int argc, char **argv, struct options *ret)
{
	struct options o = { 0 };
	int ch;

	while ((ch = getopt(argc, argv, "df:hnvV")) != -1) {
		switch (ch) {
		case 'd': o.foreground = true; break;
		case 'f': o.conf = optarg; break;
		case 'n': o.check = true; break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("igdd %s\n", IGDD_VERSION); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !o.conf) {
		usage(stderr);
		return -1;
	}
	*ret = o;
	return 0;
}

/* igdd -n: the normalised configuration on stdout, or the error on stderr. */
static int check_config(const char *path)
{
	struct config *c = malloc(sizeof(*c));
	char err[512];
	int r;

	if (!c) {
		fprintf(stderr, "igdd: out of memory\n");
		return 1;
	}
	r = config_load(path, c, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "%s\n", err);
	else
		config_print(c, stdout);
	free(c);
	return r < 0 || fflush(stdout) != 0 ? 1 : 0;
}

/* ---- the device UUID, generated once and kept in <state_dir>/uuid ---- */

/* 8-4-4-4-12 hex digits, lower-cased into out. */
static bool uuid_parse(const char *s, size_t len, char out[37])
{
	size_t i;

	if (len != 36)
		return false;
	for (i = 0; i < 36; i++) {
		char ch = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (ch != '-')
				return false;
		} else if (ch >= 'A' && ch <= 'F') {
			ch = (char)(ch - 'A' + 'a');
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return false;
		}
		out[i] = ch;
	}
	out[36] = '\0';
	return true;
}

/* A random (version 4, RFC 4122 section 4.4) UUID from /dev/urandom. */
static int uuid_generate(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	int fd, r = 0;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < sizeof(b)) {
		ssize_t n = read(fd, b + got, sizeof(b) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (r < 0)
		return r;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);     /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* The UUID in file path: 0, -ENOENT, -EINVAL (bad content) or -errno. */
static int uuid_read(const char *path, char out[37])
{
	char text[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		n--;
	return uuid_parse(text, (size_t)n, out) ? 0 : -EINVAL;
}

/* Write uuid to dir/uuid atomically: temporary file, fsync, rename. */
static int uuid_write(const char *dir, const char *uuid)
{
	char tmp[PATH_MAX], path[PATH_MAX], line[40];
	size_t len = (size_t)snprintf(line, sizeof(line), "%s\n", uuid);
	int fd, r = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/uuid", dir) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.uuid.XXXXXX", dir) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (fchmod(fd, 0644) < 0 || write(fd, line, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* cfg->uuid: from the configuration, else the state file, else a new one. */
static void setup_uuid(struct config *cfg)
{
	char path[PATH_MAX];
	int r;

	if (cfg->have_uuid)
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/uuid", cfg->state_dir) >= sizeof(path))
		fatalx("state_dir '%s': path too long", cfg->state_dir);
	r = uuid_read(path, cfg->uuid);
	if (r == 0)
		return;
	if (r == -EINVAL)
		log_warnx("%s: not a UUID; generating a new one", path);
	else if (r != -ENOENT)
		log_warnx("%s: %s; generating a new UUID", path, strerror(-r));
	r = uuid_generate(cfg->uuid);
	if (r < 0)
		fatalx("cannot generate a UUID: /dev/urandom: %s", strerror(-r));
	r = uuid_write(cfg->state_dir, cfg->uuid);
	if (r < 0)
		log_warnx("%s: cannot save the UUID (%s): it will change at the next start",
			  path, strerror(-r));
	else
		log_info("new device UUID %s saved in %s", cfg->uuid, path);
}

/* ---- start-up and shutdown ---- */

/* ---- reload (SIGHUP) ---- */

/*
 * The keys a reload applies: the port-mapping policy and what is read
 * per request. Everything else (interfaces, ports, the backend, the
 * device's identity, the HTTP time limit whose deadline lists assume one
 * constant) takes effect at the next start.
 */
static void copy_reloadable(struct config *to, const struct config *from)
{
	to->secure_mode = from->secure_mode;
	to->nacl = from->nacl;
	memcpy(to->acl, from->acl, sizeof(to->acl));
	to->max_mappings_per_client = from->max_mappings_per_client;
	to->pcp_min_lifetime = from->pcp_min_lifetime;
	to->pcp_max_lifetime = from->pcp_max_lifetime;
	to->http_max_connections = from->http_max_connections;
	to->http_max_per_ip = from->http_max_per_ip;
	to->connection_control_all = from->connection_control_all;
	to->nconnection_control = from->nconnection_control;
	memcpy(to->connection_control, from->connection_control, sizeof(to->connection_control));
}

/* c printed (config_print) into a malloc'd string, or NULL. */
static char *config_text(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	config_print(c, f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Log each key of next whose printed line is not in now's print-out. */
static unsigned log_restart_keys(const struct config *now, const struct config *next)
{
	char *a = config_text(now), *b = config_text(next), *line, *save = NULL;
	unsigned n = 0;

	if (!a || !b) {
		free(a);
		free(b);
		return 0;
	}
	for (line = strtok_r(b, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *hit = strstr(a, line);
		size_t len = strlen(line);

		if (line[0] == '#' || (hit && (hit == a || hit[-1] == '\n') &&
				       (hit[len] == '\n' || hit[len] == '\0')))
			continue;
		log_warnx("reload: %.*s: takes effect at the next start",
			  (int)strcspn(line, " ="), line);
		n++;
	}
	free(a);
	free(b);
	return n;
}

/* Read the configuration file again and apply what can change at run
 * time. The number of mappings removed, or -1 with msg set. */
static int reload(struct igdd *d, char *msg, size_t msgsz)
{
	struct config *fresh = malloc(sizeof(*fresh)), *old = malloc(sizeof(*old));
	char err[256];
	int r = -1;

	snprintf(msg, msgsz, "out of memory");
	if (!fresh || !old) {
		log_warnx("reload: out of memory");
		goto out;
	}
	if (config_load(d->conf_path, fresh, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; the running configuration stays", err);
		snprintf(msg, msgsz, "%s; the running configuration stays", err);
		goto out;
	}
	if (!fresh->have_uuid) {        /* generated once and kept in state_dir */
		memcpy(fresh->uuid, d->cfg.uuid, sizeof(fresh->uuid));
		fresh->have_uuid = d->cfg.have_uuid;
	}
	*old = d->cfg;
	/* What is not reloadable keeps its running value; say which changed. */
	{
		struct config *probe = malloc(sizeof(*probe));

		if (probe) {
			*probe = *fresh;
			copy_reloadable(probe, &d->cfg);
			log_restart_keys(&d->cfg, probe);
			free(probe);
		}
	}
	copy_reloadable(&d->cfg, fresh);
	r = engine_reload(&d->e, err, sizeof(err));
	if (r < 0 && r != -EIO) {
		d->cfg = *old;
		log_warnx("reload: %s; the running configuration stays", err);
		snprintf(msg, msgsz, "%s; the running configuration stays", err);
		r = -1;
		goto out;
	}
	if (r < 0)
		r = 0;          /* the backend kept them: logged */
	log_info("configuration reloaded from %s: %d mapping(s) the new policy refuses removed",
		 d->conf_path, r);
	msg[0] = '\0';
out:
	free(fresh);
	free(old);
	return r;
}

static int reload_hook(void *arg, char *msg, size_t msgsz)
{
	return reload(arg, msg, msgsz);
}

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct igdd *d = arg;

	if (signo == SIGHUP) {
		char msg[256];

		log_info("SIGHUP: reloading the configuration");
		reload(d, msg, sizeof(msg));
		return;
	}
	log_info("%s: shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
	loop_stop(l);
}

static void on_engine_timer(struct loop *l, void *arg)
{
	struct igdd *d = arg;

	(void)l;
	d->engine_timer = 0;
	d->engine_when = 0;
	engine_tick(&d->e);
}

/*
 * Before every wait: keep the engine's timer at its next deadline (lease
 * ends, the WAN connection's timers, the backend's; they move whenever a
 * request changes them), and bound the wait by it since the loop computed
 * its own bound before this hook ran.
 */
static int on_prepare(struct loop *l, void *arg)
{
	struct igdd *d = arg;
	uint64_t next = engine_next_deadline(&d->e), now;

	if (next != d->engine_when) {
		if (d->engine_timer > 0)
			loop_timer_cancel(l, d->engine_timer);
		d->engine_timer = 0;
		d->engine_when = next;
		if (next) {
			int64_t id = loop_timer_at(l, next, on_engine_timer, d);

			if (id > 0)
				d->engine_timer = id;
			else
				log_warnx("cannot arm the engine timer: %s", strerror((int)-id));
		}
	}
	if (!d->engine_timer)
		return -1;
	now = loop_now_ms(l);
	return next <= now ? 0 : (next - now > INT_MAX ? INT_MAX : (int)(next - now));
}

/* The LAN interface's address and subnet into the engine (fatal if none). */
static void setup_lan(struct igdd *d)
{
	struct ifaddr_ipv4 lan;
	int r;

	r = ifaddr_lookup_ipv4(d->cfg.lan_interface, &lan);
	if (r == -ENODEV)
		fatalx("lan_interface '%s': no such interface", d->cfg.lan_interface);
	if (r == -EADDRNOTAVAIL)
		fatalx("lan_interface '%s': no IPv4 address", d->cfg.lan_interface);
	if (r < 0)
		fatalx("lan_interface '%s': %s", d->cfg.lan_interface, strerror(-r));
	engine_set_lan(&d->e, lan.addr, lan.mask);
}

static void setup_signals(struct igdd *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int r = loop_signal_add(d->loop, sigs[i], on_signal, d);

		if (r < 0)
			fatalx("signal %s: %s", strsignal(sigs[i]), strerror(-r));
	}
}

/* ---- backend nft: the privileged helper and the WAN interface ---- */

/* Either process dying ends the other (docs/ARCHITECTURE.md rule 3). */
static void on_helper(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct igdd *d = arg;

	(void)fd;
	(void)events;
	if (priv_on_readable(d->helper) < 0) {
		log_warnx("the privileged helper exited: shutting down");
		d->helper_lost = true;
		loop_stop(l);
	}
}

/* The WAN address or link changed (net/ifwatch.h): event what clients see. */
static void on_wan_change(struct ifwatch *w, unsigned events, void *arg)
{
	struct igdd *d = arg;
	struct backend_wan st;
	char ip[INET_ADDRSTRLEN];

	(void)w;
	memset(&st, 0, sizeof(st));
	if ((events & IFWATCH_LINK) && d->e.backend.ops->wan_status(&d->e.backend, &st) == 0 &&
	    st.link_up != d->e.wan_link_up)
		engine_wan_event(&d->e, st.link_up ? BACKEND_LINK_UP : BACKEND_LINK_FAILED,
				 st.link_up ? BACKEND_CAUSE_NONE : BACKEND_CAUSE_NO_CARRIER);
	engine_external_ip(&d->e, ip);
	if (strcmp(ip, d->wan_ip) != 0) {
		log_info("external address: '%s' -> '%s'", d->wan_ip, ip);
		memcpy(d->wan_ip, ip, sizeof(ip));
		engine_changed(&d->e, ENGINE_CHG_EXTERNAL_IP);
	}
}

/* Before the engine: the helper is forked before anything reads the network. */
static void start_helper(struct igdd *d)
{
	int r = priv_start(&d->cfg, d->conf_path, d->foreground, &d->helper);

	if (r < 0)
		fatalx("backend nft: cannot start the privileged helper: %s", strerror(-r));
	r = loop_fd_add(d->loop, priv_fd(d->helper), EPOLLIN, on_helper, d);
	if (r < 0)
		fatalx("backend nft: %s", strerror(-r));
}

/* After the sockets are open, before the loop reads them. */
static void start_unprivileged(struct igdd *d)
{
	if (priv_drop_engine(d->helper) < 0)
		fatalx("cannot drop privileges");
	d->wanwatch = ifwatch_new(d->loop, d->cfg.wan_interface, on_wan_change, d);
	if (!d->wanwatch)
		log_warn("cannot follow %s over rtnetlink", d->cfg.wan_interface);
	engine_external_ip(&d->e, d->wan_ip);
}

/* In dependency order: HTTP before SSDP, whose LOCATION needs the port. */
static void start(struct igdd *d)
{
	struct clock clk = { clock_monotonic_ms, NULL };
	int r;

	d->loop = loop_new();
	if (!d->loop)
		fatal("cannot create the event loop");
	if (d->cfg.backend == CONFIG_BACKEND_NFT)
		start_helper(d);
	r = engine_init_with_helper(&d->e, &d->cfg, &clk, d->helper);
	if (r < 0)
		fatalx("cannot start the engine: %s", strerror(-r));
	d->engine_up = true;
	setup_lan(d);
	if (d->cfg.persist_leases)
		engine_leases_start(&d->e, d->cfg.state_dir);
	setup_signals(d);
	d->gena = gena_new(&d->e, NULL);
	if (!d->gena)
		fatalx("cannot start eventing");
	d->gena_io = gena_io_new(d->gena, &d->e, d->loop, NULL);
	if (!d->gena_io)
		fatalx("cannot start the event sender");
	d->e.gena = d->gena;
	d->e.on_change = gena_on_change;
	d->e.on_change_arg = d->gena;
	d->e.reload = reload_hook;
	d->e.reload_arg = d;
	d->http = http_io_new(&d->e, d->loop);
	if (!d->http)
		fatalx("cannot start the HTTP server");
	d->ssdp = ssdp_io_new(&d->e, d->loop, d->cfg.lan_interface);
	if (!d->ssdp)
		fatalx("cannot start SSDP on %s", d->cfg.lan_interface);
	if (d->cfg.control_socket[0]) {
		d->ctl = ctl_io_new(&d->e, d->loop, d->cfg.control_socket);
		if (!d->ctl)
			fatalx("cannot open the control socket %s", d->cfg.control_socket);
	}
	if (d->cfg.enable_natpmp || d->cfg.enable_pcp) {
		d->pcp = pcp_io_new(&d->e, d->loop, d->cfg.lan_interface);
		if (!d->pcp)
			fatalx("cannot start NAT-PMP/PCP on %s", d->cfg.lan_interface);
	}
	if (d->helper)
		start_unprivileged(d);
	loop_set_prepare(d->loop, on_prepare, d);
}

static void stop(struct igdd *d)
{
	pcp_io_free(d->pcp);            /* before the change hook it wraps goes */
	d->pcp = NULL;
	ctl_io_free(d->ctl);
	d->ctl = NULL;
	ssdp_io_free(d->ssdp);          /* sends ssdp:byebye */
	d->ssdp = NULL;
	http_io_free(d->http);          /* reports pending SUBSCRIBE responses failed */
	d->http = NULL;
	gena_io_free(d->gena_io);
	d->gena_io = NULL;
	d->e.on_change = NULL;
	d->e.gena = NULL;
	gena_free(d->gena);
	d->gena = NULL;
	ifwatch_free(d->wanwatch);
	d->wanwatch = NULL;
	if (d->engine_up)
		engine_fini(&d->e);
	d->engine_up = false;
	if (d->helper)
		loop_fd_del(d->loop, priv_fd(d->helper));
	priv_stop(d->helper);           /* the helper deletes table ip igdd */
	d->helper = NULL;
	loop_free(d->loop);
	d->loop = NULL;
}

/*
 * Without -d: fork before anything is registered with the loop (a
 * signalfd put into epoll by the parent never wakes the child's epoll, so
 * daemon() after start-up would leave SIGTERM unheard). The parent waits
 * until the child reports start-up done, so start-up errors still reach
 * the terminal and the exit status. Returns the child's end of the pipe.
 */
static int background_begin(void)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		fatal("pipe");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		char c;
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);      /* EOF: the child died in start-up */
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid");
	return p[1];
}

/* Start-up done: detach from the terminal, log to syslog, free the parent. */
static void background_done(int fd, bool verbose)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (chdir("/") < 0)
		log_warn("chdir /");
	log_init("igdd", 0, verbose);
	if (write(fd, "1", 1) != 1)
		log_warn("cannot tell the parent process that start-up is done");
	close(fd);
}

static void log_started(const struct igdd *d)
{
	char lan[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &d->e.lan_addr, lan, sizeof(lan));
	log_info("igdd %s started: backend %s, LAN %s %s, http port %u, uuid %s",
		 IGDD_VERSION, d->cfg.backend == CONFIG_BACKEND_NFT ? "nft" : "sim",
		 d->cfg.lan_interface, lan, (unsigned)d->e.http_port, d->e.uuid_root);
}

int main(int argc, char **argv)
{
	struct options o;
	struct igdd *d;
	char err[512];
	int r, ready_fd = -1;

	/*
	 * A fixed mmap threshold: glibc would otherwise raise it to the size
	 * of the largest buffer freed (a full GetListOfPortMappings answer is
	 * tens of MB) and keep such buffers in the heap for ever after.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 1;
	if (o.check)
		return check_config(o.conf);
	log_init("igdd", 1, o.verbose);
	d = calloc(1, sizeof(*d));
	if (!d)
		fatalx("out of memory");
	if (config_load(o.conf, &d->cfg, err, sizeof(err)) < 0)
		fatalx("%s", err);
	/* The daemon changes directory when it detaches: keep the path absolute. */
	if (!realpath(o.conf, d->conf_path))
		snprintf(d->conf_path, sizeof(d->conf_path), "%s", o.conf);
	setup_uuid(&d->cfg);
	d->foreground = o.foreground;
	if (!o.foreground)
		ready_fd = background_begin();
	start(d);
	if (ready_fd >= 0)
		background_done(ready_fd, o.verbose);
	log_started(d);
	r = loop_run(d->loop);
	if (r < 0)
		log_warnx("event loop: %s", strerror(-r));
	stop(d);
	if (d->helper_lost)
		r = -EPIPE;
	log_info("igdd stopped");
	free(d);
	return r < 0 ? 1 : 0;
}

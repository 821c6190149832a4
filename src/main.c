/*
 * main.c - igdd's entry point: arguments, the configuration (`-n` checks
 * and prints it), the device UUID kept in state_dir (UDA 1.1 section
 * 1.1.4: a UDN stays the same across restarts), start-up in dependency
 * order, the loop, and a clean shutdown (ssdp:byebye) on SIGTERM/SIGINT.
 * The service manager hears of it (util/sdnotify.h, the unit's
 * Type=notify): READY=1 once the listeners are open and the leases
 * restored, RELOADING=1 around a reload, STOPPING=1, and a STATUS= line.
 * A reload (SIGHUP, igddctl reload) swaps in a whole new configuration
 * (reload_config()); a changed description raises CONFIGID.UPNP.ORG and
 * re-announces (UDA 1.1 1.2.2, 1.2.3: byebye, then alive).
 */
#include "conf/config.h"
#include "core/mapping.h"
#include "engine.h"
#include "loop/loop.h"
#include "net/ctl_io.h"
#include "net/gena_io.h"
#include "net/http_io.h"
#include "net/ifwatch.h"
#include "net/metrics_io.h"
#include "net/lanwatch.h"
#include "net/neigh.h"
#include "net/pcp_io.h"
#include "net/ssdp_io.h"
#include "net/stun_io.h"
#include "net/upstream_io.h"
#include "priv/priv.h"
#include "store/leasefile.h"
#include "svc/gena.h"
#include "util/ifaddr.h"
#include "util/log.h"
#include "util/sdnotify.h"
#include "util/statedir.h"
#include "util/uuid.h"

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
#include <time.h>
#include <unistd.h>

struct options {
	const char *conf;
	bool foreground;
	bool verbose;
	bool check;
	bool configured;                /* -c */
};

/*
 * Exit statuses beyond 0 and 1, for the service manager (the systemd
 * unit in packaging/ names them): the configuration file does not load,
 * so starting again cannot help (sysexits.h EX_CONFIG); and the IPv4
 * default route moved to another interface while wan_interface is unset,
 * so starting again picks up the new one (EX_TEMPFAIL).
 */
#define IGDD_EXIT_CONFIG 78
#define IGDD_EXIT_WAN_MOVED 75

/* CONFIGID.UPNP.ORG: 0..16777215 (UDA 1.1 1.2.2); igdd starts at 1. */
#define IGDD_CONFIG_ID_MAX 16777215u

/* Everything one running daemon owns. */
struct igdd {
	struct config *cfg;              /* the running configuration (a reload swaps it) */
	struct engine e;
	bool engine_up;
	struct loop *loop;
	struct http_io *http;
	struct gena *gena;
	struct gena_io *gena_io;
	struct ssdp_io *ssdp;
	struct ctl_io *ctl;             /* the control socket (igddctl) or NULL */
	struct pcp_io *pcp;             /* NAT-PMP / PCP; NULL when both are off */
	struct metrics_io *metrics;     /* metrics_listen, or NULL */
	int64_t engine_timer;           /* the engine's timer (0: none) */
	uint64_t engine_when;           /* when it is due (0: nothing pending) */
	bool foreground;                /* -d */
	struct priv *helper;            /* backend nft: the privileged helper */
	bool helper_lost;               /* it exited under us: exit 1 */
	struct ifwatch *wanwatch;       /* backend nft: the WAN interface */
	struct stun_io *stun;           /* stun_server: the STUN client (NULL: off) */
	struct upstream_io *upstream;   /* the upstream's PCP/NAT-PMP client */
	struct lanwatch *lanwatch;      /* the LANs' (and the WAN's IPv6) addresses */
	bool wan_auto;                  /* wan_interface unset: the default route's */
	bool wan_moved;                 /* ... and the default route moved: exit 75 */
	char wan_ip[INET_ADDRSTRLEN];   /* ExternalIPAddress last evented */
	uid_t state_uid;                /* who writes state_dir: the engine's user */
	gid_t state_gid;
	char conf_path[PATH_MAX];       /* -f, absolute: read again on SIGHUP */
	struct sdnotify *notify;        /* $NOTIFY_SOCKET, or NULL */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: igdd [-d] [-v] [-n | -c] -f FILE\n"
		"       igdd -h | -V\n"
		"  -f FILE  configuration file (igdd.conf(5))\n"
		"  -n       check the configuration, print it normalised, exit\n"
		"  -c       exit 1 with one line if FILE does not name the LAN interface yet\n"
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

	while ((ch = getopt(argc, argv, "cdf:hnvV")) != -1) {
		switch (ch) {
		case 'c': o.configured = true; break;
		case 'd': o.foreground = true; break;
		case 'f': o.conf = optarg; break;
		case 'n': o.check = true; break;
		case 'v': o.verbose = true; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("igdd %s\n", IGDD_VERSION); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !o.conf || (o.check && o.configured)) {
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

/*
 * igdd -c, the service's start condition: 1 and one line naming the key
 * while the file does not name the LAN interface (as the package installs
 * it), so that the service is skipped rather than failing at every boot;
 * 0 otherwise, also when the file has an error, which the start reports.
 */
static int check_configured(const char *path)
{
	struct config *c = malloc(sizeof(*c));
	char err[512];
	int r;

	if (!c) {
		fprintf(stderr, "igdd: out of memory\n");
		return 0;
	}
	r = config_load(path, c, err, sizeof(err));
	free(c);
	if (r != -ENODATA)
		return 0;
	fprintf(stderr, "igdd: not started: %s does not name the LAN interface yet; "
		"set lan_interface = NAME there (igdd.conf(5)), then: systemctl start igdd\n", path);
	return 1;
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

/* Write uuid to dir/uuid atomically: temporary file, fsync, rename; the
 * file is state_dir's writer's (uid, gid). */
static int uuid_write(const char *dir, const char *uuid, uid_t uid, gid_t gid)
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
	if (fchmod(fd, 0644) < 0 || (geteuid() == 0 && uid != 0 && fchown(fd, uid, gid) < 0) ||
	    write(fd, line, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Whether name (in state_dir) is one of igdd's files. */
static bool state_file(const char *name)
{
	return strcmp(name, "uuid") == 0 || strncmp(name, ".uuid.", 6) == 0 ||
	       leasefile_file_name(name);
}

/*
 * state_dir, before anything is written to it: it belongs to the user
 * that will write it (the engine's, once it gives up root) and no other
 * user can write it, or igdd does not start (util/statedir.h). Not
 * needed when the UUID is configured and leases are not kept.
 */
static void setup_state_dir(struct igdd *d)
{
	char err[PATH_MAX + 256];

	if (!priv_engine_user(d->helper, &d->state_uid, &d->state_gid)) {
		d->state_uid = geteuid();
		d->state_gid = getegid();
	}
	if (d->cfg->have_uuid && !d->cfg->persist_leases)
		return;
	if (statedir_prepare(d->cfg->state_dir, d->state_uid, d->state_gid, state_file, err,
			     sizeof(err)) < 0)
		fatalx("%s", err);
}

/* cfg->uuid: from the configuration, else the state file, else a new one. */
static void setup_uuid(struct igdd *d)
{
	struct config *cfg = d->cfg;
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
	r = uuid_v4_generate(cfg->uuid);
	if (r < 0)
		fatalx("cannot generate a UUID: /dev/urandom: %s", strerror(-r));
	r = uuid_write(cfg->state_dir, cfg->uuid, d->state_uid, d->state_gid);
	if (r < 0)
		log_warnx("%s: cannot save the UUID (%s): it will change at the next start",
			  path, strerror(-r));
	else
		log_info("new device UUID %s saved in %s", cfg->uuid, path);
}

/* ---- start-up and shutdown ---- */

/* ---- reload (SIGHUP) ---- */

/* A key the file changed that waits for the next start (config_reload_prepare()). */
static void log_restart_key(const char *key, const char *why, void *arg)
{
	(void)arg;
	log_warnx("reload: %s: takes effect at the next start (%s)", key, why);
}

/* What is served: "LAN br-lan 192.168.1.1 (http port 5000)", or "(UPnP
 * off: NAT-PMP/PCP only)", for the log and the STATUS line. */
static void describe_lan(const struct igdd *d, char *out, size_t outsz)
{
	char lan[INET_ADDRSTRLEN], http[40], names[IGDD_CONF_MAX_LANS * (IF_NAMESIZE + 1)];
	size_t i, n = 0;

	names[0] = '\0';
	for (i = 0; i < d->e.nlans && n < sizeof(names); i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? "," : "",
				      d->e.lans[i].name);
	inet_ntop(AF_INET, &d->e.lans[0].addr, lan, sizeof(lan));
	if (d->cfg->enable_upnp)
		snprintf(http, sizeof(http), "http port %u", (unsigned)d->e.http_port);
	else
		snprintf(http, sizeof(http), "UPnP off: NAT-PMP/PCP only");
	snprintf(out, outsz, "LAN %s %s (%s)", names, lan, http);
}

/* The service manager's STATUS= line: what igdd serves now. */
static void notify_ready(struct igdd *d)
{
	char what[256];
	int r;

	describe_lan(d, what, sizeof(what));
	r = sdnotify_sendf(d->notify, "READY=1\nSTATUS=serving %s, %zu mapping(s)", what,
			   map_count(d->e.maps));
	if (r < 0)
		log_warnx("cannot notify the service manager: %s", strerror(-r));
}

/* RELOADING=1 with the time it began (systemd 253's Type=notify-reload
 * wants it; earlier ones ignore it). */
static void notify_reloading(struct igdd *d)
{
	struct timespec ts;

	if (!d->notify)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_sendf(d->notify, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		       (unsigned long long)ts.tv_sec * 1000000ull +
		       (unsigned long long)ts.tv_nsec / 1000ull, d->conf_path);
}

static void notify_stopping(struct igdd *d, const char *why)
{
	sdnotify_sendf(d->notify, "STOPPING=1\nSTATUS=stopping: %s", why);
}

static const char *start_upnp(struct igdd *d);
static void stop_upnp(struct igdd *d);

/*
 * What a reload must open before it commits (it may fail: then nothing
 * changed): UPnP's sockets when enable_upnp turns on, the metrics
 * endpoint when metrics_listen moves. Returns the new endpoint (NULL when
 * none) with err "", or NULL with what failed in err (nothing left open).
 */
static struct metrics_io *reload_open(struct igdd *d, const struct config *next, bool *metrics_new,
				      char *err, size_t errsz)
{
	struct metrics_io *m = NULL;
	const char *what;

	err[0] = '\0';
	*metrics_new = config_key_changed(d->cfg, next, "metrics_listen");
	if (*metrics_new && next->have_metrics) {
		m = metrics_io_new(&d->e, d->loop, next->metrics_addr, next->metrics_port, err,
				   errsz);
		if (!m) {
			if (!err[0])
				snprintf(err, errsz, "metrics_listen: cannot open the endpoint");
			*metrics_new = false;
			return NULL;
		}
	}
	if (next->enable_upnp && !d->cfg->enable_upnp) {
		what = start_upnp(d);
		if (what) {
			snprintf(err, errsz, "enable_upnp: cannot start %s", what);
			metrics_io_free(m);
			*metrics_new = false;
			return NULL;
		}
	}
	return m;
}

/*
 * The new configuration is the engine's: the modules follow it. The
 * description documents changed: CONFIGID.UPNP.ORG goes up and the
 * device announces itself again (UDA 1.1 1.2.2: ssdp:byebye with the old
 * value, then ssdp:alive with the new one, which control points take as
 * the sign to read the description again). UPnP turned off: byebye and
 * the sockets closed. STUN starts again on a new server list; the
 * upstream's client looks at upstream_pcp again.
 */
static void reload_commit(struct igdd *d, const struct config *old, bool metrics_new,
			  struct metrics_io *metrics)
{
	const struct config *c = d->cfg;

	if (metrics_new) {
		metrics_io_free(d->metrics);
		d->metrics = metrics;
	}
	if (!c->enable_upnp && old->enable_upnp) {
		stop_upnp(d);           /* ssdp:byebye */
		log_info("reload: UPnP off (SSDP, HTTP and GENA stopped)");
	} else if (c->enable_upnp && !old->enable_upnp) {
		log_info("reload: UPnP on (HTTP port %u)", (unsigned)d->e.http_port);
	}
	if (config_description_changed(old, c)) {
		ssdp_io_byebye(d->ssdp);
		d->e.config_id = d->e.config_id >= IGDD_CONFIG_ID_MAX ? 1 : d->e.config_id + 1;
		ssdp_io_announce(d->ssdp);
		log_info("reload: the device description changed: CONFIGID.UPNP.ORG %u",
			 (unsigned)d->e.config_id);
	}
	if (config_key_changed(old, c, "stun_server")) {
		stun_io_free(d->stun);
		d->e.stun.have_result = false;
		d->stun = stun_io_new(&d->e, d->loop, NULL);
	}
	upstream_io_wan_changed(d->upstream);
}

/*
 * reload() without the service manager's part: a new configuration from
 * the file, the keys a reload does not apply at their running values,
 * checked whole, then swapped in (the engine and every module read the
 * new one; the old one is freed). Anything refused leaves the running
 * configuration as it was.
 */
static int reload_config(struct igdd *d, char *msg, size_t msgsz)
{
	struct config *next = malloc(sizeof(*next)), *old;
	struct metrics_io *metrics = NULL;
	bool metrics_new = false, upnp_started;
	char err[256];
	int r;

	snprintf(msg, msgsz, "out of memory");
	if (!next) {
		log_warnx("reload: out of memory");
		return -1;
	}
	if (config_load(d->conf_path, next, err, sizeof(err)) < 0)
		goto refused;
	if (d->wan_auto && !next->wan_interface[0])    /* still the default route's */
		memcpy(next->wan_interface, d->cfg->wan_interface, sizeof(next->wan_interface));
	if (!next->have_uuid)           /* generated once and kept in state_dir */
		memcpy(next->uuid, d->cfg->uuid, sizeof(next->uuid));
	if (config_reload_prepare(next, d->cfg, log_restart_key, NULL, err, sizeof(err)) < 0)
		goto refused;
	metrics = reload_open(d, next, &metrics_new, err, sizeof(err));
	if (err[0])
		goto refused;
	upnp_started = next->enable_upnp && !d->cfg->enable_upnp;
	r = engine_reload(&d->e, next, err, sizeof(err));
	if (r < 0 && r != -EIO) {
		metrics_io_free(metrics);
		if (upnp_started)
			stop_upnp(d);
		goto refused;
	}
	if (r < 0)
		r = 0;          /* the backend kept them: logged */
	old = d->cfg;
	d->cfg = next;
	reload_commit(d, old, metrics_new, metrics);
	free(old);
	log_info("configuration reloaded from %s: %d mapping(s) the new policy refuses removed",
		 d->conf_path, r);
	msg[0] = '\0';
	return r;
refused:
	log_warnx("reload: %s; the running configuration stays", err);
	snprintf(msg, msgsz, "%s; the running configuration stays", err);
	free(next);
	return -1;
}

/* Read the configuration file again and apply what can change at run
 * time. The number of mappings removed, or -1 with msg set. */
static int reload(struct igdd *d, char *msg, size_t msgsz)
{
	int r;

	notify_reloading(d);
	r = reload_config(d, msg, msgsz);
	notify_ready(d);        /* the running configuration, old or new */
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
	notify_stopping(d, signo == SIGINT ? "SIGINT" : "SIGTERM");
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

/* A LAN's addresses, for the log. */
static void log_lan(const struct lan *l, const char *what)
{
	char line[512], a[IPADDR_STRLEN];
	size_t i, n = 0;

	line[0] = '\0';
	for (i = 0; i < l->naddrs && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s/%u",
				      ipaddr_ntop(&l->addrs[i].a, a, sizeof(a)),
				      (unsigned)l->addrs[i].plen);
	log_info("LAN %s %s:%s", l->name, what, l->naddrs ? line : " no address");
}

/*
 * The LANs' addresses changed (net/lanwatch.h): the mapping table is
 * checked again when an IPv4 subnet moved, then HTTP listens on the new
 * addresses, SSDP and NAT-PMP/PCP announce again on those LANs.
 */
static void on_lan_change(struct lanwatch *w, uint32_t lans, bool wan6, void *arg)
{
	struct igdd *d = arg;
	size_t i;
	int r;

	(void)w;
	(void)wan6;
	for (i = 0; i < d->e.nlans; i++) {
		if (!(lans & (1u << i)))
			continue;
		log_lan(&d->e.lans[i], "addresses now");
		r = engine_lan_changed(&d->e, (unsigned)i);
		if (r > 0)
			log_info("LAN %s renumbered: %d mapping(s) no longer on a LAN removed",
				 d->e.lans[i].name, r);
	}
	if (!lans)
		return;
	if (d->http)
		http_io_sync(d->http);
	ssdp_io_lans_changed(d->ssdp, lans);
	pcp_io_lans_changed(d->pcp, lans);
}

/* The LANs' addresses into the engine, then followed (fatal when a LAN
 * interface does not exist). */
static void setup_lans(struct igdd *d)
{
	size_t i;

	d->lanwatch = lanwatch_new(&d->e, d->loop, d->cfg->wan_interface, on_lan_change, d);
	if (!d->lanwatch)
		fatal("cannot follow the LAN interfaces over rtnetlink");
	for (i = 0; i < d->e.nlans; i++) {
		const struct lan *l = &d->e.lans[i];

		if (l->ifindex == 0)
			fatalx("lan_interface '%s': no such interface", l->name);
		if (l->naddrs == 0)
			log_warnx("lan_interface '%s': no address yet: served once it has one",
				  l->name);
		else
			log_lan(l, "addresses");
		engine_lan_changed(&d->e, (unsigned)i);
	}
	d->e.same_host = neigh_same_host;
	d->e.same_host_arg = NULL;
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
		notify_stopping(d, "the privileged helper exited");
		d->helper_lost = true;
		loop_stop(l);
	}
}

/*
 * wan_interface unset with backend nft: the WAN is the interface of the
 * IPv4 default route (the way out of a gateway, so taking it cannot
 * expose the LAN side). Found once here, before the helper builds its
 * nft table on it; followed over rtnetlink afterwards (wan_route_moved()).
 */
static void setup_wan_auto(struct igdd *d)
{
	int r = ifaddr_default_route(d->cfg->wan_interface);

	if (r < 0)
		fatalx("wan_interface is not set and there is no IPv4 default route to take it "
		       "from (%s): set wan_interface in %s", r == -ENOENT ? "none in /proc/net/route" :
		       strerror(-r), d->conf_path);
	if (config_lan_index(d->cfg, d->cfg->wan_interface, strlen(d->cfg->wan_interface)) >= 0)
		fatalx("wan_interface is not set and the IPv4 default route leaves through "
		       "lan_interface %s: set wan_interface", d->cfg->wan_interface);
	d->wan_auto = true;
	log_info("wan_interface not set: using %s, the interface of the IPv4 default route",
		 d->cfg->wan_interface);
}

/*
 * The default route changed. Gone (a PPP link dropping): nothing to do,
 * it comes back on the same interface. On another interface: the nft
 * table and the addresses igdd reports are built on the old one, so stop
 * with IGDD_EXIT_WAN_MOVED and let the service manager start igdd again
 * (the leases persist across). True when stopping.
 */
static bool wan_route_moved(struct igdd *d)
{
	char now[IF_NAMESIZE];

	if (ifaddr_default_route(now) < 0 || strcmp(now, d->cfg->wan_interface) == 0)
		return false;
	log_warnx("the IPv4 default route moved from %s to %s (wan_interface is not set): "
		  "stopping, to be started again on %s", d->cfg->wan_interface, now, now);
	d->wan_moved = true;
	notify_stopping(d, "the IPv4 default route moved");
	loop_stop(d->loop);
	return true;
}

/* The WAN address or link changed (net/ifwatch.h): event what clients see. */
static void on_wan_change(struct ifwatch *w, unsigned events, void *arg)
{
	struct igdd *d = arg;
	struct backend_wan st;
	char ip[INET_ADDRSTRLEN];

	(void)w;
	if ((events & IFWATCH_ROUTE) && d->wan_auto && wan_route_moved(d))
		return;
	memset(&st, 0, sizeof(st));
	if ((events & IFWATCH_LINK) && d->e.backend.ops->wan_status(&d->e.backend, &st) == 0 &&
	    st.link_up != d->e.wan_link_up)
		engine_wan_event(&d->e, st.link_up ? BACKEND_LINK_UP : BACKEND_LINK_FAILED,
				 st.link_up ? BACKEND_CAUSE_NONE : BACKEND_CAUSE_NO_CARRIER);
	engine_wan_classify(&d->e);
	stun_io_wan_changed(d->stun);
	upstream_io_wan_changed(d->upstream);
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
	int r = priv_start(d->cfg, d->conf_path, d->foreground, &d->helper);

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
	d->wanwatch = ifwatch_new(d->loop, d->cfg->wan_interface, on_wan_change, d);
	if (!d->wanwatch)
		log_warn("cannot follow %s over rtnetlink", d->cfg->wan_interface);
	engine_external_ip(&d->e, d->wan_ip);
}

/* Stop what start_upnp() started (any part of it): ssdp:byebye first. */
static void stop_upnp(struct igdd *d)
{
	ssdp_io_free(d->ssdp);          /* sends ssdp:byebye */
	d->ssdp = NULL;
	http_io_free(d->http);          /* reports pending SUBSCRIBE responses failed */
	d->http = NULL;
	gena_io_free(d->gena_io);
	d->gena_io = NULL;
	if (d->gena)
		engine_unsubscribe(&d->e, gena_on_change, d->gena);
	d->e.gena = NULL;
	gena_free(d->gena);
	d->gena = NULL;
}

/* UPnP (enable_upnp): eventing, then HTTP before SSDP, whose LOCATION
 * needs the port. Without it none of these sockets is opened. NULL, or
 * what could not start (nothing of it left running). */
static const char *start_upnp(struct igdd *d)
{
	const char *what = NULL;

	d->gena = gena_new(&d->e, NULL);
	if (!d->gena) {
		what = "eventing";
		goto fail;
	}
	d->gena_io = gena_io_new(d->gena, &d->e, d->loop, NULL);
	if (!d->gena_io) {
		what = "the event sender";
		goto fail;
	}
	d->e.gena = d->gena;
	if (engine_subscribe(&d->e, gena_on_change, d->gena) < 0) {
		what = "eventing (too many change subscribers)";
		goto fail;
	}
	d->http = http_io_new(&d->e, d->loop);
	if (!d->http) {
		what = "the HTTP server";
		goto fail;
	}
	d->ssdp = ssdp_io_new(&d->e, d->loop);
	if (!d->ssdp) {
		what = "SSDP";
		goto fail;
	}
	return NULL;
fail:
	stop_upnp(d);
	return what;
}

/* The lease file's writer thread reports through an eventfd
 * (leasefile_commit_async()): the commits' callbacks run here, on the
 * loop. */
static void on_leases_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct igdd *d = arg;

	(void)l;
	(void)fd;
	(void)events;
	leasefile_on_ready(d->e.leases);
}

static void watch_leases(struct igdd *d)
{
	int r = loop_fd_add(d->loop, leasefile_ready_fd(d->e.leases), EPOLLIN, on_leases_ready, d);

	if (r < 0)
		fatalx("cannot watch the lease file's writer: %s", strerror(-r));
}

/* In dependency order (start_upnp()). */
static void start(struct igdd *d)
{
	struct clock clk = { clock_monotonic_ms, NULL };
	int r;

	d->loop = loop_new();
	if (!d->loop)
		fatal("cannot create the event loop");
	if (d->cfg->backend == CONFIG_BACKEND_NFT)
		start_helper(d);
	/* After the helper's fork (it never notifies), before the privilege
	 * drop (the socket's path may be root's only). */
	{
		char err[160];

		d->notify = sdnotify_open(err, sizeof(err));
		if (!d->notify && err[0])
			log_warnx("%s", err);
	}
	setup_state_dir(d);
	setup_uuid(d);
	r = engine_init_with_helper(&d->e, d->cfg, &clk, d->helper);
	if (r < 0)
		fatalx("cannot start the engine: %s", strerror(-r));
	d->engine_up = true;
	setup_lans(d);
	setup_signals(d);
	d->e.reload = reload_hook;
	d->e.reload_arg = d;
	if (d->cfg->enable_upnp) {
		const char *what = start_upnp(d);

		if (what)
			fatalx("cannot start %s", what);
	}
	if (d->cfg->control_socket[0]) {
		d->ctl = ctl_io_new(&d->e, d->loop, d->cfg->control_socket);
		if (!d->ctl)
			fatalx("cannot open the control socket %s", d->cfg->control_socket);
	}
	if (d->cfg->have_metrics) {
		char err[256];

		d->metrics = metrics_io_new(&d->e, d->loop, d->cfg->metrics_addr,
					    d->cfg->metrics_port, err, sizeof(err));
		if (!d->metrics)
			fatalx("%s", err);
	}
	if (d->cfg->enable_natpmp || d->cfg->enable_pcp) {
		d->pcp = pcp_io_new(&d->e, d->loop);
		if (!d->pcp)
			fatalx("cannot start NAT-PMP/PCP");
	}
	if (d->helper)
		start_unprivileged(d);
	engine_wan_classify(&d->e);
	d->stun = stun_io_new(&d->e, d->loop, NULL);
	d->upstream = upstream_io_new(&d->e, d->loop, NULL);
	/* As the user that will write them (compaction included), before
	 * the loop reads the first request. */
	if (d->cfg->persist_leases && engine_leases_start(&d->e, d->cfg->state_dir) == 0)
		watch_leases(d);
	loop_set_prepare(d->loop, on_prepare, d);
}

static void stop(struct igdd *d)
{
	/* Each change subscriber leaves on its own (engine_unsubscribe()):
	 * no order among them is needed. */
	upstream_io_free(d->upstream);
	d->upstream = NULL;
	pcp_io_free(d->pcp);
	d->pcp = NULL;
	ctl_io_free(d->ctl);
	d->ctl = NULL;
	metrics_io_free(d->metrics);
	d->metrics = NULL;
	stop_upnp(d);
	stun_io_free(d->stun);
	d->stun = NULL;
	ifwatch_free(d->wanwatch);
	d->wanwatch = NULL;
	lanwatch_free(d->lanwatch);
	d->lanwatch = NULL;
	if (d->e.leases)                /* engine_fini() closes it (and its eventfd) */
		loop_fd_del(d->loop, leasefile_ready_fd(d->e.leases));
	if (d->engine_up)
		engine_fini(&d->e);
	d->engine_up = false;
	if (d->helper)
		loop_fd_del(d->loop, priv_fd(d->helper));
	priv_stop(d->helper);           /* the helper deletes table ip igdd */
	d->helper = NULL;
	sdnotify_free(d->notify);
	d->notify = NULL;
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
	log_detach_stdio();
	if (chdir("/") < 0)
		log_warn("chdir /");
	log_init("igdd", 0, verbose);
	if (write(fd, "1", 1) != 1)
		log_warn("cannot tell the parent process that start-up is done");
	close(fd);
}

static void log_started(const struct igdd *d)
{
	char what[256];

	describe_lan(d, what, sizeof(what));
	log_info("igdd %s started: backend %s, %s, uuid %s", IGDD_VERSION,
		 d->cfg->backend == CONFIG_BACKEND_NFT ? "nft" : "sim", what, d->e.uuid_root);
}

int main(int argc, char **argv)
{
	struct options o;
	struct igdd *d;
	char err[512];
	int r, ready_fd = -1;

	/*
	 * A fixed mmap threshold: glibc would otherwise raise it to the size
	 * of the largest buffer freed and keep such buffers in the heap for
	 * ever after (answers are at most IGDD_HTTP_MAX_RESPONSE, long ones
	 * written in parts, but lease snapshots and the mapping table's
	 * arrays grow larger).
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r > 0 ? 0 : 1;
	if (o.check)
		return check_config(o.conf);
	if (o.configured)
		return check_configured(o.conf);
	log_init("igdd", 1, o.verbose);
	d = calloc(1, sizeof(*d));
	if (!d || !(d->cfg = malloc(sizeof(*d->cfg))))
		fatalx("out of memory");
	if (config_load(o.conf, d->cfg, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		free(d->cfg);
		free(d);
		return IGDD_EXIT_CONFIG;
	}

	/* The daemon changes directory when it detaches: keep the path absolute. */
	if (!realpath(o.conf, d->conf_path))
		snprintf(d->conf_path, sizeof(d->conf_path), "%s", o.conf);
	if (d->cfg->backend == CONFIG_BACKEND_NFT && !d->cfg->wan_interface[0])
		setup_wan_auto(d);
	d->foreground = o.foreground;
	if (!o.foreground)
		ready_fd = background_begin();
	start(d);
	if (ready_fd >= 0)
		background_done(ready_fd, o.verbose);
	log_started(d);
	notify_ready(d);
	r = loop_run(d->loop);
	if (r < 0)
		log_warnx("event loop: %s", strerror(-r));
	stop(d);
	if (d->helper_lost)
		r = -EPIPE;
	log_info("igdd stopped");
	if (d->wan_moved)
		r = IGDD_EXIT_WAN_MOVED;
	else
		r = r < 0 ? 1 : 0;
	free(d->cfg);
	free(d);
	return r;
}

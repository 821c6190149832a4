/*
 * test_engine_tx.c - engine_tx.c, the one path of every mapping and
 * pinhole change: the order (table, backend, lease file, event), the
 * rollback when the backend refuses, one backend batch for a set, and
 * the rule for a failed commit (a client's change is undone and
 * refused; the gateway's own change stands).
 *
 * The commit is made to fail for real: the lease journal may not grow
 * (RLIMIT_FSIZE, SIGXFSZ ignored), so its append fails with EFBIG and the
 * journal stays unusable until a compaction, which the test never runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mapping.h"
#include "core/pinhole.h"
#include "engine.h"
#include "engine_tx.h"
#include "svc/action.h"
#include "svc/pinholes.h"
#include "svc/portmap.h"
#include "svc/wanipconn.h"

#include "fixture.h"

struct fx {
	struct fx_engine x;
	int applies, removes;           /* one-entry backend calls */
	int apply_batches, remove_batches;
	int installed;                  /* keys the backend holds (apply replaces) */
	bool held[65536];               /* by external port (the tests use TCP only) */
	bool refuse_apply;              /* apply and apply_many answer -EIO */
	bool refuse_remove;
	char dir[64];                   /* the lease directory, or "" */
};

static struct fx *cur;

static void hold(const struct mapping *m, bool on)
{
	if (cur->held[m->ext_port] != on)
		cur->installed += on ? 1 : -1;
	cur->held[m->ext_port] = on;
}

/* One backend call: one entry or a batch of n, held (on) or let go, or
 * refused as the test says; counted. */
static int call(const struct mapping *v, size_t n, bool on, bool batch)
{
	int *count = on ? (batch ? &cur->apply_batches : &cur->applies) :
			  (batch ? &cur->remove_batches : &cur->removes);
	size_t i;

	(*count)++;
	if (on ? cur->refuse_apply : cur->refuse_remove)
		return -EIO;
	for (i = 0; i < n; i++)
		hold(&v[i], on);
	return 0;
}

static int c_apply(struct backend *b, const struct mapping *m)
{
	(void)b;
	return call(m, 1, true, false);
}

static int c_remove(struct backend *b, const struct mapping *m)
{
	(void)b;
	return call(m, 1, false, false);
}

static int c_apply_many(struct backend *b, const struct mapping *v, size_t n)
{
	(void)b;
	return call(v, n, true, true);
}

static int c_remove_many(struct backend *b, const struct mapping *v, size_t n)
{
	(void)b;
	return call(v, n, false, true);
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct backend_ops *ops;

	assert_non_null(f);
	fx_engine_init(&f->x, "external_ip = 203.0.113.1\n", 0);
	ops = fx_engine_ops(&f->x);
	ops->apply = c_apply;
	ops->remove = c_remove;
	ops->apply_many = c_apply_many;
	ops->remove_many = c_remove_many;
	cur = f;
	return f;
}

/* The lease directory and whatever the lease file wrote in it. */
static void rm_dir(const char *dir)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);

	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		unlink(path);
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
}

static void fx_free(struct fx *f)
{
	fx_engine_fini(&f->x);
	if (f->dir[0])
		rm_dir(f->dir);
	free(f);
	cur = NULL;
}

/* Keep leases in a fresh directory. */
static void fx_leases(struct fx *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/igdd-test-tx.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(engine_leases_start(&f->x.e, f->dir), 0);
}

/* From now on the lease journal cannot grow: the next commit fails. */
static void break_journal(struct fx *f)
{
	char path[128];
	struct rlimit rl;
	struct stat st;

	snprintf(path, sizeof(path), "%s/leases.journal", f->dir);
	assert_int_equal(stat(path, &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = (rlim_t)st.st_size;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void unlimit(void)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static struct in_addr ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct mapping tmpl(uint16_t port)
{
	return fx_mapping("192.168.1.20", port);
}

static struct mapping *add(struct fx *f, uint16_t port)
{
	struct engine_tx tx;
	struct mapping m = tmpl(port);

	engine_tx_init(&tx, 0);
	assert_int_equal(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")), 0);
	assert_int_equal(tx.stage, ENGINE_TX_DONE);
	assert_non_null(tx.m);
	return tx.m;
}

static struct mapping *find(struct fx *f, uint16_t port)
{
	return map_find(f->x.e.maps, MAP_TCP, port, (struct in_addr){ 0 });
}

/* Add: table, backend, one event each; a refusal leaves nothing. */
static void test_add(void **state)
{
	struct fx *f = fx_new();
	struct engine_tx tx;
	struct mapping m = tmpl(5000);
	uint32_t id = f->x.e.system_update_id;

	(void)state;
	add(f, 5000);
	assert_int_equal(f->installed, 1);
	assert_int_equal(f->x.chg.maps, 1);
	assert_int_equal(f->x.e.system_update_id, id + 1);
	/* The table says no: the key is taken (the backend is not asked). */
	engine_tx_init(&tx, 0);
	assert_true(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_TABLE);
	assert_int_equal(tx.map, MAP_EXISTS);
	assert_int_equal(f->applies, 1);
	/* The backend says no: the table is rolled back. */
	f->refuse_apply = true;
	m = tmpl(5001);
	assert_true(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_BACKEND);
	assert_int_equal(tx.err, -EIO);
	assert_null(find(f, 5001));
	assert_int_equal(map_count(f->x.e.maps), 1);
	assert_int_equal(f->x.chg.maps, 1);
	fx_free(f);
}

/* Replace: a lease-only change is no backend call and no event; a
 * changed rule is both; REAPPLY and EVENT force them. */
static void test_replace(void **state)
{
	struct fx *f = fx_new();
	struct mapping *m = add(f, 5000), next;
	struct engine_tx tx;

	(void)state;
	next = *m;
	next.desc = NULL;
	next.lease_end_ms += 1000;
	engine_tx_init(&tx, 0);
	assert_int_equal(engine_map_replace(&f->x.e, &tx, m, &next), 0);
	assert_int_equal(m->lease_end_ms, next.lease_end_ms);
	assert_false(tx.changed);
	assert_int_equal(f->applies, 1);
	assert_int_equal(f->x.chg.maps, 1);

	next.int_port = 6000;
	assert_int_equal(engine_map_replace(&f->x.e, &tx, m, &next), 0);
	assert_int_equal(m->int_port, 6000);
	assert_true(tx.changed);
	assert_int_equal(f->applies, 2);
	assert_int_equal(f->x.chg.maps, 2);

	/* Disabled: withdrawn from the backend. */
	next.enabled = false;
	assert_int_equal(engine_map_replace(&f->x.e, &tx, m, &next), 0);
	assert_false(m->enabled);
	assert_int_equal(f->removes, 1);
	assert_int_equal(f->installed, 0);

	/* A backend refusal leaves the entry as it was. */
	f->refuse_apply = true;
	next.enabled = true;
	next.int_port = 7000;
	next.desc = map_desc_dup(STR_LIT("new"));
	assert_true(engine_map_replace(&f->x.e, &tx, m, &next) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_BACKEND);
	assert_false(m->enabled);
	assert_int_equal(m->int_port, 6000);
	assert_string_equal(m->desc, "t");
	assert_int_equal(f->x.chg.maps, 3);

	f->refuse_apply = false;
	next = *m;
	next.desc = map_desc_dup(STR_LIT("new"));
	engine_tx_init(&tx, ENGINE_TX_REAPPLY);
	next.enabled = true;
	assert_int_equal(engine_map_replace(&f->x.e, &tx, m, &next), 0);
	assert_string_equal(m->desc, "new");
	next = *m;
	next.desc = NULL;
	engine_tx_init(&tx, ENGINE_TX_REAPPLY | ENGINE_TX_EVENT);
	assert_int_equal(engine_map_replace(&f->x.e, &tx, m, &next), 0);
	assert_true(tx.changed);
	fx_free(f);
}

/* A set: one backend batch, one event, each entry reported; all or none
 * unless ENGINE_TX_EACH; ENGINE_TX_FORCE takes them whatever the backend
 * says. */
static void each_count(const struct mapping *m, void *arg)
{
	(void)m;
	(*(int *)arg)++;
}

static void test_remove_set(void **state)
{
	struct fx *f = fx_new();
	struct mapping *v[10];
	struct engine_tx tx;
	int seen = 0;
	size_t i;

	(void)state;
	for (i = 0; i < 10; i++)
		v[i] = add(f, (uint16_t)(5000 + i));
	f->x.chg.maps = 0;

	/* Refused: all stay (and what a failed batch withdrew comes back). */
	f->refuse_remove = true;
	engine_tx_init(&tx, 0);
	assert_true(engine_map_remove_set(&f->x.e, &tx, v, 10) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_BACKEND);
	assert_int_equal(map_count(f->x.e.maps), 10);
	assert_int_equal(f->x.chg.maps, 0);
	assert_int_equal(f->removes, 0);        /* the batch, never one by one */

	/* ENGINE_TX_EACH: the batch failed, one by one, all kept here. */
	engine_tx_init(&tx, ENGINE_TX_EACH);
	assert_true(engine_map_remove_set(&f->x.e, &tx, v, 2) < 0);
	assert_int_equal(tx.kept, 2);
	assert_int_equal(tx.removed, 0);
	assert_int_equal(f->removes, 2);

	f->refuse_remove = false;
	f->remove_batches = 0;
	engine_tx_init(&tx, 0);
	tx.each = each_count;
	tx.each_arg = &seen;
	assert_int_equal(engine_map_remove_set(&f->x.e, &tx, v, 8), 0);
	assert_int_equal(tx.removed, 8);
	assert_int_equal(seen, 8);
	assert_int_equal(f->remove_batches, 1);
	assert_int_equal(f->removes, 2);        /* none more */
	assert_int_equal(f->x.chg.maps, 1);
	assert_int_equal(map_count(f->x.e.maps), 2);

	/* FORCE: the backend's refusal does not keep them in the table. */
	f->refuse_remove = true;
	engine_tx_init(&tx, ENGINE_TX_FORCE | ENGINE_TX_KEEP);
	assert_int_equal(engine_map_remove_set(&f->x.e, &tx, v + 8, 2), 0);
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->x.chg.maps, 2);
	fx_free(f);
}

/*
 * A failed commit: a client's add, replace and removal are undone in
 * the backend and the table, with no event; the gateway's own removal
 * (ENGINE_TX_KEEP) stands.
 */
static void test_commit_failed(void **state)
{
	struct fx *f = fx_new();
	struct mapping *a, *b, *c, next, m = tmpl(6000);
	struct engine_tx tx;
	uint32_t id;

	(void)state;
	fx_leases(f);
	a = add(f, 5000);
	b = add(f, 5001);
	c = add(f, 5002);
	break_journal(f);
	id = f->x.e.system_update_id;
	f->x.chg.maps = 0;

	engine_tx_init(&tx, 0);
	assert_true(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_COMMIT);
	assert_null(find(f, 6000));
	assert_int_equal(f->installed, 3);              /* applied, then withdrawn */

	next = *a;
	next.int_port = 7000;
	next.desc = map_desc_dup(STR_LIT("new"));
	assert_true(engine_map_replace(&f->x.e, &tx, a, &next) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_COMMIT);
	assert_int_equal(a->int_port, 5000);
	assert_string_equal(a->desc, "t");

	assert_true(engine_map_remove(&f->x.e, &tx, b) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_COMMIT);
	assert_ptr_equal(find(f, 5001), b);
	assert_int_equal(f->installed, 3);              /* withdrawn, then applied again */
	assert_int_equal(f->x.chg.maps, 0);
	assert_int_equal(f->x.e.system_update_id, id);

	engine_tx_init(&tx, ENGINE_TX_KEEP);
	assert_int_equal(engine_map_remove(&f->x.e, &tx, c), 0);
	assert_null(find(f, 5002));
	assert_int_equal(f->installed, 2);
	assert_int_equal(f->x.chg.maps, 1);
	unlimit();
	fx_free(f);
}

/* The same rule seen by a UPnP client: 501, and no mapping. */
static void test_commit_failed_upnp(void **state)
{
	struct fx *f = fx_new();
	struct buf out;
	struct ipaddr peer = ipaddr_from_v4(ip("192.168.1.20"));
	const char *body =
		"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/"
		"envelope/\"><s:Body><u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:"
		"WANIPConnection:2\"><NewRemoteHost></NewRemoteHost><NewExternalPort>5000"
		"</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>5000"
		"</NewInternalPort><NewInternalClient>192.168.1.20</NewInternalClient>"
		"<NewEnabled>1</NewEnabled><NewPortMappingDescription>x"
		"</NewPortMappingDescription><NewLeaseDuration>3600</NewLeaseDuration>"
		"</u:AddPortMapping></s:Body></s:Envelope>";
	const char *sa = "\"urn:schemas-upnp-org:service:WANIPConnection:2#AddPortMapping\"";

	(void)state;
	fx_leases(f);
	break_journal(f);
	buf_init(&out, 1 << 16);
	assert_int_equal(action_dispatch(&f->x.e, wanipconn_service(), sa,
					 str_from(body, strlen(body)), &peer, 0, &out), 500);
	assert_non_null(strstr(out.p, "<errorCode>501</errorCode>"));
	assert_null(find(f, 5000));
	assert_int_equal(f->installed, 0);
	assert_int_equal(f->x.chg.maps, 0);
	unlimit();
	/* The journal stays unusable until a compaction: refused again. */
	buf_reset(&out);
	assert_int_equal(action_dispatch(&f->x.e, wanipconn_service(), sa,
					 str_from(body, strlen(body)), &peer, 0, &out), 500);
	buf_free(&out);
	fx_free(f);
}

/* Expiry: one batch, one event. */
static void test_expire(void **state)
{
	struct fx *f = fx_new();
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		add(f, (uint16_t)(5000 + i));
	f->x.chg.maps = 0;
	f->x.now += 3600000u;
	engine_maps_expire(&f->x.e);
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->remove_batches, 1);
	assert_int_equal(f->removes, 0);
	assert_int_equal(f->installed, 0);
	assert_int_equal(f->x.chg.maps, 1);
	fx_free(f);
}

/* Pinholes: add, renew, close; a failed commit undoes them too. */
static void test_pinholes(void **state)
{
	struct fx *f = fx_new();
	struct pinhole t, *p;
	struct engine_tx tx;
	uint64_t end;

	(void)state;
	memset(&t, 0, sizeof(t));
	inet_pton(AF_INET6, "2001:db8:1::20", &t.internal);
	t.int_port = 8080;
	t.proto = 6;
	t.origin = PIN_ORIGIN_UPNP;
	t.lease_end_ms = FX_T0 + 3600000u;
	fx_leases(f);
	engine_tx_init(&tx, 0);
	assert_int_equal(engine_pin_add(&f->x.e, &tx, &t), 0);
	p = tx.p;
	assert_non_null(p);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 1);
	assert_int_equal(f->x.chg.n, 1);

	break_journal(f);
	end = p->lease_end_ms;
	assert_true(engine_pin_renew(&f->x.e, &tx, p, end + 1000, NULL) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_COMMIT);
	assert_true(p->lease_end_ms == end);
	assert_true(engine_pin_remove_set(&f->x.e, &tx, &p, 1) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_COMMIT);
	assert_ptr_equal(pin_first(f->x.e.pins), p);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 1);
	t.int_port = 8081;
	assert_true(engine_pin_add(&f->x.e, &tx, &t) < 0);
	assert_int_equal(tx.stage, ENGINE_TX_COMMIT);
	assert_int_equal(backend_sim_pin_count(&f->x.e.backend), 1);
	assert_int_equal(f->x.chg.n, 1);
	unlimit();
	fx_free(f);
}

/* ------------------------------------------------ asynchronous changes */

/* A completion: the outcome copied, counted. */
struct seen {
	int n;
	enum engine_tx_stage stage;
	int err;
	size_t removed;
};

static void on_done(struct engine_tx *tx, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->stage = tx->stage;
	s->err = tx->err;
	s->removed = tx->removed;
}

static void async_tx(struct engine_tx *tx, struct seen *s)
{
	engine_tx_init(tx, 0);
	tx->done = on_done;
	tx->done_arg = s;
}

/* A waiter that adds port when resumed (asynchronously, into its tx). */
struct waiter {
	struct engine_waiter w;
	struct fx *f;
	uint16_t port;
	int resumed, status;
	struct engine_tx tx;
	struct seen seen;
};

static void on_resume(struct engine_waiter *w, int status)
{
	struct waiter *x = w->arg;
	struct mapping m = tmpl(x->port);

	x->resumed++;
	x->status = status;
	if (status < 0)
		return;
	async_tx(&x->tx, &x->seen);
	assert_int_equal(engine_map_add(&x->f->x.e, &x->tx, &m, STR_LIT("w")), ENGINE_TX_PENDING);
}

static void waiter_init(struct waiter *x, struct fx *f, uint16_t port)
{
	memset(x, 0, sizeof(*x));
	x->f = f;
	x->port = port;
	x->w.resume = on_resume;
	x->w.arg = x;
}

/* The sim backend's next tick (held jobs stay). */
static void tick(struct fx *f)
{
	engine_tick(&f->x.e);
}

/* An add under way: the entry is reserved in the table at once, the
 * backend, the event and the completion come later, never inside the
 * call; requests waiting for their turn run one at a time, in order. */
static void test_async_order(void **state)
{
	struct fx *f = fx_new();
	struct backend *b = &f->x.e.backend;
	struct engine_tx tx;
	struct seen seen = { 0 };
	struct mapping m = tmpl(5000);
	struct waiter w1, w2;
	struct ipaddr host = ipaddr_from_v4(ip("192.168.1.20"));

	(void)state;
	backend_sim_hold(b, true);
	async_tx(&tx, &seen);
	assert_int_equal(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")), ENGINE_TX_PENDING);
	assert_true(engine_tx_busy(&f->x.e));
	assert_non_null(find(f, 5000));         /* reserved: later requests see it */
	assert_int_equal(f->installed, 0);
	assert_int_equal(f->x.chg.maps, 0);
	assert_int_equal(seen.n, 0);
	waiter_init(&w1, f, 5001);
	waiter_init(&w2, f, 5002);
	assert_int_equal(engine_tx_wait(&f->x.e, &w1.w, &host), 0);
	assert_int_equal(engine_tx_wait(&f->x.e, &w2.w, &host), 0);
	tick(f);                                /* held: nothing moves */
	assert_int_equal(seen.n, 0);
	assert_int_equal(w1.resumed, 0);

	assert_int_equal(backend_sim_complete(b, 1, 0), 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.stage, ENGINE_TX_DONE);
	assert_ptr_equal(tx.m, find(f, 5000));
	assert_int_equal(f->installed, 1);
	assert_int_equal(f->x.chg.maps, 1);
	assert_false(engine_tx_busy(&f->x.e));
	assert_int_equal(w1.resumed, 0);        /* its turn comes from the tick */
	tick(f);
	assert_int_equal(w1.resumed, 1);
	assert_int_equal(w2.resumed, 0);        /* one change at a time */
	assert_true(engine_tx_busy(&f->x.e));
	assert_int_equal(backend_sim_complete(b, 1, 0), 1);
	assert_int_equal(w1.seen.n, 1);
	tick(f);
	assert_int_equal(w2.resumed, 1);
	backend_sim_hold(b, false);
	tick(f);                                /* released: the tick completes it */
	assert_int_equal(w2.seen.n, 1);
	assert_int_equal(w2.seen.stage, ENGINE_TX_DONE);
	assert_int_equal(map_count(f->x.e.maps), 3);
	assert_int_equal(f->installed, 3);
	fx_free(f);
}

/* The backend fails a change under way: the table is rolled back as
 * before (the reservation goes), no event; the change queued after it
 * then runs on the table as it is. A removal under way keeps its
 * entries in the table until it completes. */
static void test_async_rollback(void **state)
{
	struct fx *f = fx_new();
	struct backend *b = &f->x.e.backend;
	struct engine_tx tx;
	struct seen seen = { 0 };
	struct mapping m = tmpl(5000), *v[2];
	struct waiter w;
	struct ipaddr host = ipaddr_from_v4(ip("192.168.1.21"));

	(void)state;
	backend_sim_hold(b, true);
	async_tx(&tx, &seen);
	assert_int_equal(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")), ENGINE_TX_PENDING);
	waiter_init(&w, f, 5000);               /* the same key, after it */
	assert_int_equal(engine_tx_wait(&f->x.e, &w.w, &host), 0);
	assert_int_equal(backend_sim_complete(b, 1, -EIO), 1);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.stage, ENGINE_TX_BACKEND);
	assert_int_equal(seen.err, -EIO);
	assert_null(tx.m);
	assert_null(find(f, 5000));
	assert_int_equal(f->x.chg.maps, 0);
	tick(f);
	assert_int_equal(w.resumed, 1);
	assert_non_null(find(f, 5000));
	assert_int_equal(backend_sim_complete(b, 1, 0), 1);
	assert_int_equal(w.seen.stage, ENGINE_TX_DONE);
	assert_int_equal(f->installed, 1);

	/* A removal under way: the entries stay until it completes. */
	backend_sim_hold(b, false);
	v[0] = find(f, 5000);
	v[1] = add(f, 5001);
	backend_sim_hold(b, true);
	f->x.chg.maps = 0;
	async_tx(&tx, &seen);
	seen.n = 0;
	assert_int_equal(engine_map_remove_set(&f->x.e, &tx, v, 2), ENGINE_TX_PENDING);
	assert_int_equal(map_count(f->x.e.maps), 2);
	assert_int_equal(backend_sim_complete(b, 1, -EIO), 1);   /* refused: all stay */
	assert_int_equal(seen.stage, ENGINE_TX_BACKEND);
	assert_int_equal(map_count(f->x.e.maps), 2);
	assert_int_equal(f->x.chg.maps, 0);
	assert_int_equal(engine_map_remove_set(&f->x.e, &tx, v, 2), ENGINE_TX_PENDING);
	assert_int_equal(backend_sim_complete(b, 1, 0), 1);
	assert_int_equal(seen.stage, ENGINE_TX_DONE);
	assert_int_equal(seen.removed, 2);
	assert_int_equal(map_count(f->x.e.maps), 0);
	assert_int_equal(f->installed, 0);
	assert_int_equal(f->x.chg.maps, 1);
	fx_free(f);
}

/* The queue is bounded, and one host gets its share only; a request
 * whose client left is taken out; shutdown completes what is under way
 * and cancels what waits. */
static void test_async_queue(void **state)
{
	struct fx *f = fx_new();
	struct backend *b = &f->x.e.backend;
	struct engine_tx tx;
	struct seen seen = { 0 };
	struct mapping m = tmpl(5000);
	struct waiter *w = calloc(ENGINE_TX_QUEUE_MAX + 1, sizeof(*w));
	struct ipaddr host;
	char a[32];
	size_t i, k = 0;

	(void)state;
	assert_non_null(w);
	backend_sim_hold(b, true);
	async_tx(&tx, &seen);
	assert_int_equal(engine_map_add(&f->x.e, &tx, &m, STR_LIT("t")), ENGINE_TX_PENDING);
	host = ipaddr_from_v4(ip("192.168.1.20"));
	for (i = 0; i < ENGINE_TX_QUEUE_PER_HOST; i++) {
		waiter_init(&w[k], f, (uint16_t)(6000 + k));
		assert_int_equal(engine_tx_wait(&f->x.e, &w[k++].w, &host), 0);
	}
	waiter_init(&w[k], f, 1);
	assert_int_equal(engine_tx_wait(&f->x.e, &w[k].w, &host), -EBUSY);
	for (i = 0; k < ENGINE_TX_QUEUE_MAX; i++) {
		snprintf(a, sizeof(a), "192.168.1.%zu", 100 + k);
		host = ipaddr_from_v4(ip(a));
		waiter_init(&w[k], f, (uint16_t)(6000 + k));
		assert_int_equal(engine_tx_wait(&f->x.e, &w[k++].w, &host), 0);
	}
	host = ipaddr_from_v4(ip("192.168.1.99"));
	waiter_init(&w[k], f, 1);
	assert_int_equal(engine_tx_wait(&f->x.e, &w[k].w, &host), -EBUSY);
	/* The first one's client left: it never runs. */
	engine_tx_unwait(&f->x.e, &w[0].w);
	assert_false(w[0].w.queued);
	engine_tx_unwait(&f->x.e, &w[0].w);     /* harmless */
	/* Shutdown: the change under way completes, the waiters are cancelled. */
	engine_tx_flush(&f->x.e);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.stage, ENGINE_TX_DONE);
	assert_int_equal(w[0].resumed, 0);
	for (i = 1; i < ENGINE_TX_QUEUE_MAX; i++) {
		assert_int_equal(w[i].resumed, 1);
		assert_int_equal(w[i].status, -ECANCELED);
	}
	assert_false(engine_tx_busy(&f->x.e));
	free(w);
	fx_free(f);
}

/* A SOAP answer that comes later: the action is pending, a second one
 * waits for its turn, and when the first's client leaves its change
 * still completes (nothing is answered; nothing leaks under ASan). */
struct answer {
	int n, status;
	char body[4096];
};

static void on_answer(void *arg, int status, struct buf *out, struct buf_stream *stream)
{
	struct answer *a = arg;

	(void)stream;
	a->n++;
	a->status = status;
	snprintf(a->body, sizeof(a->body), "%.*s", (int)out->len, out->p ? out->p : "");
}

static const char *add_body(char *buf, size_t size, unsigned port)
{
	snprintf(buf, size,
		 "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/"
		 "envelope/\"><s:Body><u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:"
		 "WANIPConnection:2\"><NewRemoteHost></NewRemoteHost><NewExternalPort>%u"
		 "</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>%u"
		 "</NewInternalPort><NewInternalClient>192.168.1.20</NewInternalClient>"
		 "<NewEnabled>1</NewEnabled><NewPortMappingDescription>x"
		 "</NewPortMappingDescription><NewLeaseDuration>3600</NewLeaseDuration>"
		 "</u:AddPortMapping></s:Body></s:Envelope>", port, port);
	return buf;
}

static void test_async_soap(void **state)
{
	struct fx *f = fx_new();
	struct backend *b = &f->x.e.backend;
	struct ipaddr peer = ipaddr_from_v4(ip("192.168.1.20"));
	const char *sa = "\"urn:schemas-upnp-org:service:WANIPConnection:2#AddPortMapping\"";
	struct action_later *l1, *l2, *l3;
	struct answer a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	struct buf_stream rest = { NULL, NULL, NULL };
	char body[2048];
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 16);
	backend_sim_hold(b, true);
	add_body(body, sizeof(body), 5000);
	assert_int_equal(action_dispatch_wait(&f->x.e, wanipconn_service(), sa,
					      str_from(body, strlen(body)), &peer, 0, &out,
					      &rest, &l1), ACTION_WAIT);
	assert_non_null(l1);
	action_later_bind(l1, on_answer, &a1);
	add_body(body, sizeof(body), 5001);
	assert_int_equal(action_dispatch_wait(&f->x.e, wanipconn_service(), sa,
					      str_from(body, strlen(body)), &peer, 0, &out,
					      &rest, &l2), ACTION_WAIT);
	action_later_bind(l2, on_answer, &a2);
	add_body(body, sizeof(body), 5002);
	assert_int_equal(action_dispatch_wait(&f->x.e, wanipconn_service(), sa,
					      str_from(body, strlen(body)), &peer, 0, &out,
					      &rest, &l3), ACTION_WAIT);
	action_later_bind(l3, on_answer, &a3);
	assert_non_null(find(f, 5000));
	assert_null(find(f, 5001));             /* waiting for its turn */
	action_later_drop(l3);                  /* its client left before its turn */
	assert_int_equal(backend_sim_complete(b, 1, 0), 1);
	assert_int_equal(a1.n, 1);
	assert_int_equal(a1.status, 200);
	assert_non_null(strstr(a1.body, "AddPortMappingResponse"));
	tick(f);                                /* the second's turn */
	assert_non_null(find(f, 5001));
	action_later_drop(l2);                  /* its client left mid-change */
	assert_int_equal(backend_sim_complete(b, 1, 0), 1);
	assert_int_equal(a2.n, 0);
	assert_int_equal(f->installed, 2);      /* its change completed all the same */
	tick(f);
	assert_null(find(f, 5002));             /* withdrawn: never ran */
	assert_int_equal(a3.n, 0);
	assert_false(engine_tx_busy(&f->x.e));
	buf_free(&out);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_remove_set),
		cmocka_unit_test(test_commit_failed),
		cmocka_unit_test(test_commit_failed_upnp),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_pinholes),
		cmocka_unit_test(test_async_order),
		cmocka_unit_test(test_async_rollback),
		cmocka_unit_test(test_async_queue),
		cmocka_unit_test(test_async_soap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

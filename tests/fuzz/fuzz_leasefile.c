/*
 * fuzz_leasefile.c - libFuzzer target for the lease file reader
 * (store/leasefile.c through leasefile_parse(): the line format and its
 * CRCs, headers and generations, snapshot end lines, journal commits,
 * descriptions in %XX, the wall-clock anchor, the restore decisions),
 * on contents in memory: nothing is written to a disk.
 *
 * The files are what igdd wrote, but a disk, a crash or an admin's
 * editor can leave anything in them, and igdd reads them at every start
 * as root's or the engine user's: a bad file must be skipped line by
 * line, never crash or restore a broken lease.
 *
 * Input: byte 0 a control byte (bits 0-1: which leases the restore
 * callback refuses: none, every other one, UDP ones, all; bits 2-3: the
 * wall clock, from before to long after the seeds' times), then up to
 * three files separated by lines ">>>": the snapshot (leases.snap), the
 * previous journal (leases.journal.prev), the journal (leases.journal).
 *
 * Checks: every lease handed to the callback is whole (TCP or UDP, both
 * ports from 1, a known origin, a NUL-terminated description of at most
 * IGDD_MAX_DESC_LEN bytes, lease_end_ms 0, 1..IGDD_LEASE_MAX seconds
 * left); no key is handed out twice; what the call returns is the
 * number kept, and the statistics agree with the callback's decisions.
 */
#include "fuzz_env.h"

#include "core/mapping.h"
#include "store/leasefile.h"
#include "util/limits.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEYS 4096

struct seen {
	unsigned refuse;                /* the control byte's bits 0-1 */
	size_t calls, kept, dropped;
	size_t nkeys;
	uint64_t keys[MAX_KEYS];
};

static uint64_t key_of(const struct mapping *m)
{
	return (uint64_t)m->proto << 48 | (uint64_t)m->ext_port << 32 | m->remote_host.s_addr;
}

static int on_lease(const struct mapping *m, uint32_t remaining_s, void *arg)
{
	struct seen *s = arg;
	uint64_t k = key_of(m);
	size_t i;
	bool drop;

	FUZZ_CHECK(m->proto == MAP_TCP || m->proto == MAP_UDP);
	FUZZ_CHECK(m->ext_port >= 1 && m->int_port >= 1);
	FUZZ_CHECK(m->origin <= MAP_ORIGIN_STATIC);
	FUZZ_CHECK(m->desc != NULL);
	FUZZ_CHECK(strnlen(m->desc, IGDD_MAX_DESC_LEN + 1) <= IGDD_MAX_DESC_LEN);
	FUZZ_CHECK(m->lease_end_ms == 0);
	FUZZ_CHECK(remaining_s <= IGDD_LEASE_MAX);        /* 0: a permanent entry */
	for (i = 0; i < s->nkeys; i++)
		FUZZ_CHECK(s->keys[i] != k);
	if (s->nkeys < MAX_KEYS)
		s->keys[s->nkeys++] = k;
	switch (s->refuse) {
	case 0: drop = false; break;
	case 1: drop = s->calls % 2 == 1; break;
	case 2: drop = m->proto == MAP_UDP; break;
	default: drop = true; break;
	}
	s->calls++;
	if (drop)
		s->dropped++;
	else
		s->kept++;
	return drop ? LEASEFILE_DROP : LEASEFILE_KEEP;
}

/* The next file of the input: up to a line ">>>" or the end. */
static const char *next_file(const char **p, const char *end, size_t *ret_len)
{
	const char *start = *p, *q;

	if (start >= end)
		return NULL;
	for (q = start; q + 4 <= end; q++) {
		if ((q == start || q[-1] == '\n') && memcmp(q, ">>>\n", 4) == 0) {
			*ret_len = (size_t)(q - start);
			*p = q + 4;
			return start;
		}
	}
	*ret_len = (size_t)(end - start);
	*p = end;
	return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t clocks[4] = { 0, 1700000000, 1700003000, 1800000000 };
	static struct seen s;
	struct leasefile_texts t;
	struct leasefile_stats st;
	const char *p, *end;
	int r;

	if (size < 1 || size > (1u << 20))
		return 0;
	log_set_verbose(0);
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	s.refuse = data[0] & 3;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	t.snap = next_file(&p, end, &t.snap_len);
	t.prev = next_file(&p, end, &t.prev_len);
	t.journal = next_file(&p, end, &t.journal_len);
	r = leasefile_parse("fuzz", &t, clocks[(data[0] >> 2) & 3], on_lease, &s, &st);
	FUZZ_CHECK(r >= 0 || r == -ENOMEM);
	if (r < 0)
		return 0;
	FUZZ_CHECK((size_t)r == s.kept);
	FUZZ_CHECK(st.restored == s.kept);
	FUZZ_CHECK(st.dropped == s.dropped);
	return 0;
}
